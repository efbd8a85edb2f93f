"""Time and peak-memory measurement for the streaming benchmarks (Linux only).

Memory is the growth of this process's peak resident set (``VmHWM`` in
``/proc/self/status``), reset through ``/proc/self/clear_refs`` before each measurement.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable


def status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> None:
    # "5" resets the peak RSS to the current RSS (Linux 4.0 and later).
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


async def measure(run: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """Seconds taken and the peak RSS growth in MB."""
    reset_peak()
    before = status_kb("VmRSS")
    start = time.perf_counter()
    await run()
    elapsed = time.perf_counter() - start
    return elapsed, (status_kb("VmHWM") - before) / 1024
