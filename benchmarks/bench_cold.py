"""The first walk of a fresh process, event-loop stalls, and import time.

    python benchmarks/bench_cold.py [--rounds 15] [--only stall]

Every measurement here runs in fresh interpreters, one per walk, against the listing
server of ``bench_walk.py`` (a separate process on loopback, answering from a cache). The
bytecode of every module the walks load is compiled first (the machine sets
``PYTHONDONTWRITEBYTECODE=1``; an installed package has its bytecode). Each round runs
every arm once, in a rotating order; only medians and ratios are printed. The arms:

* ``raw``: aiohttp + ``json.loads``, plain dicts (``bench_walk.raw_walk``);
* ``floor``: aiohttp + ``orjson.loads``, plain dicts: no walker does less;
* ``openai_batches``: ``client.batches.list()`` / ``client.files.list()``;
* ``loaded`` (cold walks only): the same in a process that has loaded, before the clock,
  all that the first walk loads (the resource and its models, orjson, cattrs, the
  converter and the hooks): what the first walk costs besides loading.

**cold walk**: each process imports its modules and builds its client or session
factory, then starts the clock just before the first request and stops it at the last
item: what a script or a CLI call pays for its first listing.

**event loop**: each process starts a heartbeat task that sleeps 1 ms at a time and
records how late it wakes, then walks 100,000 files twice; the longest lateness is the
longest time the loop was held, printed for the first (cold) walk and the second. Beside
it, the most CPU time the loop's thread spent between two heartbeats: on a busy machine
the lateness also counts the time other processes held the CPU, the CPU time does not.

**import**: ``import openai_batches`` against ``import aiohttp``, alternating.

**first use**: where the first walk's own work goes, a piece at a time, in fresh
processes: ``client.batches`` (in the loop, before the first request), then what the walk
loads beside its first request, a module at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

ARMS = ("raw", "floor", "openai_batches")
COLD_ARMS = (*ARMS, "loaded")

#: (title, listing, page size, items walked)
COLD_WALKS = [
    ("6,000 batches, pages of 100", "batches", 100, 6_000),
    ("30,000 files, pages of 1,000", "files", 1_000, 30_000),
    ("30,000 files, pages of 10,000", "files", 10_000, 30_000),
]
#: (title, page size); each walks 100,000 files twice.
STALLS = [
    ("100,000 files, pages of 1,000 (default)", 1_000),
    ("100,000 files, pages of 10,000", 10_000),
]
STALL_ITEMS = 100_000
HEARTBEAT = 0.001


# --------------------------------------------------------------------------- child


async def _walker(arm: str, base: str) -> Any:
    """Return ``walk(listing, limit) -> async iterator`` and a closer, for ``arm``."""
    if arm in ("openai_batches", "loaded"):
        import openai_batches

        client = openai_batches.Client("sk-bench", base_url=base, max_retries=0)
        if arm == "loaded":
            from openai_batches import Batch, FileObject, Page, _decode
            from openai_batches._converter import structure_hook

            client.batches, client.files  # noqa: B018
            await _decode.load()
            for cl in (Batch, FileObject, Page[Batch], Page[FileObject]):
                structure_hook(cl)

        def walk(listing: str, limit: int) -> Any:
            if listing == "batches":
                return client.batches.list(limit=limit)
            return client.files.list(limit=limit)

        return walk, client.close
    import aiohttp

    loads: Any
    if arm == "floor":
        import orjson

        loads = orjson.loads
    else:
        loads = json.loads
    from bench_walk import raw_walk

    holder: list[Any] = []

    def raw(listing: str, limit: int) -> Any:
        # Built on the first walk, as the library builds its session on the first request.
        if not holder:
            holder.append(aiohttp.ClientSession())
        return raw_walk(holder[0], f"{base}/{listing}", limit, loads)

    async def close() -> None:
        if holder:
            await holder[0].close()

    return raw, close


async def _count(walk: Any, listing: str, limit: int, items: int) -> int:
    n = 0
    gen = walk(listing, limit)
    try:
        async for _ in gen:
            n += 1
            if n == items:
                break
    finally:
        await gen.aclose()
    return n


async def child_cold(arm: str, base: str, listing: str, limit: int, items: int) -> dict[str, Any]:
    walk, close = await _walker(arm, base)
    start, cpu = time.perf_counter(), time.process_time()
    n = await _count(walk, listing, limit, items)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await close()
    assert n == items, (arm, n)
    return {"elapsed": elapsed, "cpu": cpu}


async def child_stall(arm: str, base: str, limit: int) -> dict[str, Any]:
    walk, close = await _walker(arm, base)
    loop = asyncio.get_running_loop()
    worst = [0.0, 0.0]  # the longest lateness, the most CPU time the loop spent in between
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            before, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(HEARTBEAT)
            worst[0] = max(worst[0], loop.time() - before - HEARTBEAT)
            worst[1] = max(worst[1], time.thread_time() - cpu)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.05)  # the heartbeat is running before the first request
    result: dict[str, Any] = {}
    for name in ("cold", "warm"):
        worst[:] = [0.0, 0.0]
        start = time.perf_counter()
        n = await _count(walk, "files", limit, STALL_ITEMS)
        result[f"{name}_elapsed"] = time.perf_counter() - start
        result[f"{name}_stall"], result[f"{name}_cpu"] = worst
        assert n == STALL_ITEMS, (arm, n)
    stop.set()
    await beat
    await close()
    return result


def child_parts(listing: str) -> dict[str, Any]:
    """Time each piece of the first walk's own work, in the order the walk does it."""
    import openai_batches

    client = openai_batches.Client("sk-bench")
    clock = time.perf_counter
    parts: dict[str, float] = {}
    start = clock()
    if listing == "batches":
        client.batches  # noqa: B018
    else:
        client.files  # noqa: B018
    parts[f"client.{listing} (resource and models)"] = clock() - start
    start = clock()
    import orjson  # noqa: F401

    parts["import orjson"] = clock() - start
    start = clock()
    import cattrs  # noqa: F401

    parts["import cattrs"] = clock() - start
    start = clock()
    from openai_batches import _converter

    parts["the converter (and the written hooks' module)"] = clock() - start
    model = getattr(openai_batches, "Batch" if listing == "batches" else "FileObject")
    start = clock()
    _converter.structure_hook(openai_batches.Page[Any])
    _converter.structure_hook(model)
    parts["the page's and the model's hooks"] = clock() - start
    return parts


