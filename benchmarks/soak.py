"""Soak: 100,000 requests, a fixed share of them faulty, against the emulator in another process.

    python benchmarks/soak.py [--requests 100000] [--fault-rate 0.05] [--concurrency 16]

The emulator runs in a child process with fault rules that hit every request at random
(seeded): 500, 503, 429 (``retry-after-ms: 0``), a reset before the answer, a body cut
short, and answers that come later than the client's timeout. Sixteen tasks share one
client and call, at random, what a service calls all day: retrieve batches and files,
read the first page of the batch and file listings, stream and download a file's
content, and now and then create a batch and cancel it, or upload a file. Each call recovers
or raises a typed error (counted); anything else stops the run.

At the start, after a warm-up, at every tenth of the requests and at the end, it prints
this process's open TCP connections, file descriptors, asyncio tasks, Python objects and
resident memory. A client that leaks connections, descriptors, tasks or memory under
faults shows it as a column that grows; a sound one stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import multiprocessing
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from multiprocessing.sharedctypes import Synchronized
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _memory import status_kb

import openai_batches as ob

KEY = "sk-soak"
CONTENT = 16 * 1024

# ----------------------------------------------------------------- the emulator process


def _faults(rate: float) -> list[dict[str, Any]]:
    """The fault rules: ``rate`` of all requests, shared among six kinds."""
    share = rate / 6
    return [
        {"kind": "status", "status": 500, "probability": share},
        {"kind": "status", "status": 503, "probability": share},
        {"kind": "status", "status": 429, "retry_after_ms": 0, "probability": share},
        {"kind": "reset", "probability": share},
        {"kind": "truncate", "probability": share},
        {"kind": "delay", "delay": 0.5, "probability": share},
    ]


def serve(
    rate: float,
    seed: int,
    answered: Synchronized[int],
    stop: Any,
    results: Any,
) -> None:
    """The child process: run the emulator until ``stop`` is set."""
    asyncio.run(_emulate(rate, seed, answered, stop, results))


async def _emulate(
    rate: float, seed: int, answered: Synchronized[int], stop: Any, results: Any
) -> None:
    import logging

    from openai_batches.emulator import Emulator, FaultRule, Timing

    # A client that gives up on a delayed answer makes aiohttp's server log a traceback.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    # Batches are stamped in whole seconds and scheduled from that stamp, so a default
    # half-second ``validating`` may be over before the create is answered; two seconds
    # leave a batch just created still cancellable.
    async with Emulator(api_keys=[KEY], seed=seed, timing=Timing(validating=2.0)) as emulator:
        line = {
            "custom_id": "r1",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        }
        batches = [emulator.store.put_batch([line])["id"] for _ in range(40)]
        inputs = [emulator.store.put_jsonl([line])["id"] for _ in range(10)]
        data = emulator.store.put_file("data.bin", "user_data", random.randbytes(CONTENT))["id"]
        rules = [emulator.faults.add(FaultRule(**rule)) for rule in _faults(rate)]
        results.put({"url": emulator.url, "batches": batches, "inputs": inputs, "data": data})
        while not stop.is_set():
            # The emulator keeps every request it saw; count them and let them go.
            with answered.get_lock():
                answered.value += len(emulator.requests)
            emulator.requests.clear()
            await asyncio.sleep(0.05)
        results.put(
            {
                "hits": {
                    f"{r.kind} {r.status if r.kind == 'status' else ''}".strip(): r.hits
                    for r in rules
                }
            }
        )


# ------------------------------------------------------------------------- measurements


def _tcp_states() -> dict[str, str]:
    """Socket inode -> TCP state, for every TCP socket on the machine."""
    states = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as table:
                next(table)
                for row in table:
                    fields = row.split()
                    states[fields[9]] = fields[3]
        except FileNotFoundError:
            pass
    return states


def snapshot() -> dict[str, int]:
    """This process's descriptors, TCP connections, tasks, objects and resident memory."""
    fds = os.listdir("/proc/self/fd")
    sockets = []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.append(target[8:-1])
    states = _tcp_states()
    return {
        "fds": len(fds),
        "established": sum(states.get(inode) == "01" for inode in sockets),
        "tcp_other": sum(inode in states and states[inode] != "01" for inode in sockets),
        "tasks": len(asyncio.all_tasks()),
        "objects": len(gc.get_objects()),
        "rss_kb": status_kb("VmRSS"),
    }


