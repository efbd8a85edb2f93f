"""The ``*_many`` methods: bounded, in input order, checked, and atomic for downloads.

The bound is counted twice: by a loopback server that records how many requests it holds
at once, and by the id source, which checks how far it is ahead of the consumer each
time an id is taken. The rest runs against the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from openai_batches import (
    Batch,
    BatchStatus,
    Client,
    ConflictError,
    NotFoundError,
)
from openai_batches.emulator import Emulator, ManualClock
from tests.conftest import LoopbackServer, reply, sample
from tests.test_concurrency import helper_tasks, idle

LINE = {
    "custom_id": "a",
    "method": "POST",
    "url": "/v1/chat/completions",
    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
}


class Ids:
    """Batch ids as an async iterable that checks, at each id taken, how far ahead it is."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.taken = 0
        self.received = 0
        self.ahead = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            for batch_id in self.ids:
                self.taken += 1
                self.ahead = max(self.ahead, self.taken - self.received)
                yield batch_id
        finally:
            self.closed = True


class HoldingServer:
    """Answers ``GET /v1/batches/<id>`` only once ``release`` is set; counts requests held."""

    def __init__(
        self, server: LoopbackServer, ids: list[str], *, hold: set[str] | None = None
    ) -> None:
        self.hold = set(ids) if hold is None else hold
        self.held = 0
        self.most = 0
        self.arrived = 0
        self.release = asyncio.Event()
        self.changed = asyncio.Event()
        for batch_id in ids:
            server.add("GET", f"/v1/batches/{batch_id}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        batch_id = request.path.rsplit("/", 1)[-1]
        self.arrived += 1
        if batch_id in self.hold:
            self.held += 1
            self.most = max(self.most, self.held)
            self.changed.set()
            try:
                await self.release.wait()
            finally:
                self.held -= 1
        return web.json_response({**sample("batch_object_example"), "id": batch_id})

    async def wait_for(self, held: int) -> None:
        async with asyncio.timeout(30):  # a guard against hanging, not a measure
            while self.held < held:
                self.changed.clear()
                await self.changed.wait()


def acquired(client: Client) -> int:
    """The connections the client's pool has lent out and not got back."""
    session = client._transport._session
    assert session is not None
    assert session.connector is not None
    return len(session.connector._acquired)  # type: ignore[attr-defined]


# the bound, counted by the server and by the source


async def test_retrieve_many_holds_limit_requests_at_most_and_reads_no_ids_ahead(
    server: LoopbackServer,
) -> None:
    names = [f"batch_{n}" for n in range(12)]
    holding, ids = HoldingServer(server, names), Ids(names)
    async with server.client() as client:
        got: list[str] = []

        async def consume() -> None:
            async for batch in client.batches.retrieve_many(ids, limit=4):
                got.append(batch.id)
                ids.received += 1

        consumer = asyncio.create_task(consume())
        await holding.wait_for(4)
        await idle()
        assert ids.taken == 4  # four requests held by the server, no fifth id read
        holding.release.set()
        await consumer
    assert got == names
    assert holding.most == 4
    assert holding.arrived == 12
    assert ids.ahead == 4
    assert ids.closed


async def test_breaking_out_cancels_the_requests_and_returns_every_connection(
    server: LoopbackServer,
) -> None:
    names = [f"batch_{n}" for n in range(12)]
    holding, ids = HoldingServer(server, names, hold=set(names[2:])), Ids(names)
    async with server.client() as client:
        got: list[str] = []
        async with contextlib.aclosing(client.batches.retrieve_many(ids, limit=4)) as results:
            async for batch in results:
                got.append(batch.id)
                if len(got) == 2:
                    await holding.wait_for(4)
                    assert acquired(client) == 4
                    break
        assert got == names[:2]
        assert acquired(client) == 0
        assert helper_tasks() == []
        assert ids.closed
        holding.release.set()


async def test_cancelling_the_consumer_cancels_the_requests_and_returns_every_connection(
    server: LoopbackServer,
) -> None:
    names = [f"batch_{n}" for n in range(12)]
    holding, ids = HoldingServer(server, names), Ids(names)
    async with server.client() as client:
        results = client.batches.retrieve_many(ids, limit=3)
        first = asyncio.create_task(anext(results))
        await holding.wait_for(3)
        assert acquired(client) == 3
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert acquired(client) == 0
        assert helper_tasks() == []
        assert ids.closed
        holding.release.set()


async def test_a_failure_cancels_the_requests_in_flight_and_returns_every_connection(
    server: LoopbackServer,
) -> None:
    names = [f"batch_{n}" for n in range(6)]
    holding = HoldingServer(server, names)
    not_found = reply(404, {"error": {"message": "gone"}})

    async def gone_once_three_others_are_held(request: web.Request) -> web.StreamResponse:
        await holding.wait_for(3)
        return await not_found(request)

    server.add("GET", "/v1/batches/batch_gone", gone_once_three_others_are_held)
    async with server.client() as client:
        results = client.batches.retrieve_many(["batch_gone", *names], limit=4)
        with pytest.raises(NotFoundError):
            await anext(results)
        assert holding.arrived == 3  # the three in flight were cancelled, no more was sent
        assert acquired(client) == 0
        assert helper_tasks() == []
        holding.release.set()


# against the emulator


def seed_batches(emulator: Emulator, n: int) -> list[str]:
    return [emulator.store.put_batch([LINE])["id"] for _ in range(n)]


def seed_files(emulator: Emulator, n: int, purpose: str = "batch_output") -> list[str]:
    return [
        emulator.store.put_file(f"out-{i}.jsonl", purpose, f"line {i}\n".encode() * (i + 1))["id"]
        for i in range(n)
    ]


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [value async for value in iterator]


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_retrieve_many_yields_the_batches_in_input_order(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    ids = seed_batches(openai_emulator, 10)
    order = ids[::-1]
    assert [b.id for b in await collect(openai_client.batches.retrieve_many(order))] == order
    models = [await openai_client.batches.retrieve(i) for i in ids[:3]]
    assert [b.id for b in await collect(openai_client.batches.retrieve_many(models))] == ids[:3]
    # A listing as the source: newest first, as it walks.
    walked = await collect(openai_client.batches.retrieve_many(openai_client.batches.list()))
    assert [b.id for b in walked] == ids[::-1]


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_retrieve_many_raises_a_missing_batch_after_those_before_it(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    ids = seed_batches(openai_emulator, 4)
    got: list[str] = []
    with pytest.raises(NotFoundError):
        async for batch in openai_client.batches.retrieve_many([*ids[:2], "batch_nope", ids[2]]):
            got.append(batch.id)
    assert got == ids[:2]


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_retrieve_many_with_return_exceptions_yields_the_error_in_place(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    ids = seed_batches(openai_emulator, 3)
    got = await collect(
        openai_client.batches.retrieve_many(
            [ids[0], "batch_nope", ids[1], ids[2]], return_exceptions=True
        )
    )
    assert [b.id for b in got if isinstance(b, Batch)] == ids
    assert isinstance(got[1], NotFoundError)
    assert got[1].status_code == 404


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_cancel_many_cancels_in_input_order_and_reports_batches_past_cancelling(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    done = seed_batches(openai_emulator, 1)
    openai_emulator.clock.advance(10 * 3600)  # type: ignore[attr-defined]
    assert (await openai_client.batches.retrieve(done[0])).status is BatchStatus.COMPLETED
    running = seed_batches(openai_emulator, 3)
    order = [running[0], done[0], running[1], running[2]]
    got = await collect(openai_client.batches.cancel_many(order, return_exceptions=True))
    assert [b.id for b in got if isinstance(b, Batch)] == running
    assert all(b.status is BatchStatus.CANCELLING for b in got if isinstance(b, Batch))
    assert isinstance(got[1], ConflictError)
    with pytest.raises(ConflictError):
        await collect(openai_client.batches.cancel_many(done))


async def test_files_retrieve_many_and_delete_many(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    ids = seed_files(openai_emulator, 6)
    files = await collect(openai_client.files.retrieve_many(ids, limit=2))
    assert [f.id for f in files] == ids
    assert [f.filename for f in files] == [f"out-{i}.jsonl" for i in range(6)]
    deleted = await collect(openai_client.files.delete_many(files[:4]))
    assert [(d.id, d.deleted) for d in deleted] == [(i, True) for i in ids[:4]]
    remaining = await collect(openai_client.files.list())
    assert sorted(f.id for f in remaining) == sorted(ids[4:])
    again = await collect(openai_client.files.delete_many(ids[3:], return_exceptions=True))
    assert isinstance(again[0], NotFoundError)
    assert [d.id for d in again[1:]] == ids[4:]  # type: ignore[union-attr]


# bad arguments: refused before any request


@pytest.mark.parametrize(
    ("ids", "error", "message"),
    [
        ("batch_abc", TypeError, "not one id: 'batch_abc'"),
        (42, TypeError, "ids must be an iterable or an async iterable, got int"),
        (["batch_a", 42], TypeError, r"got int \(ids, at position 1\)"),
        (["batch_a", ""], ValueError, r"must not be empty \(ids, at position 1\)"),
        ([".."], ValueError, "not a valid object id"),
        ([None], TypeError, "an id must be a string or a Batch, got NoneType"),
    ],
)
async def test_bad_ids_are_refused_before_any_request(
    openai_emulator: Emulator,
    openai_client: Client,
    ids: Any,
    error: type[Exception],
    message: str,
) -> None:
    for method in (openai_client.batches.retrieve_many, openai_client.batches.cancel_many):
        with pytest.raises(error, match=message):
            method(ids)
    assert openai_emulator.requests == []


async def test_a_model_of_the_wrong_kind_is_refused(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    (file_id,) = seed_files(openai_emulator, 1)
    file = await openai_client.files.retrieve(file_id)
    with pytest.raises(TypeError, match="a string or a Batch, got FileObject"):
        openai_client.batches.retrieve_many([file])  # type: ignore[list-item]


async def test_bad_limits_are_refused_before_any_request(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        openai_client.files.retrieve_many(["file-a"], limit=0)
    with pytest.raises(TypeError, match="limit must be an int"):
        openai_client.files.delete_many(["file-a"], limit=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be at least 1"):
        openai_client.files.download_many(["file-a"], tmp_path, limit=-1)
    assert openai_emulator.requests == []


async def test_a_bad_id_from_an_async_source_fails_in_its_place(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    ids = seed_files(openai_emulator, 2)

    async def source() -> AsyncIterator[Any]:
        yield ids[0]
        yield 7
        yield ids[1]

    got = await collect(openai_client.files.retrieve_many(source(), return_exceptions=True))
    assert got[0].id == ids[0]
    assert isinstance(got[1], TypeError)
    assert got[2].id == ids[1]
    with pytest.raises(TypeError, match="a string or a FileObject, got int"):
        await collect(openai_client.files.retrieve_many(source()))


# download_many


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_download_many_saves_each_file_under_its_id(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    ids = seed_files(openai_emulator, 7)
    order = ids[::-1]
    paths = await collect(openai_client.files.download_many(order, tmp_path, limit=3))
    assert paths == [tmp_path / file_id for file_id in order]
    for i, file_id in enumerate(ids):
        assert (tmp_path / file_id).read_bytes() == f"line {i}\n".encode() * (i + 1)
    assert listing(tmp_path) == sorted(ids)


async def test_download_many_takes_a_listing(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    ids = seed_files(openai_emulator, 3)
    seed_files(openai_emulator, 2, purpose="batch")
    walk = openai_client.files.list(purpose="batch_output")
    paths = await collect(openai_client.files.download_many(walk, tmp_path))
    assert sorted(p.name for p in paths) == sorted(ids)


async def test_download_many_failure_leaves_only_whole_files(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    ids = seed_files(openai_emulator, 4)
    got: list[Path] = []
    with pytest.raises(NotFoundError):
        async for path in openai_client.files.download_many(
            [ids[0], ids[1], "file-missing", ids[2], ids[3]], tmp_path, limit=2
        ):
            got.append(path)
    assert got == [tmp_path / ids[0], tmp_path / ids[1]]
    for name in listing(tmp_path):  # whatever else finished is whole; nothing half-written
        i = ids.index(name)
        assert (tmp_path / name).read_bytes() == f"line {i}\n".encode() * (i + 1)


async def test_download_many_with_return_exceptions_goes_on(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    ids = seed_files(openai_emulator, 2)
    got = await collect(
        openai_client.files.download_many(
            [ids[0], "file-missing", ids[1]], tmp_path, return_exceptions=True
        )
    )
    assert got[0] == tmp_path / ids[0]
    assert isinstance(got[1], NotFoundError)
    assert got[2] == tmp_path / ids[1]
    assert listing(tmp_path) == sorted(ids)


@pytest.mark.parametrize(
    "file_id", ["../escape", "a/b", ".hidden", "a\\b", "x" * 201, "é", "file id"]
)
async def test_download_many_refuses_an_id_that_is_not_a_plain_file_name(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path, file_id: str
) -> None:
    with pytest.raises(ValueError, match="cannot be saved under its own name"):
        openai_client.files.download_many(["file-ok", file_id], tmp_path)
    assert openai_emulator.requests == []


async def test_download_many_refuses_a_server_given_id_that_would_escape(
    server: LoopbackServer, tmp_path: Path
) -> None:
    listed = {**sample("file_object_example"), "id": "../../escape"}
    page = {"object": "list", "data": [listed], "has_more": False}
    server.add("GET", "/v1/files", lambda request: _json(page))
    folder = tmp_path / "out"
    folder.mkdir()
    async with server.client() as client:
        got = await collect(
            client.files.download_many(client.files.list(), folder, return_exceptions=True)
        )
    assert isinstance(got[0], ValueError)
    assert [s.raw_path for s in server.seen] == ["/v1/files?limit=1000"]
    assert listing(tmp_path) == ["out"]
    assert listing(folder) == []


async def _json(body: Any) -> web.Response:
    return web.json_response(body)


async def test_download_many_needs_an_existing_directory(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="No such directory"):
        openai_client.files.download_many(["file-a"], tmp_path / "missing")
    (tmp_path / "plain").write_text("")
    with pytest.raises(NotADirectoryError):
        openai_client.files.download_many(["file-a"], tmp_path / "plain")
    assert openai_emulator.requests == []


async def test_download_many_cancelled_mid_content_leaves_nothing(
    server: LoopbackServer, tmp_path: Path
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    count = 0

    async def info(request: web.Request) -> web.Response:
        file_id = request.path.rsplit("/", 1)[-1]
        return web.json_response({**sample("file_object_example"), "id": file_id, "bytes": 100_000})

    async def half(request: web.Request) -> web.StreamResponse:
        nonlocal count
        response = web.StreamResponse()
        response.content_length = 100_000
        await response.prepare(request)
        await response.write(b"x" * 50_000)
        count += 1
        if count == 2:
            started.set()
        await release.wait()  # the rest does not come while the test runs
        return response

    for file_id in ("file-a", "file-b"):
        server.add("GET", f"/v1/files/{file_id}", info)
        server.add("GET", f"/v1/files/{file_id}/content", half)
    async with server.client() as client:
        consumer = asyncio.create_task(
            collect(client.files.download_many(["file-a", "file-b"], tmp_path, limit=2))
        )
        async with asyncio.timeout(30):
            await started.wait()
        assert len(listing(tmp_path)) == 2  # two temporary files being written
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert listing(tmp_path) == []
        assert acquired(client) == 0
        assert helper_tasks() == []
    release.set()


# extras: with every request, checked before any


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_extras_go_with_every_request_of_the_many_methods(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    extra: Any = {"extra_headers": {"X-Trace": "t1"}, "extra_query": {"trace": "1"}}
    batch_ids = seed_batches(openai_emulator, 3)
    file_ids = seed_files(openai_emulator, 3)
    await collect(openai_client.batches.retrieve_many(batch_ids, **extra))
    await collect(openai_client.batches.cancel_many(batch_ids, **extra))
    await collect(openai_client.files.retrieve_many(file_ids, **extra))
    await collect(openai_client.files.download_many(file_ids, tmp_path, **extra))
    await collect(openai_client.files.delete_many(file_ids, **extra))
    # A download looks its file's size up first: a look-up, which takes no extras (as
    # the look-ups after a lost answer do not).
    look_ups = [r for r in openai_emulator.requests[9:15] if not r.path.endswith("/content")]
    assert len(look_ups) == 3
    seen = [r for r in openai_emulator.requests if r not in look_ups]
    assert [(r.method, r.path.split("/")[2]) for r in seen] == [
        *[("GET", "batches")] * 3,
        *[("POST", "batches")] * 3,
        *[("GET", "files")] * 6,
        *[("DELETE", "files")] * 3,
    ]
    assert all(r.headers.get("X-Trace") == "t1" and r.query.get("trace") == "1" for r in seen)


async def test_wrong_extras_of_the_many_methods_are_refused_before_any_request(
    openai_emulator: Emulator, openai_client: Client, tmp_path: Path
) -> None:
    bad: Any = {"extra_header": {"X": "1"}}
    calls = [
        lambda: openai_client.batches.retrieve_many(["batch_a"], **bad),
        lambda: openai_client.batches.cancel_many(["batch_a"], **bad),
        lambda: openai_client.files.retrieve_many(["file-a"], **bad),
        lambda: openai_client.files.delete_many(["file-a"], **bad),
        lambda: openai_client.files.download_many(["file-a"], tmp_path, **bad),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            call()
    with pytest.raises(TypeError, match="extra_body cannot be sent"):
        openai_client.files.download_many(["file-a"], tmp_path, extra_body={"a": 1})
    assert openai_emulator.requests == []
