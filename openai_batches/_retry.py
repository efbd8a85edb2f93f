"""Retrying: the policy (pure decisions) and the one retry loop every request goes through.

The policy is openai-python's: connection errors, timeouts, 408, 409, 429 and 5xx are
retried; ``x-should-retry`` overrides the status; ``retry-after-ms`` and ``retry-after``
(seconds or an HTTP date) are honoured up to a cap, and an answer asking for longer is
raised rather than retried early; otherwise exponential backoff with jitter, 0.5 s
doubling up to 8 s. A 429 whose code is ``insufficient_quota`` is never retried: waiting
does not clear it.

:func:`retrying` is the loop. It knows nothing of HTTP: it calls an attempt, which returns
the caller's value or raises one of the library's errors, and decides from the error what
happens next. It is also the one place that decides what a lost answer means: when an
attempt's outcome is unknown (no answer, 408, 5xx), a request that creates or changes
something is never sent again before its ``recover`` function has looked for what the
lost attempt did.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractContextManager
from typing import TypeVar

import attrs

from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    InsufficientQuotaError,
    RedirectError,
    ResponseValidationError,
)

__all__ = [
    "RetryPolicy",
    "StopRetrying",
    "outcome_unknown",
    "retry_after",
    "retrying",
    "why_not_retry",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Patched by the tests to record the waits instead of sleeping through them.
_sleep = asyncio.sleep

_RETRY_STATUSES = frozenset({408, 409, 429})


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"RetryPolicy.{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """How a client retries failed requests.

    Args:
        max_retries: Retries after the first attempt; 0 disables retrying.
        initial_delay: The first backoff, in seconds, doubled on each retry.
        max_delay: The longest backoff.
        max_retry_after: The longest wait a server may ask for with ``retry-after``;
            an answer asking for longer is raised, not retried.
        jitter: The fraction of each backoff taken off at random, so that many clients
            do not retry in step.
    """

    max_retries: int = attrs.field(default=2)
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.25, validator=_non_negative)

    @max_retries.validator
    def _check_max_retries(self, _: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, got {value!r}")

    def should_retry(
        self, status: int, headers: Mapping[str, str], code: str | None = None
    ) -> bool:
        """Tell whether an error answer is worth another attempt.

        Args:
            status: The answer's status.
            headers: The answer's headers (``x-should-retry`` overrides the status).
            code: The error's ``code`` or ``type``: ``insufficient_quota`` is never
                retried, whatever the headers say.
        """
        if code == "insufficient_quota":
            return False
        hint = headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
        return status in _RETRY_STATUSES or status >= 500

    def delay(self, retry: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry).

        A server's wait is cut down to ``max_retry_after`` here; the retry loop does
        not retry at all when it asks for more (see :func:`why_not_retry`).
        """
        if headers:
            asked = retry_after(headers)
            if asked is not None:
                return min(asked, self.max_retry_after)
        backoff = min(self.initial_delay * 2.0**retry, self.max_delay)
        return backoff * (1.0 - self.jitter * random.random())


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Read the wait a server asks for, in seconds, or ``None`` when it asks none."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            millis = float(value)
        except ValueError:
            pass
        else:
            if millis >= 0:
                return millis / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = parsed.timestamp() - (time.time() if now is None else now)
        return max(seconds, 0.0)
    return seconds if seconds >= 0 else None


class StopRetrying(Exception):
    """Raised by a ``recover`` that found the request cannot succeed by sending it again.

    The request's own error is raised at once, with this exception's message as a note.
    """


def outcome_unknown(error: APIError) -> bool:
    """Whether the server may have acted on a request that failed with ``error``.

    True when no answer came, or it was 408 or 5xx; false for other statuses (429
    included: the request was turned away).
    """
    status: int | None = getattr(error, "status_code", None)
    return status is None or status == 408 or status >= 500


def why_not_retry(policy: RetryPolicy, error: APIError) -> str | None:
    """Why ``error`` must not be retried, or ``None`` when it may be.

    A pure decision: no answer is always worth another attempt; an error answer is not
    when its quota is used up (``insufficient_quota``), when the policy says so for its
    status, or when the server asks for a longer wait than ``max_retry_after``. The
    reason is a note for the raised error, ``""`` when the status says enough.
    """
    if isinstance(error, APIConnectionError):
        return None
    if not isinstance(error, APIStatusError):
        return ""
    if isinstance(error, RedirectError):
        return ""  # the same request would be redirected again
    if isinstance(error, InsufficientQuotaError):
        return "The quota is used up (insufficient_quota); waiting does not clear it."
    if not policy.should_retry(error.status_code, error.headers):
        return ""
    asked = retry_after(error.headers)
    if asked is not None and asked > policy.max_retry_after:
        return (
            f"The server asked to wait {asked:g} s before retrying, more than "
            f"RetryPolicy.max_retry_after ({policy.max_retry_after:g} s); not retried."
        )
    return None


