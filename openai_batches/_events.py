"""Events for metrics and tracing: what the client did, handed to a callable of the user's.

A client built with ``Client(on_event=...)`` calls it with one typed event for each HTTP
attempt (:class:`RequestEvent`), each retry decided (:class:`RetryEvent`), each page a
walk fetched (:class:`PageEvent`) and each poll of a wait (:class:`PollEvent`). One
callable rather than one per kind: a ``match`` on the event's class picks what it wants,
and a kind added later reaches it without a new argument.

The callable may be a plain function or a coroutine function; a coroutine is awaited
before the call goes on, so keep it short. An exception it raises is logged (with its
traceback, on the ``openai_batches._events`` logger) and the call goes on: metrics must
never break a request. Without ``on_event`` (and without DEBUG records on the
``openai_batches._api`` logger) nothing is built and nothing is timed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

import attrs

if TYPE_CHECKING:
    from ._errors import APIError, OpenAIError
    from ._models import Batch

__all__ = [
    "Emit",
    "Event",
    "OnEvent",
    "PageEvent",
    "PollEvent",
    "RequestEvent",
    "RetryEvent",
    "emitter",
]

log = logging.getLogger(__name__)


@attrs.frozen
class RequestEvent:
    """One HTTP attempt ended: an answer came (any status), or none did.

    Attributes:
        method: The HTTP method.
        url: The base URL and path, without the query.
        attempt: 1 for the first attempt of a call, 2 for its first retry, and so on.
        status: The answer's status, or ``None`` when no answer came.
        request_id: The answer's ``x-request-id``.
        elapsed: Seconds from sending to the whole answer read (to the headers, for a
            download), on a monotonic clock.
        error: Why no answer came (an ``APIConnectionError``); ``None`` when one did,
            whatever its status.
    """

    method: str
    url: str
    attempt: int
    status: int | None
    request_id: str | None
    elapsed: float
    error: APIError | None = None


@attrs.frozen
class RetryEvent:
    """A failed attempt is about to be sent again, after ``delay`` seconds.

    Attributes:
        method: The HTTP method.
        url: The base URL and path, without the query.
        attempt: The attempt that failed (1 for the first).
        delay: Seconds waited before the next attempt.
        status: The failed answer's status, or ``None`` when no answer came.
        request_id: The failed answer's ``x-request-id``.
        error: The attempt's error.
    """

    method: str
    url: str
    attempt: int
    delay: float
    status: int | None
    request_id: str | None
    error: APIError


@attrs.frozen
class PageEvent:
    """A walk fetched a page (after any retries), before its items are yielded.

    Attributes:
        method: The HTTP method.
        url: The base URL and path, without the query (the cursor).
        page: 1 for the walk's first page, and so on.
        items: How many items the page holds.
        has_more: Whether the listing goes on.
        request_id: The page's ``x-request-id``.
    """

    method: str
    url: str
    page: int
    items: int
    has_more: bool
    request_id: str | None


@attrs.frozen
class PollEvent:
    """A wait polled its batch (after any retries of that poll).

    Attributes:
        batch_id: The batch waited for.
        poll: 1 for the wait's first poll, and so on.
        batch: The batch the poll returned, or ``None`` when it failed.
        error: Why the poll failed; the wait polls again unless the error is final.
    """

    batch_id: str
    poll: int
    batch: Batch | None
    error: OpenAIError | None = None


#: Any of the events.
Event: TypeAlias = RequestEvent | RetryEvent | PageEvent | PollEvent
#: What ``Client(on_event=...)`` takes: a function or coroutine function of one event.
OnEvent: TypeAlias = Callable[[Event], "Awaitable[None] | None"]
#: Hands an event to the user's callable; ``None`` where no callable was given.
Emit: TypeAlias = Callable[[Event], Awaitable[None]]


def emitter(on_event: OnEvent | None) -> Emit | None:
    """Wrap the user's callable so that it is awaited when it is a coroutine and never raises.

    Raises:
        TypeError: ``on_event`` is not callable.
    """
    if on_event is None:
        return None
    if not callable(on_event):
        raise TypeError(f"on_event must be callable, got {type(on_event).__name__}")

    async def emit(event: Event) -> None:
        try:
            result = on_event(event)
            # Not inspect.isawaitable: inspect is costly to import with the package.
            if isinstance(result, Awaitable):
                await result
        except Exception:
            # A metrics bug must not fail the request it was measuring.
            log.exception(
                "on_event raised on %s; the call goes on",
                type(event).__name__,
                extra=_fields(event),
            )

    return emit


def _fields(event: Event) -> dict[str, object]:
    """The event's identifying fields as ``extra`` for a log record."""
    if isinstance(event, PollEvent):
        return {"batch_id": event.batch_id}
    return {"method": event.method, "url": event.url, "request_id": event.request_id}
