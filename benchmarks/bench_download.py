"""Download and stream a large file from the emulator's disk storage; print speed and memory.

    python benchmarks/bench_download.py [--size-mb 256] [--rounds 3]

The emulator runs in a child process with ``--storage-dir`` and serves the file from
disk. Three arms, each round in a rotating order:

* ``download``: ``client.files.download(file_id, path)`` (temporary file, fsync, rename);
* ``content``: ``async for chunk in client.files.content(file_id)``, discarding chunks;
* ``raw``: a plain aiohttp loop over ``response.content.iter_chunked(1 << 16)``.

Memory is the growth of this process's peak resident set (``VmHWM`` in
``/proc/self/status``, reset through ``/proc/self/clear_refs`` before each arm): a streamed
transfer should stay within a few megabytes whatever the file's size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _emulator_process import emulator_process
from _memory import measure

from openai_batches import Client


async def bench(
    url: str, args: argparse.Namespace, tmp: str
) -> dict[str, list[tuple[float, float]]]:
    size = args.size_mb << 20
    source = os.path.join(tmp, "source.bin")
    block = os.urandom(1 << 20)
    with open(source, "wb") as out:
        for _ in range(args.size_mb):
            out.write(block)
    results: dict[str, list[tuple[float, float]]] = {"download": [], "content": [], "raw": []}
    async with Client(api_key="sk-bench", base_url=url, timeout=None) as client:
        file = await client.files.create(source, purpose="user_data", use_uploads=True)
        os.unlink(source)
        target = os.path.join(tmp, "target.bin")

        async def download() -> None:
            await client.files.download(file.id, target)
            assert os.path.getsize(target) == size
            os.unlink(target)

        async def content() -> None:
            total = 0
            async for chunk in client.files.content(file.id):
                total += len(chunk)
            assert total == size

        async with aiohttp.ClientSession(headers={"Authorization": "Bearer sk-bench"}) as session:

            async def raw() -> None:
                total = 0
                async with session.get(f"{url}/files/{file.id}/content") as response:
                    async for chunk in response.content.iter_chunked(1 << 16):
                        total += len(chunk)
                assert total == size

            arms = {"download": download, "content": content, "raw": raw}
            for round_ in range(args.rounds):
                names = list(arms)
                names = names[round_ % 3 :] + names[: round_ % 3]
                for name in names:
                    results[name].append(await measure(arms[name]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = os.path.join(tmp, "emulator")
        os.mkdir(storage)
        with emulator_process(storage) as url:
            results = asyncio.run(bench(url, args, tmp))
    print(f"download {args.size_mb} MB from disk storage, {args.rounds} rounds (medians):")
    raw_time = statistics.median(t for t, _ in results["raw"])
    for name, values in results.items():
        seconds = statistics.median(t for t, _ in values)
        growth = max(m for _, m in values)
        print(
            f"  {name:<9} {seconds:7.3f} s  {args.size_mb / seconds:8.1f} MB/s  "
            f"peak RSS +{growth:5.1f} MB (worst round)  ({seconds / raw_time:.2f}x raw)"
        )


if __name__ == "__main__":
    main()
