"""Observability: the events handed to ``on_event``, and the fields of the log records."""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
from typing import Any

import pytest

import openai_batches as ob
from openai_batches import PageEvent, PollEvent, RequestEvent, RetryEvent
from openai_batches.emulator import Emulator, ManualClock, Timing
from tests.conftest import LoopbackServer, reply, sample
from tests.test_wait import FakeTime, seed

BATCH = sample("batch_object_example")
KEY = "sk-test-secret"


def recorder() -> tuple[list[ob.Event], ob.OnEvent]:
    events: list[ob.Event] = []
    return events, events.append


def batch(batch_id: str) -> dict[str, Any]:
    return {**copy.deepcopy(BATCH), "id": batch_id}


async def test_a_request_emits_one_request_event(server: LoopbackServer) -> None:
    server.add(
        "GET", "/v1/batches/b1", reply(json_body=batch("b1"), headers={"x-request-id": "r1"})
    )
    events, on_event = recorder()

    async with server.client(on_event=on_event) as client:
        await client.batches.retrieve("b1")

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, RequestEvent)
    assert (event.method, event.url, event.attempt) == ("GET", f"{server.url}/batches/b1", 1)
    assert (event.status, event.request_id, event.error) == (200, "r1", None)
    assert event.elapsed >= 0


async def test_a_retried_request_emits_each_attempt_and_the_retry(server: LoopbackServer) -> None:
    server.add(
        "GET",
        "/v1/batches/b1",
        reply(503, {"error": {"message": "busy"}}, headers={"x-request-id": "r1"}),
        reply(json_body=batch("b1"), headers={"x-request-id": "r2"}),
    )
    events, on_event = recorder()

    async with server.client(on_event=on_event) as client:
        await client.batches.retrieve("b1")

    url = f"{server.url}/batches/b1"
    first, retry, second = events
    assert isinstance(first, RequestEvent)
    assert (first.attempt, first.status, first.request_id) == (1, 503, "r1")
    assert isinstance(retry, RetryEvent)
    assert (retry.method, retry.url, retry.attempt) == ("GET", url, 1)
    assert (retry.delay, retry.status, retry.request_id) == (0, 503, "r1")
    assert isinstance(retry.error, ob.InternalServerError)
    assert isinstance(second, RequestEvent)
    assert (second.attempt, second.status, second.request_id) == (2, 200, "r2")


async def test_no_answer_is_a_request_event_with_the_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    events, on_event = recorder()
    policy = ob.RetryPolicy(max_retries=1, initial_delay=0, max_delay=0)

    async with ob.Client(
        KEY, base_url=f"http://127.0.0.1:{port}/v1", retry_policy=policy, on_event=on_event
    ) as client:
        with pytest.raises(ob.APIConnectionError):
            await client.batches.retrieve("b1")

    assert [type(e) for e in events] == [RequestEvent, RetryEvent, RequestEvent]
    first, retry, last = events
    assert isinstance(first, RequestEvent)
    assert isinstance(last, RequestEvent)
    assert (first.attempt, first.status, first.request_id) == (1, None, None)
    assert isinstance(first.error, ob.APIConnectionError)
    assert isinstance(retry, RetryEvent)
    assert retry.status is None
    assert last.attempt == 2
    assert isinstance(last.error, ob.APIConnectionError)


async def test_a_walk_emits_one_page_event_per_page(server: LoopbackServer) -> None:
    pages = [
        {"object": "list", "data": [batch("b1"), batch("b2")], "last_id": "b2", "has_more": True},
        {"object": "list", "data": [batch("b3"), batch("b4")], "last_id": "b4", "has_more": True},
        {"object": "list", "data": [batch("b5")], "last_id": "b5", "has_more": False},
    ]
    server.add(
        "GET",
        "/v1/batches",
        *(reply(json_body=p, headers={"x-request-id": f"p{i}"}) for i, p in enumerate(pages, 1)),
    )
    events, on_event = recorder()

    async with server.client(on_event=on_event) as client:
        ids = [b.id async for b in client.batches.list(limit=2)]

    assert ids == ["b1", "b2", "b3", "b4", "b5"]
    walked = [e for e in events if isinstance(e, PageEvent)]
    assert [(e.page, e.items, e.has_more, e.request_id) for e in walked] == [
        (1, 2, True, "p1"),
        (2, 2, True, "p2"),
        (3, 1, False, "p3"),
    ]
    assert all(e.method == "GET" and e.url == f"{server.url}/batches" for e in walked)
    # Each page's request comes before the page itself.
    assert [type(e) for e in events] == [RequestEvent, PageEvent] * 3


