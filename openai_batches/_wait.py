"""Waiting for a batch to finish: the polling policy and the wait loop.

Only ``status`` decides that a batch is done. ``request_counts`` reach 100% while the
batch is still ``finalizing`` (its output file does not exist yet), so counts are used
only to notice progress, never to stop.

Polling starts fast and backs off while nothing changes, so a day-long batch costs a few
thousand requests rather than tens of thousands, and a change is noticed quickly when
things move. The sleep and the clock are part of :class:`Polling`, so tests can run a
24-hour wait against a manual clock in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, TypeAlias

import attrs

from ._errors import (
    APIError,
    APIStatusError,
    ConflictError,
    OpenAIError,
    WaitTimeoutError,
)
from ._events import Emit, PollEvent
from ._models import Batch, BatchRequestCounts, BatchStatus
from ._retry import RetryPolicy, retry_after, why_not_retry

if TYPE_CHECKING:
    from ._webhooks import BatchEvents

__all__ = ["OnCancel", "OnProgress", "Polling", "WaitTimeoutError", "wait_for_batch"]

log = logging.getLogger(__name__)

#: Called with the batch at the start of a wait and on every change of status or counts.
OnProgress: TypeAlias = Callable[[Batch], "Awaitable[None] | None"]
#: What to do with the batch when the waiting task is cancelled.
OnCancel: TypeAlias = Literal["leave", "cancel"]
# retrieve or cancel, bound to a client: batch id in, batch out.
Fetch: TypeAlias = Callable[[str], Awaitable[Batch]]

# Cancel requests sent on the way out of a cancelled waiter; held so they are not
# garbage-collected before they finish.
_background: set[asyncio.Task[None]] = set()


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"Polling.{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class Polling:
    """How :meth:`Batches.wait` polls.

    Args:
        interval: The first wait between polls, in seconds, and the wait after any change.
        max_interval: The longest wait between polls.
        backoff: The factor the wait grows by after each poll that saw no change.
        max_errors: Consecutive failed polls tolerated (each already retried by the
            client's retry policy) before the error is raised.
        sleep: Sleeps for a number of seconds; replace it to run against a fake clock.
        clock: Returns seconds on a steady clock; deadlines are measured with it.
    """

    interval: float = attrs.field(default=1.0, validator=_positive)
    max_interval: float = attrs.field(default=60.0, validator=_positive)
    backoff: float = attrs.field(default=1.5)
    max_errors: int = attrs.field(default=10)
    sleep: Callable[[float], Awaitable[object]] = attrs.field(default=asyncio.sleep, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)

    @backoff.validator
    def _check_backoff(self, _: attrs.Attribute[float], value: float) -> None:
        if not value >= 1:
            raise ValueError(f"Polling.backoff must be >= 1, got {value!r}")

    @max_errors.validator
    def _check_max_errors(self, _: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"Polling.max_errors must be a whole number >= 0, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.max_interval < self.interval:
            raise ValueError("Polling.max_interval must be >= Polling.interval")


def _fingerprint(batch: Batch) -> tuple[BatchStatus, BatchRequestCounts | None]:
    return batch.status, batch.request_counts


def _transient(exc: OpenAIError, retry: RetryPolicy) -> bool:
    """Whether a failed poll may be polled again: the same rules as any retry.

    The poll went through the retry loop, which has already noted why not, if so.
    """
    return isinstance(exc, APIError) and why_not_retry(retry, exc) is None


async def _notify(on_progress: OnProgress | None, batch: Batch) -> None:
    if on_progress is not None:
        result = on_progress(batch)
        if inspect.isawaitable(result):
            await result


async def _cancel_quietly(cancel: Fetch, batch_id: str) -> Batch | None:
    """Cancel the batch; a batch that already left the cancellable states is no error."""
    try:
        return await cancel(batch_id)
    except ConflictError:
        return None
    except OpenAIError as exc:
        log.warning("Could not cancel batch %s: %s", batch_id, exc)
        return None


async def _cancel_shielded(cancel: Fetch, batch_id: str) -> None:
    async def send() -> None:
        await _cancel_quietly(cancel, batch_id)

    task = asyncio.create_task(send())
    _background.add(task)
    task.add_done_callback(_background.discard)
    # Shielded: the waiter is being cancelled, and its cancellation must not stop the
    # request that cancels the batch. A second cancellation stops only this await.
    await asyncio.shield(task)


async def wait_for_batch(
    batch_id: str,
    retrieve: Fetch,
    cancel: Fetch,
    retry: RetryPolicy,
    *,
    polling: Polling,
    deadline: float | None,
    on_progress: OnProgress | None,
    on_cancel: OnCancel,
    cancel_at_deadline: bool,
    events: BatchEvents | None = None,
    emit: Emit | None = None,
) -> Batch:
    """Poll ``retrieve(batch_id)`` until the batch's status is final.

    See :meth:`Batches.wait`; ``cancel(batch_id)`` is sent on cancellation or at the
    deadline when asked, a notification from ``events`` cuts a pause short, and ``emit``
    receives a :class:`PollEvent` after each poll.
    """
    if on_cancel not in ("leave", "cancel"):
        raise ValueError(f"on_cancel must be 'leave' or 'cancel', got {on_cancel!r}")
    if deadline is not None and not deadline >= 0:
        raise ValueError(f"deadline must be a number of seconds >= 0, got {deadline!r}")
    if events is not None:
        from ._webhooks import BatchEvents

        if not isinstance(events, BatchEvents):
            raise TypeError(f"events must be a BatchEvents, got {type(events).__name__}")
    try:
        with contextlib.nullcontext() if events is None else events.watch(batch_id) as woken:
            return await _poll(
                batch_id,
                retrieve,
                cancel,
                retry,
                polling,
                deadline,
                on_progress,
                cancel_at_deadline,
                woken,
                emit,
            )
    except asyncio.CancelledError:
        if on_cancel == "cancel":
            await _cancel_shielded(cancel, batch_id)
        raise


async def _poll(
    batch_id: str,
    retrieve: Fetch,
    cancel: Fetch,
    retry: RetryPolicy,
    polling: Polling,
    deadline: float | None,
    on_progress: OnProgress | None,
    cancel_at_deadline: bool,
    woken: asyncio.Event | None = None,
    emit: Emit | None = None,
) -> Batch:
    ends_at = None if deadline is None else polling.clock() + deadline
    interval = polling.interval
    seen: tuple[BatchStatus, BatchRequestCounts | None] | None = None
    batch: Batch | None = None
    errors = 0
    polls = 0
    while True:
        pause = interval
        if woken is not None:
            # Cleared before the poll: an event that arrives during it wakes the next pause.
            woken.clear()
        polls += 1
        try:
            batch = await retrieve(batch_id)
        except OpenAIError as exc:
            if emit is not None:
                await emit(PollEvent(batch_id, polls, None, exc))
            errors += 1
            if errors > polling.max_errors or not _transient(exc, retry):
                raise
            asked = retry_after(exc.headers) if isinstance(exc, APIStatusError) else None
            if asked is not None:
                pause = max(pause, asked)  # never above max_retry_after: see _transient
            log.info(
                "Polling batch %s failed (%s); polling again in %.2fs",
                batch_id,
                exc,
                pause,
                extra={
                    "batch_id": batch_id,
                    "poll": polls,
                    "method": getattr(exc, "method", None),
                    "url": getattr(exc, "url", None),
                    "status": getattr(exc, "status_code", None),
                    "request_id": getattr(exc, "request_id", None),
                },
            )
        else:
            if emit is not None:
                await emit(PollEvent(batch_id, polls, batch))
            errors = 0
            if batch.status.is_final:
                # Report the final state even when the last poll saw nothing else change.
                if _fingerprint(batch) != seen:
                    await _notify(on_progress, batch)
                return batch
            if _fingerprint(batch) != seen:
                seen = _fingerprint(batch)
                await _notify(on_progress, batch)
                interval = pause = polling.interval
        if ends_at is not None:
            left = ends_at - polling.clock()
            if left <= 0:
                if cancel_at_deadline:
                    batch = await _cancel_quietly(cancel, batch_id) or batch
                raise WaitTimeoutError(batch_id, batch, deadline or 0.0)
            pause = min(pause, left)
        if await _pause(polling, pause, woken):
            # Something happened: poll at the fast rate until the retrieve shows it.
            interval = polling.interval
        else:
            interval = min(interval * polling.backoff, polling.max_interval)


async def _pause(polling: Polling, seconds: float, woken: asyncio.Event | None) -> bool:
    """Sleep ``seconds`` with ``polling.sleep``; return True if ``woken`` cut it short."""
    if woken is None:
        await polling.sleep(seconds)
        return False
    if woken.is_set():
        return True
    sleeper = asyncio.ensure_future(polling.sleep(seconds))
    waiter = asyncio.ensure_future(woken.wait())
    try:
        await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        waiter.cancel()
        # Both are finished before the wait goes on or unwinds: neither outlives it.
        await asyncio.wait((sleeper, waiter))
    if not sleeper.cancelled() and (error := sleeper.exception()) is not None:
        raise error
    return woken.is_set()
