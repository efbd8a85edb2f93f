"""``openai-batches demo`` end to end (test_documented_commands runs ``emulator``)."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import orjson

from .conftest import COMMAND, base_env, run_cli, run_main

#: The documented ``openai-batches demo``, run here (test_documented_commands relies on it).
DEMO = ("demo",)


async def test_demo_runs_the_whole_workflow_without_a_key(tmp_path: Path) -> None:
    started = time.monotonic()
    run = await run_cli(*DEMO, "--dir", str(tmp_path), env=base_env())
    elapsed = time.monotonic() - started

    assert run.code == 0, run.err
    assert elapsed < 30
    assert "Emulator serving at http://127.0.0.1:" in run.out
    assert [int(n) for n in re.findall(r"^\[(\d)/7\]", run.out, re.MULTILINE)] == list(range(1, 8))
    assert "294 succeeded, 6 failed, of 300" in run.out
    tokens = re.search(r"tokens: ([\d,]+) in \+ ([\d,]+) out = ([\d,]+)", run.out)
    assert tokens is not None
    into, out, total = (int(n.replace(",", "")) for n in tokens.groups())
    assert min(into, out) > 0
    assert total == into + out
    assert "echo: In one sentence, what causes tides? (question 0)" in run.out
    # Every state of the batch shows in the progress on stderr, in order.
    statuses = re.findall(r"^batch_\w+: (\w+)", run.err, re.MULTILINE)
    assert list(dict.fromkeys(statuses)) == ["validating", "in_progress", "finalizing", "completed"]
    # The failed requests come back as a job to re-submit.
    retry = [
        orjson.loads(line)
        for line in (tmp_path / "demo-retry-00000.jsonl").read_bytes().splitlines()
    ]
    assert [r["custom_id"] for r in retry] == [
        f"question-{i:04d}" for i in (49, 99, 149, 199, 249, 299)
    ]
    assert all("[[fail:400]]" in r["body"]["messages"][0]["content"] for r in retry)
    assert (tmp_path / "demo-requests-00000.jsonl").read_bytes().count(b"\n") == 300


async def test_demo_ignores_a_key_in_the_environment_without_live(tmp_path: Path) -> None:
    # The key and URL would fail if used: the demo must stay on the emulator.
    env = base_env(OPENAI_API_KEY="sk-real-money", OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    run = await run_cli("demo", "--requests", "20", "--dir", str(tmp_path), env=env)

    assert run.code == 0, run.err
    assert "OPENAI_API_KEY is set, but the demo uses the emulator" in run.out
    assert "20 succeeded, 0 failed, of 20" in run.out


async def test_demo_live_needs_a_key(tmp_path: Path) -> None:
    run = await run_main("demo", "--live", "--dir", str(tmp_path), env=base_env())

    assert run.code == 2
    assert "no API key" in run.err


async def test_ctrl_c_in_the_demo_leaves_nothing_to_resume(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "demo",
        "--requests",
        "5",
        "--dir",
        str(tmp_path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=base_env(),
    )
    assert process.stderr is not None
    # The wait's first progress line: the batch exists (validating for 1.5 s) and is waited on.
    line = b""
    while b": validating" not in line:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        assert line, "the demo ended before its wait began"

    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 130
    # The batch lived in the demo's own emulator: nothing to resume, so no resume command.
    assert b"batches wait" not in out + err
    assert b"stops with the demo's emulator; nothing is left running" in err
    assert b"Traceback" not in err