def child_main(argv: list[str]) -> None:
    kind, arm, base, *rest = argv
    if kind == "cold":
        listing, limit, items = rest[0], int(rest[1]), int(rest[2])
        result = asyncio.run(child_cold(arm, base, listing, limit, items))
    elif kind == "parts":
        result = child_parts(arm)
    else:
        result = asyncio.run(child_stall(arm, base, int(rest[0])))
    result["modules"] = sorted(
        {f for m in list(sys.modules.values()) if (f := getattr(m, "__file__", None))}
    )
    print(json.dumps(result))


# --------------------------------------------------------------------------- parent


def run_child(*args: object) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def compile_bytecode(modules: set[str]) -> None:
    """Compile what the children load, as an installed package would have it."""
    for path in sorted(modules):
        if path.endswith(".py"):
            compileall.compile_file(path, quiet=2)


def rotated(r: int, arms: tuple[str, ...] = ARMS) -> list[str]:
    return list(arms[r % len(arms) :] + arms[: r % len(arms)])


def cold_walks(base: str, rounds: int) -> None:
    for title, listing, limit, items in COLD_WALKS:
        runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in COLD_ARMS}
        for r in range(rounds):
            for arm in rotated(r, COLD_ARMS):
                runs[arm].append(run_child("cold", arm, base, listing, limit, items))
        print(f"\ncold walk, {title}: fresh process per walk, {rounds} rounds")
        print("  (medians: time from the first request to the last item; CPU time it used)")
        raw = statistics.median(x["elapsed"] for x in runs["raw"])
        raw_cpu = statistics.median(x["cpu"] for x in runs["raw"])
        for arm in COLD_ARMS:
            median = statistics.median(x["elapsed"] for x in runs[arm])
            cpu = statistics.median(x["cpu"] for x in runs[arm])
            print(
                f"  {arm:<15} {median * 1000:7.1f} ms  ratio to raw {median / raw:5.2f}   "
                f"CPU {cpu * 1000:7.1f} ms  ratio {cpu / raw_cpu:5.2f}"
            )


