"""The concurrent walking helpers against hand-written aiohttp code and the openai SDK.

    python benchmarks/bench_concurrency.py [--rounds 5] [--quick] [--only TEXT]

Each case runs against the emulator in a child process (so its work stays off the
measured event loop), seeded with many objects and answering every request after a
fixed latency (``Emulator(latency=...)``: an ``asyncio.sleep`` in the server, so
concurrent requests wait side by side, as over a network). Every arm of a case runs once
to warm up, then ``--rounds`` times in a rotating order; the machine is shared and noisy,
so only medians and ratios are printed, and a closing table checks each ratio against
its target.

Cases:

* ``walk, consumer works``: 2,000 batches in pages of 100 at 20 ms latency, the consumer
  awaiting other work for as long as a page takes to arrive (measured first: the median
  time per page of three plain walks with an idle consumer) after each page:
  ``batches.list(prefetch=1)`` against the plain walk (target: at most 0.6), with
  ``prefetch=2``, a hand-written aiohttp walk and the SDK's auto-pagination doing the same;
* ``walk, idle consumer``: the same walks with a consumer that does nothing: look-ahead
  has nothing to overlap with;
* ``scan``: 100,000 files in pages of 10,000 at 50 ms latency: ``files.scan()`` against
  ``files.list()`` (target: at most 0.6), the scan with each walk one page ahead instead
  of two, a hand-written aiohttp walk, and the SDK.

A case is a coroutine function registered with ``@case``: it gets the clients and returns
its arms (name -> coroutine function returning how many items it saw). Cases that share a server
specification share the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_walk import raw_walk  # noqa: E402

API_KEY = "sk-bench"

Arm = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class Server:
    """What the emulator process serves: its latency and how many objects it holds."""

    latency_ms: float
    batches: int = 0
    files: int = 0


@dataclass
class Bench:
    """What a case builds its arms from."""

    base: str
    session: Any  # aiohttp.ClientSession with the key, for the hand-written arms
    client: Any  # openai_batches.Client
    sdk: Any  # openai.AsyncOpenAI, or None when the SDK is not installed


@dataclass(frozen=True)
class Target:
    """``arm`` must take at most ``ratio`` times as long as ``baseline``."""

    arm: str
    baseline: str
    ratio: float


Arms = Callable[[Bench], Awaitable[dict[str, Arm]]]


@dataclass
class Case:
    title: str
    server: Server
    arms: Arms
    baseline: str
    targets: list[Target] = field(default_factory=list)


CASES: list[Case] = []


def case(
    title: str, server: Server, *, baseline: str, targets: tuple[Target, ...] = ()
) -> Callable[[Arms], Arms]:
    """Register a case: a coroutine function from :class:`Bench` to its arms."""

    def register(arms: Arms) -> Arms:
        CASES.append(Case(title, server, arms, baseline, list(targets)))
        return arms

    return register


# --------------------------------------------------------------------------- cases

N_BATCHES = 2_000
BATCH_PAGE = 100
N_FILES = 100_000
FILE_PAGE = 10_000

WALK_SERVER = Server(latency_ms=20, batches=N_BATCHES)
SCAN_SERVER = Server(latency_ms=50, files=N_FILES)


def consuming(walk: Callable[[], Any], work: float, page: int = BATCH_PAGE) -> Arm:
    """An arm that walks items and awaits ``work`` seconds of other work per page."""

    async def run() -> int:
        count = 0
        async for _ in walk():
            count += 1
            if work and count % page == 0:
                await asyncio.sleep(work)
        return count

    return run


def walk_arms(bench: Bench, work: float) -> dict[str, Arm]:
    client, sdk = bench.client, bench.sdk
    arms = {
        "plain": consuming(lambda: client.batches.list(limit=BATCH_PAGE), work),
        "prefetch=1": consuming(lambda: client.batches.list(limit=BATCH_PAGE, prefetch=1), work),
        "prefetch=2": consuming(lambda: client.batches.list(limit=BATCH_PAGE, prefetch=2), work),
        "raw aiohttp": consuming(
            lambda: raw_walk(bench.session, f"{bench.base}/batches", BATCH_PAGE), work
        ),
    }
    if sdk is not None:
        arms["openai SDK"] = consuming(lambda: sdk.batches.list(limit=BATCH_PAGE), work)
    return arms


@case(
    "walk, consumer works as long as a page takes: 2,000 batches, pages of 100, 20 ms latency",
    WALK_SERVER,
    baseline="plain",
    targets=(Target("prefetch=1", "plain", 0.6),),
)
async def walk_with_work(bench: Bench) -> dict[str, Arm]:
    idle = consuming(lambda: bench.client.batches.list(limit=BATCH_PAGE), 0.0)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        await idle()
        times.append(time.perf_counter() - start)
    work = statistics.median(times) / (N_BATCHES / BATCH_PAGE)
    print(f"\n(a page takes {work * 1000:.1f} ms to arrive; the consumer works as long per page)")
    return walk_arms(bench, work)


@case(
    "walk, idle consumer: 2,000 batches, pages of 100, 20 ms latency",
    WALK_SERVER,
    baseline="plain",
)
async def walk_idle(bench: Bench) -> dict[str, Arm]:
    return walk_arms(bench, 0.0)


@case(
    "scan: 100,000 files, pages of 10,000, 50 ms latency",
    SCAN_SERVER,
    baseline="files.list()",
    targets=(Target("files.scan()", "files.list()", 0.6),),
)
async def scan(bench: Bench) -> dict[str, Arm]:
    client, sdk = bench.client, bench.sdk

    async def count(walk: Any) -> int:
        return sum([1 async for _ in walk])

    async def one_ahead() -> int:
        # The scan with each walk one page ahead instead of two (see _scan._AHEAD).
        from openai_batches import _scan

        default, _scan._AHEAD = _scan._AHEAD, 1
        try:
            return await count(client.files.scan(limit=FILE_PAGE))
        finally:
            _scan._AHEAD = default

    arms: dict[str, Arm] = {
        "files.list()": lambda: count(client.files.list(limit=FILE_PAGE)),
        "files.scan()": lambda: count(client.files.scan(limit=FILE_PAGE)),
        "scan, 1 ahead": one_ahead,
        "raw aiohttp": lambda: count(raw_walk(bench.session, f"{bench.base}/files", FILE_PAGE)),
    }
    if sdk is not None:
        arms["openai SDK"] = lambda: count(sdk.files.list(limit=FILE_PAGE))
    return arms


# --------------------------------------------------------------------------- server


async def serve(spec: Server, url_file: str) -> None:
    """Seed an emulator and serve it until killed (runs in the child process)."""
    from openai_batches.emulator import Emulator, ManualClock

    clock = ManualClock(start=1_700_000_000)
    emulator = Emulator(clock=clock, api_keys=[API_KEY], seed=1, latency=spec.latency_ms / 1000)
    line = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "text-embedding-3-small", "input": "hello"},
    }
    for _ in range(spec.batches):
        clock.advance(1)
        emulator.store.put_batch([line], endpoint="/v1/embeddings")
    # Let every batch finish, so the emulator has no lifecycle to replay per request.
    clock.advance(3 * 86_400)
    emulator.store.advance()
    for i in range(spec.files):
        emulator.store.put_file(f"f{i}.jsonl", "batch", b"{}\n", created_at=1_700_000_000 + i)
    async with emulator:
        with open(url_file + ".tmp", "w") as f:
            f.write(emulator.url)
        os.replace(url_file + ".tmp", url_file)
        await asyncio.Event().wait()


class ServerProcess:
    """The emulator of one :class:`Server` specification, in a child process."""

    def __init__(self, spec: Server) -> None:
        self.url_file = os.path.join(HERE, f".bench-url-{os.getpid()}")
        command = [sys.executable, __file__, "--serve", json.dumps(asdict(spec)), self.url_file]
        self.process = subprocess.Popen(command)

    async def url(self) -> str:
        while not os.path.exists(self.url_file):
            if self.process.poll() is not None:
                raise SystemExit("the emulator process failed to start")
            await asyncio.sleep(0.05)
        with open(self.url_file) as f:
            url = f.read()
        os.remove(self.url_file)
        return url

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


# --------------------------------------------------------------------------- measuring


async def measure(arms: dict[str, Arm], rounds: int) -> dict[str, list[float]]:
    """Run every arm once to warm up, then ``rounds`` times in a rotating order."""
    names = list(arms)
    expected = {name: await arms[name]() for name in names}
    counts = set(expected.values())
    assert len(counts) == 1, f"the arms disagree on how many items there are: {expected}"
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            count = await arms[name]()
            times[name].append(time.perf_counter() - start)
            assert count == expected[name], (name, count)
    return times


def report(title: str, baseline: str, times: dict[str, list[float]]) -> dict[str, float]:
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{title} ({len(times[baseline])} rounds)")
    for name, median in medians.items():
        ratio = median / medians[baseline]
        print(f"  {name:<14} median {median * 1000:8.1f} ms   ratio to {baseline}: {ratio:5.2f}")
    return medians


async def run(rounds: int, only: str | None) -> None:
    import aiohttp

    import openai_batches

    try:
        import openai
    except ImportError:
        openai = None

    cases = [c for c in CASES if only is None or only in c.title]
    results: list[tuple[Case, dict[str, float]]] = []
    for spec in dict.fromkeys(c.server for c in cases):
        server = ServerProcess(spec)
        try:
            base = await server.url()
            async with (
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
                openai_batches.Client(API_KEY, base_url=base, max_retries=0) as client,
            ):
                sdk = (
                    openai.AsyncOpenAI(api_key=API_KEY, base_url=base, max_retries=0)
                    if openai is not None
                    else None
                )
                bench = Bench(base, session, client, sdk)
                try:
                    for c in cases:
                        if c.server == spec:
                            times = await measure(await c.arms(bench), rounds)
                            results.append((c, report(c.title, c.baseline, times)))
                finally:
                    if sdk is not None:
                        await sdk.close()
        finally:
            server.stop()
    summary(results)


def summary(results: list[tuple[Case, dict[str, float]]]) -> None:
    print("\n| case | arm | ratio | target |")
    print("|---|---|---|---|")
    for c, medians in results:
        goals = {t.arm: t for t in c.targets}
        for name, median in medians.items():
            ratio = median / medians[c.baseline]
            goal = goals.get(name)
            verdict = ""
            if goal is not None:
                actual = median / medians[goal.baseline]
                held = "holds" if actual <= goal.ratio else "MISSED"
                verdict = f"<= {goal.ratio} x {goal.baseline}: {held}"
            print(f"| {c.title.split(':')[0]} | {name} | {ratio:.2f} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--only", help="run only the cases whose title contains this")
    parser.add_argument("--serve", nargs=2, metavar=("SPEC", "URL_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        spec = Server(**json.loads(args.serve[0]))
        asyncio.run(serve(spec, args.serve[1]))
        return
    asyncio.run(run(3 if args.quick else args.rounds, args.only))


if __name__ == "__main__":
    main()
