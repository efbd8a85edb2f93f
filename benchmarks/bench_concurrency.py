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
  of two, a hand-written aiohttp walk, and the SDK;
* ``retrieve_many``: 500 batches at 20 ms latency, 32 at a time:
  ``batches.retrieve_many(ids, limit=32)`` against hand-written aiohttp code (a semaphore,
  ``gather`` and ``json.loads``; target: at most 1.1) and against the SDK's
  ``AsyncOpenAI`` with a semaphore and ``gather`` (target: at most 0.5, twice as fast).
  Beside them, the latency floor, 320 ms, that no client can beat (see :class:`Floor`),
  and the best ratios it allows in this run: whether a target is in reach on this
  machine, whose load slows the CPU-bound SDK far more than the waiting clients;
* ``merge``: 20,000 batches (pages of 100) and 100,000 files (pages of 1,000, the
  default; 40,000 of them are the batches' input and output files) at 20 ms latency:
  ``merge(batches=..., files=...)`` against the slower of the two walks alone (target: at
  most 1.1), merge taking one item of each source at a time instead of up to 128, and
  the two walks side by side with ``gather``, hand-written and with the SDK;
* memory (not timed): ``concurrent_map`` from a walk of the same 100,000 files into a
  ``fn`` slower than the walk, ``limit=32``: the most models alive at once (counted with
  weak references; target: at most ``limit``, besides the page the walk holds as JSON)
  and the growth of this process's peak resident memory, against reading the walk into a
  list first and then calling ``fn`` 32 at a time.

A case is a coroutine function registered with ``@case``: it gets the clients and returns
its arms (name -> coroutine function returning how many items it saw). A check, registered
with ``@check``, measures something else once and returns its rows of the closing table.
Cases and checks that share a server specification share the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
import weakref
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _memory import measure as peak_growth  # noqa: E402
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
    """``arm`` must take at most ``ratio`` times as long as ``baseline``.

    A baseline of several arms is the slowest of them.
    """

    arm: str
    baseline: str | tuple[str, ...]
    ratio: float


def baseline_median(medians: dict[str, float], baseline: str | tuple[str, ...]) -> float:
    if isinstance(baseline, str):
        return medians[baseline]
    return max(medians[name] for name in baseline)


def baseline_name(baseline: str | tuple[str, ...]) -> str:
    if isinstance(baseline, str):
        return baseline
    return "the slower of " + " and ".join(baseline)


@dataclass(frozen=True)
class Floor:
    """The least time any client can take for ``calls`` calls, ``limit`` at a time.

    Each call is in flight for at least ``latency_ms`` (the server's wait), so at one
    at least of the instants t, t + latency, t + 2 latency, ... for any t, and at most
    ``limit`` calls are in flight at each: a run shorter than ``ceil(calls / limit)``
    latencies holds too few of those instants for every call. (``calls / limit``
    latencies, the total wait spread evenly over the slots, is a weaker bound.)
    """

    calls: int
    limit: int
    latency_ms: float

    @property
    def seconds(self) -> float:
        return math.ceil(self.calls / self.limit) * self.latency_ms / 1000

    def describe(self) -> str:
        waits = math.ceil(self.calls / self.limit)
        return (
            f"{self.calls} calls, {self.limit} at a time, {self.latency_ms:g} ms each: "
            f"at least {waits} waits one after another"
        )


Arms = Callable[[Bench], Awaitable[dict[str, Arm]]]


@dataclass
class Case:
    title: str
    server: Server
    arms: Arms
    baseline: str | tuple[str, ...]
    targets: list[Target] = field(default_factory=list)
    #: Arms that each see a part of what the others see: their counts add up to theirs.
    parts: tuple[str, ...] = ()
    #: The least time any arm can take, when the server's latency sets one.
    floor: Floor | None = None


CASES: list[Case] = []


def case(
    title: str,
    server: Server,
    *,
    baseline: str | tuple[str, ...],
    targets: tuple[Target, ...] = (),
    parts: tuple[str, ...] = (),
    floor: Floor | None = None,
) -> Callable[[Arms], Arms]:
    """Register a case: a coroutine function from :class:`Bench` to its arms."""

    def register(arms: Arms) -> Arms:
        CASES.append(Case(title, server, arms, baseline, list(targets), parts, floor))
        return arms

    return register


# --------------------------------------------------------------------------- cases

N_BATCHES = 2_000
BATCH_PAGE = 100
N_FILES = 100_000
FILE_PAGE = 10_000

N_RETRIEVE = 500
MANY_LIMIT = 32
N_MERGE_BATCHES = 20_000

WALK_SERVER = Server(latency_ms=20, batches=N_BATCHES)
SCAN_SERVER = Server(latency_ms=50, files=N_FILES)
# Each batch brings its input and output file: 60,000 more make a listing of 100,000 files.
MERGE_SERVER = Server(latency_ms=20, batches=N_MERGE_BATCHES, files=N_FILES - 2 * N_MERGE_BATCHES)


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


@case(
    "retrieve_many: 500 batches, 32 at a time, 20 ms latency",
    WALK_SERVER,
    baseline="raw aiohttp",
    targets=(
        Target("retrieve_many", "raw aiohttp", 1.1),
        Target("retrieve_many", "openai SDK", 0.5),
    ),
    floor=Floor(N_RETRIEVE, MANY_LIMIT, WALK_SERVER.latency_ms),
)
async def retrieve_many(bench: Bench) -> dict[str, Arm]:
    client, sdk, session = bench.client, bench.sdk, bench.session
    ids = [batch.id async for batch in client.batches.list(max_items=N_RETRIEVE)]

    async def ours() -> int:
        return sum([1 async for _ in client.batches.retrieve_many(ids, limit=MANY_LIMIT)])

    async def raw() -> int:
        slots = asyncio.Semaphore(MANY_LIMIT)

        async def one(batch_id: str) -> dict[str, Any]:
            async with slots, session.get(f"{bench.base}/batches/{batch_id}") as response:
                response.raise_for_status()
                body: dict[str, Any] = json.loads(await response.read())
                return body

        return len(await asyncio.gather(*(one(i) for i in ids)))

    arms: dict[str, Arm] = {"retrieve_many": ours, "raw aiohttp": raw}
    if sdk is not None:

        async def with_sdk() -> int:
            slots = asyncio.Semaphore(MANY_LIMIT)

            async def one(batch_id: str) -> Any:
                async with slots:
                    return await sdk.batches.retrieve(batch_id)

            return len(await asyncio.gather(*(one(i) for i in ids)))

        arms["openai SDK"] = with_sdk
    return arms


async def count_both(*walks: Any) -> int:
    """Walk several listings side by side with ``gather``; how many items in all."""

    async def count(walk: Any) -> int:
        return sum([1 async for _ in walk])

    return sum(await asyncio.gather(*(count(walk) for walk in walks)))


@case(
    "merge: 20,000 batches (pages of 100) and 100,000 files (pages of 1,000), 20 ms latency",
    MERGE_SERVER,
    baseline=("batches.list()", "files.list()"),
    targets=(Target("merge", ("batches.list()", "files.list()"), 1.1),),
    parts=("batches.list()", "files.list()"),
)
async def merge_walks(bench: Bench) -> dict[str, Arm]:
    from openai_batches import merge

    client, sdk = bench.client, bench.sdk

    async def count(walk: Any) -> int:
        return sum([1 async for _ in walk])

    async def merged() -> int:
        return await count(merge(batches=client.batches.list(), files=client.files.list()))

    async def one_at_a_time() -> int:
        # merge handing each source's items over one by one (see _concurrency.MERGE_AHEAD).
        from openai_batches import _concurrency

        default, _concurrency.MERGE_AHEAD = _concurrency.MERGE_AHEAD, 1
        try:
            return await merged()
        finally:
            _concurrency.MERGE_AHEAD = default

    arms: dict[str, Arm] = {
        "batches.list()": lambda: count(client.batches.list(limit=BATCH_PAGE)),
        "files.list()": lambda: count(client.files.list()),
        "merge": merged,
        "merge, 1 ahead": one_at_a_time,
        "raw aiohttp, gather": lambda: count_both(
            raw_walk(bench.session, f"{bench.base}/batches", BATCH_PAGE),
            raw_walk(bench.session, f"{bench.base}/files", 1_000),
        ),
    }
    if sdk is not None:
        arms["SDK, gather"] = lambda: count_both(
            sdk.batches.list(limit=BATCH_PAGE), sdk.files.list(limit=1_000)
        )
    return arms


Row = tuple[str, str, str, str]  # case, arm, what was measured, target


@dataclass
class Check:
    """A measurement that is not a ratio of times, run once against its server."""

    title: str
    server: Server
    run: Callable[[Bench], Awaitable[list[Row]]]


CHECKS: list[Check] = []


def check(
    title: str, server: Server
) -> Callable[[Callable[[Bench], Awaitable[list[Row]]]], Callable[[Bench], Awaitable[list[Row]]]]:
    """Register a check: a coroutine function from :class:`Bench` to rows of the table."""

    def register(
        run: Callable[[Bench], Awaitable[list[Row]]],
    ) -> Callable[[Bench], Awaitable[list[Row]]]:
        CHECKS.append(Check(title, server, run))
        return run

    return register


SLOW_CALL = 0.002  # seconds per call: 32 at a time, slower than the walk brings files


@check(
    "memory: concurrent_map(fn, files.list(), limit=32) over 100,000 files, fn awaiting 2 ms",
    MERGE_SERVER,
)
async def memory(bench: Bench) -> list[Row]:
    from openai_batches import concurrent_map

    client = bench.client
    alive = peak = 0

    def gone() -> None:
        nonlocal alive
        alive -= 1

    def note(item: Any = None) -> None:
        nonlocal alive, peak
        if item is not None:
            alive += 1
            weakref.finalize(item, gone)  # the models are not hashable: no WeakSet
        peak = max(peak, alive)

    async def tracked(walk: Any) -> Any:
        """The walk's models, each counted alive from the moment it is taken."""
        async with aclosing(walk):
            async for item in walk:
                note(item)
                yield item

    async def slow(item: Any) -> str:
        await asyncio.sleep(SLOW_CALL)
        note()
        return str(item.id)

    async def mapped() -> None:
        results = concurrent_map(slow, tracked(client.files.list()), limit=MANY_LIMIT)
        assert len([r async for r in results]) == N_FILES

    async def listed_first() -> None:
        files = [f async for f in tracked(client.files.list())]
        slots = asyncio.Semaphore(MANY_LIMIT)

        async def one(item: Any) -> str:
            async with slots:
                return await slow(item)

        assert len(await asyncio.gather(*(one(f) for f in files))) == N_FILES

    rows: list[Row] = []
    for name, arm in [("concurrent_map", mapped), ("list, then 32 at a time", listed_first)]:
        gc.collect()
        alive = peak = 0
        seconds, grown = await peak_growth(arm)
        print(
            f"  {name:<24} {seconds:6.1f} s, at most {peak:,} models alive, "
            f"peak resident memory {grown:+.1f} MB"
        )
        target = ""
        if name == "concurrent_map":
            held = "holds" if peak <= MANY_LIMIT else "MISSED"
            target = f"<= {MANY_LIMIT} models alive (limit), plus the walk's page: {held}"
        rows.append(("memory", name, f"{peak:,} models alive, {grown:+.1f} MB", target))
    return rows


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


async def measure(
    arms: dict[str, Arm], rounds: int, parts: tuple[str, ...] = ()
) -> dict[str, list[float]]:
    """Run every arm once to warm up, then ``rounds`` times in a rotating order."""
    names = list(arms)
    expected = {name: await arms[name]() for name in names}
    counts = {count for name, count in expected.items() if name not in parts}
    if parts:
        counts.add(sum(expected[name] for name in parts))
    assert len(counts) == 1, f"the arms disagree on how many items there are: {expected}"
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            count = await arms[name]()
            times[name].append(time.perf_counter() - start)
            assert count == expected[name], (name, count)
    return times


def report(c: Case, times: dict[str, list[float]]) -> dict[str, float]:
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = baseline_median(medians, c.baseline)
    print(f"\n{c.title} ({len(next(iter(times.values())))} rounds)")
    for name, median in medians.items():
        ratio = median / base
        print(
            f"  {name:<20} median {median * 1000:8.1f} ms   "
            f"ratio to {baseline_name(c.baseline)}: {ratio:5.2f}"
        )
    if c.floor is not None:
        floor = c.floor.seconds
        print(
            f"  {'latency floor':<20}        {floor * 1000:8.1f} ms   "
            f"ratio to {baseline_name(c.baseline)}: {floor / base:5.2f}   ({c.floor.describe()})"
        )
        bests = {baseline_name(goal.baseline): goal.baseline for goal in c.targets}
        best = ", ".join(
            f"{floor / baseline_median(medians, baseline):.2f} x {name}"
            for name, baseline in bests.items()
        )
        print(f"  the best ratios any client could reach in this run: {best}")
    return medians


async def run(rounds: int, only: str | None) -> None:
    import aiohttp

    import openai_batches

    try:
        import openai
    except ImportError:
        openai = None

    cases = [c for c in CASES if only is None or only in c.title]
    checks = [c for c in CHECKS if only is None or only in c.title]
    results: list[tuple[Case, dict[str, float]]] = []
    rows: list[tuple[str, str, str, str]] = []
    for spec in dict.fromkeys(c.server for c in [*cases, *checks]):
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
                            times = await measure(await c.arms(bench), rounds, c.parts)
                            results.append((c, report(c, times)))
                    for check in checks:
                        if check.server == spec:
                            print(f"\n{check.title}")
                            rows.extend(await check.run(bench))
                finally:
                    if sdk is not None:
                        await sdk.close()
        finally:
            server.stop()
    summary(results, rows)


def summary(
    results: list[tuple[Case, dict[str, float]]], rows: list[tuple[str, str, str, str]]
) -> None:
    print("\n| case | arm | ratio | target |")
    print("|---|---|---|---|")
    for c, medians in results:
        base = baseline_median(medians, c.baseline)
        for name, median in medians.items():
            verdicts = []
            for goal in c.targets:
                if goal.arm == name:
                    goal_base = baseline_median(medians, goal.baseline)
                    actual = median / goal_base
                    held = "holds" if actual <= goal.ratio else "MISSED"
                    reach = ""
                    if c.floor is not None:
                        reach = f" (the latency floor: {c.floor.seconds / goal_base:.2f})"
                    verdicts.append(
                        f"<= {goal.ratio} x {baseline_name(goal.baseline)}: {actual:.2f}, "
                        f"{held}{reach}"
                    )
            verdict = "; ".join(verdicts)
            print(f"| {c.title.split(':')[0]} | {name} | {median / base:.2f} | {verdict} |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


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
