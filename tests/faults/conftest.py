"""The fault servers, the sessions the library opens, and the matrix printed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from ._cell import Cells
from ._report import CELLS, render


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cells() -> AsyncIterator[Cells]:
    """One scripted server (and one other origin) for every cell of a module."""
    served = Cells()
    await served.start()
    try:
        yield served
    finally:
        await served.close()


@pytest.fixture(scope="module")
def sessions() -> Iterator[list[aiohttp.ClientSession]]:
    """Every aiohttp session built while a module runs: their pools are checked for leaks."""
    built: list[aiohttp.ClientSession] = []
    original = aiohttp.ClientSession.__init__

    def recording(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aiohttp.ClientSession, "__init__", recording)
        yield built


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    report: pytest.TestReport = yield
    key = getattr(getattr(item, "callspec", None), "params", {}).get("key")
    if key is not None and (report.when == "call" or report.outcome != "passed"):
        status = f"xfail {report.wasxfail}" if hasattr(report, "wasxfail") else report.outcome
        CELLS[key] = (status, dict(item.user_properties).get("did", ""))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CELLS:
        return
    from ._matrix import FAULTS, MODES, expect
    from ._operations import OPERATIONS

    expected = {
        (fault.name, op.name, mode): expect(fault, op, mode)
        for fault in FAULTS
        for op in OPERATIONS
        for mode in MODES
    }
    terminalreporter.section("fault matrix: operation x fault, transient and persistent")
    for line in render(expected):
        terminalreporter.write_line(line)
