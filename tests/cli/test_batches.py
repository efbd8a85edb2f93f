"""``batches list|get|cancel``: tables, JSON lines and the API's own objects."""

from __future__ import annotations

import datetime

import pytest

from openai_batches import Client
from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, chat_line

pytestmark = pytest.mark.openai_emulator(clock=ManualClock())


def iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(emulator: Emulator, count: int) -> list[dict[str, object]]:
    """``count`` batches created a minute apart, oldest first."""
    now = emulator.clock.now()
    return [
        emulator.store.put_batch([chat_line(f"r{i}")], created_at=now - 60 * (count - i))
        for i in range(count)
    ]


async def test_list_prints_a_table_newest_first(openai_emulator: Emulator, cli: CLI) -> None:
    seeded = seed(openai_emulator, 3)

    run = await cli("batches", "list")

    assert run.code == 0, run.err
    header, *rows = run.out.splitlines()
    assert header.split() == ["ID", "STATUS", "ENDPOINT", "DONE/FAILED/TOTAL", "CREATED"]
    assert [row.split()[0] for row in rows] == [b["id"] for b in reversed(seeded)]
    created = float(str(seeded[-1]["created_at"]))
    assert rows[0].split()[1:] == ["completed", "/v1/chat/completions", "1/0/1", iso(created)]
    # Aligned: every row's status starts in the header's STATUS column.
    column = header.index("STATUS")
    assert all(row[column - 2 : column] == "  " and row[column] != " " for row in rows)


async def test_list_json_is_the_api_objects_with_limit_and_after(
    openai_emulator: Emulator, openai_client: Client, cli: CLI
) -> None:
    seed(openai_emulator, 5)
    expected = [batch.raw async for batch in openai_client.batches.list()]

    first = await cli("batches", "list", "--json", "--limit", "2")
    rest = await cli("--json", "batches", "list", "--limit", "10", "--after", expected[1]["id"])

    assert first.code == rest.code == 0
    assert first.json_lines() == expected[:2]
    assert rest.json_lines() == expected[2:]
    assert first.err == rest.err == ""


async def test_get_shows_details_and_json(
    openai_emulator: Emulator, openai_client: Client, cli: CLI
) -> None:
    [seeded] = seed(openai_emulator, 1)
    batch = await openai_client.batches.retrieve(str(seeded["id"]))

    text = await cli("batches", "get", batch.id)
    json = await cli("batches", "get", batch.id, "--json")

    assert text.code == json.code == 0
    details = dict(line.split(None, 1) for line in text.out.splitlines())
    assert details["id"] == batch.id
    assert details["status"] == "completed"
    assert details["requests"] == "1 completed, 0 failed, 1 total"
    assert details["created_at"] == iso(batch.created_at)
    assert details["output_file_id"] == batch.output_file_id
    assert json.json_lines() == [dict(batch.raw)]


async def test_cancel_prints_the_cancelling_batch(openai_emulator: Emulator, cli: CLI) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])  # validating: time stands still

    run = await cli("batches", "cancel", str(batch["id"]), "--json")

    assert run.code == 0, run.err
    [answer] = run.json_lines()
    assert (answer["id"], answer["status"]) == (batch["id"], "cancelling")
    assert openai_emulator.store.batch(str(batch["id"])).status == "cancelling"


@pytest.mark.openai_emulator(clock=None)  # real time, so the cancel takes its course
async def test_cancel_wait_follows_it_to_cancelled(openai_emulator: Emulator, cli: CLI) -> None:
    # 2,000 requests take 10 s at the emulator's rate: still running when cancelled.
    batch = openai_emulator.store.put_batch([chat_line(f"r{i}") for i in range(2000)])

    run = await cli("batches", "cancel", str(batch["id"]), "--wait")

    assert run.code == 0, run.err
    details = dict(line.split(None, 1) for line in run.out.splitlines())
    assert details["status"] == "cancelled"
    assert "cancelling" in run.err
    assert f"{batch['id']}:" not in run.out  # progress stays on stderr
