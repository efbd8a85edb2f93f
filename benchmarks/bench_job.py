"""A job of 200,000 requests on the emulator: throughput, peak memory, state-store cost.

    python benchmarks/bench_job.py [--requests 200000] [--rounds 2]

The emulator runs in a child process (disk storage, 100 emulated seconds a second, 10,000
requests a second per batch, so it is bound by its own CPU, not by its timing). Each round
runs two arms, in alternating order, each in a fresh child process:

* ``job``: ``client.jobs.run(input, output)``: check the input, record it in the state
  file, four shards of 50,000 (all four in flight), upload, create, wait, record every
  result, write the results file in input order;
* ``pipeline``: the same requests through the same emulator with no job: cut into the same
  four files, upload, create, wait and stream both result files, counting lines. This is
  the emulator's own limit for this work, the baseline.

It prints, per arm, the median requests per second end to end and the peak resident memory
of the process (``VmHWM``; the job must stay under 100 MiB whatever its size), and for the
job the state file's size per request and the time its worker thread spends on the job's
statements per request (loading, planning, copying shards, recording results, writing the
results file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _emulator_process import emulator_process
from _memory import status_kb

from openai_batches import Client, JobLimits, Polling

POLLING = Polling(interval=0.05, max_interval=0.5)
SHARD = 50_000


def write_input(path: str, requests: int) -> None:
    with open(path, "w") as out:
        for n in range(requests):
            line = {
                "custom_id": f"request-{n}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [
                        {"role": "system", "content": "Answer in one short sentence."},
                        {"role": "user", "content": f"What is the number {n} in words?"},
                    ],
                },
            }
            out.write(json.dumps(line) + "\n")


async def job_arm(url: str, source: str, work: str) -> dict[str, Any]:
    from openai_batches._jobstore import Store

    # The time the store's worker thread spends on the job's statements (the queue in
    # front of the thread not counted): the state store's own cost.
    spent = 0.0
    original = Store._run

    async def timed(self: Store, function: Any, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            nonlocal spent
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent += time.perf_counter() - start

        return await original(self, run)

    Store._run = timed  # type: ignore[method-assign]
    state = os.path.join(work, "job.state")
    async with Client("sk-bench", base_url=url) as client:
        report = await client.jobs.run(
            source,
            os.path.join(work, "results.jsonl"),
            state=state,
            limits=JobLimits(shard_requests=SHARD, max_batches=4),
            polling=POLLING,
        )
    assert report.succeeded == report.requests, report
    return {"store_seconds": spent, "state_bytes": os.path.getsize(state)}


async def pipeline_arm(url: str, source: str, work: str) -> dict[str, Any]:
    paths: list[str] = []
    with open(source, "rb") as lines:
        out = None
        for n, line in enumerate(lines):
            if n % SHARD == 0:
                if out is not None:
                    out.close()
                paths.append(os.path.join(work, f"shard-{len(paths)}.jsonl"))
                out = open(paths[-1], "wb")  # noqa: SIM115
            assert out is not None
            out.write(line)
        if out is not None:
            out.close()

    async def one(client: Client, path: str) -> int:
        upload = await client.files.create(path, purpose="batch")
        batch = await client.batches.create(
            input_file_id=upload.id, endpoint="/v1/chat/completions"
        )
        batch = await client.batches.wait(batch.id, polling=POLLING)
        count = 0
        for file_id in (batch.output_file_id, batch.error_file_id):
            async for _ in client.files.lines(file_id):
                count += 1
        return count

    async with Client("sk-bench", base_url=url) as client, asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(client, path)) for path in paths]
    assert sum(task.result() for task in tasks) > 0
    return {}


def child(arm: str, url: str, source: str, work: str) -> None:
    start = time.perf_counter()
    run = job_arm if arm == "job" else pipeline_arm
    extra = asyncio.run(run(url, source, work))
    elapsed = time.perf_counter() - start
    print(json.dumps({"elapsed": elapsed, "peak_mib": status_kb("VmHWM") / 1024, **extra}))


def run_arm(arm: str, url: str, source: str, base: str, number: int) -> dict[str, Any]:
    work = os.path.join(base, f"{arm}-{number}")
    os.mkdir(work)
    command = [sys.executable, __file__, "--child", arm, url, source, work]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=4, metavar=("ARM", "URL", "INPUT", "WORK"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as base:
        source = os.path.join(base, "requests.jsonl")
        write_input(source, args.requests)
        size = os.path.getsize(source)
        print(f"{args.requests:,} requests, {size / 2**20:.1f} MiB of input, shards of {SHARD:,}")
        storage = os.path.join(base, "emulator")
        os.mkdir(storage)
        options = ("--speed", "100", "--requests-per-second", "10000")
        results: dict[str, list[dict[str, Any]]] = {"job": [], "pipeline": []}
        with emulator_process(storage, *options) as url:
            for number in range(args.rounds):
                order = ("job", "pipeline") if number % 2 == 0 else ("pipeline", "job")
                for arm in order:
                    result = run_arm(arm, url, source, base, number)
                    results[arm].append(result)
                    print(f"  round {number + 1} {arm}: {result}", flush=True)
        print()
        rates = {}
        for arm, runs in results.items():
            rates[arm] = statistics.median(args.requests / r["elapsed"] for r in runs)
            peak = max(r["peak_mib"] for r in runs)
            print(f"{arm:9} {rates[arm]:9,.0f} requests/s (median)   peak RSS {peak:6.1f} MiB")
        print(f"job / pipeline throughput: {rates['job'] / rates['pipeline']:.2f}")
        jobs = results["job"]
        per_request_us = statistics.median(r["store_seconds"] for r in jobs) / args.requests
        per_request_bytes = statistics.median(r["state_bytes"] for r in jobs) / args.requests
        print(
            f"state store: {per_request_us * 1e6:.1f} us of its thread per request (median), "
            f"{per_request_bytes:.0f} bytes of state file per request"
        )


if __name__ == "__main__":
    main()
