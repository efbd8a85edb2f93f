"""``openai-batches run``: a job from the command line, its exit codes, ``--status``."""

from __future__ import annotations

import asyncio
import io
import signal
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from openai_batches import Client
from openai_batches.cli import main
from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, COMMAND, base_env, chat_line, run_cli

# Batches take milliseconds: 1,000 emulated seconds per second.
pytestmark = pytest.mark.openai_emulator(speed=1000)

FAST = ("--poll-interval", "0.02")


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


async def test_a_job_runs_and_reports(openai_client: Client, cli: CLI, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [chat_line(f"q{n}", f"n{n}") for n in range(9)])
    out = tmp_path / "out.jsonl"

    run = await cli("run", str(source), "--out", str(out), "--shard-requests", "4", *FAST)

    assert run.code == 0, run.err
    results = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["custom_id"] for r in results] == [f"q{n}" for n in range(9)]
    assert results[3]["response"]["body"]["choices"][0]["message"]["content"] == "echo: n3"
    assert "finished: 9/9 done (9 succeeded, 0 failed, 0 pending)" in run.err
    assert run.err.count("submitted (shard") == 3
    details = dict(line.split(None, 1) for line in run.out.splitlines() if "  " in line)
    assert details["succeeded"].strip() == "9"
    assert details["failed"].strip() == "0"
    batches = [b async for b in openai_client.batches.list()]
    assert len(batches) == 3

    # --status reads the state file alone: no API key needed.
    status = await run_cli("run", "--status", "--state", f"{out}.job", "--json", env=base_env())
    assert status.code == 0, status.err
    [report] = status.json_lines()
    assert report["requests"] == report["succeeded"] == 9
    assert report["shards"] == {"done": 3}
    assert report["finished"] is True


async def test_json_progress_events_and_exit_4_for_failures(cli: CLI, tmp_path: Path) -> None:
    lines = [chat_line("ok"), chat_line("bad", "no [[fail:400]]")]
    source = write_lines(tmp_path / "in.jsonl", lines)
    out = tmp_path / "results.jsonl"
    state = tmp_path / "state.db"

    run = await cli("run", str(source), "--out", str(out), "--state", str(state), "--json", *FAST)

    assert run.code == 4, run.err
    *events, report = run.json_lines()
    assert events[0]["event"] == "started"
    assert events[-1]["event"] == "finished"
    assert {"submitted", "harvested"} <= {event["event"] for event in events}
    assert (report["succeeded"], report["failed"]) == (1, 1)
    assert report["state"] == str(state)
    bad = orjson.loads(out.read_bytes().splitlines()[1])
    assert bad["response"]["status_code"] == 400


async def test_bad_input_exits_2_and_sends_nothing(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [chat_line("a"), chat_line("a")])

    run = await cli("run", str(source), "--out", str(tmp_path / "out.jsonl"))

    assert run.code == 2
    assert "duplicate custom_id" in run.err
    assert "nothing was sent" in run.err
    assert openai_emulator.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status"], "--status needs --state"),
        (["in.jsonl"], "run needs INPUT and --out"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *args, "--api-key", "sk-x"]) == 2
    assert message in capsys.readouterr().err


def test_status_of_a_state_file_of_no_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--status", "--state", str(tmp_path / "none")]) == 1
    assert "no job state at" in capsys.readouterr().err


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_ctrl_c_exits_130_and_the_same_command_resumes(
    openai_emulator: Emulator, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [chat_line(f"q{n}") for n in range(4)])
    out = tmp_path / "out.jsonl"
    command = ("run", str(source), "--out", str(out), "--shard-requests", "2", *FAST)
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=emulator_env,
    )
    assert process.stderr is not None
    while b"submitted (shard 2)" not in await asyncio.wait_for(process.stderr.readline(), 30):
        pass  # time stands still on the manual clock: both batches stay validating
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 130
    assert b"run the same command again to resume" in err
    assert b"Traceback" not in err
    assert not out.exists()

    assert isinstance(openai_emulator.clock, ManualClock)
    openai_emulator.clock.advance(3600)
    openai_emulator.requests.clear()
    run = await run_cli(*command, env=emulator_env)
    assert run.code == 0, run.err
    assert [orjson.loads(line)["custom_id"] for line in out.read_bytes().splitlines()] == [
        "q0",
        "q1",
        "q2",
        "q3",
    ]
    sent = [(r.method, r.path) for r in openai_emulator.requests]
    assert ("POST", "/v1/files") not in sent
    assert ("POST", "/v1/batches") not in sent


async def test_a_job_of_two_models(cli: CLI, tmp_path: Path) -> None:
    def request(n: int) -> dict[str, Any]:
        item = chat_line(f"q{n}", f"n{n}")  # gpt-4o-mini
        if n % 2:
            item["body"] = {**item["body"], "model": "gpt-4o"}
        return item

    source = write_lines(tmp_path / "in.jsonl", [request(n) for n in range(8)])
    out = tmp_path / "out.jsonl"
    # One token a request: 4 to a shard, and 4 tokens in flight per model at most.
    limits = ("--shard-requests", "4", "--max-enqueued-tokens", "4")

    run = await cli("run", str(source), "--out", str(out), *limits, "--json", *FAST)

    assert run.code == 0, run.err
    *events, report = run.json_lines()
    assert report["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert report["tokens_by_model"] == {"gpt-4o": 0, "gpt-4o-mini": 0}
    assert all(set(event["tokens_by_model"]) == set(report["models"]) for event in events)
    assert max(max(event["tokens_by_model"].values()) for event in events) == 4
    results = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["custom_id"] for r in results] == [f"q{n}" for n in range(8)]
    assert [r["response"]["body"]["model"] for r in results] == ["gpt-4o-mini", "gpt-4o"] * 4

    status = await run_cli("run", "--status", "--state", f"{out}.job", env=base_env())
    assert status.code == 0, status.err
    details = dict(line.split(None, 1) for line in status.out.splitlines() if "  " in line)
    assert details["models"].strip() == "gpt-4o, gpt-4o-mini"
    assert " ".join(details["tokens"].split()) == "enqueued 0 (bytes/4): gpt-4o 0, gpt-4o-mini 0"


def test_progress_shows_the_tokens_of_each_model() -> None:
    from openai_batches import JobProgress
    from openai_batches.cli._output import Output
    from openai_batches.cli._run import _ProgressPrinter

    stream = io.StringIO()
    printer = _ProgressPrinter(Output(json=False), stream=stream)
    progress = JobProgress(
        event="submitted",
        requests=10,
        succeeded=2,
        failed=0,
        pending=8,
        batches={"validating": 2},
        tokens_enqueued=1_500,
        tokens_by_model={"gpt-4o": 1_200, "gpt-4o-mini": 300},
        elapsed=3.0,
        remaining=None,
        shard=2,
    )
    printer(progress)
    printer(attrs.evolve(progress, tokens_enqueued=300, tokens_by_model={"gpt-4o-mini": 300}))
    first, second = stream.getvalue().splitlines()
    assert "; 1,500 tokens enqueued (gpt-4o 1,200, gpt-4o-mini 300); " in first
    assert "; 300 tokens enqueued; " in second  # one model: no breakdown