@pytest.mark.usefixtures("sleeps")
@pytest.mark.openai_emulator(
    clock=ManualClock(), timing=Timing(validating=2, requests_per_second=1, finalizing=5)
)
async def test_a_wait_emits_one_poll_event_per_poll(openai_emulator: Emulator) -> None:
    batch_id = seed(openai_emulator, 2)
    events, on_event = recorder()
    fake_time = FakeTime(openai_emulator)

    async with openai_emulator.client(on_event=on_event) as client:
        done = await client.batches.wait(batch_id, polling=fake_time.polling())

    polls = [e for e in events if isinstance(e, PollEvent)]
    requests = [e for e in events if isinstance(e, RequestEvent)]
    assert [e.poll for e in polls] == list(range(1, len(polls) + 1))
    assert len(polls) == len(requests) == len(fake_time.sleeps) + 1
    assert all(e.batch_id == batch_id and e.error is None for e in polls)
    statuses = [e.batch.status.value for e in polls if e.batch is not None]
    assert statuses[0] == "validating"
    assert statuses[-1] == "completed" == done.status
    assert "in_progress" in statuses
    assert "finalizing" in statuses


async def test_async_on_event_is_awaited(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b1", reply(json_body=batch("b1")))
    seen: list[str] = []

    async def on_event(event: ob.Event) -> None:
        await asyncio.sleep(0)
        seen.append(type(event).__name__)

    async with server.client(on_event=on_event) as client:
        await client.batches.retrieve("b1")

    assert seen == ["RequestEvent"]


async def test_a_failing_on_event_is_logged_and_the_call_goes_on(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(
        "GET", "/v1/batches/b1", reply(json_body=batch("b1"), headers={"x-request-id": "r1"})
    )

    def on_event(event: ob.Event) -> None:
        raise ZeroDivisionError("metrics bug")

    async with server.client(on_event=on_event) as client:
        with caplog.at_level(logging.ERROR, logger="openai_batches"):
            got = await client.batches.retrieve("b1")

    assert got.id == "b1"
    (record,) = caplog.records
    assert record.name == "openai_batches._events"
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError
    assert record.request_id == "r1"  # type: ignore[attr-defined]
    assert "RequestEvent" in record.getMessage()


def test_on_event_must_be_callable() -> None:
    with pytest.raises(TypeError, match="on_event must be callable"):
        ob.Client(KEY, on_event="print")  # type: ignore[arg-type]


async def test_log_records_carry_the_request_id(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(
        "GET",
        "/v1/batches/b1",
        reply(500, {"error": {"message": "oops"}}, headers={"x-request-id": "r1"}),
        reply(json_body=batch("b1"), headers={"x-request-id": "r2"}),
    )

    # Configured on the package's logger, as users do: the modules' loggers are its children.
    async with server.client() as client:
        with caplog.at_level(logging.DEBUG, logger="openai_batches"):
            await client.batches.retrieve("b1")

    url = f"{server.url}/batches/b1"
    fields = [
        (r.name, r.levelname, r.method, r.url, r.status, r.request_id, r.attempt)  # type: ignore[attr-defined]
        for r in caplog.records
    ]
    assert fields == [
        ("openai_batches._api", "DEBUG", "GET", url, 500, "r1", 1),
        ("openai_batches._retry", "INFO", "GET", url, 500, "r1", 1),
        ("openai_batches._api", "DEBUG", "GET", url, 200, "r2", 2),
    ]
    assert KEY not in caplog.text


async def test_without_on_event_nothing_is_observed(server: LoopbackServer) -> None:
    async with server.client() as client:
        assert client._api.emit is None
        assert client._api._observer("GET", "batches") is None


@pytest.mark.openai_emulator(
    clock=ManualClock(), timing=Timing(validating=0, finalizing=0, requests_per_second=1e9)
)
async def test_a_download_emits_a_request_event(openai_emulator: Emulator) -> None:
    batch_id = seed(openai_emulator, 1)
    events, on_event = recorder()

    async with openai_emulator.client(on_event=on_event) as client:
        done = await client.batches.retrieve(batch_id)
        assert done.output_file_id is not None
        body = b"".join([chunk async for chunk in client.files.content(done.output_file_id)])

    assert body
    downloaded = events[-1]
    assert isinstance(downloaded, RequestEvent)
    assert downloaded.url == f"{openai_emulator.url}/files/{done.output_file_id}/content"
    assert (downloaded.method, downloaded.status, downloaded.attempt) == ("GET", 200, 1)
    assert downloaded.request_id
