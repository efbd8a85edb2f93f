"""Walk 20,000 batches and 100,000 files several ways and print medians and ratios.

    python benchmarks/bench_walk.py [--rounds 11] [--only "page 10,000"] [--no-extras]
                                    [--interleave-sdk]

The listing server runs in a separate process on loopback and answers every page from a
cache after the first round, so the figures compare client-side work only. Every walk
here is warm: each arm has walked once before it is timed (``bench_cold.py`` measures
the first walk of a process). The arms:

* ``raw``: aiohttp + ``json.loads``, following ``last_id`` by hand and yielding plain
  dicts from an async generator (the baseline);
* ``floor``: the same with ``orjson.loads``: no walker yielding anything does less;
* ``list()``: ``client.batches.list()`` / ``client.files.list()``;
* ``pages()``: ``client.batches.pages()`` / ``client.files.pages()``, counting the
  models of each page;
* ``pages(), no gc``: the same with the garbage collector off during the walk, which
  shows what holding a page of models costs in collections;
* ``openai``: the official SDK's ``AsyncOpenAI`` auto-pagination, when installed
  (``pip install -e '.[bench]'``).

Each round runs every arm once, in a rotating order; the machine is shared and noisy,
so only medians and ratios are printed. This library, raw and floor are measured first;
the SDK is measured afterwards against raw again, in the same process
(``--interleave-sdk`` runs them all in the same rounds instead). The SDK's walks leave
the heap fragmented (resident memory keeps growing from walk to walk, with no object
leaked), and the arm that runs next and reads every field of its pages pays for it:
interleaved, this library's ratios are higher and noisier.

It also prints the time to build one model, with the fast hooks and with cattrs' own.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

N_BATCHES = 20_000
N_FILES = 100_000
HERE = os.path.dirname(os.path.abspath(__file__))


def make_batch(i: int) -> dict[str, Any]:
    created = 1_711_000_000 + i
    return {
        "id": f"batch_{i:08d}",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o-mini-2024-07-18",
        "errors": None,
        "input_file_id": f"file-in{i:08d}",
        "completion_window": "24h",
        "status": "completed",
        "output_file_id": f"file-out{i:08d}",
        "error_file_id": None,
        "created_at": created,
        "in_progress_at": created + 5,
        "expires_at": created + 86_400,
        "finalizing_at": created + 600,
        "completed_at": created + 630,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 100, "completed": 99, "failed": 1},
        "usage": {
            "input_tokens": 1500,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 500,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 2000,
        },
        "metadata": {"job": f"nightly-{i % 7}"},
    }


def make_file(i: int) -> dict[str, Any]:
    return {
        "id": f"file-{i:010d}",
        "object": "file",
        "bytes": 1000 + i,
        "created_at": 1_700_000_000 + i,
        "expires_at": None,
        "filename": f"requests-{i}.jsonl",
        "purpose": "batch",
        "status": "processed",
        "status_details": None,
    }


# --------------------------------------------------------------------------- server


def serve(port_file: str) -> None:
    """Serve the listings until killed (runs in the child process)."""
    from aiohttp import web

    batches = [make_batch(i) for i in reversed(range(N_BATCHES))]
    files = [make_file(i) for i in reversed(range(N_FILES))]
    index = {
        "batches": {b["id"]: n for n, b in enumerate(batches)},
        "files": {f["id"]: n for n, f in enumerate(files)},
    }
    cache: dict[tuple[str, str, int], bytes] = {}

    def page(kind: str, items: list[dict[str, Any]], request: web.Request, default: int) -> bytes:
        after = request.query.get("after", "")
        limit = int(request.query.get("limit", default))
        key = (kind, after, limit)
        body = cache.get(key)
        if body is None:
            start = index[kind][after] + 1 if after else 0
            data = items[start : start + limit]
            body = json.dumps(
                {
                    "object": "list",
                    "data": data,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                    "has_more": start + limit < len(items),
                }
            ).encode()
            cache[key] = body
        return body

    async def list_batches(request: web.Request) -> web.Response:
        return web.Response(
            body=page("batches", batches, request, 20), content_type="application/json"
        )

    async def list_files(request: web.Request) -> web.Response:
        return web.Response(
            body=page("files", files, request, 10_000), content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/v1/batches", list_batches)
    app.router.add_get("/v1/files", list_files)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    with open(port_file + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    web.run_app(app, sock=sock, print=None, access_log=None)


# --------------------------------------------------------------------------- arms


async def raw_walk(
    session: Any, url: str, limit: int, loads: Callable[[bytes], Any] = json.loads
) -> AsyncIterator[dict[str, Any]]:
    """The baseline: aiohttp and json.loads, following last_id, yielding plain dicts.

    It is the smallest walker anyone would write by hand: no checks, no models. With
    ``orjson.loads``, it is the floor.
    """
    after = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        async with session.get(url, params=params) as response:
            page = loads(await response.read())
        for item in page["data"]:
            yield item
        if not page["has_more"]:
            return
        after = page["last_id"]


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """Start the listing server in a child process; return it and its base URL."""
    port_file = os.path.join(HERE, f".bench-port-{os.getpid()}")
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "bench_walk.py"), "--serve", port_file]
    )
    while not os.path.exists(port_file):
        time.sleep(0.05)
        if server.poll() is not None:
            raise SystemExit("the benchmark server failed to start")
    with open(port_file) as f:
        base = f"http://127.0.0.1:{f.read()}/v1"
    os.remove(port_file)
    return server, base


async def run(rounds: int, only: str | None, interleave: bool) -> None:
    import aiohttp

    import openai_batches
    from openai_batches._files import DEFAULT_FILES_PAGE

    server, base = start_server()
    try:
        await bench_all(base, rounds, aiohttp, openai_batches, DEFAULT_FILES_PAGE, only, interleave)
    finally:
        server.terminate()
        server.wait()


async def bench_all(
    base: str,
    rounds: int,
    aiohttp: Any,
    openai_batches: Any,
    default_files_page: int,
    only: str | None,
    interleave: bool,
) -> None:
    try:
        import openai
    except ImportError:
        openai = None

    session = aiohttp.ClientSession()
    client = openai_batches.Client("sk-bench", base_url=base, max_retries=0)
    sdk = (
        openai.AsyncOpenAI(api_key="sk-bench", base_url=base, max_retries=0)
        if openai is not None
        else None
    )

    import orjson

    async def ours_batches() -> int:
        return sum([1 async for _ in client.batches.list(limit=100)])

    async def pages_batches() -> int:
        return sum([len(page.data) async for page in client.batches.pages(limit=100)])

    def ours_files(limit: int) -> Callable[[], Awaitable[int]]:
        async def walk() -> int:
            return sum([1 async for _ in client.files.list(limit=limit)])

        return walk

    def pages_files(limit: int) -> Callable[[], Awaitable[int]]:
        async def walk() -> int:
            return sum([len(page.data) async for page in client.files.pages(limit=limit)])

        return walk

    def no_gc(walk: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
        async def without_collector() -> int:
            gc.disable()
            try:
                return await walk()
            finally:
                gc.enable()

        return without_collector

    async def sdk_batches() -> int:
        assert sdk is not None
        return sum([1 async for _ in sdk.batches.list(limit=100)])

    def sdk_files(limit: int) -> Callable[[], Awaitable[int]]:
        async def walk() -> int:
            assert sdk is not None
            return sum([1 async for _ in sdk.files.list(limit=limit)])

        return walk

    def raw(path: str, limit: int, loads: Any = json.loads) -> Callable[[], Awaitable[int]]:
        async def walk() -> int:
            return sum([1 async for _ in raw_walk(session, f"{base}/{path}", limit, loads)])

        return walk

    scenarios: list[tuple[str, int, dict[str, Callable[[], Awaitable[int]]]]] = [
        (
            "batches, page 100",
            N_BATCHES,
            {
                "raw": raw("batches", 100),
                "floor": raw("batches", 100, orjson.loads),
                "list()": ours_batches,
                "pages()": pages_batches,
                "pages(), no gc": no_gc(pages_batches),
                "openai": sdk_batches,
            },
        ),
        (
            f"files, default page ({default_files_page})",
            N_FILES,
            {
                "raw": raw("files", default_files_page),
                "floor": raw("files", default_files_page, orjson.loads),
                "list()": ours_files(default_files_page),
                "pages()": pages_files(default_files_page),
                "pages(), no gc": no_gc(pages_files(default_files_page)),
                "openai": sdk_files(default_files_page),
            },
        ),
        (
            "files, page 10,000",
            N_FILES,
            {
                "raw": raw("files", 10_000),
                "floor": raw("files", 10_000, orjson.loads),
                "list()": ours_files(10_000),
                "pages()": pages_files(10_000),
                "pages(), no gc": no_gc(pages_files(10_000)),
                "openai": sdk_files(10_000),
            },
        ),
    ]
    scenarios = [s for s in scenarios if only is None or only in s[0]]
    try:
        if interleave:
            for title, expected, arms in scenarios:
                if sdk is None:
                    arms.pop("openai")
                report(title, expected, await measure(arms, expected, rounds))
            return
        # Phase one: this library against raw and floor. Phase two: the SDK against raw,
        # after all of phase one, because the SDK's garbage fragments the heap (see the
        # docstring).
        for title, expected, arms in scenarios:
            names = ("raw", "floor", "list()", "pages()", "pages(), no gc")
            ours = {name: arms[name] for name in names}
            report(title, expected, await measure(ours, expected, rounds))
        if sdk is not None:
            for title, expected, arms in scenarios:
                theirs = {name: arms[name] for name in ("raw", "openai")}
                report(title, expected, await measure(theirs, expected, rounds))
    finally:
        await client.close()
        await session.close()
        if sdk is not None:
            await sdk.close()


async def measure(
    arms: dict[str, Callable[[], Awaitable[int]]], expected: int, rounds: int
) -> dict[str, list[float]]:
    """Run every arm once to warm up, then ``rounds`` times in a rotating order."""
    times: dict[str, list[float]] = {name: [] for name in arms}
    names = list(arms)
    for name in names:  # warm-up: fills the server's cache and the hook caches
        assert await arms[name]() == expected
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            count = await arms[name]()
            times[name].append(time.perf_counter() - start)
            assert count == expected, (name, count)
    return times


def report(title: str, items: int, times: dict[str, list[float]]) -> None:
    raw = statistics.median(times["raw"])
    floor = statistics.median(times["floor"]) if "floor" in times else None
    print(f"\n{title}: {items:,} items, {len(times['raw'])} rounds")
    for name, values in times.items():
        median = statistics.median(values)
        to_floor = f"  ratio to floor {median / floor:5.2f}" if floor else ""
        print(
            f"  {name:<15} median {median * 1000:8.1f} ms  "
            f"({items / median:>10,.0f} items/s)  ratio to raw {median / raw:5.2f}{to_floor}"
        )


def model_building() -> None:
    """Time to build one model from parsed JSON: the fast hooks against cattrs' own."""
    from openai_batches._converter import make_converter, structure_hook
    from openai_batches._models import Batch, FileObject

    # The strict twin runs cattrs' own generated functions (and refuses unknown keys).
    cattrs_own = make_converter(strict=True)
    print("\nbuilding one model from parsed JSON, median of 15 runs of 10,000")
    for cl, make in ((FileObject, make_file), (Batch, make_batch)):
        data = [make(i) for i in range(10_000)]
        for name, hook in (
            ("openai_batches", structure_hook(cl)),
            ("cattrs' own", cattrs_own.get_structure_hook(cl)),
        ):
            samples = []
            for _ in range(15):
                start = time.perf_counter()
                for item in data:
                    hook(item, cl)
                samples.append((time.perf_counter() - start) / len(data))
            print(f"  {cl.__name__:<11} {name:<15} {statistics.median(samples) * 1e6:5.2f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", help="run only the walks whose title contains this")
    parser.add_argument(
        "--interleave-sdk",
        action="store_true",
        help="run the SDK in the same rounds as the other two, not after them",
    )
    parser.add_argument("--no-extras", action="store_true", help="skip the model timings")
    parser.add_argument("--serve", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    asyncio.run(run(args.rounds, args.only, args.interleave_sdk))
    if not args.no_extras:
        model_building()


if __name__ == "__main__":
    main()
