"""A create attempt processed after the search for it: the duplicate it starts is cancelled."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import LoopbackServer, reply, reset, sample

pytestmark = pytest.mark.usefixtures("sleeps")


class LateAPI:
    """Batches in memory; the second create also carries out the first, lost, attempt."""

    def __init__(self, late_status: str = "validating") -> None:
        self.batches: list[dict[str, Any]] = []  # newest first
        self.late_status = late_status

    def make(self, batch_id: str, body: dict[str, Any], status: str) -> dict[str, Any]:
        batch = {
            **sample("batch_object_example"),
            "id": batch_id,
            "status": status,
            "metadata": body["metadata"],
            "created_at": int(time.time()),
        }
        self.batches.insert(0, batch)
        return batch

    async def create(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.make("batch_late", body, self.late_status)  # the first attempt, at last
        return web.json_response(self.make("batch_kept", body, "validating"))

    async def listing(self, request: web.Request) -> web.Response:
        data = self.batches
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": False,
            }
        )


def routes(server: LoopbackServer, api: LateAPI) -> None:
    server.add("POST", "/v1/batches", reset, api.create)
    server.add("GET", "/v1/batches", api.listing)


def calls(server: LoopbackServer) -> list[str]:
    return [f"{s.method} {s.raw_path.split('?')[0]}" for s in server.seen]


async def test_the_late_duplicate_is_cancelled_and_the_answered_batch_returned(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    api = LateAPI()
    routes(server, api)
    cancelled = {**sample("batch_object_example"), "id": "batch_late", "status": "cancelling"}
    server.add("POST", "/v1/batches/batch_late/cancel", reply(json_body=cancelled))
    async with server.client() as client:
        with caplog.at_level(logging.WARNING, logger="openai_batches"):
            batch = await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")
    assert batch.id == "batch_kept"
    assert calls(server) == [
        "POST /v1/batches",  # lost
        "GET /v1/batches",  # the search before sending again finds nothing
        "POST /v1/batches",  # answered, and the lost attempt is carried out late
        "GET /v1/batches",  # the search once more
        "POST /v1/batches/batch_late/cancel",
    ]
    assert "Cancelled batch batch_late" in caplog.text


async def test_a_create_answered_at_once_searches_nothing(server: LoopbackServer) -> None:
    api = LateAPI()
    server.add("POST", "/v1/batches", api.create)
    async with server.client() as client:
        batch = await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")
    assert batch.id == "batch_kept"
    assert calls(server) == ["POST /v1/batches"]


async def test_a_duplicate_that_already_finished_is_left_alone(server: LoopbackServer) -> None:
    api = LateAPI(late_status="completed")
    routes(server, api)
    async with server.client() as client:
        batch = await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")
    assert batch.id == "batch_kept"
    assert "POST /v1/batches/batch_late/cancel" not in calls(server)


async def test_a_duplicate_that_cannot_be_cancelled_is_logged_not_raised(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    api = LateAPI()
    routes(server, api)
    error = {"error": {"message": "Cannot cancel", "type": "invalid_request_error"}}
    server.add("POST", "/v1/batches/batch_late/cancel", reply(409, error))
    finalizing = {**sample("batch_object_example"), "id": "batch_late", "status": "finalizing"}
    server.add("GET", "/v1/batches/batch_late", reply(json_body=finalizing))
    async with server.client() as client:
        with caplog.at_level(logging.WARNING, logger="openai_batches"):
            batch = await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")
    assert batch.id == "batch_kept"
    assert "batch_late duplicates batch batch_kept" in caplog.text
    assert "it can no longer be cancelled" in caplog.text


async def test_a_failed_second_search_is_logged_and_the_batch_returned(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    api = LateAPI()
    server.add("POST", "/v1/batches", reset, api.create)
    down = reply(503, {"error": {"message": "down", "type": "server_error"}})
    server.add("GET", "/v1/batches", api.listing, down)
    async with server.client() as client:
        with caplog.at_level(logging.WARNING, logger="openai_batches"):
            batch = await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")
    assert batch.id == "batch_kept"
    assert "Could not look for duplicates of batch batch_kept" in caplog.text
