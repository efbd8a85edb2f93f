"""Upload a large file through the Uploads API with parallel parts and with sequential parts.

    python benchmarks/bench_upload.py [--size-mb 256] [--part-mb 16] [--concurrency 4]
                                      [--rounds 3]

The file is generated in a temporary directory; the emulator runs in a child process
with ``--storage-dir``, so parts go to disk as they would on a real server. Each round
uploads once with ``concurrency`` parts in flight and once with one (in a rotating order),
then deletes the files. The machine is shared and noisy: only medians and their ratio
are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _emulator_process import emulator_process

from openai_batches import Client
from openai_batches._uploads import Uploads


def make_file(path: str, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        for _ in range(size >> 20):
            out.write(block)
        out.write(block[: size & ((1 << 20) - 1)])


async def bench(url: str, path: str, args: argparse.Namespace) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"parallel": [], "sequential": []}
    arms = {"parallel": args.concurrency, "sequential": 1}
    async with Client(api_key="sk-bench", base_url=url, timeout=None) as client:
        uploads = Uploads(client._api, part_size=args.part_mb << 20)
        for round_ in range(args.rounds):
            order = list(arms) if round_ % 2 == 0 else list(reversed(arms))
            for name in order:
                start = time.perf_counter()
                file = await uploads.upload_file(path, purpose="user_data", concurrency=arms[name])
                times[name].append(time.perf_counter() - start)
                await client.files.delete(file.id)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--part-mb", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb << 20
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "upload.bin")
        make_file(path, size)
        storage = os.path.join(tmp, "emulator")
        os.mkdir(storage)
        with emulator_process(storage) as url:
            times = asyncio.run(bench(url, path, args))
    print(
        f"upload {args.size_mb} MB in {args.part_mb} MB parts, {args.rounds} rounds "
        f"(median seconds, MB/s):"
    )
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        width = args.concurrency if name == "parallel" else 1
        print(f"  {name:<10} x{width}: {median:7.3f} s  {args.size_mb / median:8.1f} MB/s")
    print(f"  sequential / parallel: {medians['sequential'] / medians['parallel']:.2f}x")


if __name__ == "__main__":
    main()
