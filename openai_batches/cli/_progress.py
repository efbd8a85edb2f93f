"""Progress on stderr: a redrawn bar on a terminal, plain lines otherwise.

On a TTY the bar is redrawn in place (at most ten times a second, and on every change of
status). Anywhere else, such as a CI log or a file, a plain line is printed on every change
of status and at most every ``every`` seconds in between, so logs stay short and readable.
Progress never goes to stdout, which is kept for the command's output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from .. import Batch

__all__ = ["Progress", "format_bytes", "on_batch_progress"]

_BAR = 28
_REDRAW = 0.1


def format_bytes(size: float) -> str:
    """A byte count for people: ``512 B``, ``1.5 KiB``, ``20.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


class Progress:
    """Report how far a task is.

    Args:
        label: What is progressing, such as a batch or file id.
        total: The amount of work, when known (it may also come with each update).
        unit: ``"bytes"`` to show sizes, else counts are shown as they are.
        stream: Where to draw; stderr by default.
        tty: Draw a bar (``True``) or print lines (``False``); by default, whether
            ``stream`` is a terminal.
        every: Seconds between plain lines while only the amount changes.
        clock: A steady clock, in seconds.
    """

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        unit: str = "",
        stream: TextIO | None = None,
        tty: bool | None = None,
        every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every
        self.clock = clock
        self.done = 0
        self.status: str | None = None
        self._shown: str | None = None
        self._shown_at = -float("inf")
        self._drawn = False

    def update(self, done: int, *, total: int | None = None, status: str | None = None) -> None:
        """Record that ``done`` of ``total`` is finished, and the status, if any."""
        changed = status is not None and status != self.status
        self.done = done
        if total is not None:
            self.total = total
        if status is not None:
            self.status = status
        wait = _REDRAW if self.tty else self.every
        if changed or self._shown is None or self.clock() - self._shown_at >= wait:
            self._show()

    def advance(self, amount: int) -> None:
        """Record ``amount`` more finished."""
        self.update(self.done + amount)

    def finish(self, *, status: str | None = None) -> None:
        """Show the final state and end the bar's line."""
        if status is not None:
            self.status = status
        self._show()
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def line(self) -> str:
        """The current state as text, without the bar."""
        amount = self._amount(self.done)
        if self.total:
            amount = f"{amount}/{self._amount(self.total)} ({self.done * 100 // self.total}%)"
        status = f" {self.status}" if self.status else ""
        return f"{self.label}:{status} {amount}"

    def _amount(self, value: int) -> str:
        return format_bytes(value) if self.unit == "bytes" else str(value)

    def _show(self) -> None:
        text = self.line()
        if text == self._shown:
            return
        self._shown, self._shown_at = text, self.clock()
        if self.tty:
            filled = _BAR * self.done // self.total if self.total else 0
            bar = "#" * filled + "-" * (_BAR - filled)
            self.stream.write(f"\r[{bar}] {text}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def on_batch_progress(progress: Progress) -> Callable[[Batch], None]:
    """A callback for ``client.batches.wait(on_progress=...)`` that updates ``progress``."""

    def report(batch: Batch) -> None:
        counts = batch.request_counts
        done = counts.completed + counts.failed if counts else 0
        progress.update(done, total=counts.total if counts else None, status=batch.status.value)

    return report
