"""Closing the client aborts whatever is in flight, at once, with ClientClosedError.

Each test starts a call that cannot finish on its own (the server stalls with no timeout
set), closes the client once the server has seen the request, and checks that the call
ends with ClientClosedError. ``asyncio.timeout`` only keeps a regression from hanging
the suite; nothing here is timed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import openai_batches as ob
import openai_batches._retry
from tests.conftest import LoopbackServer, reply, sample

BATCH = sample("batch_object_example")
FILE = {**sample("file_object_example"), "id": "file-1", "bytes": 1_000_000}
GUARD = 30  # seconds: a hang fails the test instead of the suite


class Stall:
    """Handlers that stall until released: before the headers, or partway through a body."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def before_headers(self, request: web.Request) -> web.Response:
        self.reached.set()
        await self.release.wait()
        return web.json_response(BATCH)

    async def mid_body(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = 1_000_000
        await response.prepare(request)
        await response.write(b'{"id": "b", ' + b" " * 70_000)
        self.reached.set()
        await self.release.wait()
        return response


@pytest.fixture
async def stall() -> AsyncIterator[Stall]:
    stall = Stall()
    yield stall
    stall.release.set()


async def closed_during(
    client: ob.Client, stall: Stall, call: Callable[[], Awaitable[Any]]
) -> BaseException:
    """Run ``call``, close the client once the server stalls, and return what it raised."""
    task = asyncio.create_task(call())
    async with asyncio.timeout(GUARD):
        await stall.reached.wait()
        await client.close()
        try:
            await task
        except BaseException as exc:
            return exc
    raise AssertionError("the call finished although the client was closed")


async def drain(chunks: AsyncIterator[bytes]) -> None:
    async for _ in chunks:
        pass


@pytest.fixture(params=[False, True], ids=["own-session", "borrowed-session"])
async def client(
    request: pytest.FixtureRequest, server: LoopbackServer
) -> AsyncIterator[ob.Client]:
    """A client without timeouts, on a session of its own or a borrowed one."""
    async with aiohttp.ClientSession() as session:
        yield server.client(timeout=None, session=session if request.param else None)


@pytest.mark.parametrize("borrowed", [False, True], ids=["own-session", "borrowed-session"])
@pytest.mark.parametrize("phase", ["before_headers", "mid_body"])
async def test_close_aborts_a_request_in_flight(
    server: LoopbackServer, stall: Stall, borrowed: bool, phase: str
) -> None:
    server.add("GET", "/v1/batches/b", getattr(stall, phase))
    async with aiohttp.ClientSession() as session:
        client = server.client(timeout=None, session=session if borrowed else None)
        error = await closed_during(client, stall, lambda: client.batches.retrieve("b"))
        assert isinstance(error, ob.ClientClosedError), repr(error)
        assert not session.closed
    assert len(server.seen) == 1  # closed, not retried


async def test_close_aborts_a_walk(server: LoopbackServer, stall: Stall, client: ob.Client) -> None:
    server.add("GET", "/v1/batches", stall.mid_body)

    async def walk() -> list[ob.Batch]:
        return [batch async for batch in client.batches.list()]

    assert isinstance(await closed_during(client, stall, walk), ob.ClientClosedError)


async def test_close_aborts_a_content_reader(
    server: LoopbackServer, stall: Stall, client: ob.Client
) -> None:
    server.add("GET", "/v1/files/file-1", reply(json_body=FILE))
    server.add("GET", "/v1/files/file-1/content", stall.mid_body)

    error = await closed_during(client, stall, lambda: drain(client.files.content("file-1")))

    assert isinstance(error, ob.ClientClosedError)


async def test_close_aborts_a_download_and_leaves_nothing(
    server: LoopbackServer, stall: Stall, client: ob.Client, tmp_path: Path
) -> None:
    server.add("GET", "/v1/files/file-1", reply(json_body=FILE))
    server.add("GET", "/v1/files/file-1/content", stall.mid_body)

    error = await closed_during(
        client, stall, lambda: client.files.download("file-1", tmp_path / "out.jsonl")
    )

    assert isinstance(error, ob.ClientClosedError)
    assert os.listdir(tmp_path) == []


async def test_close_interrupts_a_wait_between_retries(
    server: LoopbackServer, stall: Stall, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def long_wait(delay: float) -> None:
        stall.reached.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(openai_batches._retry, "_sleep", long_wait)
    server.add("GET", "/v1/batches/b", reply(503, {"error": {"message": "busy"}}))
    client = server.client()

    error = await closed_during(client, stall, lambda: client.batches.retrieve("b"))

    assert isinstance(error, ob.ClientClosedError)


async def test_close_interrupts_a_wait_between_polls(server: LoopbackServer, stall: Stall) -> None:
    server.add("GET", "/v1/batches/b", reply(json_body={**BATCH, "status": "in_progress"}))

    async def long_sleep(seconds: float) -> None:
        stall.reached.set()
        await asyncio.Event().wait()

    client = server.client()
    polling = ob.Polling(sleep=long_sleep)

    error = await closed_during(client, stall, lambda: client.batches.wait("b", polling=polling))

    assert isinstance(error, ob.ClientClosedError)


async def test_a_content_reader_used_after_close_raises_a_typed_error(
    server: LoopbackServer, stall: Stall, client: ob.Client
) -> None:
    server.add("GET", "/v1/files/file-1", reply(json_body=FILE))
    server.add("GET", "/v1/files/file-1/content", stall.mid_body)
    content = client.files.content("file-1", chunk_size=1000)
    await anext(content)
    await client.close()

    with pytest.raises(ob.ClientClosedError):
        await anext(content)
    await content.aclose()


async def test_a_cancelled_call_stays_cancelled_when_the_client_closes_too(
    server: LoopbackServer, stall: Stall
) -> None:
    server.add("GET", "/v1/batches/b", stall.before_headers)
    client = server.client(timeout=None)
    task = asyncio.create_task(client.batches.retrieve("b"))
    async with asyncio.timeout(GUARD):
        await stall.reached.wait()
        task.cancel()
        await client.close()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_close_aborts_an_upload_in_parts(
    server: LoopbackServer, stall: Stall, client: ob.Client, caplog: pytest.LogCaptureFixture
) -> None:
    upload = {
        "id": "upload_1",
        "object": "upload",
        "bytes": 3000,
        "created_at": 1,
        "filename": "big.jsonl",
        "purpose": "batch",
        "status": "pending",
        "expires_at": 2,
    }
    server.add("POST", "/v1/uploads", reply(json_body=upload))
    server.add("POST", "/v1/uploads/upload_1/parts", stall.before_headers)
    call = client.files.create(b"x" * 3000, purpose="batch", filename="big.jsonl", use_uploads=True)

    error = await closed_during(client, stall, lambda: call)

    assert isinstance(error, ob.ClientClosedError)
    assert "could not cancel" in caplog.text.lower()
