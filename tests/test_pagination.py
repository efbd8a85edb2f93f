"""Cursor walking over a real loopback server: stop rules, guards, retries, arguments."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiohttp import web

import openai_batches as ob
from openai_batches import Batch, FileObject, Page
from openai_batches._files import DEFAULT_FILES_PAGE
from tests.conftest import LoopbackServer, reply, reset, sample

TEMPLATE = sample("batch_object_example")
FILE = sample("file_object_example")


def batches(n: int) -> list[dict[str, Any]]:
    return [{**copy.deepcopy(TEMPLATE), "id": f"batch_{i:04d}"} for i in range(n)]


def files(n: int) -> list[dict[str, Any]]:
    return [{**FILE, "id": f"file-{i:05d}", "created_at": 1_700_000_000 + i} for i in range(n)]


def lister(items: list[dict[str, Any]], *, cursors: bool = True, default: int = 20):
    """A handler paging through ``items`` by ``after`` and ``limit``, like the API."""
    ids = [item["id"] for item in items]

    async def handler(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", default))
        after = request.query.get("after")
        start = ids.index(after) + 1 if after else 0
        data = items[start : start + limit]
        page: dict[str, Any] = {
            "object": "list",
            "data": data,
            "has_more": start + limit < len(items),
        }
        if cursors:
            page["first_id"] = data[0]["id"] if data else None
            page["last_id"] = data[-1]["id"] if data else None
        return web.json_response(page)

    return handler


async def test_list_walks_every_page_in_order(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(250)))
    async with server.client() as client:
        got = [b.id async for b in client.batches.list()]
    assert got == [f"batch_{i:04d}" for i in range(250)]
    assert [s.query for s in server.seen] == [
        {"limit": "100"},
        {"limit": "100", "after": "batch_0099"},
        {"limit": "100", "after": "batch_0199"},
    ]
    assert all(isinstance(b, str) for b in got)


async def test_pages_expose_cursors_and_models(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(5)))
    async with server.client() as client:
        pages = [page async for page in client.batches.pages(limit=2)]
    assert [len(p.data) for p in pages] == [2, 2, 1]
    assert [(p.first_id, p.last_id, p.has_more) for p in pages] == [
        ("batch_0000", "batch_0001", True),
        ("batch_0002", "batch_0003", True),
        ("batch_0004", "batch_0004", False),
    ]
    assert all(isinstance(b, Batch) for p in pages for b in p.data)
    assert isinstance(pages[0], Page)


async def test_resume_from_a_cursor(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(10)))
    async with server.client() as client:
        first = await anext(client.batches.pages(limit=4))
        rest = [b.id async for b in client.batches.list(limit=4, after=first.last_id)]
    assert rest == [f"batch_{i:04d}" for i in range(4, 10)]
    assert server.seen[1].query == {"limit": "4", "after": "batch_0003"}


async def test_missing_last_id_falls_back_to_the_last_item(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(7), cursors=False))
    async with server.client() as client:
        got = [b.id async for b in client.batches.list(limit=3)]
    assert len(got) == 7
    assert server.seen[1].query["after"] == "batch_0002"


async def test_has_more_false_stops_even_with_a_full_page(server: LoopbackServer) -> None:
    page = {"object": "list", "data": batches(3), "has_more": False, "last_id": "batch_0002"}
    server.add("GET", "/v1/batches", reply(json_body=page))
    async with server.client() as client:
        assert len([b async for b in client.batches.list(limit=3)]) == 3
    assert len(server.seen) == 1


async def test_empty_last_page_ends_the_walk(server: LoopbackServer) -> None:
    server.add(
        "GET", "/v1/batches", reply(json_body={"object": "list", "data": [], "has_more": False})
    )
    async with server.client() as client:
        assert [b async for b in client.batches.list()] == []


async def test_repeated_cursor_is_a_pagination_error(server: LoopbackServer) -> None:
    stuck = {"object": "list", "data": batches(2), "has_more": True, "last_id": "batch_0001"}
    server.add("GET", "/v1/batches", reply(json_body=stuck))
    async with server.client() as client:
        got = []
        with pytest.raises(ob.PaginationError, match="batch_0001"):
            async for batch in client.batches.list(limit=2):
                got.append(batch.id)
    # The first page is fine; the second repeats it and is never yielded.
    assert got == ["batch_0000", "batch_0001"]
    assert len(server.seen) == 2


async def test_cursor_cycle_over_several_pages_is_caught(server: LoopbackServer) -> None:
    items = batches(4)
    pages = [
        {"object": "list", "data": items[0:2], "has_more": True, "last_id": "batch_0001"},
        {"object": "list", "data": items[2:4], "has_more": True, "last_id": "batch_0003"},
        {"object": "list", "data": items[0:2], "has_more": True, "last_id": "batch_0001"},
    ]
    server.add("GET", "/v1/batches", *(reply(json_body=p) for p in pages))
    async with server.client() as client:
        with pytest.raises(ob.PaginationError):
            async for _ in client.batches.list(limit=2):
                pass
    assert len(server.seen) == 3


async def test_empty_page_claiming_more_is_a_pagination_error(server: LoopbackServer) -> None:
    server.add(
        "GET",
        "/v1/files",
        reply(
            json_body={
                "object": "list",
                "data": [],
                "has_more": True,
                "first_id": None,
                "last_id": None,
            }
        ),
    )
    async with server.client() as client:
        with pytest.raises(ob.PaginationError, match="has_more"):
            async for _ in client.files.list():
                pass
    assert len(server.seen) == 1


async def test_starting_cursor_coming_back_is_caught(server: LoopbackServer) -> None:
    stuck = {"object": "list", "data": batches(1), "has_more": True, "last_id": "batch_0000"}
    server.add("GET", "/v1/batches", reply(json_body=stuck))
    async with server.client() as client:
        with pytest.raises(ob.PaginationError):
            async for _ in client.batches.list(after="batch_0000"):
                pass


async def test_breaking_out_sends_no_further_request(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(300)))
    async with server.client() as client:
        async for batch in client.batches.list(limit=100):
            if batch.id == "batch_0150":
                break
        walk = client.batches.list(limit=100)
        await anext(walk)
        await walk.aclose()  # type: ignore[attr-defined]
    assert len(server.seen) == 3
    session = client._transport._session
    assert session is None  # closed cleanly, nothing leaked


async def test_a_failing_page_is_retried_alone(server: LoopbackServer, sleeps: list[float]) -> None:
    items = batches(6)
    good = lister(items)
    failures = [reply(500, {"error": {"message": "flaky"}}), reset]

    async def flaky(request: web.Request) -> web.StreamResponse:
        if request.query.get("after") == "batch_0001" and failures:
            return await failures.pop(0)(request)
        return await good(request)

    server.add("GET", "/v1/batches", flaky)
    async with server.client() as client:
        got = [b.id async for b in client.batches.list(limit=2)]
    assert got == [b["id"] for b in items]
    assert [s.query.get("after") for s in server.seen] == [
        None,
        "batch_0001",
        "batch_0001",
        "batch_0001",
        "batch_0003",
    ]
    # aiohttp itself re-sends an idempotent request once when a reused keep-alive
    # connection is dropped, so the reset may not reach the retry policy.
    assert 1 <= len(sleeps) <= 2


async def test_a_page_that_keeps_failing_raises_without_losing_what_was_yielded(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    good = lister(batches(4))

    async def broken(request: web.Request) -> web.StreamResponse:
        if request.query.get("after"):
            return web.json_response({"error": {"message": "down"}}, status=503)
        return await good(request)

    server.add("GET", "/v1/batches", broken)
    got: list[str] = []
    async with server.client() as client:
        with pytest.raises(ob.InternalServerError):
            async for batch in client.batches.list(limit=2):
                got.append(batch.id)
    assert got == ["batch_0000", "batch_0001"]


async def test_a_malformed_item_raises_with_its_path(server: LoopbackServer) -> None:
    items = batches(5)
    items[3]["created_at"] = None
    server.add("GET", "/v1/batches", lister(items))
    async with server.client() as client:
        got: list[str] = []
        with pytest.raises(ob.ResponseValidationError) as info:
            async for batch in client.batches.list(limit=5):
                got.append(batch.id)
        assert got == ["batch_0000", "batch_0001", "batch_0002"]
        assert info.value.path == "$.data[3].created_at"
        with pytest.raises(ob.ResponseValidationError) as info:
            async for _ in client.batches.pages(limit=5):
                pass
        assert info.value.path == "$.data[3].created_at"


async def test_a_malformed_envelope_raises(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", reply(json_body={"object": "list", "data": files(2)}))
    async with server.client() as client:
        with pytest.raises(ob.ResponseValidationError, match="has_more"):
            async for _ in client.files.list():
                pass


async def test_files_arguments_are_sent(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(5), default=10_000))
    async with server.client() as client:
        got = [f async for f in client.files.list(purpose="batch", order="asc", limit=2)]
    assert [f.id for f in got] == [f"file-{i:05d}" for i in range(5)]
    assert all(isinstance(f, FileObject) for f in got)
    assert server.seen[0].query == {"purpose": "batch", "order": "asc", "limit": "2"}
    assert server.seen[1].query == {
        "purpose": "batch",
        "order": "asc",
        "limit": "2",
        "after": "file-00001",
    }


async def test_files_default_page_size_is_bounded(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(3), default=10_000))
    async with server.client() as client:
        async for _ in client.files.pages():
            pass
    assert server.seen[0].query == {"limit": str(DEFAULT_FILES_PAGE)}
    assert DEFAULT_FILES_PAGE < 10_000


async def test_explicit_files_limit_is_honoured(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(3), default=10_000))
    async with server.client() as client:
        async for _ in client.files.list(limit=10_000):
            pass
    assert server.seen[0].query == {"limit": "10000"}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.batches.list(limit=0), ValueError),
        (lambda c: c.batches.list(limit=101), ValueError),
        (lambda c: c.batches.pages(limit=1.5), TypeError),
        (lambda c: c.batches.list(after=5), TypeError),
        (lambda c: c.files.list(limit=10_001), ValueError),
        (lambda c: c.files.list(order="newest"), ValueError),
        (lambda c: c.files.pages(purpose=""), ValueError),
    ],
)
async def test_bad_arguments_fail_before_any_request(
    server: LoopbackServer, call: Any, error: type[Exception]
) -> None:
    async with server.client() as client:
        with pytest.raises(error):
            call(client)
    assert server.seen == []


async def test_empty_after_means_from_the_start(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(1)))
    async with server.client() as client:
        assert len([b async for b in client.batches.list(after="")]) == 1
    assert server.seen[0].query == {"limit": "100"}


async def test_walks_run_alongside_other_work(server: LoopbackServer) -> None:
    """Two walks and a retrieve interleave on one client without blocking each other."""
    import asyncio

    server.add("GET", "/v1/batches", lister(batches(120)))
    server.add("GET", "/v1/files", lister(files(120), default=10_000))
    server.add("GET", "/v1/batches/batch_abc123", reply(json_body=TEMPLATE))
    async with server.client() as client:

        async def count(walk: Any) -> int:
            return len([x async for x in walk])

        a, b, c = await asyncio.gather(
            count(client.batches.list(limit=10)),
            count(client.files.list(limit=10)),
            client.batches.retrieve("batch_abc123"),
        )
    assert (a, b, c.id) == (120, 120, "batch_abc123")
    paths = [s.raw_path.split("?")[0] for s in server.seen]
    # Interleaved, not one walk after the other.
    first_file = paths.index("/v1/files")
    assert first_file < paths.index("/v1/batches", first_file - 1) + 13


@pytest.mark.parametrize("walk", ["list", "pages"])
async def test_a_page_is_let_go_before_the_next_is_fetched(walk: str) -> None:
    """Only one page is alive at a time: the next is parsed into the memory it frees."""
    import json
    import weakref

    from multidict import CIMultiDict, CIMultiDictProxy

    from openai_batches._decode import Response
    from openai_batches._pagination import iter_items, structured_pages, walk_pages

    bodies = [
        {"object": "list", "data": files(3)[:2], "last_id": "file-00001", "has_more": True},
        {"object": "list", "data": files(3)[2:], "last_id": "file-00002", "has_more": False},
    ]
    sent: list[weakref.ref[Response]] = []
    alive_when_fetching: list[bool] = []

    async def fetch(after: str | None) -> Response:
        alive_when_fetching.extend(ref() is not None for ref in sent)
        response = Response(
            200, CIMultiDictProxy(CIMultiDict()), json.dumps(bodies[len(sent)]).encode(), "GET", "u"
        )
        sent.append(weakref.ref(response))
        return response

    if walk == "list":
        got = [f.id async for f in iter_items(walk_pages(fetch, None), FileObject)]
    else:
        got = [
            f.id
            async for p in structured_pages(walk_pages(fetch, None), FileObject)
            for f in p.data
        ]
    assert got == ["file-00000", "file-00001", "file-00002"]
    assert alive_when_fetching == [False]


@pytest.mark.parametrize("walk", ["list", "pages"])
async def test_the_loop_runs_between_the_slices_of_a_large_page(
    walk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of 10,000 files is parsed and structured a piece at a time, not in one go:
    a heartbeat on a timer beats after every piece and every slice."""
    import json

    from openai_batches import _decode
    from openai_batches._decode import PIECE, load, parse_items, split_page
    from openai_batches._pagination import SLICE

    await load()
    body = json.dumps({"object": "list", "data": files(10_000), "has_more": False}).encode()
    split = split_page(body)
    assert split is not None
    pieces = len(list(parse_items(body, split[1], split[2], PIECE)))
    slices = 10_000 // SLICE
    assert pieces >= 5
    assert slices >= 5

    done = {"pieces": 0, "models": 0}

    def counted_pieces(*args: Any) -> Any:
        for run in parse_items(*args):
            done["pieces"] += 1
            yield run

    monkeypatch.setattr(_decode, "parse_items", counted_pieces)
    seen = await beats_while_walking(walk, body, done, "pieces", monkeypatch)
    assert done["models"] == 10_000
    # The heartbeat saw every number of pieces parsed, and of models built at each slice.
    assert {n for n, models in seen if models == 0} >= set(range(1, pieces))
    assert {models for _, models in seen} >= {SLICE * k for k in range(1, slices)}


