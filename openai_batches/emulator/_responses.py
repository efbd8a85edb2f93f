"""Deterministic answers to batch requests.

Each supported endpoint gets a realistic body shaped like the real API's, computed only from the
request, so tests can assert on the output file:

* ``/v1/chat/completions``: one choice whose content is ``"echo: " + <text of the last user
  message>``.
* ``/v1/responses``: one ``output_text`` whose text is ``"echo: " + <last user input>``.
* ``/v1/completions``: one choice per prompt, text ``"echo: " + <prompt>``.
* ``/v1/embeddings``: one vector per input, ``dimensions`` long (default 16), derived from a hash
  of the input and normalised to length 1.
* ``/v1/moderations``: one result per input, never flagged.

Token counts are whitespace-separated words: input tokens count the words of every text sent
(all messages, instructions, prompts or inputs), output tokens the words of the generated text.
Cached and reasoning tokens are always 0.

Markers, found anywhere in the request body's string values:

* ``[[fail:NNN]]``: the line's response has ``status_code`` NNN (400..599) and an
  ``{"error": {...}}`` body; it goes to the batch's error file and counts as failed.
* ``[[flaky:NNN:K]]``: like ``[[fail:NNN]]``, but only the first K times a line with this
  ``custom_id`` runs (counted by the store across batches); later runs answer normally.
* ``[[error:CODE]]``: the line gets ``response: null`` and ``error: {"code": CODE, ...}``,
  as when the service itself could not run the request.
* ``[[size:N]]``: the generated text is padded with filler words to about N bytes (N may use a
  ``k``/``m``/``g`` suffix, powers of 1024), to produce large output files.

A request missing ``model`` or its main input gets a realistic 400 response instead.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import Callable, Iterator
from typing import Any

import attrs

__all__ = ["Outcome", "Usage", "count_tokens", "find_markers", "input_tokens", "respond"]

_MARKER = re.compile(r"\[\[(fail|flaky|size|error):([^\]\s]{1,32})\]\]")
_SIZE_SUFFIX = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
DEFAULT_EMBEDDING_DIMENSIONS = 16
_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


@attrs.frozen
class Usage:
    """Token usage of one request, in the batch's terms."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@attrs.frozen
class Outcome:
    """What one batch line produced: a response (any status) or a service-side error."""

    status_code: int | None
    body: dict[str, Any] | None
    error: dict[str, str] | None = None
    usage: Usage = Usage()

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@attrs.frozen
class Markers:
    """Markers found in a request body."""

    fail: int | None = None
    flaky: tuple[int, int] | None = None
    error: str | None = None
    size: int | None = None


def count_tokens(text: str) -> int:
    """Count tokens the emulator's way: whitespace-separated words."""
    return len(text.split())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def find_markers(body: Any) -> Markers:
    """Return the markers in *body*'s string values (the first of each kind wins)."""
    found: dict[str, Any] = {}
    for text in _strings(body):
        if "[[" not in text:
            continue
        for kind, arg in _MARKER.findall(text):
            if kind in found:
                continue
            if kind == "fail" and arg.isdigit() and 400 <= int(arg) <= 599:
                found[kind] = int(arg)
            elif kind == "flaky":
                flaky = re.fullmatch(r"(\d{3}):(\d+)", arg)
                if flaky and 400 <= int(flaky[1]) <= 599:
                    found[kind] = (int(flaky[1]), int(flaky[2]))
            elif kind == "size":
                match = re.fullmatch(r"(\d+)([kmgKMG]?)", arg)
                if match:
                    found[kind] = int(match[1]) * _SIZE_SUFFIX[match[2].lower()]
            elif kind == "error":
                found[kind] = arg
    return Markers(**found)


