"""Stream the results of a batch with a large output file; print memory and lines per second.

    python benchmarks/bench_results.py [--requests 50000] [--line-kb 20] [--rounds 3]

The emulator runs in a child process with disk storage and runs a real batch whose
answers it pads to about ``--line-kb`` KB each (its ``[[size:N]]`` marker): with the
defaults the output file is about 1 GB. Then, each round in a rotating order:

* ``results``: ``async for result in client.batches.results(batch)`` (typed lines);
* ``raw``: aiohttp's own line iterator over the file's content, with ``json.loads``
  on each line (the smallest hand-written equivalent).

It prints, per arm, the median lines per second and the largest growth of this process's
peak resident memory: streaming must stay within 64 MiB whatever the file's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _emulator_process import emulator_process
from _memory import measure

from openai_batches import Batch, BatchRequest, Client, Polling, encode_requests


async def make_batch(client: Client, requests: int, line_kb: int) -> Batch:
    jobs = [
        BatchRequest(
            custom_id=f"r-{n}",
            url="/v1/chat/completions",
            body={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": f"question {n} [[size:{line_kb}k]]"}],
            },
        )
        for n in range(requests)
    ]
    (data,) = encode_requests(jobs)
    upload = await client.files.create(data, purpose="batch", filename="bench.jsonl")
    batch = await client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions")
    return await client.batches.wait(batch.id, polling=Polling(interval=0.5, max_interval=2))


async def bench(url: str, args: argparse.Namespace) -> None:
    async with (
        Client(api_key="sk-bench", base_url=url, timeout=None) as client,
        aiohttp.ClientSession(headers={"Authorization": "Bearer sk-bench"}) as session,
    ):
        print(f"running a batch of {args.requests:,} requests ...", flush=True)
        batch = await make_batch(client, args.requests, args.line_kb)
        assert batch.output_file_id is not None
        output = await client.files.retrieve(batch.output_file_id)
        print(f"output file: {output.bytes / 2**20:,.0f} MiB, {args.requests:,} lines")

        async def results() -> None:
            count = 0
            async for result in client.batches.results(batch):
                count += result.succeeded
            assert count == args.requests, count

        async def raw() -> None:
            count = 0
            async with session.get(f"{url}/files/{output.id}/content") as response:
                async for line in response.content:
                    if line.strip():
                        count += json.loads(line)["response"]["status_code"] == 200
            assert count == args.requests, count

        arms = {"results": results, "raw": raw}
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
        names = list(arms)
        for r in range(args.rounds):
            for name in names[r % 2 :] + names[: r % 2]:
                figures[name].append(await measure(arms[name]))

    base = statistics.median(t for t, _ in figures["raw"])
    print(f"\n{args.rounds} rounds, medians")
    for name, values in figures.items():
        seconds = statistics.median(t for t, _ in values)
        peak = max(m for _, m in values)
        print(
            f"  {name:<8} {args.requests / seconds:>10,.0f} lines/s  "
            f"{output.bytes / seconds / 2**20:>7,.0f} MiB/s  time ratio to raw "
            f"{seconds / base:5.2f}  peak RSS growth {peak:6.1f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--line-kb", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as storage,
        emulator_process(storage, "--speed", "1000") as url,
    ):
        asyncio.run(bench(url, args))


if __name__ == "__main__":
    main()
