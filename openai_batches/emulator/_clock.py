"""Emulated time.

Every batch state in the emulator is a pure function of the clock, so the clock is the only
thing a test needs to control to step a batch through its lifecycle:

* `SystemClock` follows real time, scaled by a speed factor (emulated seconds per real second).
* `ManualClock` stands still until a test calls `advance()`; a 24-hour completion window then
  passes in microseconds and each state can be observed deterministically.

Both are plain objects with a `now()` method returning Unix seconds as a float; both can be
pushed forward with `advance()`.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]

#: The default start of a `ManualClock`: 2023-11-14T22:13:20Z, a round number.
DEFAULT_MANUAL_START = 1_700_000_000.0


@runtime_checkable
class Clock(Protocol):
    """What the emulator needs from a clock."""

    def now(self) -> float:
        """Return the emulated Unix time in seconds."""
        ...

    def advance(self, seconds: float) -> None:
        """Move emulated time forward by *seconds*."""
        ...


class SystemClock:
    """Real time scaled by *speed*: emulated seconds per real second.

    Args:
        speed: How many emulated seconds pass per real second (must be positive).
        start: The emulated Unix time at creation; defaults to the real time.
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.speed = speed
        self._start = time.time() if start is None else start
        self._origin = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Return the emulated Unix time in seconds."""
        elapsed = time.monotonic() - self._origin
        return self._start + elapsed * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward by *seconds* of emulated time, on top of the running clock."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._offset += seconds

    def __repr__(self) -> str:
        return f"SystemClock(speed={self.speed!r})"


class ManualClock:
    """A clock that moves only when told to.

    Args:
        start: The emulated Unix time at creation.
    """

    def __init__(self, start: float = DEFAULT_MANUAL_START) -> None:
        self._now = float(start)

    def now(self) -> float:
        """Return the emulated Unix time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move forward by *seconds* (fractions allowed)."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"
