"""Estimate a request's input tokens, to keep a job under the enqueued-token limit.

The API counts a batch's enqueued tokens from its requests' input. With `tiktoken`
installed (and its encoding available on this machine) the texts are counted with the
model's encoding (``o200k_base`` for models it does not know); otherwise a text counts
one token per 4 bytes of UTF-8, rounded up, which is close for English prose and errs
high for short words. The texts are what a request sends: message contents (strings or
text parts), ``input``, ``prompt`` and ``instructions``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["TokenCounter", "token_counter"]

TokenCounter = Callable[[dict[str, Any]], int]

#: Per message, the API adds a few tokens of framing; counted with tiktoken only.
_MESSAGE_OVERHEAD = 4


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key in ("content", "text", "input"):
            if key in value:
                yield from _texts(value[key])


def request_texts(body: dict[str, Any]) -> Iterator[str]:
    """The texts a request body sends."""
    for key in ("messages", "input", "prompt", "instructions"):
        if key in body:
            yield from _texts(body[key])


def heuristic_tokens(body: dict[str, Any]) -> int:
    """One token per 4 bytes of each text, rounded up; at least 1."""
    return max(1, sum(-(-len(text.encode()) // 4) for text in request_texts(body)))


@functools.cache
def _encoding(model: str) -> Any:
    import tiktoken  # type: ignore[import-not-found]  # optional, untyped when absent

    try:
        return tiktoken.encoding_for_model(model)
    except KeyError:
        return tiktoken.get_encoding("o200k_base")


def token_counter(model: str | None) -> tuple[TokenCounter, str]:
    """A counter for requests to ``model``, and its name (``"tiktoken"`` or ``"bytes/4"``).

    Call it off the event loop: loading an encoding reads (or downloads) its tables.
    """
    try:
        encoding = _encoding(model or "")
    except Exception:  # not installed, or its tables cannot be had (no network)
        return heuristic_tokens, "bytes/4"

    def count(body: dict[str, Any]) -> int:
        messages = body.get("messages")
        overhead = _MESSAGE_OVERHEAD * len(messages) if isinstance(messages, list) else 0
        texts = request_texts(body)
        return max(1, overhead + sum(len(encoding.encode_ordinary(text)) for text in texts))

    return count, "tiktoken"
