"""``batches create|wait|results`` against an emulator running in real time."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, chat_line


async def test_create_then_wait_with_progress_on_a_plain_stderr(
    openai_emulator: Emulator, cli: CLI
) -> None:
    lines = [chat_line(f"r{i}") for i in range(300)]  # 1.5 s of work at the default rate
    source = openai_emulator.store.put_jsonl(lines)

    created = await cli("batches", "create", str(source["id"]), "--metadata", "team=cli", "--json")
    assert created.code == 0, created.err
    [batch] = created.json_lines()
    assert batch["metadata"]["team"] == "cli"

    run = await cli("batches", "wait", batch["id"], "--poll-interval", "0.05")

    assert run.code == 0, run.err
    details = dict(line.split(None, 1) for line in run.out.splitlines())
    assert details["status"] == "completed"
    assert details["requests"] == "300 completed, 0 failed, 300 total"
    # stderr is a pipe: one plain line per change of status, none redrawn in place.
    assert "\r" not in run.err
    assert "\x1b" not in run.err
    statuses = re.findall(rf"^{batch['id']}: (\w+)", run.err, re.MULTILINE)
    assert statuses[-3:] == ["in_progress", "finalizing", "completed"]
    assert run.err.splitlines()[-1] == f"{batch['id']}: completed 300/300 (100%)"
    assert batch["id"] + ":" not in run.out


async def test_create_wait_stops_at_a_failed_batch(openai_emulator: Emulator, cli: CLI) -> None:
    source = openai_emulator.store.put_jsonl([chat_line("a"), chat_line("a")])  # duplicate id

    run = await cli("batches", "create", str(source["id"]), "--wait", "--poll-interval", "0.05")

    assert run.code == 4
    assert "duplicate_custom_id" in run.out
    assert "ended failed" in run.err


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_results_table_json_and_rebuilt_failures(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    lines = [chat_line("ok-1", "hi there"), chat_line("bad", "no [[fail:400]]"), chat_line("ok-2")]
    batch = openai_emulator.store.put_batch(lines)
    assert isinstance(openai_emulator.clock, ManualClock)
    openai_emulator.clock.advance(60)
    retry = tmp_path / "retry.jsonl"

    table = await cli("batches", "results", str(batch["id"]), "--rebuild-failed", str(retry))
    first = list(openai_emulator.requests)
    failed = await cli("batches", "results", str(batch["id"]), "--failed", "--json")

    assert table.code == failed.code == 0, table.err
    header, *rows = table.out.splitlines()
    assert header.split() == ["CUSTOM_ID", "STATUS", "RESULT"]
    results = {row.split(None, 1)[0]: row.split(None, 2)[1:] for row in rows}
    assert results["ok-1"] == ["200", "echo: hi there"]
    assert results["ok-2"] == ["200", "echo: hello"]
    assert results["bad"][0] == "400"
    assert "[[fail:NNN]]" in results["bad"][1]
    assert "2 succeeded, 1 failed" in table.err
    [line] = failed.json_lines()
    assert (line["custom_id"], line["response"]["status_code"]) == ("bad", 400)
    assert [orjson.loads(x) for x in retry.read_bytes().splitlines()] == [lines[1]]
    # The first command read each file once: shown and rebuilt in one pass.
    contents = [r.path for r in first if r.path.endswith("/content")]
    assert sorted(contents) == sorted(set(contents))
    assert len(contents) == 3  # the output, the errors and the requests


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_results_of_a_cancelled_batch_exit_4(openai_emulator: Emulator, cli: CLI) -> None:
    clock = openai_emulator.clock
    assert isinstance(clock, ManualClock)
    batch = openai_emulator.store.put_batch([chat_line(f"r{i}") for i in range(1000)])
    clock.advance(0.6)  # validating is over; a few requests have run
    openai_emulator.store.cancel_batch(str(batch["id"]))
    clock.advance(60)

    run = await cli("batches", "results", str(batch["id"]))

    assert run.code == 4
    rows = [line.split(None, 2) for line in run.out.splitlines()[1:]]
    assert {status for _, status, _ in rows} == {"200", "-"}
    assert any(result.startswith("batch_cancelled") for _, _, result in rows)
    assert "ended cancelled" in run.err