HEADER = (
    f"{'point':<22}{'requests':>10}{'calls':>9}{'errors':>8}{'tcp open':>10}"
    f"{'tcp other':>10}{'fds':>6}{'tasks':>7}{'objects':>10}{'rss MB':>9}"
)


def line(point: str, requests: int, calls: int, errors: int) -> str:
    s = snapshot()
    return (
        f"{point:<22}{requests:>10,}{calls:>9,}{errors:>8,}{s['established']:>10}"
        f"{s['tcp_other']:>10}{s['fds']:>6}{s['tasks']:>7}{s['objects']:>10,}"
        f"{s['rss_kb'] / 1024:>9.1f}"
    )


# ---------------------------------------------------------------------------- the calls


class Soak:
    """The calls the workers make, and what became of them."""

    def __init__(self, client: ob.Client, seeded: dict[str, Any], folder: str, seed: int):
        self.client = client
        self.seeded = seeded
        self.folder = folder
        self.random = random.Random(seed)
        self.calls = 0
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.uploads = 0
        weighted: list[tuple[Callable[[], Awaitable[object]], int]] = [
            (self.retrieve_batch, 30),
            (self.retrieve_file, 10),
            (self.batches_page, 15),
            (self.files_page, 10),
            (self.content, 20),
            (self.download, 6),
            (self.create_and_cancel, 4),
            (self.upload, 3),
        ]
        self.calls_by_weight = [call for call, weight in weighted for _ in range(weight)]

    async def one(self) -> None:
        call = self.random.choice(self.calls_by_weight)
        name = call.__name__
        try:
            await call()
        except ob.OpenAIError as exc:
            self.outcomes[f"{name}: {type(exc).__name__}"] += 1
        else:
            self.outcomes[f"{name}: ok"] += 1
        self.calls += 1

    @property
    def errors(self) -> int:
        return sum(n for key, n in self.outcomes.items() if not key.endswith(": ok"))

    async def retrieve_batch(self) -> None:
        batch_id = self.random.choice(self.seeded["batches"])
        assert (await self.client.batches.retrieve(batch_id)).id == batch_id

    async def retrieve_file(self) -> None:
        assert (await self.client.files.retrieve(self.seeded["data"])).bytes == CONTENT

    async def batches_page(self) -> None:
        async with aclosing(self.client.batches.pages(limit=20)) as pages:
            async for page in pages:
                assert len(page.data) == 20
                break

    async def files_page(self) -> None:
        async with aclosing(self.client.files.pages(limit=20)) as pages:
            async for page in pages:
                assert len(page.data) == 20
                break

    async def content(self) -> None:
        size = 0
        async with aclosing(self.client.files.content(self.seeded["data"])) as chunks:
            async for chunk in chunks:
                size += len(chunk)
        # A body cut short raises; a short one that ends cleanly must not pass for the file.
        assert size == CONTENT, size

    async def download(self) -> None:
        path = os.path.join(self.folder, f"out-{self.random.randrange(1 << 30)}.bin")
        await self.client.files.download(self.seeded["data"], path)
        assert os.path.getsize(path) == CONTENT
        os.unlink(path)

    async def create_and_cancel(self) -> None:
        batch = await self.client.batches.create(
            input_file_id=self.random.choice(self.seeded["inputs"]),
            endpoint="/v1/chat/completions",
        )
        cancelled = await self.client.batches.cancel(batch.id)
        assert cancelled.id == batch.id

    async def upload(self) -> None:
        self.uploads += 1
        name = f"soak-{self.uploads}.txt"
        uploaded = await self.client.files.create(b"x" * 1024, purpose="user_data", filename=name)
        assert uploaded.filename == name
        assert uploaded.bytes == 1024


