"""What a create or an upload whose answer was lost returns: its own result, never another.

A loopback server keeps files and batches in memory and loses answers on cue; each test
checks what the client returned and what the server ended up holding.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from aiohttp import web

import openai_batches as ob
from openai_batches._batches import IDEMPOTENCY_METADATA_KEY
from tests.conftest import LoopbackServer, reply, reset, sample

pytestmark = pytest.mark.usefixtures("sleeps")


async def html(request: web.Request | None = None) -> web.Response:
    """A 200 that is not JSON: a proxy's page, say."""
    return web.Response(text="<html><body>OK</body></html>", content_type="text/html")


class Store:
    """Files and batches in memory, newest first, as the API lists them."""

    def __init__(self) -> None:
        self.files: list[dict[str, Any]] = []
        self.batches: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add_file(self, filename: str, size: int, purpose: str = "batch") -> dict[str, Any]:
        file = {
            **sample("file_object_example"),
            "id": f"file-{next(self._ids)}",
            "filename": filename,
            "bytes": size,
            "purpose": purpose,
            "created_at": int(time.time()),
        }
        self.files.insert(0, file)
        return file

    async def list_files(self, request: web.Request) -> web.Response:
        data = [f for f in self.files if f["purpose"] == request.query.get("purpose", f["purpose"])]
        limit = int(request.query.get("limit", 10_000))
        more, data = len(data) > limit, data[:limit]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "has_more": more,
                "first_id": data[0]["id"] if data else "",
                "last_id": data[-1]["id"] if data else "",
            }
        )

    async def create_batch(self, request: web.Request) -> dict[str, Any]:
        body = json.loads(await request.read())
        batch = {
            **sample("batch_object_example"),
            "id": f"batch_{next(self._ids)}",
            "status": "validating",
            "metadata": body.get("metadata"),
            "created_at": int(time.time()),
        }
        self.batches.insert(0, batch)
        return batch

    async def list_batches(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": self.batches, "has_more": False})


@pytest.fixture
def store(server: LoopbackServer) -> Store:
    store = Store()
    server.add("GET", "/v1/files", store.list_files)
    server.add("GET", "/v1/batches", store.list_batches)
    return store


def posts(server: LoopbackServer, path: str) -> int:
    return sum(1 for seen in server.seen if seen.method == "POST" and seen.raw_path == path)


# ---------------------------------------------------------------- a 2xx that cannot be read


async def test_an_upload_whose_2xx_answer_cannot_be_read_returns_its_file(
    server: LoopbackServer, store: Store
) -> None:
    async def stored_but_unreadable(request: web.Request) -> web.Response:
        store.add_file("one.jsonl", 9)
        return await html()

    server.add("POST", "/v1/files", stored_but_unreadable)
    async with server.client() as client:
        file = await client.files.create(b'{"a": 1}\n', purpose="batch", filename="one.jsonl")

    assert [f["id"] for f in store.files] == [file.id]
    assert posts(server, "/v1/files") == 1


async def test_a_create_whose_2xx_answer_cannot_be_read_returns_its_batch(
    server: LoopbackServer, store: Store
) -> None:
    async def created_but_unreadable(request: web.Request) -> web.Response:
        await store.create_batch(request)
        return await html()

    server.add("POST", "/v1/batches", created_but_unreadable)
    async with server.client() as client:
        batch = await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")

    assert [b["id"] for b in store.batches] == [batch.id]
    assert batch.metadata is not None
    assert IDEMPOTENCY_METADATA_KEY in batch.metadata
    assert posts(server, "/v1/batches") == 1


async def test_an_unreadable_2xx_with_nothing_to_find_is_raised_not_sent_again(
    server: LoopbackServer, store: Store
) -> None:
    server.add("POST", "/v1/files", html)
    async with server.client() as client:
        with pytest.raises(ob.ResponseValidationError):
            await client.files.create(b'{"a": 1}\n', purpose="batch", filename="one.jsonl")
    assert posts(server, "/v1/files") == 1


# ---------------------------------------------------------------- never an earlier file

NAME = "requests-00000.jsonl"  # the request writer's default name
CONTENT = b'{"a": 1}\n'


async def test_a_lost_upload_never_returns_an_earlier_file_of_the_same_name_and_size(
    server: LoopbackServer, store: Store
) -> None:
    earlier = store.add_file(NAME, len(CONTENT))  # moments ago, same name, size, purpose

    async def stored(request: web.Request) -> web.Response:
        return web.json_response(store.add_file(NAME, len(CONTENT)))

    server.add("POST", "/v1/files", reset, stored)  # reset before the server stored it
    async with server.client() as client:
        file = await client.files.create(CONTENT, purpose="batch", filename=NAME)

    assert file.id != earlier["id"]
    assert [f["id"] for f in store.files] == [file.id, earlier["id"]]
    assert posts(server, "/v1/files") == 2


async def test_a_lost_upload_finds_its_own_file_beside_an_earlier_twin(
    server: LoopbackServer, store: Store
) -> None:
    earlier = store.add_file(NAME, len(CONTENT))

    async def stored_then_lost(request: web.Request) -> web.Response:
        store.add_file(NAME, len(CONTENT))
        return await reset(request)

    server.add("POST", "/v1/files", stored_then_lost)
    async with server.client() as client:
        file = await client.files.create(CONTENT, purpose="batch", filename=NAME)

    assert file.id == store.files[0]["id"] != earlier["id"]
    assert posts(server, "/v1/files") == 1


async def test_an_earlier_twin_older_than_the_files_listed_before_is_never_taken(
    server: LoopbackServer, store: Store
) -> None:
    # The twin is beyond the newest 100 when the upload starts; by the time the lost
    # answer is searched for, deleting newer files has brought it into view.
    twin = store.add_file(NAME, len(CONTENT))
    twin["created_at"] -= 10
    for n in range(100):
        store.add_file(f"other-{n}.jsonl", 1)

    async def deleted_then_lost(request: web.Request) -> web.Response:
        del store.files[:50]
        return await reset(request)

    async def stored(request: web.Request) -> web.Response:
        return web.json_response(store.add_file(NAME, len(CONTENT)))

    server.add("POST", "/v1/files", deleted_then_lost, stored)
    async with server.client() as client:
        file = await client.files.create(CONTENT, purpose="batch", filename=NAME)

    assert file.id != twin["id"]
    assert posts(server, "/v1/files") == 2


async def test_when_files_cannot_be_listed_first_a_lost_upload_is_raised_not_sent_again(
    server: LoopbackServer,
) -> None:
    denied = {"error": {"message": "no read access", "type": "invalid_request_error"}}
    server.add("GET", "/v1/files", reply(403, denied))
    server.add("POST", "/v1/files", reset)
    async with server.client() as client:
        with pytest.raises(ob.APIConnectionError) as info:
            await client.files.create(CONTENT, purpose="batch", filename=NAME)

    assert posts(server, "/v1/files") == 1
    assert any("listed" in note for note in info.value.__notes__)
