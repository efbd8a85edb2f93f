"""The matrix as the test run saw it, printed at the end of the run."""

from __future__ import annotations

import re
from collections import Counter

import openai_batches as ob

from ._matrix import FAULTS, MODES, OK
from ._operations import OPERATIONS

__all__ = ["CELLS", "render"]

#: ``(fault, operation, mode) -> (how the test ended, what the call did)``; filled as cells run.
CELLS: dict[tuple[str, str, str], tuple[str, str]] = {}

_SHORT = {
    ob.APIConnectionError: "conn",
    ob.APITimeoutError: "tout",
    ob.ResponseValidationError: "valid",
    ob.PaginationError: "page",
    ob.DownloadSizeError: "size",
    ob.RateLimitError: "429",
    ob.InternalServerError: "5xx",
    ob.ConflictError: "409",
    ob.NotFoundError: "404",
    ob.WaitTimeoutError: "wait",
    ob.APIStatusError: "stat",
    ob.APIError: "api",
    ob.ClientClosedError: "closd",
    ValueError: "value",
}


def short(outcome: object) -> str:
    """A matrix entry for a call's outcome: ``ok`` or the error's short name."""
    if outcome == OK:
        return OK
    if isinstance(outcome, type):
        for cls in type.mro(outcome):
            if cls in _SHORT:
                return _SHORT[cls]
        return outcome.__name__[:5]
    return str(outcome)[:5]


def _entry(key: tuple[str, str, str], na: bool) -> str:
    if na:
        return "."
    if key not in CELLS:
        return ""
    result, did = CELLS[key]
    if result == "passed":
        return did
    if result.startswith("xfail"):
        found = re.search(r"defects? ([\d, ]+)", result)
        return "x" + (found.group(1).replace(" ", "") if found else "new")
    return "FAIL"


def render(expected: dict[tuple[str, str, str], object]) -> list[str]:
    """The matrix and its totals, as lines; ``expected`` maps each cell to its expectation."""
    width = 6
    label = max(len(fault.name) for fault in FAULTS) + 1
    ops = [op.name for op in OPERATIONS]
    top = " " * label + "".join(f"{op[: 2 * width - 1]:<{2 * width}}" for op in ops)
    sub = " " * label + "".join(f"{m[:4]:<{width}}" for _ in ops for m in MODES)
    lines = [top, sub]
    counts: Counter[str] = Counter()
    for fault in FAULTS:
        row = []
        for op in ops:
            for mode in MODES:
                key = (fault.name, op, mode)
                na = expected.get(key) is None
                entry = _entry(key, na)
                row.append(f"{entry:<{width}}")
                if na:
                    counts["not applicable"] += 1
                elif key not in CELLS:
                    continue
                elif CELLS[key][0] == "passed":
                    counts["recovered" if entry == OK else "raised a typed error"] += 1
                elif CELLS[key][0].startswith("xfail"):
                    counts["xfail (known defect)"] += 1
                else:
                    counts["failed"] += 1
        lines.append(f"{fault.name:<{label}}" + "".join(row).rstrip())
    lines.append("")
    lines.append(
        "ok: recovered with the right data; conn/tout/valid/page/size/429/5xx/409/stat/api/"
        "wait/closd: raised that typed error; value: refused the argument up front"
    )
    lines.append(
        "xN: fails today for defect N; .: cannot meet, or the transient cell would repeat the "
        "persistent one"
    )
    lines.append(", ".join(f"{name}: {n}" for name, n in sorted(counts.items())))
    return lines
