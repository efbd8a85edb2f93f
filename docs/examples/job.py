"""A job larger than the queue allows, interrupted half-way and resumed.

    python docs/examples/job.py

Runs on the embedded emulator (no key, no network, no cost), with an enqueued-token limit
of 1,000 tokens per model: the job's 600 requests need about 3,600, so its shards take
turns. The first run is cancelled once two batches are in flight, as Ctrl-C or a deploy
would stop it; the second run, with the same state file, picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from openai_batches import JobLimits, JobProgress, Polling, job_status
from openai_batches.emulator import Emulator

POLLING = Polling(interval=0.02, max_interval=0.2)  # the emulator is fast; the API is not


def write_requests(path: Path) -> None:
    with path.open("w") as out:
        for n in range(600):
            text = f"Spell the number {n} in words."
            if n == 7:
                text += " [[fail:400]]"  # the emulator fails this one for good
            if n % 50 == 3:
                text += " [[flaky:503:1]]"  # and these once: they are retried
            line = {
                "custom_id": f"q-{n}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
            }
            out.write(json.dumps(line) + "\n")


async def main() -> None:
    async with (
        Emulator(speed=20, enqueued_token_limit=1_000) as emulator,
        emulator.client() as client,
    ):
        workdir = Path(tempfile.mkdtemp())
        source, results = workdir / "requests.jsonl", workdir / "results.jsonl"
        state = workdir / "results.jsonl.job"
        write_requests(source)
        limits = JobLimits(max_enqueued_tokens=900, shard_requests=100, max_batches=4)

        two_in_flight = asyncio.Event()

        def watch(progress: JobProgress) -> None:
            if sum(progress.batches.values()) >= 2:
                two_in_flight.set()

        first = asyncio.create_task(
            client.jobs.run(source, results, limits=limits, polling=POLLING, on_progress=watch)
        )
        await two_in_flight.wait()
        first.cancel()  # as Ctrl-C would: the batches in flight keep running
        await asyncio.gather(first, return_exceptions=True)
        stopped = await job_status(state)
        print(f"stopped: {stopped.pending} pending, shards {dict(stopped.shards)}")

        def show(progress: JobProgress) -> None:
            if progress.event in ("harvested", "limited", "finished"):
                print(
                    f"{progress.event}: {progress.succeeded} succeeded, "
                    f"{progress.failed} failed, {progress.pending} pending, "
                    f"{progress.tokens_enqueued} tokens enqueued"
                )

        report = await client.jobs.run(
            source, results, limits=limits, polling=POLLING, on_progress=show
        )
        print(f"done: {report.succeeded} succeeded, {report.failed} failed")
        lines = [json.loads(line) for line in results.read_text().splitlines()]
        print(f"{len(lines)} results, in input order: {lines[0]['custom_id']} first")
        print("q-7:", lines[7]["response"]["body"]["error"]["message"])
        uploads = [f async for f in client.files.list(purpose="batch")]
        print(f"{len(uploads)} files uploaded for {sum(report.shards.values())} shards")


if __name__ == "__main__":
    asyncio.run(main())