def _always() -> bool:
    return True


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str,
    max_retries: int | None = None,
    recover: Callable[[], Awaitable[T | None]] | None = None,
    recover_statuses: Collection[int] = (),
    resend_unknown: bool = True,
    may_resend: Callable[[], bool] = _always,
    guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    on_retry: Callable[[APIError, int, float], Awaitable[None]] | None = None,
) -> T:
    """Call ``attempt`` until it returns, or the policy says stop; the one retry loop.

    Args:
        attempt: Makes one attempt: returns the caller's value, or raises APIStatusError
            (an error answer) or APIConnectionError (no usable answer).
        policy: When to retry, and how long to wait first.
        what: The request, such as ``"GET https://.../batches"``, for the logs and notes.
        max_retries: This call's retries, instead of the policy's.
        recover: For requests that create or change something: awaited after an attempt
            whose outcome is unknown, before any retry and before the final error. A value
            it returns is returned instead and nothing is sent again; ``None`` means the
            attempt did nothing, so sending it again is safe. If it raises StopRetrying,
            or fails, the request's error is raised with a note, never sent again blind.
            It is awaited too after a 2xx whose body cannot be read: the request took
            effect and only its answer is lost, so it is never sent again.
        recover_statuses: Error statuses after which ``recover`` is awaited too.
        resend_unknown: Without ``recover``, whether an attempt whose outcome is unknown
            may be sent again.
        may_resend: Whether the request can be sent again at all (a one-shot body cannot).
        guard: Wraps each wait, so that closing the client interrupts it.
        on_retry: Awaited with the error, the failed attempt's number (1 for the first)
            and the delay, before each wait for a retry.

    Raises:
        APIError: The last attempt's error, once no retry is left or allowed.
    """
    retries = policy.max_retries if max_retries is None else max_retries
    retry = 0
    while True:
        attempts = retry + 1
        try:
            return await attempt()
        except ResponseValidationError as error:
            if recover is None:
                raise
            found = await _look(recover, error, what, attempts)
            if found is None:
                raise
            return found
        except (APIStatusError, APIConnectionError) as error:
            headers = error.headers if isinstance(error, APIStatusError) else None
            unknown = outcome_unknown(error)
            if recover is not None and (
                unknown or getattr(error, "status_code", None) in recover_statuses
            ):
                found = await _look(recover, error, what, attempts)
                if found is not None:
                    return found
            elif unknown and not resend_unknown:
                error._gave_up_after(attempts)
                raise
            refusal = why_not_retry(policy, error)
            if refusal:
                error.add_note(refusal)
            if refusal is not None or retry >= retries:
                error._gave_up_after(attempts)
                raise
            if not may_resend():
                log.info(
                    "%s failed after its one-shot body was read; not retrying",
                    what,
                    extra=_fields(error, attempts),
                )
                error._gave_up_after(attempts)
                raise
            delay = policy.delay(retry, headers)
            log.info(
                "%s failed (%s); retrying in %.2fs",
                what,
                error,
                delay,
                extra=_fields(error, attempts),
            )
            if on_retry is not None:
                await on_retry(error, attempts, delay)
            retry += 1
            with guard():
                await _sleep(delay)


def _fields(error: APIError, attempt: int) -> dict[str, object]:
    """A failed attempt's identifying fields, as ``extra`` for a log record."""
    return {
        "method": error.method,
        "url": error.url,
        "status": getattr(error, "status_code", None),
        "request_id": getattr(error, "request_id", None),
        "attempt": attempt,
    }


async def _look(
    recover: Callable[[], Awaitable[T | None]], error: APIError, what: str, attempts: int
) -> T | None:
    """Await ``recover`` after ``error`` left a request's outcome unknown.

    Raises:
        APIError: ``error`` itself, with a note, when the look fails too or raises
            StopRetrying.
    """
    try:
        return await recover()
    except StopRetrying as stop:
        error.add_note(str(stop))
    except APIError as lookup_error:
        # Sending again could make a second copy; better to say we do not know.
        error.add_note(
            f"Checking whether {what} took effect failed too ({lookup_error}); "
            "it may or may not have taken effect."
        )
        error._gave_up_after(attempts)
        raise error  # noqa: B904 - the request's error, with the look as context
    error._gave_up_after(attempts)
    raise error
