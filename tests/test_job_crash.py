"""The crash test: a job runner killed with SIGKILL at random steps, run again each time,
against one emulator process that lives through all of it.

The runner is a child process (forked from a fork server that has the library loaded, so
each run costs milliseconds, not an interpreter start) that kills itself at its N-th step
(`job_crash_child`), N drawn by a seeded generator. The emulator is a real server in its own
process, with an enqueued-token limit that refuses some shards and flaky lines that fail
their first run, so the kills also land in resubmissions and retries. In the end the
results must be complete and exact, and the emulator must hold no duplicate upload and no
duplicate batch that ran.
"""

from __future__ import annotations

import asyncio
import collections
import json
import multiprocessing
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openai_batches import Client, job_status

from . import job_crash_child

API_KEY = "sk-crash"
KILLS = 24
REQUESTS = 80


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    # 20 emulated seconds a second: a batch of 8 lines lasts about 50 ms. 60 tokens may
    # wait per model, and each shard holds 40: a second shard in flight is refused.
    command = [sys.executable, "-m", "openai_batches.emulator", "--port", "0", "--seed", "5"]
    command += ["--api-key", API_KEY, "--speed", "20", "--enqueued-token-limit", "60"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "serving at" in line, line
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def request(n: int, tag: str) -> dict[str, Any]:
    text = f"alpha bravo charl delta {n:05d}"  # five words: five emulated tokens
    if n % 7 == 3:
        text += " [[flaky:500:1]]"  # fails its first run: retried in a later shard
    return {
        "custom_id": f"{tag}-{n}",  # flaky runs are counted by custom_id: one tag a job
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
    }


def run_child(url: str, job: dict[str, str], kill_at: tuple[str, int] | None) -> int | None:
    context = multiprocessing.get_context("forkserver")
    limits = {"shard_requests": 8, "max_batches": 3, "max_attempts": 3}
    child = context.Process(
        target=job_crash_child.run, args=(url, API_KEY, job, limits, kill_at), daemon=True
    )
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"the runner hung (kill_at={kill_at})")
    code = child.exitcode
    child.close()
    return code


async def emulator_contents(url: str) -> tuple[list[Any], list[Any]]:
    async with Client(API_KEY, base_url=url) as client:
        files = [f async for f in client.files.list(purpose="batch")]
        batches = [b async for b in client.batches.list()]
    return files, batches


def new_job(directory: Path) -> dict[str, str]:
    directory.mkdir()
    source = directory / "in.jsonl"
    source.write_text(
        "".join(json.dumps(request(n, directory.name)) + "\n" for n in range(REQUESTS))
    )
    return {
        "input": str(source),
        "output": str(directory / "out.jsonl"),
        "state": str(directory / "job.state"),
        "log": str(directory.parent / "kills.log"),
    }


def check_results(job: dict[str, str]) -> int:
    """Check that the job is complete and exact; return how many shards it made."""
    results = [json.loads(line) for line in Path(job["output"]).read_text().splitlines()]
    tag = Path(job["input"]).parent.name
    assert [r["custom_id"] for r in results] == [f"{tag}-{n}" for n in range(REQUESTS)]
    for n, result in enumerate(results):
        assert result["response"]["status_code"] == 200, result
        content = result["response"]["body"]["choices"][0]["message"]["content"]
        assert content == "echo: " + request(n, tag)["body"]["messages"][0]["content"]
    report = asyncio.run(job_status(job["state"]))
    assert (report.succeeded, report.failed, report.pending) == (REQUESTS, 0, 0)
    assert report.shards.keys() == {"done"}
    return report.shards["done"]


def test_killed_at_random_steps_jobs_still_complete_exactly_once(
    emulator_url: str, tmp_path: Path
) -> None:
    multiprocessing.get_context("forkserver")  # the fork server loads the library once:
    multiprocessing.set_forkserver_preload(["openai_batches", "tests.job_crash_child"])
    jobs = [new_job(tmp_path / "job0")]
    rng = random.Random(20261130)
    kills = 0
    for _ in range(100):  # a bound, far from reached
        if kills >= KILLS:
            break
        kill_at = (rng.choice(job_crash_child.KILL_POINTS), rng.randint(1, 2))
        code = run_child(emulator_url, jobs[-1], kill_at)
        assert code in (0, -9), (code, kill_at)
        if code == 0:  # the run finished the job before its step came: start another
            jobs.append(new_job(tmp_path / f"job{len(jobs)}"))
        kills += code == -9
    assert kills == KILLS
    assert run_child(emulator_url, jobs[-1], None) == 0  # the last run, left alone

    steps = Path(jobs[0]["log"]).read_text().splitlines()
    assert len(steps) == KILLS
    where = collections.Counter(job_crash_child.category(step) for step in steps)
    assert {"upload", "create", "wait", "results"} <= set(where), where
    # Both sides of each step that has an effect on the API were hit.
    for point in job_crash_child.KILL_POINTS[1:5]:
        assert point in steps, (point, steps)

    # Complete and exact: one line per request, in order, each the answer to its request.
    shards = {job["state"]: check_results(job) for job in jobs}

    # No duplicate upload, no duplicate batch that ran: one of each per shard.
    files, batches = asyncio.run(emulator_contents(emulator_url))
    assert len(files) == sum(shards.values())
    assert len({f.filename for f in files}) == len(files)
    ran = collections.Counter(
        ((b.metadata or {})["openai_batches_job"], (b.metadata or {})["openai_batches_shard"])
        for b in batches
        if not (
            b.status == "failed" and b.errors and b.errors.data[0].code == "token_limit_exceeded"
        )
    )
    assert len(ran) == sum(shards.values())
    assert set(ran.values()) == {1}, ran
    assert all(b.status in ("completed", "failed") for b in batches)
    # The flaky lines were retried in shards of their own.
    assert all(count > REQUESTS // 8 for count in shards.values())