def error_body(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """Return an API error body for *status*."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _pad(text: str, size: int | None) -> str:
    if size is None:
        return text
    missing = size - len(text.encode()) - 1
    if missing <= 0:
        return text
    repeats = missing // len(_FILLER) + 1
    return f"{text} {(_FILLER * repeats)[:missing].rstrip()}"


def _hash_id(seed: str, length: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _text_of(content: Any) -> str:
    """Return the text of a message content: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _inputs(value: Any) -> list[str]:
    """Return the texts of an ``input``/``prompt`` value: string, list of strings or parts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        texts: list[str] = []
        for item in value:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict):
                texts.append(_text_of(item.get("text", item.get("content"))))
            elif isinstance(item, list):  # token arrays
                texts.append(" ".join(str(token) for token in item))
            elif isinstance(item, int):
                texts.append(str(item))
        return texts
    return []


def _missing(param: str) -> Outcome:
    return Outcome(
        400,
        error_body(
            400,
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        ),
    )


def _chat(body: dict[str, Any], rid: str, created: int, size: int | None) -> Outcome:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _missing("messages")
    texts = [_text_of(m.get("content")) for m in messages if isinstance(m, dict)]
    users = [
        _text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    ]
    content = _pad("echo: " + (users[-1] if users else ""), size)
    prompt = sum(count_tokens(t) for t in texts)
    completion = count_tokens(content)
    answer = {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": created,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
    return Outcome(200, answer, usage=Usage(prompt, completion))


def _responses(body: dict[str, Any], rid: str, created: int, size: int | None) -> Outcome:
    value = body.get("input")
    if value is None:
        return _missing("input")
    texts: list[str] = []
    last_user = ""
    if isinstance(value, str):
        texts, last_user = [value], value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                texts.append(item)
                last_user = item
            elif isinstance(item, dict):
                text = _text_of(item.get("content", item.get("text")))
                texts.append(text)
                if item.get("role", "user") == "user":
                    last_user = text
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        texts.append(instructions)
    text = _pad("echo: " + last_user, size)
    prompt = sum(count_tokens(t) for t in texts)
    completion = count_tokens(text)
    answer = {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": created,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": [
            {
                "type": "message",
                "id": f"msg_{rid}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
        "user": None,
        "metadata": body.get("metadata") or {},
    }
    return Outcome(200, answer, usage=Usage(prompt, completion))


def _completions(body: dict[str, Any], rid: str, created: int, size: int | None) -> Outcome:
    if "prompt" not in body:
        return _missing("prompt")
    prompts = _inputs(body["prompt"]) or [""]
    choices = []
    completion = 0
    for index, prompt_text in enumerate(prompts):
        text = _pad("echo: " + prompt_text, size)
        completion += count_tokens(text)
        choices.append({"text": text, "index": index, "logprobs": None, "finish_reason": "stop"})
    prompt = sum(count_tokens(t) for t in prompts)
    answer = {
        "id": f"cmpl-{rid}",
        "object": "text_completion",
        "created": created,
        "model": body["model"],
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "system_fingerprint": "fp_emulator",
    }
    return Outcome(200, answer, usage=Usage(prompt, completion))


def _vector(text: str, dimensions: int) -> list[float]:
    raw: list[float] = []
    counter = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        raw.extend(value / 2**31 - 1.0 for value in struct.unpack("<8I", digest))
        counter += 1
    raw = raw[:dimensions]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


def _embeddings(body: dict[str, Any], rid: str, created: int, size: int | None) -> Outcome:
    if "input" not in body:
        return _missing("input")
    texts = _inputs(body["input"])
    dimensions = body.get("dimensions", DEFAULT_EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or dimensions < 1:
        return Outcome(
            400,
            error_body(
                400, "Invalid value for 'dimensions'.", param="dimensions", code="invalid_value"
            ),
        )
    prompt = sum(count_tokens(t) for t in texts)
    answer = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": _vector(text, dimensions)}
            for index, text in enumerate(texts)
        ],
        "model": body["model"],
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }
    return Outcome(200, answer, usage=Usage(prompt, 0))


_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def _moderations(body: dict[str, Any], rid: str, created: int, size: int | None) -> Outcome:
    if "input" not in body:
        return _missing("input")
    texts = _inputs(body["input"])
    result = {
        "flagged": False,
        "categories": dict.fromkeys(_CATEGORIES, False),
        "category_scores": dict.fromkeys(_CATEGORIES, 0.0),
        "category_applied_input_types": {name: ["text"] for name in _CATEGORIES},
    }
    answer = {
        "id": f"modr-{rid}",
        "model": body.get("model", "omni-moderation-latest"),
        "results": [dict(result) for _ in texts],
    }
    return Outcome(200, answer)


_HANDLERS = {
    "/v1/chat/completions": _chat,
    "/v1/responses": _responses,
    "/v1/completions": _completions,
    "/v1/embeddings": _embeddings,
    "/v1/moderations": _moderations,
}

#: The batch endpoints the emulator can answer.
SUPPORTED_ENDPOINTS = tuple(_HANDLERS)


def canonical_endpoint(endpoint: str, *, azure: bool) -> str:
    """Return a batch endpoint or line ``url`` in the ``/v1/...`` spelling.

    Azure OpenAI also takes them without the version (``/chat/completions``); OpenAI does
    not, so outside Azure mode *endpoint* is returned unchanged.
    """
    if azure and endpoint.startswith("/") and not endpoint.startswith("/v1/"):
        return "/v1" + endpoint
    return endpoint


def input_tokens(endpoint: str, body: dict[str, Any]) -> int:
    """Count the input tokens a request would report, without answering it.

    This is what the enqueued-token limit counts: the words of every text sent (message
    contents, inputs, prompts and instructions).
    """
    if endpoint == "/v1/chat/completions":
        messages = body.get("messages")
        if not isinstance(messages, list):
            return 0
        texts = [_text_of(m.get("content")) for m in messages if isinstance(m, dict)]
    else:
        value = body.get("prompt") if endpoint == "/v1/completions" else body.get("input")
        if isinstance(value, list) and endpoint == "/v1/responses":
            texts = [
                _text_of(item.get("content", item.get("text"))) if isinstance(item, dict) else item
                for item in value
                if isinstance(item, dict | str)
            ]
        else:
            texts = _inputs(value)
        instructions = body.get("instructions")
        if isinstance(instructions, str):
            texts.append(instructions)
    return sum(count_tokens(text) for text in texts)


def respond(
    endpoint: str,
    body: dict[str, Any],
    *,
    seed: str,
    created: int,
    count_run: Callable[[], int] | None = None,
) -> Outcome:
    """Answer one batch request.

    Args:
        endpoint: The batch endpoint, one of `SUPPORTED_ENDPOINTS`.
        body: The request body (a JSON object).
        seed: A string unique to this request (batch id and custom id), hashed into ids.
        created: The Unix time to report as the response's creation time.
        count_run: Counts a run of this request's ``custom_id`` and returns how many
            there have been, this one included; called only for a ``[[flaky:NNN:K]]``
            line (without it, every run is the first).
    """
    markers = find_markers(body)
    if markers.error is not None:
        message = f"The request could not be processed ({markers.error} requested by marker)."
        return Outcome(None, None, error={"code": markers.error, "message": message})
    if markers.fail is not None:
        message = f"Emulated failure: status {markers.fail} requested by a [[fail:NNN]] marker."
        return Outcome(markers.fail, error_body(markers.fail, message))
    run = 1 if markers.flaky is None or count_run is None else count_run()
    if markers.flaky is not None and run <= markers.flaky[1]:
        status, times = markers.flaky
        message = (
            f"Emulated failure: status {status} on run {run} of {times} requested by a "
            "[[flaky:NNN:K]] marker."
        )
        return Outcome(status, error_body(status, message))
    if endpoint != "/v1/moderations" and not isinstance(body.get("model"), str):
        return Outcome(
            400,
            error_body(
                400, "you must provide a model parameter", code="missing_required_parameter"
            ),
        )
    return _HANDLERS[endpoint](body, _hash_id(seed), created, markers.size)
