"""Latency: every request waits before it is handled, side by side with the others."""

from __future__ import annotations

import argparse
import asyncio

import pytest
from conftest import Api

import openai_batches.emulator._app as app_module
from openai_batches.emulator import Emulator, ManualClock, add_arguments


class HeldSleeps:
    """Stands in for the latency's sleep: records each wait and holds it until released."""

    def __init__(self, expected: int) -> None:
        self.delays: list[float] = []
        self.all_waiting = asyncio.Event()
        self.release = asyncio.Event()
        self.expected = expected

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) == self.expected:
            self.all_waiting.set()
        await self.release.wait()


async def test_requests_wait_side_by_side(
    emu: Emulator, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps = HeldSleeps(expected=3)
    monkeypatch.setattr(app_module, "_sleep", sleeps)
    emu.latency = 0.02
    calls = [
        asyncio.ensure_future(api.get("/files")),
        asyncio.ensure_future(api.get("/batches")),
        asyncio.ensure_future(api.get("/files", params={"order": "asc"})),
    ]
    # All three are waiting at once, none answered: the waits overlap. (The bound only
    # turns a regression into a failure instead of a hang.)
    await asyncio.wait_for(sleeps.all_waiting.wait(), 30)
    assert sleeps.delays == [0.02, 0.02, 0.02]
    assert not any(call.done() for call in calls)
    assert len(emu.requests) == 3  # recorded as they arrive, before the wait
    sleeps.release.set()
    pages = await asyncio.gather(*calls)
    assert [page["object"] for page in pages] == ["list"] * 3


async def test_no_latency_by_default(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = HeldSleeps(expected=1)
    monkeypatch.setattr(app_module, "_sleep", sleeps)
    await api.get("/files")
    assert sleeps.delays == []


async def test_latency_is_checked() -> None:
    assert Emulator(latency=0.5).latency == 0.5
    assert Emulator(clock=ManualClock(), latency=2).latency == 2.0
    with pytest.raises(ValueError, match="latency"):
        Emulator(latency=-0.1)
    with pytest.raises(ValueError, match="latency"):
        Emulator(latency=float("inf"))
    with pytest.raises(TypeError, match="latency"):
        Emulator(latency="20ms")  # type: ignore[arg-type]


def test_command_line_latency_in_milliseconds() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).latency_ms == 0.0
    assert parser.parse_args(["--latency-ms", "20"]).latency_ms == 20.0
    with pytest.raises(SystemExit):
        parser.parse_args(["--latency-ms", "-5"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--latency-ms", "nan"])
