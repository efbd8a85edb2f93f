"""Look-ahead: ``prefetch=N`` fetches up to N pages ahead while the caller works.

The look-ahead is watched where it happens: at the source of pages (synchronously with
the task that fetches them) and at a real loopback server, with events rather than sleeps.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

import openai_batches as ob
from openai_batches import Client, FileObject
from openai_batches._pagination import iter_items, prefetch_pages, walk_pages
from openai_batches._transport import Response
from tests.conftest import LoopbackServer, reply
from tests.test_pagination import batches, files, lister

Walk = Callable[[Client, int], AsyncIterator[Any]]

WALKS: dict[str, tuple[str, Walk]] = {
    "batches.list": ("/v1/batches", lambda c, n: c.batches.list(limit=2, prefetch=n)),
    "batches.pages": ("/v1/batches", lambda c, n: c.batches.pages(limit=2, prefetch=n)),
    "files.list": ("/v1/files", lambda c, n: c.files.list(limit=2, prefetch=n)),
    "files.pages": ("/v1/files", lambda c, n: c.files.pages(limit=2, prefetch=n)),
}


def ids_of(got: list[Any]) -> list[str]:
    """Item ids, whether the walk yielded items or pages."""
    return [x.id for g in got for x in (g.data if isinstance(g, ob.Page) else [g])]


def items_for(path: str, n: int) -> list[dict[str, Any]]:
    return batches(n) if path == "/v1/batches" else files(n)


class Arrivals:
    """Counts the requests a route received and lets a test wait for the n-th."""

    def __init__(self, handler: Callable[[web.Request], Any]) -> None:
        self.handler = handler
        self.count = 0
        self.changed = asyncio.Event()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.count += 1
        self.changed.set()
        response: web.StreamResponse = await self.handler(request)
        return response

    async def reach(self, count: int) -> None:
        """Wait until ``count`` requests have arrived (bounded, so a bug fails, not hangs)."""

        async def wait() -> None:
            while self.count < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), 30)


def gated(handler: Callable[[web.Request], Any], held: set[str | None], gate: asyncio.Event):
    """Answer as ``handler``, but hold requests whose ``after`` is in ``held`` until ``gate``."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.query.get("after") in held:
            await gate.wait()
        response: web.StreamResponse = await handler(request)
        return response

    return answer


def library_tasks() -> set[asyncio.Task[Any]]:
    """The running tasks that run this library's code (not a test server's)."""

    def where(task: asyncio.Task[Any]) -> str:
        code = getattr(task.get_coro(), "cr_code", None)
        return code.co_filename if code is not None else ""

    return {
        task
        for task in asyncio.all_tasks()
        if "openai_batches" in where(task) and "emulator" not in where(task)
    }


# --------------------------------------------------------------------------- the bound


@pytest.mark.parametrize("ahead", [1, 2, 3])
async def test_pages_are_pulled_n_ahead_of_the_one_being_consumed(ahead: int) -> None:
    """Page p is pulled while the consumer holds page p - N: never sooner, never later."""
    holding = -1
    pulls: list[tuple[int, int]] = []
    pulled = [asyncio.Event() for _ in range(8)]

    async def source() -> AsyncGenerator[Any, None]:
        for page in range(8):
            # No await here: a look-ahead that did not stop at N would pull the next
            # page in this same step, before the consumer looks.
            pulls.append((page, holding))
            pulled[page].set()
            yield page

    got = []
    async with aclosing(prefetch_pages(source(), ahead)) as pages:
        async for page in pages:
            holding = page
            got.append(page)
            # Let the fetching task go as far ahead as it may.
            await pulled[min(page + ahead, 7)].wait()
    assert got == list(range(8))
    assert pulls == [(p, p - ahead if p >= ahead else -1) for p in range(8)]


