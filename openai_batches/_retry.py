"""When to retry a request, and how long to wait first: pure functions of the answer.

The policy is openai-python's: connection errors, timeouts, 408, 409, 429 and 5xx are
retried; ``x-should-retry`` overrides the status; ``retry-after-ms`` and ``retry-after``
(seconds or an HTTP date) are honoured up to a cap; otherwise exponential backoff with
jitter, 0.5 s doubling up to 8 s.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

import attrs

__all__ = ["RetryPolicy"]

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
            a longer request is cut down to this.
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

    def should_retry(self, status: int, headers: Mapping[str, str]) -> bool:
        """Tell whether an error answer is worth another attempt."""
        hint = headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
        return status in _RETRY_STATUSES or status >= 500

    def delay(self, retry: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
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
