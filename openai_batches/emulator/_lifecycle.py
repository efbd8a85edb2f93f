"""The batch lifecycle, as a pure function of the clock.

A batch has no background task. Before the emulator answers any request it calls
`BatchRecord.advance(now)` on every active batch, which replays what happened since the last
call, using the `Timing` settings:

    created ──V──► validating ends: failed (input invalid) or in_progress
    in_progress: request i finishes at in_progress_at + (i + 1) / R
    all requests done at t ──► finalizing ──F──► completed
    window (24 h) over first ──► expired (partial output, ``batch_expired`` lines)
    cancel at t (validating / in_progress) ──► cancelling ──C──► cancelled
                                               (partial output, ``batch_cancelled`` lines)

Every timestamp is the moment its state was entered, computed from the schedule (not from when
someone happened to poll), so two emulators with the same clock produce identical batches.
Requests are answered by `respond()` as they are reached and their output lines appended to
the output/error writers; the files appear when the batch reaches its final state.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Iterator
from typing import Any, Protocol

import attrs

from ._blobs import Blob, BlobWriter
from ._responses import canonical_endpoint, respond

__all__ = ["BatchRecord", "ParsedInput", "Timing", "parse_input"]

MAX_REQUESTS = 50_000
MAX_REPORTED_ERRORS = 1_000
# Emulated times are Unix floats (~0.2 us resolution today): compare with a 1 us tolerance.
_EPSILON = 1e-6


@attrs.frozen
class Timing:
    """Durations (emulated seconds) and rate of the batch lifecycle.

    Args:
        validating: Time spent in ``validating``.
        requests_per_second: Requests processed per emulated second in ``in_progress``.
        finalizing: Time spent in ``finalizing``.
        cancelling: Time spent in ``cancelling``.
        window: The completion window (``24h``) after which unfinished batches expire.
    """

    validating: float = 0.5
    requests_per_second: float = 200.0
    finalizing: float = 0.5
    cancelling: float = 0.5
    window: float = 24 * 3600.0

    def __attrs_post_init__(self) -> None:
        if not self.requests_per_second > 0:
            raise ValueError("requests_per_second must be positive")
        if min(self.validating, self.finalizing, self.cancelling) < 0 or self.window <= 0:
            raise ValueError("durations must not be negative")


@attrs.define
class ParsedInput:
    """The outcome of validating a batch input file."""

    requests: list[tuple[str, dict[str, Any]]] = attrs.Factory(list)
    model: str | None = None
    errors: list[dict[str, Any]] = attrs.Factory(list)


def _line_error(
    code: str, message: str, line: int | None, param: str | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def parse_input(
    lines: Iterator[bytes],
    endpoint: str,
    max_requests: int = MAX_REQUESTS,
    *,
    azure: bool = False,
) -> ParsedInput:
    """Validate batch input lines like the service does.

    Each non-blank line must be a JSON object with a unique string ``custom_id``, ``method``
    ``POST``, ``url`` equal to *endpoint* (both spelled as `canonical_endpoint` makes them,
    with *azure*) and an object ``body``; all lines must name the same ``body.model``.
    Errors carry the 1-based line number.
    """
    route = canonical_endpoint(endpoint, azure=azure)
    parsed = ParsedInput()
    seen: set[str] = set()
    errors = parsed.errors

    def fail(*args: Any, **kwargs: Any) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(_line_error(*args, **kwargs))

    count = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        count += 1
        if count > max_requests:
            fail(
                "too_many_requests",
                f"The batch input file has more than the maximum of {max_requests} requests.",
                number,
            )
            break
        try:
            line = json.loads(raw)
        except ValueError:
            fail("invalid_json_line", "This line is not parseable as valid JSON.", number)
            continue
        if not isinstance(line, dict):
            fail("invalid_request", "Each line must be a JSON object.", number)
            continue
        problem = False
        for field in ("custom_id", "method", "url", "body"):
            if field not in line:
                fail(
                    "missing_required_parameter",
                    f"Missing required parameter: '{field}'.",
                    number,
                    field,
                )
                problem = True
        if problem:
            continue
        custom_id, body = line["custom_id"], line["body"]
        if not isinstance(custom_id, str) or not custom_id:
            fail(
                "invalid_custom_id",
                "The custom_id must be a non-empty string.",
                number,
                "custom_id",
            )
            continue
        if custom_id in seen:
            fail(
                "duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request. "
                "The custom_id parameter must be unique for each request in a batch.",
                number,
                "custom_id",
            )
            continue
        seen.add(custom_id)
        if line["method"] != "POST":
            fail(
                "invalid_method",
                "The method for this request is not supported; only POST is.",
                number,
                "method",
            )
            continue
        url = line["url"]
        if not isinstance(url, str) or canonical_endpoint(url, azure=azure) != route:
            fail(
                "invalid_url",
                f"The url for this request does not match the batch endpoint '{endpoint}'.",
                number,
                "url",
            )
            continue
        if not isinstance(body, dict):
            fail("invalid_body", "The body of this request must be a JSON object.", number, "body")
            continue
        model = body.get("model")
        if isinstance(model, str):
            if parsed.model is None:
                parsed.model = model
            elif model != parsed.model:
                fail(
                    "mismatched_model",
                    f"The model '{model}' differs from the model '{parsed.model}' of earlier "
                    "requests; all requests in a batch must use the same model.",
                    number,
                    "body.model",
                )
                continue
        parsed.requests.append((custom_id, body))
    if count == 0:
        fail("empty_file", "The batch input file is empty.", None)
    if errors:
        parsed.requests = []
    return parsed


class Sink(Protocol):
    """Where a finishing batch puts its files."""

    def writer(self) -> BlobWriter: ...

    def add_output_file(
        self, filename: str, blob: Blob, created_at: float, expires_after: int | None
    ) -> str: ...

    def count_run(self, custom_id: str) -> int: ...


_TIMESTAMPS = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
_ACTIVE = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
_UNRUN_MESSAGES = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


def _digest(seed: str, length: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


@attrs.define(eq=False)
class BatchRecord:
    """One batch and everything needed to replay its lifecycle."""

    id: str
    #: As the batch was created with, and reported.
    endpoint: str
    #: The same in the ``/v1/...`` spelling, which chooses the answers.
    route: str
    input_file_id: str
    created_at: float
    timing: Timing
    parsed: ParsedInput
    sink: Sink
    metadata: dict[str, str] | None = None
    output_expires_after: int | None = None
    enqueued_tokens: int = 0
    completion_window: str = "24h"
    status: str = "validating"
    times: dict[str, float] = attrs.Factory(dict)
    model: str | None = None
    total: int = 0
    processed: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    _output: BlobWriter | None = None
    _error_output: BlobWriter | None = None
    _encoded: bytes | None = attrs.field(default=None, init=False, repr=False)

    @property
    def expires_at(self) -> float:
        return self.created_at + self.timing.window

    @property
    def active(self) -> bool:
        return self.status in _ACTIVE

    def enqueued(self, model: str) -> int:
        """The tokens this batch holds in *model*'s enqueued-token limit (0 when none).

        A batch counts while it is validating (unless its input already failed), in
        progress or finalizing.
        """
        if self.status == "validating":
            return 0 if self.parsed.errors or self.parsed.model != model else self.enqueued_tokens
        if self.status in ("in_progress", "finalizing") and self.model == model:
            return self.enqueued_tokens
        return 0

    def advance(self, now: float) -> None:
        """Replay every transition due up to *now*."""
        timing = self.timing
        while True:
            if self.status == "validating":
                start = self.created_at + timing.validating
                if now + _EPSILON < start:
                    return
                if self.parsed.errors:
                    self.errors = self.parsed.errors
                    self.parsed = ParsedInput()
                    self._enter("failed", start)
                    return
                self.total = len(self.parsed.requests)
                self.model = self.parsed.model
                self._output = self.sink.writer()
                self._error_output = self.sink.writer()
                self._enter("in_progress", start)
            elif self.status == "in_progress":
                began = self.times["in_progress_at"]
                horizon = min(now, self.expires_at)
                due = math.floor((horizon - began + _EPSILON) * timing.requests_per_second)
                self._run_until(min(self.total, max(due, 0)))
                if self.processed == self.total:
                    done = began + self.total / timing.requests_per_second
                    if done <= self.expires_at + _EPSILON:
                        self._enter("finalizing", max(done, began))
                        continue
                if now + _EPSILON >= self.expires_at:
                    self._finish("expired", self.expires_at, "batch_expired")
                return
            elif self.status == "finalizing":
                end = self.times["finalizing_at"] + timing.finalizing
                if now + _EPSILON < end:
                    return
                self._finish("completed", end, None)
                return
            elif self.status == "cancelling":
                end = self.times["cancelling_at"] + timing.cancelling
                if now + _EPSILON < end:
                    return
                self._finish("cancelled", end, "batch_cancelled")
                return
            else:
                return

    def cancel(self, now: float) -> bool:
        """Start cancelling at *now*; return False when the status does not allow it."""
        self.advance(now)
        if self.status == "cancelling":
            return True
        if self.status not in ("validating", "in_progress"):
            return False
        self._enter("cancelling", now)
        return True

    def _enter(self, status: str, at: float) -> None:
        self.status = status
        self.times[f"{status}_at"] = at
        self._encoded = None  # never kept while active; dropped on any change all the same

    def _run_until(self, target: int) -> None:
        assert self._output is not None
        assert self._error_output is not None
        began = self.times["in_progress_at"]
        rate = self.timing.requests_per_second
        while self.processed < target:
            index = self.processed
            custom_id, body = self.parsed.requests[index]
            seed = f"{self.id}:{custom_id}"
            created = int(began + (index + 1) / rate)
            outcome = respond(
                self.route,
                body,
                seed=seed,
                created=created,
                count_run=functools.partial(self.sink.count_run, custom_id),
            )
            response = None
            if outcome.status_code is not None:
                response = {
                    "status_code": outcome.status_code,
                    "request_id": _digest("req:" + seed),
                    "body": outcome.body,
                }
            line = {
                "id": f"batch_req_{_digest('line:' + seed)}",
                "custom_id": custom_id,
                "response": response,
                "error": outcome.error,
            }
            data = json.dumps(line).encode() + b"\n"
            if outcome.succeeded:
                self.completed += 1
                self.input_tokens += outcome.usage.input_tokens
                self.output_tokens += outcome.usage.output_tokens
                self._output.write(data)
            else:
                self.failed += 1
                self._error_output.write(data)
            self.processed += 1

    def _finish(self, status: str, at: float, unrun_code: str | None) -> None:
        output, error_output = self._output, self._error_output
        if output is not None and error_output is not None:
            if unrun_code is not None:
                message = _UNRUN_MESSAGES[unrun_code]
                for custom_id, _ in self.parsed.requests[self.processed :]:
                    line = {
                        "id": f"batch_req_{_digest(f'line:{self.id}:{custom_id}')}",
                        "custom_id": custom_id,
                        "response": None,
                        "error": {"code": unrun_code, "message": message},
                    }
                    error_output.write(json.dumps(line).encode() + b"\n")
            self.output_file_id = self._store(output, "output", at)
            self.error_file_id = self._store(error_output, "error", at)
        self._output = self._error_output = None
        self.parsed = ParsedInput()
        self._enter(status, at)

    def _store(self, writer: BlobWriter, kind: str, at: float) -> str | None:
        if writer.size == 0:
            writer.abort()
            return None
        blob = writer.close()
        filename = f"{self.id}_{kind}.jsonl"
        return self.sink.add_output_file(filename, blob, at, self.output_expires_after)

    def discard(self) -> None:
        """Drop unfinished output (the emulator is shutting down)."""
        for writer in (self._output, self._error_output):
            if writer is not None:
                writer.abort()
        self._output = self._error_output = None

    def encoded(self) -> bytes:
        """Return the Batch object as JSON.

        A batch in a final status never changes again, so its JSON is encoded once and
        kept: retrieving or listing finished batches, the bulk of what clients poll,
        skips the encoding. An active batch is encoded anew each time.
        """
        if self._encoded is not None:
            return self._encoded
        encoded = json.dumps(self.to_json(), ensure_ascii=False).encode()
        if not self.active:
            self._encoded = encoded
        return encoded

    def to_json(self) -> dict[str, Any]:
        """Return the API's Batch object."""
        stamp = {name: _int_or_none(self.times.get(name)) for name in _TIMESTAMPS}
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created_at),
            "in_progress_at": stamp["in_progress_at"],
            "expires_at": int(self.expires_at),
            "finalizing_at": stamp["finalizing_at"],
            "completed_at": stamp["completed_at"],
            "failed_at": stamp["failed_at"],
            "expired_at": stamp["expired_at"],
            "cancelling_at": stamp["cancelling_at"],
            "cancelled_at": stamp["cancelled_at"],
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            },
            "metadata": self.metadata,
        }


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)