@pytest.mark.parametrize("ahead", [1, 2])
async def test_at_most_n_plus_one_pages_are_alive(ahead: int) -> None:
    """Each page is let go once consumed: N fetched ahead, plus the one being consumed."""
    bodies = [
        {"object": "list", "data": files(8)[i : i + 2], "has_more": i < 6, "last_id": f"f{i}"}
        for i in range(0, 8, 2)
    ]
    sent: list[weakref.ref[Response]] = []
    alive_at_fetch: list[int] = []
    fetched = [asyncio.Event() for _ in bodies]

    async def fetch(after: str | None) -> Response:
        alive_at_fetch.append(sum(ref() is not None for ref in sent))
        body = json.dumps(bodies[len(sent)]).encode()
        response = Response(200, CIMultiDictProxy(CIMultiDict()), body, "GET", "u")
        fetched[len(sent)].set()
        sent.append(weakref.ref(response))
        return response

    got = []
    walk = iter_items(prefetch_pages(walk_pages(fetch, None), ahead), FileObject)
    async with aclosing(walk):
        async for f in walk:
            got.append(f.id)
            if len(got) % 2 == 1:  # the first item of a page: let the look-ahead run
                await fetched[min(len(got) // 2 + ahead, len(bodies) - 1)].wait()
    assert got == [f["id"] for f in files(8)]
    # When a page is fetched, the pages alive are the one being consumed and those
    # fetched ahead of it: N + 1 with the new one.
    assert alive_at_fetch == [min(i, ahead) for i in range(len(bodies))]


# --------------------------------------------------------------------------- over HTTP


@pytest.mark.parametrize("walk", list(WALKS))
async def test_n_pages_are_requested_ahead_in_order(server: LoopbackServer, walk: str) -> None:
    path, start = WALKS[walk]
    arrivals = Arrivals(lister(items_for(path, 10)))
    server.add("GET", path, arrivals)
    got: list[Any] = []
    async with server.client() as client, aclosing(start(client, 2)) as pages:  # type: ignore[type-var]
        async for x in pages:
            got.append(x)
            if len(got) == 1:
                # Sitting on the first page, the walk asks for the next two.
                await arrivals.reach(3)
    assert ids_of(got) == [item["id"] for item in items_for(path, 10)]
    assert [s.query.get("after") for s in server.seen] == [
        None,
        *(ids_of(got)[i] for i in (1, 3, 5, 7)),
    ]


@pytest.mark.parametrize("walk", list(WALKS))
async def test_prefetch_zero_requests_nothing_ahead(server: LoopbackServer, walk: str) -> None:
    path, start = WALKS[walk]
    server.add("GET", path, lister(items_for(path, 10)))
    async with server.client() as client:
        async with aclosing(start(client, 0)) as pages:  # type: ignore[type-var]
            async for _ in pages:
                break
        assert library_tasks() == set()
    assert len(server.seen) == 1


async def test_a_failing_page_raises_after_every_item_before_it(server: LoopbackServer) -> None:
    good = lister(batches(8))

    async def broken(request: web.Request) -> web.StreamResponse:
        if request.query.get("after") == "batch_0005":
            return await reply(400, {"error": {"message": "no", "type": "x"}})(request)
        response: web.StreamResponse = await good(request)
        return response

    arrivals = Arrivals(broken)
    server.add("GET", "/v1/batches", arrivals)
    got: list[str] = []
    async with server.client() as client:
        with pytest.raises(ob.BadRequestError):
            async for batch in client.batches.list(limit=2, prefetch=3):
                got.append(batch.id)
                if len(got) == 1:
                    await arrivals.reach(4)  # the failing page is fetched already
    assert got == [f"batch_{i:04d}" for i in range(6)]
    assert arrivals.count == 4


async def test_the_cursor_guard_still_stops_the_walk(server: LoopbackServer) -> None:
    stuck = {"object": "list", "data": batches(2), "has_more": True, "last_id": "batch_0001"}
    server.add("GET", "/v1/batches", reply(json_body=stuck))
    got: list[str] = []
    async with server.client() as client:
        with pytest.raises(ob.PaginationError, match="batch_0001"):
            async for batch in client.batches.list(limit=2, prefetch=2):
                got.append(batch.id)
        assert library_tasks() == set()
    assert got == ["batch_0000", "batch_0001"]
    assert len(server.seen) == 2


# --------------------------------------------------------------------------- stopping


@pytest.fixture
async def pooled() -> AsyncIterator[aiohttp.TCPConnector]:
    """A connector whose acquired connections the tests can count."""
    connector = aiohttp.TCPConnector()
    yield connector
    await connector.close()


def held_walk(
    server: LoopbackServer, pooled: aiohttp.TCPConnector
) -> tuple[Client, Arrivals, asyncio.Event, aiohttp.ClientSession]:
    """A client whose walk of batches gets its first page, then waits on the second."""
    gate = asyncio.Event()
    arrivals = Arrivals(gated(lister(batches(6)), {"batch_0001"}, gate))
    server.add("GET", "/v1/batches", arrivals)
    session = aiohttp.ClientSession(connector=pooled, connector_owner=False)
    return server.client(session=session), arrivals, gate, session


async def test_breaking_out_cancels_the_request_in_flight(
    server: LoopbackServer, pooled: aiohttp.TCPConnector
) -> None:
    client, arrivals, gate, session = held_walk(server, pooled)
    try:
        async with aclosing(client.batches.list(limit=2, prefetch=1)) as walk:
            async for _ in walk:
                await arrivals.reach(2)  # the second page is in flight, held by the server
                assert len(pooled._acquired) == 1
                break
        assert library_tasks() == set()
        assert len(pooled._acquired) == 0
    finally:
        gate.set()
        await client.close()
        await session.close()
    assert arrivals.count == 2


async def test_cancelling_the_consumer_cancels_the_request_in_flight(
    server: LoopbackServer, pooled: aiohttp.TCPConnector
) -> None:
    client, arrivals, gate, session = held_walk(server, pooled)
    got: list[str] = []

    async def consume() -> None:
        async for batch in client.batches.list(limit=2, prefetch=1):
            got.append(batch.id)

    try:
        task = asyncio.create_task(consume())
        await arrivals.reach(2)  # the consumer has taken the first page and waits for the next
        assert len(pooled._acquired) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert library_tasks() == set()
        assert len(pooled._acquired) == 0
    finally:
        gate.set()
        await client.close()
        await session.close()
    assert got == ["batch_0000", "batch_0001"]
    assert arrivals.count == 2


async def test_cancelling_a_consumer_at_work_cancels_the_request_in_flight(
    server: LoopbackServer, pooled: aiohttp.TCPConnector
) -> None:
    """Cancelled in its own work, a consumer that closes the walk stops it at once."""
    client, arrivals, gate, session = held_walk(server, pooled)
    at_work = asyncio.Event()

    async def consume() -> None:
        async with aclosing(client.batches.list(limit=2, prefetch=1)) as walk:
            async for _ in walk:
                at_work.set()
                await asyncio.Event().wait()  # working until cancelled

    try:
        task = asyncio.create_task(consume())
        await at_work.wait()
        await arrivals.reach(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert library_tasks() == set()
        assert len(pooled._acquired) == 0
    finally:
        gate.set()
        await client.close()
        await session.close()


async def test_a_walk_closed_before_it_starts_sends_nothing(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(3)))
    async with server.client() as client:
        walk = client.batches.list(prefetch=2)
        await walk.aclose()
        assert library_tasks() == set()
    assert server.seen == []


@pytest.mark.parametrize(
    ("prefetch", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)]
)
@pytest.mark.parametrize("walk", list(WALKS))
async def test_bad_prefetch_fails_before_any_request(
    server: LoopbackServer, walk: str, prefetch: Any, error: type[Exception]
) -> None:
    async with server.client() as client:
        with pytest.raises(error, match="prefetch"):
            WALKS[walk][1](client, prefetch)
    assert server.seen == []
