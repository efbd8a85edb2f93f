"""What the API answered: the status and headers of each response, for any call.

:func:`capture_responses` notes every answer the library reads inside its block, in this
task and the tasks it starts (a context variable), so a caller can read rate-limit
headers or a request id without the library growing a "raw" copy of every method.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping

import attrs

__all__ = ["ResponseInfo", "capture_responses", "note_response"]


@attrs.frozen
class ResponseInfo:
    """One answer from the API, as :func:`capture_responses` noted it.

    Attributes:
        status_code: The HTTP status.
        headers: The headers (case-insensitive), such as ``x-ratelimit-remaining-requests``.
        method: The request's method.
        url: The request's URL.
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    method: str
    url: str

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header, to quote to OpenAI's support."""
        return self.headers.get("x-request-id")


_captured: contextvars.ContextVar[list[ResponseInfo] | None] = contextvars.ContextVar(
    "openai_batches_captured", default=None
)


@contextlib.contextmanager
def capture_responses() -> Iterator[list[ResponseInfo]]:
    """Note every answer the API sends inside the block, in order.

    Every attempt's answer is noted, error answers that were retried included, and every
    page of a walk; the last one of a call is its result's. Tasks started inside the
    block note into the same list. Blocks nest: an inner block notes only into its own
    list. For a long walk the list grows by one per page.

    Example::

        with capture_responses() as responses:
            batch = await client.batches.retrieve("batch_abc")
        print(responses[-1].request_id, responses[-1].headers["x-ratelimit-remaining-requests"])

    Yields:
        The list the answers are appended to, as :class:`ResponseInfo`.
    """
    responses: list[ResponseInfo] = []
    token = _captured.set(responses)
    try:
        yield responses
    finally:
        _captured.reset(token)


def note_response(status: int, headers: Mapping[str, str], method: str, url: str) -> None:
    """Note an answer if a :func:`capture_responses` block is open (cheap otherwise)."""
    responses = _captured.get()
    if responses is not None:
        responses.append(ResponseInfo(status, headers, method, url))
