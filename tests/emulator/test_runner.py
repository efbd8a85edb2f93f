"""The runner: binding, base URL, our own client, clean shutdown, disk storage, clocks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from conftest import Api, chat

import openai_batches
from openai_batches.emulator import Emulator, ManualClock, SystemClock


def sizes(directory: Path) -> list[int]:
    """Sizes of the blob files in *directory*, ascending."""
    return sorted(path.stat().st_size for path in directory.iterdir())


def largest(directory: Path) -> Path:
    return max(directory.iterdir(), key=lambda path: path.stat().st_size)


async def test_binds_loopback_on_a_free_port() -> None:
    async with Emulator() as one, Emulator() as two:
        assert one.url.startswith("http://127.0.0.1:")
        assert one.url.endswith("/v1")
        assert one.port != two.port
        assert one.port > 0
        assert isinstance(one.clock, SystemClock)
        assert "127.0.0.1" in repr(one)
    with pytest.raises(RuntimeError):
        _ = one.url


async def test_client_is_bound_to_the_emulator(emu: Emulator, clock: ManualClock) -> None:
    batch = emu.store.put_batch([chat("a", "hi")])
    clock.advance(10)
    async with emu.client() as client:
        assert isinstance(client, openai_batches.Client)
        fetched = await client.batches.retrieve(batch["id"])
    assert fetched.id == batch["id"]
    assert fetched.status == "completed"


async def test_shutdown_leaves_no_tasks_and_closes_connections() -> None:
    before = asyncio.all_tasks()
    emu = Emulator(clock=ManualClock())
    await emu.start()
    with pytest.raises(RuntimeError):
        await emu.start()
    url = emu.url
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer k"}) as session:
        async with session.get(url + "/files") as response:
            assert response.status == 200
        await emu.close()
        await emu.close()  # idempotent
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(url + "/files"):
                pass
    assert asyncio.all_tasks() == before


async def test_disk_storage_streams_files_to_and_from_disk(tmp_path: Path) -> None:
    clock = ManualClock()
    async with Emulator(clock=clock, storage_dir=tmp_path) as emu:
        headers = {"Authorization": "Bearer k"}
        async with aiohttp.ClientSession(headers=headers) as session:
            api = Api(session, emu.url)
            lines = [chat(f"r{i}", "big [[size:256k]]") for i in range(8)]
            source = await api.upload_lines(lines)
            assert sizes(tmp_path) == [source["bytes"]]
            batch = await api.post(
                "/batches",
                json={
                    "input_file_id": source["id"],
                    "endpoint": "/v1/chat/completions",
                    "completion_window": "24h",
                },
            )
            clock.advance(10)
            batch = await api.get(f"/batches/{batch['id']}")
            output = await api.get(f"/files/{batch['output_file_id']}")
            assert output["bytes"] > 8 * 256 * 1024
            assert sizes(tmp_path) == sorted([source["bytes"], output["bytes"]])
            content = await api.content(output["id"])
            for line in content.splitlines():
                text = json.loads(line)["response"]["body"]["choices"][0]["message"]["content"]
                assert abs(len(text) - 256 * 1024) < 64
            await api.delete(f"/files/{source['id']}")
            assert len(sizes(tmp_path)) == 1
        seeded = emu.store.put_file("copy.jsonl", "batch", largest(tmp_path))
        assert seeded["bytes"] == output["bytes"]
    # Unfinished outputs and upload parts are released at shutdown; finished files stay.
    assert len(sizes(tmp_path)) == 2


async def test_unfinished_outputs_are_discarded_at_shutdown(tmp_path: Path) -> None:
    clock = ManualClock()
    async with Emulator(clock=clock, storage_dir=tmp_path) as emu:
        emu.store.put_batch([chat(f"r{i}", "x [[size:600k]]") for i in range(10)])
        clock.advance(0.52)
        emu.store.advance()  # in progress: two lines of output flushed to disk
        assert len(sizes(tmp_path)) == 2
    assert len(sizes(tmp_path)) == 1


def test_system_clock_runs_at_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    clock = SystemClock(speed=60, start=1_000.0)
    assert clock.now() == 1_000.0
    now[0] += 2
    assert clock.now() == 1_120.0
    clock.advance(30)
    assert clock.now() == 1_150.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="speed"):
        SystemClock(speed=0)


def test_manual_clock() -> None:
    clock = ManualClock(start=10)
    clock.advance(0.25)
    assert clock.now() == 10.25
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