async def soak(
    seeded: dict[str, Any], answered: Synchronized[int], args: argparse.Namespace
) -> None:
    target = args.requests
    print(HEADER)
    print(line("start", answered.value, 0, 0), flush=True)
    policy = ob.RetryPolicy(max_retries=2, initial_delay=0, max_delay=0, max_retry_after=1)
    timeout = ob.Timeout(total=0.25, connect=2)
    with tempfile.TemporaryDirectory() as folder:
        client = ob.Client(KEY, base_url=seeded["url"], timeout=timeout, retry_policy=policy)
        async with client:
            runs = Soak(client, seeded, folder, args.seed)
            checkpoints = [max(1000, target // 100)] + [target * i // 10 for i in range(1, 11)]
            labels = ["after warm-up"] + [f"{i * 10}%" for i in range(1, 11)]

            async def worker() -> None:
                while answered.value < target:
                    await runs.one()

            started = time.perf_counter()
            async with asyncio.TaskGroup() as group:
                for _ in range(args.concurrency):
                    group.create_task(worker())
                while checkpoints:
                    await asyncio.sleep(0.05)
                    if answered.value >= checkpoints[0]:
                        checkpoints.pop(0)
                        label = labels.pop(0)
                        print(line(label, answered.value, runs.calls, runs.errors), flush=True)
                        if args.trace_memory and label == "after warm-up":
                            tracemalloc.start(args.trace_memory)
            elapsed = time.perf_counter() - started
            print(line("end, client open", answered.value, runs.calls, runs.errors))
            if args.trace_memory:
                grown = tracemalloc.take_snapshot().statistics("traceback")
                tracemalloc.stop()
                total = sum(stat.size for stat in grown)
                print(
                    f"\nstill allocated at the end, of what was allocated after the warm-up: "
                    f"{total / 1024:,.0f} KiB in {sum(stat.count for stat in grown):,} blocks; "
                    "the largest (allocating line first):"
                )
                for stat in grown[:8]:
                    where = " <- ".join(
                        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
                        for frame in reversed(stat.traceback)
                    )
                    print(f"  {stat.size / 1024:8.1f} KiB {stat.count:7,} blocks  {where}")
                print()
        gc.collect()
        print(line("client closed", answered.value, runs.calls, runs.errors))
        leftovers = os.listdir(folder)
    print(f"\n{answered.value:,} requests in {elapsed:.0f} s ({answered.value / elapsed:,.0f}/s)")
    print(f"files left in the download folder: {len(leftovers)}")
    print("calls:")
    for key, n in sorted(runs.outcomes.items()):
        print(f"  {key:<45}{n:>8,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--trace-memory",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace allocations after the warm-up (slower) and print those still alive at the end",
    )
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    answered = context.Value("q", 0)
    stop = context.Event()
    results = context.Queue()
    child = context.Process(
        target=serve, args=(args.fault_rate, args.seed, answered, stop, results), daemon=True
    )
    child.start()
    try:
        seeded = results.get(timeout=60)
        print(
            f"soak: {args.requests:,} requests, {args.fault_rate:.0%} of them faulty, "
            f"{args.concurrency} tasks, one client; emulator pid {child.pid}\n"
        )
        asyncio.run(soak(seeded, answered, args))
        stop.set()
        hits = results.get(timeout=60)["hits"]
        print("faults injected:", ", ".join(f"{kind} {n:,}" for kind, n in hits.items()))
    finally:
        stop.set()
        child.join(timeout=30)
        if child.is_alive():
            child.terminate()
            child.join()


if __name__ == "__main__":
    main()
