"""openai-python's everyday conventions: default headers and query, a key from a function,
per-call extras, the answers' headers, and copies of a client with other settings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from openai_batches import (
    Client,
    ClientClosedError,
    InternalServerError,
    NotFoundError,
    OpenAIError,
    RetryPolicy,
    capture_responses,
)
from openai_batches.emulator import Emulator
from tests.conftest import LoopbackServer, reply, sample

BATCH = sample("batch_object_example")
NO_BACKOFF = RetryPolicy(max_retries=2, initial_delay=0, max_delay=0)


def page(*ids: str, more: bool = False) -> dict[str, object]:
    data = [{**BATCH, "id": i} for i in ids]
    return {"object": "list", "data": data, "has_more": more, "last_id": ids[-1] if ids else None}


# default_headers and default_query


async def test_default_headers_and_query_go_with_every_request(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b1", reply(json_body=BATCH))
    server.add("POST", "/v1/batches/b1/cancel", reply(json_body=BATCH))
    async with server.client(
        default_headers={"X-Team": "data", "User-Agent": "mine/1"},
        default_query={"api-version": "2025-01-01"},
    ) as client:
        await client.batches.retrieve("b1")
        await client.batches.cancel("b1")
    for seen in server.seen:
        assert seen.headers["X-Team"] == "data"
        assert seen.headers["User-Agent"] == "mine/1"  # over the library's own
        assert seen.headers["Authorization"] == "Bearer sk-test-secret"
        assert seen.query == {"api-version": "2025-01-01"}


async def test_a_call_s_parameters_and_extras_go_over_the_defaults(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", reply(json_body=page("b1")))
    server.add("GET", "/v1/batches/b1", reply(json_body=BATCH))
    async with server.client(
        default_headers={"X-Team": "data", "X-Keep": "1"},
        default_query={"limit": "1", "tag": "a", "keep": "1"},
    ) as client:
        batches = [b async for b in client.batches.list(limit=5, extra_query={"tag": "b"})]
        await client.batches.retrieve("b1", extra_headers={"X-Team": "ops"})
    assert [b.id for b in batches] == ["b1"]
    assert server.seen[0].query == {"limit": "5", "tag": "b", "keep": "1"}
    assert server.seen[1].headers["X-Team"] == "ops"
    assert server.seen[1].headers["X-Keep"] == "1"


@pytest.mark.parametrize("bad", [{"X-A": "x\r\nX-Injected: 1"}, {"X-A\n": "x"}])
def test_a_default_header_with_a_line_break_is_refused(
    server: LoopbackServer, bad: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="line break") as caught:
        server.client(default_headers=bad)
    assert "Injected" not in str(caught.value)


# a key from a function


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_key_function_is_called_before_each_attempt(
    server: LoopbackServer, sleeps: list[float], kind: str
) -> None:
    server.add(
        "GET",
        "/v1/batches/b1",
        reply(500, {"error": {"message": "boom"}}),
        reply(json_body=BATCH),
    )
    keys = iter(["sk-first", "sk-second", "sk-third"])
    calls = 0

    def sync_key() -> str:
        nonlocal calls
        calls += 1
        return next(keys)

    async def async_key() -> str:
        await asyncio.sleep(0)
        return sync_key()

    key: Callable[[], str] | Callable[[], Awaitable[str]] = (
        sync_key if kind == "sync" else async_key
    )
    async with server.client() as base:
        client = base.with_options(api_key=key)
        await client.batches.retrieve("b1")
        assert calls == 2  # once per attempt, the retry included
        await client.batches.retrieve("b1")
    assert [s.headers["Authorization"] for s in server.seen] == [
        "Bearer sk-first",
        "Bearer sk-second",
        "Bearer sk-third",
    ]


async def test_a_client_built_with_a_key_function_sends_no_other_key(
    server: LoopbackServer,
) -> None:
    server.add("GET", "/v1/batches/b1", reply(json_body=BATCH))
    key = lambda: "sk-from-vault"  # noqa: E731
    async with Client(key, base_url=server.url, organization="org-1") as client:
        assert "sk-" not in repr(client)
        assert "sk-" not in repr(vars(client))
        await client.batches.retrieve("b1")
    assert server.seen[0].headers["Authorization"] == "Bearer sk-from-vault"
    assert server.seen[0].headers["OpenAI-Organization"] == "org-1"


async def test_a_failing_key_function_raises_openai_error_and_sends_nothing(
    server: LoopbackServer,
) -> None:
    async def vault() -> str:
        raise ConnectionError("vault unreachable")

    async with server.client() as base:
        client = base.with_options(api_key=vault)
        with pytest.raises(OpenAIError, match="api_key function failed") as caught:
            await client.batches.retrieve("b1")
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert server.seen == []


@pytest.mark.parametrize("value", ["sk-ok\nX-Injected: 1", "", None])
async def test_a_key_function_s_bad_answer_is_refused_per_request(
    server: LoopbackServer, value: str | None
) -> None:
    async with server.client() as base:
        client = base.with_options(api_key=lambda: value)  # type: ignore[arg-type, return-value]
        with pytest.raises(OpenAIError) as caught:
            await client.batches.retrieve("b1")
    assert "sk-ok" not in str(caught.value)
    assert "Injected" not in str(caught.value)
    assert server.seen == []


def test_an_api_key_that_is_neither_a_string_nor_a_function_is_refused(
    server: LoopbackServer,
) -> None:
    with pytest.raises(TypeError, match="api_key must be a string or a function"):
        Client(42, base_url=server.url)  # type: ignore[arg-type]


# per-call extras


async def test_extra_body_is_merged_into_the_json_body(server: LoopbackServer) -> None:
    server.add("POST", "/v1/batches", reply(json_body=BATCH))
    async with server.client() as client:
        await client.batches.create(
            input_file_id="file-1",
            endpoint="/v1/chat/completions",
            idempotency_key=None,
            extra_body={"completion_window": "48h", "priority": "low"},
        )
    body = json.loads(server.seen[0].body)
    assert body["input_file_id"] == "file-1"
    assert body["priority"] == "low"
    assert body["completion_window"] == "48h"  # the extra wins, as in openai-python


async def test_extra_body_becomes_the_body_of_a_post_without_one(server: LoopbackServer) -> None:
    server.add("POST", "/v1/batches/b1/cancel", reply(json_body=BATCH))
    async with server.client() as client:
        await client.batches.cancel("b1", extra_body={"reason": "test"})
    assert json.loads(server.seen[0].body) == {"reason": "test"}


async def test_extra_body_is_refused_where_it_cannot_be_sent(server: LoopbackServer) -> None:
    async with server.client() as client:
        with pytest.raises(TypeError, match="GET request"):
            await client.batches.retrieve("b1", extra_body={"x": 1})
        with pytest.raises(TypeError, match="listing sends GET"):
            client.batches.list(extra_body={"x": 1})
        with pytest.raises(TypeError, match="listing sends GET"):
            client.files.pages(extra_body={"x": 1})
        with pytest.raises(TypeError, match="reading content"):
            client.files.content("file-1", extra_body={"x": 1})
        with pytest.raises(TypeError, match="multipart"):
            await client.files.create(
                b"{}\n", filename="a.jsonl", purpose="batch", extra_body={"x": 1}
            )
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            await client.batches.retrieve("b1", extra_header={"X": "1"})  # type: ignore[call-arg]
        with pytest.raises(ValueError, match="line break"):
            await client.batches.retrieve("b1", extra_headers={"X": "a\nb"})
    assert server.seen == []


async def test_extra_query_and_headers_go_with_every_page(server: LoopbackServer) -> None:
    server.add(
        "GET", "/v1/batches", reply(json_body=page("b2", more=True)), reply(json_body=page("b1"))
    )
    async with server.client() as client:
        ids = [
            b.id
            async for b in client.batches.list(extra_query={"x": "1"}, extra_headers={"X-T": "t"})
        ]
    assert ids == ["b2", "b1"]
    assert [s.query.get("x") for s in server.seen] == ["1", "1"]
    assert [s.headers.get("X-T") for s in server.seen] == ["t", "t"]
    assert server.seen[1].query["after"] == "b2"


async def test_extras_reach_uploads_in_parts_and_file_content(
    openai_emulator: Emulator, tmp_path: Path
) -> None:
    extra = {"extra_headers": {"X-Trace": "t1"}, "extra_query": {"trace": "1"}}
    async with openai_emulator.client() as client:
        file = await client.files.create(
            b'{"a": 1}\n', filename="a.jsonl", purpose="batch", use_uploads=True, **extra
        )
        uploads = [r for r in openai_emulator.requests if r.path.startswith("/v1/uploads")]
        content = b"".join(
            [c async for c in client.files.content(file.id, expected_bytes=9, **extra)]
        )
        await client.files.download(file.id, tmp_path / "a.jsonl", **extra)
        await client.files.delete(file.id, **extra)
    assert content == (tmp_path / "a.jsonl").read_bytes() == b'{"a": 1}\n'
    assert len(uploads) == 3  # create, one part, complete
    requests = openai_emulator.requests
    tail = [*uploads, requests[-4], requests[-2], requests[-1]]  # content, content, delete
    assert [r.method for r in tail[3:]] == ["GET", "GET", "DELETE"]
    assert all(r.path.endswith("/content") for r in tail[3:5])
    assert all(r.headers.get("X-Trace") == "t1" and r.query.get("trace") == "1" for r in tail)


# the answers' headers


async def test_capture_responses_notes_each_answer_with_its_headers(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    limits = {"x-request-id": "req_2", "x-ratelimit-remaining-requests": "99"}
    server.add(
        "GET",
        "/v1/batches/b1",
        reply(503, {"error": {"message": "busy"}}, headers={"x-request-id": "req_1"}),
        reply(json_body=BATCH, headers=limits),
    )
    async with server.client() as client:
        with capture_responses() as outer:
            with capture_responses() as inner:
                await client.batches.retrieve("b1")
            await client.batches.retrieve("b1")
    assert [(r.status_code, r.request_id) for r in inner] == [(503, "req_1"), (200, "req_2")]
    assert inner[-1].headers["X-RateLimit-Remaining-Requests"] == "99"
    assert inner[-1].method == "GET"
    assert inner[-1].url == f"{server.url}/batches/b1"
    assert [r.request_id for r in outer] == ["req_2"]


async def test_capture_responses_notes_errors_and_streams(openai_emulator: Emulator) -> None:
    async with openai_emulator.client() as client:
        file = await client.files.create(b"{}\n", filename="a.jsonl", purpose="batch")
        with capture_responses() as responses:
            with pytest.raises(NotFoundError):
                await client.files.retrieve("file-missing")
            chunks = [c async for c in client.files.content(file.id, expected_bytes=3)]
    assert chunks == [b"{}\n"]
    assert [r.status_code for r in responses] == [404, 200]
    ids = [r.request_id for r in openai_emulator.requests[-2:]]
    assert [r.request_id for r in responses] == ids


# with_options


async def test_with_options_changes_settings_and_keeps_the_rest(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("GET", "/v1/batches/b1", reply(500, {"error": {"message": "boom"}}))
    async with server.client(default_headers={"X-A": "1"}, organization="org-1") as client:
        copy = client.with_options(
            max_retries=0, default_headers={"X-B": "2"}, timeout=30, api_key="sk-other"
        )
        assert copy.timeout.total == 30
        assert client.timeout.total == 600
        assert copy.retry_policy == RetryPolicy(max_retries=0, initial_delay=0, max_delay=0)
        with pytest.raises(InternalServerError):
            await copy.batches.retrieve("b1")
        assert len(server.seen) == 1  # no retry
        with pytest.raises(InternalServerError):
            await client.batches.retrieve("b1")
        assert len(server.seen) == 4  # the original still retries twice
    headers = server.seen[0].headers
    assert headers["X-A"] == "1"
    assert headers["X-B"] == "2"
    assert headers["OpenAI-Organization"] == "org-1"
    assert headers["Authorization"] == "Bearer sk-other"
    assert server.seen[1].headers["Authorization"] == "Bearer sk-test-secret"
    assert "X-B" not in server.seen[1].headers
    with pytest.raises(TypeError, match="not both"):
        client.with_options(max_retries=1, retry_policy=RetryPolicy())


async def test_a_copy_shares_the_session_and_closing_it_leaves_the_session_open(
    server: LoopbackServer,
) -> None:
    server.add("GET", "/v1/batches/b1", reply(json_body=BATCH))
    client = server.client()
    copy = client.with_options(timeout=10)
    await copy.batches.retrieve("b1")  # the copy's first request makes the shared session
    session = client._transport._get_session()
    assert copy._transport._get_session() is session
    await copy.close()
    assert copy.closed
    assert not client.closed
    assert not session.closed
    with pytest.raises(ClientClosedError):
        await copy.batches.retrieve("b1")
    await client.batches.retrieve("b1")
    await client.close()
    assert session.closed


async def test_closing_the_original_closes_its_copies_and_their_calls(
    server: LoopbackServer,
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        started.set()
        await release.wait()
        return web.Response(status=500)

    server.add("GET", "/v1/batches/b1", stall)
    client = server.client()
    copy = client.with_options(max_retries=0)
    call = asyncio.create_task(copy.batches.retrieve("b1"))
    await started.wait()
    await client.close()
    with pytest.raises(ClientClosedError):
        await call
    release.set()
    assert copy.closed
    with pytest.raises(ClientClosedError):
        await client.with_options().batches.retrieve("b1")


async def test_a_copy_of_a_client_with_a_borrowed_session_borrows_it_too(
    server: LoopbackServer,
) -> None:
    import aiohttp

    server.add("GET", "/v1/batches/b1", reply(json_body=BATCH))
    async with aiohttp.ClientSession() as session:
        client = server.client(session=session)
        copy = client.with_options(default_query={"q": "1"})
        await copy.batches.retrieve("b1")
        await client.close()
        assert not session.closed
    assert server.seen[0].query == {"q": "1"}


async def test_a_copy_keeps_the_events_hook_and_an_azure_clients_settings(tmp_path: Path) -> None:
    from openai_batches import RequestEvent

    events: list[RequestEvent] = []

    def record(event: object) -> None:
        if isinstance(event, RequestEvent):
            events.append(event)

    async with Emulator(azure=True, api_keys=["azure-key"]) as emu:
        original = Client.azure(
            emu.azure_endpoint,
            api_version="2024-10-21",
            api_key="azure-key",
            on_event=record,
        )
        async with original:
            copy = original.with_options(timeout=30)
            assert [f async for f in copy.files.list()] == []
            with pytest.raises(TypeError, match=r"Client\.azure"):
                original.with_options(api_key="another")
    assert [e.url.rsplit("/", 1)[-1] for e in events] == ["files"]
    assert emu.requests[-1].query["api-version"] == "2024-10-21"
    assert emu.requests[-1].headers["api-key"] == "azure-key"