def stalls(base: str, rounds: int) -> None:
    for title, limit in STALLS:
        runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
        for r in range(rounds):
            for arm in rotated(r):
                runs[arm].append(run_child("stall", arm, base, limit))
        print(f"\nevent loop, {title}, walked twice: fresh process, {rounds} rounds")
        print("  (medians of each walk's longest heartbeat lateness, and of the most CPU time")
        print("  the loop spent between two heartbeats, which other processes cannot inflate)")
        for arm in ARMS:
            line = f"  {arm:<15}"
            for walk in ("cold", "warm"):
                late = statistics.median(x[f"{walk}_stall"] for x in runs[arm])
                cpu = statistics.median(x[f"{walk}_cpu"] for x in runs[arm])
                took = statistics.median(x[f"{walk}_elapsed"] for x in runs[arm])
                label = "first walk" if walk == "cold" else "second walk"
                line += f"  {label} {late * 1000:5.1f} ms, CPU {cpu * 1000:5.1f} ms"
                line += f" ({took * 1000:4.0f} ms)"
            print(line)


def first_use(rounds: int) -> None:
    for listing in ("batches", "files"):
        runs = [run_child("parts", listing, "-") for _ in range(rounds)]
        names = [k for k in runs[0] if k != "modules"]
        print(f"\nfirst use of client.{listing}: fresh process, {rounds} rounds (medians)")
        total = 0.0
        for name in names:
            median = statistics.median(r[name] for r in runs)
            total += median
            print(f"  {name:<48} {median * 1000:6.2f} ms")
        print(f"  {'sum':<48} {total * 1000:6.2f} ms")


def import_times(rounds: int) -> None:
    """Time each import in ``rounds`` fresh interpreters, alternating the two."""
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    samples: dict[str, list[float]] = {"aiohttp": [], "openai_batches": []}
    for _ in range(rounds):
        for module, values in samples.items():
            out = subprocess.run(
                [sys.executable, "-c", code.format(module)],
                check=True,
                capture_output=True,
                text=True,
            )
            values.append(float(out.stdout))
    base = statistics.median(samples["aiohttp"])
    ours = statistics.median(samples["openai_batches"])
    print(f"\nimport, {rounds} fresh interpreters each, alternating")
    print(f"  aiohttp         median {base * 1000:7.1f} ms")
    print(f"  openai_batches  median {ours * 1000:7.1f} ms  ratio {ours / base:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", choices=("cold", "stall", "parts", "import"))
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return
    from bench_walk import start_server

    server, base = start_server()
    try:
        # A first walk of each kind fills the server's cache and lists the modules to compile.
        modules: set[str] = set()
        for arm in ARMS:
            for _, listing, limit, items in COLD_WALKS:
                modules.update(run_child("cold", arm, base, listing, limit, items)["modules"])
            for _, limit in STALLS:
                modules.update(run_child("stall", arm, base, limit)["modules"])
        compile_bytecode(modules)
        if args.only in (None, "cold"):
            cold_walks(base, args.rounds)
        if args.only in (None, "stall"):
            stalls(base, args.rounds)
        if args.only in (None, "parts"):
            first_use(args.rounds)
    finally:
        server.terminate()
        server.wait()
    if args.only in (None, "import"):
        import_times(21)


if __name__ == "__main__":
    main()
