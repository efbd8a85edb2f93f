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
from tests.conftest import LoopbackServer, sample

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
        data = data[: int(request.query.get("limit", 10_000))]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "has_more": False,
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
