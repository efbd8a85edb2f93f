"""Where the garbage collection ``pages()`` pays goes, and what a page of anything costs.

    python benchmarks/bench_pages_gc.py [--rounds 11] [--only "page 10,000"]

``bench_walk.py`` prints ``pages()`` well above the raw walk with the collector on and
close to it with the collector off. This script takes that difference apart, against
``bench_walk.py``'s listing server (a separate process on loopback, answering from a
cache), every walk warm, the arms in a rotating order, medians and ratios only:

* ``raw``, ``list()``, ``pages()``, ``pages(), no gc``: as in ``bench_walk.py``;
* ``pages(), let go``: ``pages()`` with a caller that drops each page (``del page``)
  before it asks for the next; a plain ``async for`` keeps the page it has while the
  next is fetched, parsed and built;
* ``pages(), frozen``: ``pages()`` in an application that has called ``gc.freeze()``
  (here: just before the walk, ``gc.unfreeze()`` after it), so that full collections
  leave the objects it had before alone;
* ``raw, pages of objects``: the raw walk yielding each page as a list of one tracked
  one-slot object per item (five for a batch, nested as a batch and its four nested
  models are), held like ``pages()``'s pages: the least any page of instances of Python
  classes asks of the collector, whatever builds them;
* ``raw, pages of dicts``: the same number of new objects, small dicts the collector does
  not track (``{"id": ...}``, five per batch), in one list per page;
* ``raw, one object per item`` (batches): one tracked object per batch, as a batch without
  nested model instances would hold.

The official SDK is imported when installed, as ``bench_walk.py`` does, so the heap that
full collections walk is the size it is there; the script prints that size. For each arm
it then counts, in walks outside the timing, the collections of each generation and the
time they took (``gc.callbacks``): the counts hardly vary from run to run, the
milliseconds grow with the heap and with the load of the machine. A full collection runs
in whichever walk crosses its threshold, which an earlier arm may have brought close.
Last, for each model, how many objects building one allocates from the collector and how
many of those it tracks, and whether the collector tracks the parsed JSON item.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_walk import (  # noqa: E402
    N_BATCHES,
    N_FILES,
    make_batch,
    make_file,
    measure,
    start_server,
)

Arm = Callable[[], Awaitable[int]]


class Slot:
    """One tracked object with one slot: the cheapest instance of a Python class."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def untracked(copies: int) -> Callable[[list[Any]], list[Any]]:
    """``copies`` new small dicts per item, which the collector does not track."""

    def hold(items: list[Any]) -> list[Any]:
        return [{"id": item["id"]} for item in items for _ in range(copies)]

    return hold


def tracked(depth: int) -> Callable[[list[Any]], list[Any]]:
    """Each item in ``depth`` nested :class:`Slot` objects."""

    def hold(items: list[Any]) -> list[Any]:
        held = []
        for item in items:
            for _ in range(depth):
                item = Slot(item)
            held.append(item)
        return held

    return hold


async def raw_pages(
    session: Any, url: str, limit: int, hold: Callable[[list[Any]], list[Any]]
) -> AsyncIterator[tuple[int, list[Any]]]:
    """``bench_walk.raw_walk``, yielding each page as ``(items, hold(items))``."""
    after = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        async with session.get(url, params=params) as response:
            page = json.loads(await response.read())
        yield len(page["data"]), hold(page["data"])
        if not page["has_more"]:
            return
        after = page["last_id"]


def report(title: str, items: int, times: dict[str, list[float]]) -> None:
    raw = statistics.median(times["raw"])
    print(f"\n{title}: {items:,} items, {len(times['raw'])} rounds")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<26} median {median * 1000:8.1f} ms  ratio to raw {median / raw:5.2f}")


class Collections:
    """Count the collections of each generation and the time they take."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count[info["generation"]] += 1
            self.seconds[info["generation"]] += time.perf_counter() - self._start


async def census(arms: dict[str, Arm], walks: int) -> None:
    """Print the collections each arm's walks cause, per walk."""
    print(f"  collections per walk (mean of {walks} walks): count, milliseconds")
    for name, arm in arms.items():
        if name.endswith("no gc"):
            continue
        seen = Collections()
        gc.callbacks.append(seen)
        try:
            for _ in range(walks):
                await arm()
        finally:
            gc.callbacks.remove(seen)
        cells = "  ".join(
            f"gen{g} {seen.count[g] / walks:6.1f} {seen.seconds[g] / walks * 1000:6.1f} ms"
            for g in range(3)
        )
        total = sum(seen.seconds) / walks * 1000
        print(f"  {name:<26} {cells}   all {total:6.1f} ms")


