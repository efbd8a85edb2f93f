"""The client and its transport against a real loopback aiohttp server."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import openai_batches as ob
from openai_batches import Client, Timeout
from tests.conftest import LoopbackServer, reply, reset, sample

BATCH = sample("batch_object_example")


# ---------------------------------------------------------------- configuration


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ob.OpenAIError, match="OPENAI_API_KEY"):
        Client()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.local/openai/v1/")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")
    client = Client()
    assert client.base_url == "https://proxy.local/openai/v1"
    assert (client.organization, client.project) == ("org-1", "proj-1")


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://env.local/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "")
    client = Client("sk-arg", base_url="https://arg.local/v1", organization=None)
    assert client.base_url == "https://arg.local/v1"
    assert client.organization is None


def test_default_base_url() -> None:
    assert Client("sk").base_url == "https://api.openai.com/v1"


@pytest.mark.parametrize("url", ["api.openai.com/v1", "ftp://x/v1", "http://x/v1?a=1", "/v1"])
def test_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client("sk", base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://proxy.local/v1",
        "http://10.0.0.5:8080/v1",
        "http://[2001:db8::1]/v1",
        "http://localhost.example.com/v1",
        "http://127.0.0.1.example.com/v1",
        "http://0.0.0.0:8000/v1",
    ],
)
def test_plain_http_to_another_host_is_refused_unless_allowed(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"allow_insecure_http=True"):
        Client("sk", base_url=url)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ValueError, match=r"allow_insecure_http=True"):
        Client("sk")
    assert Client("sk", base_url=url, allow_insecure_http=True).base_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://127.1.2.3/v1",
        "http://localhost/v1",
        "http://LOCALHOST:1/v1",
        "http://[::1]:9/v1",
    ],
)
def test_plain_http_to_this_machine_is_allowed(url: str) -> None:
    Client("sk", base_url=url)


def test_repr_never_shows_the_key() -> None:
    client = Client("sk-very-secret-key", organization="org-1")
    assert "sk-very-secret-key" not in repr(client)
    assert "org-1" in repr(client)
    assert "sk-very-secret-key" not in repr(vars(client))


def test_client_can_be_built_outside_a_running_loop() -> None:
    client = Client("sk")  # no loop here: the session is made on first use
    assert not client.closed


def test_bad_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="total"):
        Timeout(total=-1)
    with pytest.raises(TypeError, match="timeout"):
        Client("sk", timeout="10")  # type: ignore[arg-type]


@pytest.mark.parametrize("max_retries", [0, 2, 5])
def test_max_retries_and_retry_policy_together_are_refused(max_retries: int) -> None:
    # 2 too: the default, given explicitly, must not silently lose to the policy either.
    with pytest.raises(TypeError, match="max_retries or retry_policy, not both"):
        Client("sk", max_retries=max_retries, retry_policy=ob.RetryPolicy(max_retries=4))


def test_retries_come_from_either_argument() -> None:
    assert Client("sk").retry_policy == ob.RetryPolicy(max_retries=2)
    assert Client("sk", max_retries=0).retry_policy.max_retries == 0
    policy = ob.RetryPolicy(max_retries=4, max_delay=1)
    assert Client("sk", retry_policy=policy).retry_policy is policy
    with pytest.raises(TypeError, match="RetryPolicy"):
        Client("sk", retry_policy=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries"):
        Client("sk", max_retries=-1)


# ---------------------------------------------------------------- what is sent


async def test_headers_and_base_url_with_a_path_prefix(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/batch_abc123", reply(json_body=BATCH))
    async with server.client(organization="org-9", project="proj-9") as client:
        batch = await client.batches.retrieve("batch_abc123")
    assert batch.id == "batch_abc123"
    seen = server.seen[0]
    assert seen.raw_path == "/v1/batches/batch_abc123"
    assert seen.headers["Authorization"] == "Bearer sk-test-secret"
    assert seen.headers["OpenAI-Organization"] == "org-9"
    assert seen.headers["OpenAI-Project"] == "proj-9"
    assert seen.headers["User-Agent"].startswith(f"openai-batches/{ob.__version__} ")


async def test_base_url_with_a_trailing_slash_keeps_its_path(server: LoopbackServer) -> None:
    server.add("POST", "/v1/batches/b/cancel", reply(json_body=BATCH))
    async with Client("sk", base_url=server.url + "/") as client:
        await client.batches.cancel("b")
    assert [s.raw_path for s in server.seen] == ["/v1/batches/b/cancel"]


@pytest.mark.parametrize(
    ("batch_id", "raw_path"),
    [
        ("../files", "/v1/batches/..%2Ffiles"),
        ("a/b", "/v1/batches/a%2Fb"),
        ("a b?c#d", "/v1/batches/a%20b%3Fc%23d"),
        ("batch_ü", "/v1/batches/batch_%C3%BC"),
    ],
)
async def test_ids_are_percent_encoded(
    server: LoopbackServer, batch_id: str, raw_path: str
) -> None:
    async with server.client() as client:
        with pytest.raises(ob.NotFoundError):
            await client.batches.retrieve(batch_id)
    assert [s.raw_path for s in server.seen] == [raw_path]


@pytest.mark.parametrize("batch_id", ["", "   ", ".", ".."])
async def test_empty_and_dot_ids_fail_before_any_request(
    server: LoopbackServer, batch_id: str
) -> None:
    async with server.client() as client:
        with pytest.raises(ValueError, match="id"):
            await client.batches.retrieve(batch_id)
        with pytest.raises(ValueError, match="id"):
            await client.batches.cancel(batch_id)
    assert server.seen == []


async def test_non_string_id_is_a_type_error(server: LoopbackServer) -> None:
    async with server.client() as client:
        with pytest.raises(TypeError):
            await client.batches.retrieve(123)  # type: ignore[arg-type]
    assert server.seen == []


# ---------------------------------------------------------------- errors


async def test_error_answer_becomes_a_typed_error(server: LoopbackServer) -> None:
    body = {
        "error": {
            "message": "No batch found",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    server.add("GET", "/v1/batches/nope", reply(404, body, headers={"x-request-id": "req_42"}))
    async with server.client() as client:
        with pytest.raises(ob.NotFoundError) as info:
            await client.batches.retrieve("nope")
    assert info.value.request_id == "req_42"
    assert info.value.message == "No batch found"
    assert info.value.url == server.url + "/batches/nope"


async def test_html_proxy_page_becomes_a_status_error(server: LoopbackServer) -> None:
    page = "<html><title>403 Forbidden</title><body>proxy says no</body></html>"
    server.add("GET", "/v1/batches/b", reply(403, text=page, content_type="text/html"))
    async with server.client() as client:
        with pytest.raises(ob.PermissionDeniedError, match="403 Forbidden"):
            await client.batches.retrieve("b")


async def test_a_deeply_nested_error_body_is_retried_and_raised_typed(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    server.add("GET", "/v1/batches/b", reply(503, text=nested))
    async with server.client() as client:
        with pytest.raises(ob.InternalServerError):
            await client.batches.retrieve("b")
    assert len(server.seen) == 3


async def test_html_2xx_is_a_validation_error(server: LoopbackServer) -> None:
    server.add(
        "GET", "/v1/batches/b", reply(200, text="<html>login</html>", content_type="text/html")
    )
    async with server.client() as client:
        with pytest.raises(ob.ResponseValidationError, match="login"):
            await client.batches.retrieve("b")


async def test_wrong_shape_2xx_says_where(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b", reply(json_body={**BATCH, "created_at": "yesterday"}))
    async with server.client() as client:
        with pytest.raises(ob.ResponseValidationError) as info:
            await client.batches.retrieve("b")
    assert info.value.path == "$.created_at"
    assert not isinstance(info.value.__cause__, ob.OpenAIError)  # the cattrs error, chained


# ---------------------------------------------------------------- retries


async def test_retryable_statuses_are_retried_with_server_waits(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add(
        "GET",
        "/v1/batches/b",
        reply(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "250"}),
        reply(503, {"error": {"message": "busy"}}, headers={"retry-after": "2"}),
        reply(json_body=BATCH),
    )
    async with Client("sk", base_url=server.url, max_retries=2) as client:
        batch = await client.batches.retrieve("b")
    assert batch.id == "batch_abc123"
    assert len(server.seen) == 3
    assert sleeps == [0.25, 2.0]


async def test_retries_run_out_and_the_last_error_is_raised(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("GET", "/v1/batches/b", reply(500, {"error": {"message": "down"}}))
    async with Client("sk", base_url=server.url, max_retries=3) as client:
        with pytest.raises(ob.InternalServerError, match="down"):
            await client.batches.retrieve("b")
    assert len(server.seen) == 4
    assert len(sleeps) == 3
    for full, waited in zip([0.5, 1.0, 2.0], sleeps, strict=True):
        assert full * 0.75 <= waited <= full


QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}


async def test_insufficient_quota_is_raised_at_once(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add(
        "GET",
        "/v1/batches/b",
        reply(429, QUOTA, headers={"retry-after": "1", "x-should-retry": "true"}),
        reply(json_body=BATCH),
    )
    async with server.client() as client:
        with pytest.raises(ob.InsufficientQuotaError, match="quota"):
            await client.batches.retrieve("b")
    assert len(server.seen) == 1
    assert sleeps == []


async def test_a_retry_after_above_the_cap_is_raised_not_waited_out(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add(
        "GET",
        "/v1/batches/b",
        reply(429, {"error": {"message": "slow down"}}, headers={"retry-after": "3600"}),
        reply(json_body=BATCH),
    )
    async with server.client() as client:
        with pytest.raises(ob.RateLimitError) as info:
            await client.batches.retrieve("b")
    assert len(server.seen) == 1
    assert sleeps == []
    (note,) = info.value.__notes__
    assert "3600" in note
    assert "max_retry_after" in note


async def test_a_retry_after_at_the_cap_is_waited(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add(
        "GET",
        "/v1/batches/b",
        reply(503, {"error": {"message": "busy"}}, headers={"retry-after-ms": "60000"}),
        reply(json_body=BATCH),
    )
    async with server.client() as client:
        await client.batches.retrieve("b")
    assert sleeps == [60.0]


async def test_x_should_retry_false_is_obeyed(server: LoopbackServer, sleeps: list[float]) -> None:
    server.add(
        "GET",
        "/v1/batches/b",
        reply(503, {"error": {"message": "no"}}, headers={"x-should-retry": "false"}),
    )
    async with server.client() as client:
        with pytest.raises(ob.InternalServerError):
            await client.batches.retrieve("b")
    assert len(server.seen) == 1


async def test_x_should_retry_true_retries_a_400(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add(
        "GET",
        "/v1/batches/b",
        reply(400, {"error": {"message": "try again"}}, headers={"x-should-retry": "true"}),
        reply(json_body=BATCH),
    )
    async with server.client() as client:
        await client.batches.retrieve("b")
    assert len(server.seen) == 2


async def test_client_errors_are_not_retried(server: LoopbackServer, sleeps: list[float]) -> None:
    server.add("POST", "/v1/batches/b/cancel", reply(400, {"error": {"message": "bad"}}))
    async with server.client() as client:
        with pytest.raises(ob.BadRequestError):
            await client.batches.cancel("b")
    assert len(server.seen) == 1
    assert sleeps == []


async def test_reset_connection_is_retried_then_succeeds(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("GET", "/v1/batches/b", reset, reply(json_body=BATCH))
    async with server.client() as client:
        assert (await client.batches.retrieve("b")).id == "batch_abc123"
    assert len(server.seen) == 2


async def test_reset_connection_without_retries_is_a_connection_error(
    server: LoopbackServer,
) -> None:
    server.add("GET", "/v1/batches/b", reset)
    async with server.client(max_retries=0, retry_policy=None) as client:
        with pytest.raises(ob.APIConnectionError) as info:
            await client.batches.retrieve("b")
    assert not isinstance(info.value, ob.APITimeoutError)
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


async def test_refused_connection_is_a_connection_error(sleeps: list[float]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Client("sk", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1) as client:
        with pytest.raises(ob.APIConnectionError):
            await client.batches.retrieve("b")
    assert len(sleeps) == 1


async def test_per_call_timeout_raises_a_timeout_error(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response(BATCH)

    server.add("GET", "/v1/batches/b", stall)
    async with server.client(max_retries=0, retry_policy=None, timeout=60) as client:
        with pytest.raises(ob.APITimeoutError):
            await client.batches.retrieve("b", timeout=0.05)
    release.set()


async def test_client_timeout_applies_and_timeouts_are_retried(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response(BATCH)

    server.add("GET", "/v1/batches/b", stall, reply(json_body=BATCH))
    async with server.client(timeout=Timeout(total=0.05)) as client:
        assert (await client.batches.retrieve("b")).id == "batch_abc123"
    assert len(server.seen) == 2
    release.set()


# ---------------------------------------------------------------- sessions


async def test_borrowed_session_is_used_and_never_closed(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b", reply(json_body=BATCH))
    async with aiohttp.ClientSession(headers={"X-Trace": "t1"}) as session:
        async with Client("sk", base_url=server.url, session=session) as client:
            await client.batches.retrieve("b")
        assert client.closed
        assert not session.closed
        assert server.seen[0].headers["X-Trace"] == "t1"
        assert server.seen[0].headers["Authorization"] == "Bearer sk"


async def test_closed_borrowed_session_is_a_clear_error(server: LoopbackServer) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = Client("sk", base_url=server.url, session=session)
    with pytest.raises(ob.ClientClosedError, match="session"):
        await client.batches.retrieve("b")


async def test_close_is_idempotent_and_later_calls_fail_clearly(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b", reply(json_body=BATCH))
    client = server.client()
    await client.batches.retrieve("b")
    await client.close()
    await client.close()
    assert client.closed
    with pytest.raises(ob.ClientClosedError, match="closed"):
        await client.batches.retrieve("b")
    with pytest.raises(ob.ClientClosedError):
        async for _ in client.batches.list():
            pass


async def test_unused_client_needs_no_close_and_warns_nothing() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = Client("sk")
        del client
        gc.collect()
    assert caught == []


async def test_owned_session_closes_on_error_inside_the_block(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b", reply(json_body=BATCH))
    with pytest.raises(RuntimeError, match="user code"):
        async with server.client() as client:
            await client.batches.retrieve("b")
            raise RuntimeError("user code")
    assert client.closed
    assert client._transport._session is None


async def test_client_refuses_a_second_event_loop(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches/b", reply(json_body=BATCH))
    client = server.client()
    await client.batches.retrieve("b")

    def other_loop() -> None:
        async def use() -> None:
            await client.batches.retrieve("b")

        asyncio.run(use())

    with pytest.raises(ob.OpenAIError, match="another event loop"):
        await asyncio.to_thread(other_loop)
    await client.close()


async def test_cancelled_mid_body_closes_the_connection(server: LoopbackServer) -> None:
    """A half-read answer must not go back to the pool (aiohttp #12795)."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 100_000
        await response.prepare(request)
        await response.write(b'{"id": "b", ')
        started.set()
        await release.wait()
        return response

    server.add("GET", "/v1/batches/slow", slow_body)
    server.add("GET", "/v1/batches/b", reply(json_body=BATCH))
    async with server.client() as client:
        task = asyncio.create_task(client.batches.retrieve("slow"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        session = client._transport._session
        assert session is not None
        connector = session.connector
        assert connector is not None
        # Nothing half-read sits in the pool, and the next call works on a fresh connection.
        assert sum(len(conns) for conns in connector._conns.values()) == 0
        assert (await client.batches.retrieve("b")).id == "batch_abc123"
    release.set()


# ---------------------------------------------------------------- header values


@pytest.mark.parametrize("field", ["api_key", "organization", "project"])
@pytest.mark.parametrize("bad", ["\r\nX-Injected: 1", "\n", "\r", "a\x00b", "a\x7fb"])
def test_line_breaks_and_control_characters_are_refused_when_the_client_is_built(
    field: str, bad: str
) -> None:
    kwargs = {"api_key": "sk-good", field: f"sk-secret{bad}"}
    with pytest.raises(ValueError, match=field) as info:
        Client(**kwargs)
    assert "sk-secret" not in str(info.value)  # never echo a key


def test_a_tab_and_printable_text_are_fine_in_header_values() -> None:
    Client("sk-a\tb", organization="org 1", project="proj 1")


# ---------------------------------------------------------------- zero timeouts


@pytest.mark.parametrize(
    "make",
    [
        lambda: Timeout(total=0),
        lambda: Timeout(connect=0),
        lambda: Timeout(read=0.0),
        lambda: Timeout(total=float("nan")),
        lambda: Timeout.of(0),
        lambda: Client("sk", timeout=0),
        lambda: Client("sk", timeout=Timeout(total=0)),
    ],
    ids=["total", "connect", "read", "nan", "of", "client", "client-timeout"],
)
def test_a_zero_timeout_is_refused_not_taken_for_no_limit(make: Any) -> None:
    with pytest.raises(ValueError, match="None for no limit"):
        make()


async def test_zero_per_call_and_read_timeouts_are_refused_before_any_request(
    server: LoopbackServer, tmp_path: Any
) -> None:
    async with server.client() as client:
        with pytest.raises(ValueError, match="None for no limit"):
            await client.batches.retrieve("b", timeout=0)
        with pytest.raises(ValueError, match="None for no limit"):
            await client.files.create(b"x", purpose="batch", filename="x.jsonl", timeout=0)
        with pytest.raises(ValueError, match="read_timeout"):
            client.files.content("file-1", read_timeout=0)
        with pytest.raises(ValueError, match="read_timeout"):
            client.files.lines("file-1", read_timeout=0)
        with pytest.raises(ValueError, match="read_timeout"):
            await client.files.download("file-1", tmp_path / "out", read_timeout=0)
    assert server.seen == []


# ---------------------------------------------------------------- the key in errors


def chain(error: BaseException) -> list[BaseException]:
    """The error and every exception chained to it, as cause or context."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [current.__cause__, current.__context__]
    return found


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 abc Broken\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    ],
    ids=["status-line", "content-length", "header"],
)
async def test_the_key_is_in_no_error_of_the_chain(answer: bytes, sleeps: list[float]) -> None:
    async def malformed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(malformed, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with Client(
            "sk-very-secret-key", base_url=f"http://127.0.0.1:{port}/v1", organization="org-1"
        ) as client:
            with pytest.raises(ob.APIConnectionError) as info:
                await client.batches.retrieve("b")
    finally:
        listener.close()
        await listener.wait_closed()
    errors = chain(info.value)
    assert any(isinstance(e, aiohttp.ClientError) for e in errors)  # still chained
    for error in errors:
        for text in (repr(error), str(error), repr(vars(error))):
            assert "sk-very-secret-key" not in text, type(error)


# ---------------------------------------------------------------- redirects


def redirect(status: int, location: str, json_body: Any = None) -> Any:
    headers = {"Location": location} if location else {}
    return reply(status, json_body if json_body is not None else {}, headers=headers)


async def test_a_302_on_create_is_never_followed_as_a_get(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("POST", "/v1/batches", redirect(302, "/v1/batches/batch_old"))
    server.add("GET", "/v1/batches/batch_old", reply(json_body=BATCH))
    async with server.client() as client:
        with pytest.raises(ob.RedirectError, match="/v1/batches/batch_old") as info:
            await client.batches.create(input_file_id="file-1", endpoint="/v1/embeddings")
    assert info.value.location == "/v1/batches/batch_old"
    assert info.value.status_code == 302
    assert [(s.method, s.raw_path) for s in server.seen] == [("POST", "/v1/batches")]


@pytest.mark.parametrize("status", [307, 308])
async def test_a_body_is_never_sent_to_another_origin(
    server: LoopbackServer, other_server: LoopbackServer, sleeps: list[float], status: int
) -> None:
    server.add("POST", "/v1/files", redirect(status, other_server.url + "/files"))
    other_server.add("POST", "/v1/files", reply(json_body={}))
    async with server.client(organization="org-9", project="proj-9") as client:
        with pytest.raises(ob.RedirectError, match=other_server.url):
            await client.files.create(b"secret data", purpose="batch", filename="a.jsonl")
    assert other_server.seen == []


async def test_a_redirected_read_or_download_names_the_location(
    server: LoopbackServer, other_server: LoopbackServer, sleeps: list[float]
) -> None:
    elsewhere = other_server.url + "/anything"
    server.add("GET", "/v1/batches/b", redirect(301, elsewhere))
    server.add("GET", "/v1/files/file-1/content", redirect(302, elsewhere))
    async with server.client(organization="org-9", project="proj-9") as client:
        with pytest.raises(ob.RedirectError, match="301"):
            await client.batches.retrieve("b")
        with pytest.raises(ob.RedirectError, match=elsewhere):
            async for _ in client.files.content("file-1", expected_bytes=10):
                pass
    assert other_server.seen == []
    assert len(server.seen) == 2  # neither retried nor followed


async def test_a_300_with_a_json_body_is_not_a_success(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("GET", "/v1/batches/b", redirect(300, "", BATCH))
    async with server.client() as client:
        with pytest.raises(ob.RedirectError) as info:
            await client.batches.retrieve("b")
    assert info.value.location is None


# ---------------------------------------------------------------- content is checked

CONTENT = b'{"custom_id": "a"}\n' * 100
STORED = {**sample("file_object_example"), "id": "file-1", "bytes": len(CONTENT)}


def body_of(data: bytes, *, content_type: str = "application/octet-stream", length: int = -1):
    """A content handler announcing ``length`` bytes (``data``'s by default)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        response.content_length = len(data) if length < 0 else length
        await response.prepare(request)
        await response.write(data)
        await response.write_eof()
        return response

    return handler


async def read_all(client: Client, **kwargs: Any) -> bytes:
    return b"".join([chunk async for chunk in client.files.content("file-1", **kwargs)])


async def test_content_is_checked_against_the_files_size(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files/file-1", reply(json_body=STORED))
    server.add("GET", "/v1/files/file-1/content", body_of(CONTENT))
    async with server.client() as client:
        assert await read_all(client) == CONTENT
        assert await read_all(client, expected_bytes=len(CONTENT)) == CONTENT
    # One look at the file's size, then none when the caller gives it.
    assert [s.raw_path for s in server.seen].count("/v1/files/file-1") == 1


@pytest.mark.parametrize(
    "answer",
    [
        body_of(CONTENT[:-100]),  # truncated, with a Content-Length to match
        body_of(b"<html><body>Please log in</body></html>", content_type="text/html"),
        body_of(b"", length=0),
        reply(204, text="", content_type="application/octet-stream"),
        body_of(CONTENT + b"more"),
    ],
    ids=["truncated", "html", "empty", "204", "too-long"],
)
async def test_content_that_cannot_be_the_file_is_refused(
    server: LoopbackServer, answer: Any, tmp_path: Any
) -> None:
    server.add("GET", "/v1/files/file-1", reply(json_body=STORED))
    server.add("GET", "/v1/files/file-1/content", answer)
    async with server.client() as client:
        for kwargs in ({}, {"expected_bytes": len(CONTENT)}):
            with pytest.raises((ob.DownloadSizeError, ob.ResponseValidationError)):
                await read_all(client, **kwargs)
        with pytest.raises((ob.DownloadSizeError, ob.ResponseValidationError)):
            await client.files.download("file-1", tmp_path / "out.jsonl")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", [len(CONTENT) + 1, 2 * len(CONTENT), len(CONTENT) - 1])
async def test_content_announcing_another_length_yields_nothing(
    server: LoopbackServer, size: int
) -> None:
    other = b"x" * size
    server.add("GET", "/v1/files/file-1", reply(json_body=STORED))
    server.add("GET", "/v1/files/file-1/content", body_of(other))
    yielded: list[bytes] = []
    async with server.client() as client:
        with pytest.raises(ob.DownloadSizeError) as info:
            async for chunk in client.files.content("file-1", chunk_size=100):
                yielded.append(chunk)
    assert yielded == []
    assert (info.value.expected, info.value.received) == (len(CONTENT), 0)
    assert str(size) in str(info.value)


async def test_an_html_file_may_come_as_html(server: LoopbackServer) -> None:
    page = b"<html><body>a page the user uploaded</body></html>"
    stored = {**STORED, "filename": "page.html", "bytes": len(page)}
    server.add("GET", "/v1/files/file-1", reply(json_body=stored))
    server.add("GET", "/v1/files/file-1/content", body_of(page, content_type="text/html"))
    async with server.client() as client:
        assert await read_all(client) == page


# ---------------------------------------------------------------- errors say what to fix


def host_of(server: LoopbackServer) -> str:
    return server.url.removeprefix("http://").removesuffix("/v1")


@pytest.fixture
async def released() -> AsyncIterator[asyncio.Event]:
    """An event stalled handlers wait for; set when the test ends, so the server can stop."""
    event = asyncio.Event()
    yield event
    event.set()


@pytest.mark.parametrize(
    ("timeout", "limit"),
    [
        (Timeout(total=0.05), "total timeout of 0.05 s"),
        (Timeout(read=0.05), "read timeout of 0.05 s"),
    ],
    ids=["total", "read"],
)
async def test_a_timeout_names_the_host_the_limit_and_the_attempts(
    server: LoopbackServer,
    sleeps: list[float],
    released: asyncio.Event,
    timeout: Timeout,
    limit: str,
) -> None:
    async def stall_headers(request: web.Request) -> web.Response:
        await released.wait()
        return web.json_response(BATCH)

    server.add("GET", "/v1/batches/b", stall_headers)
    async with server.client(timeout=timeout) as client:
        with pytest.raises(ob.APITimeoutError) as info:
            await client.batches.retrieve("b")
    message = str(info.value)
    assert host_of(server) in message
    assert limit in message
    assert "3 attempts" in message
    assert info.value.attempts == 3


async def test_a_slow_body_names_the_read_timeout(
    server: LoopbackServer, released: asyncio.Event
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 10
        await response.prepare(request)
        await response.write(b"12345")
        await released.wait()
        return response

    server.add("GET", "/v1/files/file-1/content", slow)
    async with server.client() as client:
        with pytest.raises(ob.APITimeoutError) as info:
            async for _ in client.files.content("file-1", read_timeout=0.05, expected_bytes=10):
                pass
    assert host_of(server) in str(info.value)
    assert "read_timeout of 0.05 s" in str(info.value)


async def test_a_refused_plain_http_connection_names_the_host_not_ssl(
    sleeps: list[float],
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Client("sk", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1) as client:
        with pytest.raises(ob.APIConnectionError) as info:
            await client.batches.retrieve("b")
    message = str(info.value)
    assert "ssl" not in message.lower()
    assert f"127.0.0.1:{port}" in message
    assert "refused" in message.lower()
    assert "2 attempts" in message


async def test_a_404_invalid_url_suggests_the_missing_v1(server: LoopbackServer) -> None:
    invalid = {
        "error": {"message": "Invalid URL (GET /batches/b)", "type": "invalid_request_error"}
    }
    server.add("GET", "/batches/b", reply(404, invalid))
    server.add("GET", "/v1/batches/b", reply(404, invalid))
    root = server.url.removesuffix("/v1")
    async with Client("sk", base_url=root) as client:
        with pytest.raises(ob.NotFoundError) as info:
            await client.batches.retrieve("b")
    assert f"{root}/v1" in info.value.message
    async with server.client() as client:
        with pytest.raises(ob.NotFoundError) as info:
            await client.batches.retrieve("b")
    assert info.value.message == "Invalid URL (GET /batches/b)"