@pytest.mark.parametrize("walk", ["list", "pages"])
@pytest.mark.parametrize(("size", "apart"), [(1000, True), (100, False)])
async def test_a_page_of_more_than_100_items_is_structured_on_a_later_turn(
    walk: str, size: int, apart: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing a page of 1,000 files and building its models are two turns of the event
    loop, not one; a page of 100 is parsed and built in one turn."""
    import json

    from openai_batches import _decode
    from openai_batches._decode import load
    from openai_batches._transport import Response

    await load()
    body = json.dumps({"object": "list", "data": files(size), "has_more": False}).encode()
    done = {"parsed": 0, "models": 0}
    parse = _decode.parse_json

    def counted_parse(response: Response) -> Any:
        done["parsed"] += 1
        return parse(response)

    monkeypatch.setattr(_decode, "parse_json", counted_parse)
    seen = await beats_while_walking(walk, body, done, "parsed", monkeypatch)
    assert done == {"parsed": 1, "models": size}
    assert ((1, 0) in seen) is apart


async def beats_while_walking(
    walk: str, body: bytes, done: dict[str, int], counted: str, monkeypatch: pytest.MonkeyPatch
) -> set[tuple[int, int]]:
    """Walk a listing of one page, ``body``, with ``list()`` or ``pages()`` beside a
    heartbeat; return what the beats saw: ``(done[counted], models built so far)``."""
    import asyncio

    from multidict import CIMultiDict, CIMultiDictProxy

    from openai_batches import _decode, _pagination
    from openai_batches._pagination import iter_items, structured_pages, walk_pages
    from openai_batches._transport import Response

    def counted_hook(cl: Any) -> Any:
        hook = _decode.structure_hook(cl)

        def count(item: Any, cl: Any) -> Any:
            done["models"] += 1
            return hook(item, cl)

        return count

    monkeypatch.setattr(_pagination, "structure_hook", counted_hook)

    async def fetch(after: str | None) -> Response:
        # Answers at once: any turn of the loop during the walk is a break in its work.
        return Response(200, CIMultiDictProxy(CIMultiDict()), body, "GET", "u")

    # On a timer, as most work waiting on a loop is (sleeps, timeouts, I/O): the timers
    # that fall due run after the tasks already ready, so the heartbeat beats between two
    # pieces of work only if the walk gives way for a whole round of the loop.
    seen: set[tuple[int, int]] = set()
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            seen.add((done[counted], done["models"]))
            await asyncio.sleep(1e-9)

    task = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.001)
    if walk == "list":
        models = [f async for f in iter_items(walk_pages(fetch, None), FileObject)]
    else:
        pages = structured_pages(walk_pages(fetch, None), FileObject)
        models = (await anext(pages)).data
        await pages.aclose()
    stop.set()
    await task
    assert len(models) == done["models"]
    return seen