async def run(rounds: int, only: str | None) -> None:
    import contextlib

    import aiohttp

    import openai_batches

    with contextlib.suppress(ImportError):
        import openai  # noqa: F401

    gc.collect()
    print(f"objects the collector tracks before the walks: {len(gc.get_objects()):,}")

    server, base = start_server()
    try:
        session = aiohttp.ClientSession()
        client = openai_batches.Client("sk-bench", base_url=base, max_retries=0)
        try:
            await bench_all(base, session, client, rounds, only)
        finally:
            await client.close()
            await session.close()
    finally:
        server.terminate()
        server.wait()


async def bench_all(base: str, session: Any, client: Any, rounds: int, only: str | None) -> None:
    from bench_walk import raw_walk

    async def count(items: AsyncIterator[Any]) -> int:
        return sum([1 async for _ in items])

    async def count_pages(pages: AsyncIterator[Any]) -> int:
        return sum([len(page.data) async for page in pages])

    async def count_pages_let_go(pages: AsyncIterator[Any]) -> int:
        n = 0
        async for page in pages:
            n += len(page.data)
            del page
        return n

    async def count_held(pages: AsyncIterator[tuple[int, list[Any]]]) -> int:
        return sum([page[0] async for page in pages])

    def no_gc(walk: Arm) -> Arm:
        async def without_collector() -> int:
            gc.disable()
            try:
                return await walk()
            finally:
                gc.enable()

        return without_collector

    def frozen(walk: Arm) -> Arm:
        async def after_freeze() -> int:
            gc.freeze()
            try:
                return await walk()
            finally:
                gc.unfreeze()

        return after_freeze

    def arms(listing: str, limit: int, depth: int) -> dict[str, Arm]:
        resource = getattr(client, listing)
        url = f"{base}/{listing}"

        def pages() -> Awaitable[int]:
            return count_pages(resource.pages(limit=limit))

        chosen: dict[str, Arm] = {
            "raw": lambda: count(raw_walk(session, url, limit)),
            "list()": lambda: count(resource.list(limit=limit)),
            "pages()": pages,
            "pages(), no gc": no_gc(pages),
            "pages(), let go": lambda: count_pages_let_go(resource.pages(limit=limit)),
            "pages(), frozen": frozen(pages),
            "raw, pages of objects": lambda: count_held(
                raw_pages(session, url, limit, tracked(depth))
            ),
            "raw, pages of dicts": lambda: count_held(
                raw_pages(session, url, limit, untracked(depth))
            ),
        }
        if depth > 1:
            # What a batch without nested model instances would hold.
            chosen["raw, one object per item"] = lambda: count_held(
                raw_pages(session, url, limit, tracked(1))
            )
        return chosen

    scenarios = [
        ("batches, page 100", N_BATCHES, arms("batches", 100, 5)),
        ("files, page 1,000", N_FILES, arms("files", 1_000, 1)),
        ("files, page 10,000", N_FILES, arms("files", 10_000, 1)),
    ]
    for title, expected, scenario in scenarios:
        if only is not None and only not in title:
            continue
        report(title, expected, await measure(scenario, expected, rounds))
        await census(scenario, 3)


def allocations() -> None:
    """Per model: objects allocated from the collector, and how many it tracks."""
    import orjson

    from openai_batches._converter import structure_hook
    from openai_batches._models import Batch, FileObject

    print("\nbuilding 1,000 models from parsed JSON, per model:")
    for cl, make in ((FileObject, make_file), (Batch, make_batch)):
        data = orjson.loads(orjson.dumps([make(i) for i in range(1000)]))
        hook = structure_hook(cl)
        hook(data[0], cl)
        gc.collect()
        gc.disable()
        try:
            allocated = gc.get_count()[0]
            tracked = len(gc.get_objects())
            models = [hook(item, cl) for item in data]
            allocated = gc.get_count()[0] - allocated - 1  # less the list
            tracked = len(gc.get_objects()) - tracked - 2  # less the list and `tracked`
            del models  # before the next model's count
        finally:
            gc.enable()
        print(
            f"  {cl.__name__:<11} allocated {allocated / len(data):4.2f}, "
            f"tracked {tracked / len(data):4.2f}; "
            f"its JSON item tracked: {gc.is_tracked(data[0])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", help="run only the walks whose title contains this")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.only))
    allocations()


if __name__ == "__main__":
    main()
