"""Azure OpenAI: ``Client.azure`` against the emulator in Azure mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openai_batches import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Batch,
    Client,
    ClientClosedError,
    NotFoundError,
    OpenAIError,
    Polling,
    RetryPolicy,
)
from openai_batches.emulator import AZURE_API_VERSION, Emulator, FaultRule, ManualClock
from tests.conftest import LoopbackServer, reply

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0, max_delay=0)
AZURE_ENV = (
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
)


@pytest.fixture(autouse=True)
def no_azure_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AZURE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(azure=True, clock=ManualClock(), api_keys=["azure-key"]) as emu:
        yield emu


def line(custom_id: str, text: str) -> bytes:
    body = {"model": "my-gpt-4o-deployment", "messages": [{"role": "user", "content": text}]}
    row = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    return json.dumps(row).encode() + b"\n"


# URLs and the api-version


@pytest.mark.parametrize(
    ("endpoint", "base_url"),
    [
        ("https://res.openai.azure.com", "https://res.openai.azure.com/openai"),
        ("https://res.openai.azure.com/", "https://res.openai.azure.com/openai"),
        ("https://res.openai.azure.com/openai/", "https://res.openai.azure.com/openai"),
        ("https://res.openai.azure.com/openai/v1/", "https://res.openai.azure.com/openai/v1"),
    ],
)
def test_endpoint_becomes_the_base_url(endpoint: str, base_url: str) -> None:
    client = Client.azure(endpoint, api_version="2024-10-21", api_key="k")
    assert client.base_url == base_url


def test_a_deployment_endpoint_is_refused() -> None:
    # Batch and Files belong to the resource; openai-python rewrites such URLs silently.
    with pytest.raises(ValueError, match=r'names a deployment.*"model"'):
        Client.azure(
            "https://res.openai.azure.com/openai/deployments/gpt4o",
            api_version="2024-10-21",
            api_key="k",
        )


async def test_every_request_carries_the_api_version(emulator: Emulator) -> None:
    # A trailing slash on the endpoint must not give "//openai".
    async with emulator.client(azure_endpoint=emulator.azure_endpoint + "/") as client:
        uploaded = await client.files.create(line("a", "hi"), purpose="batch", filename="in.jsonl")
        await client.files.retrieve(uploaded.id)
        [listed] = [f async for f in client.files.list()]
        assert listed.id == uploaded.id
        content = [c async for c in client.files.content(uploaded.id, expected_bytes=None)]
        assert b"".join(content) == line("a", "hi")
        assert [b async for b in client.batches.list()] == []
    paths = {(r.method, r.path) for r in emulator.requests}
    assert paths >= {
        ("POST", "/openai/files"),
        ("GET", f"/openai/files/{uploaded.id}"),
        ("GET", "/openai/files"),
        ("GET", f"/openai/files/{uploaded.id}/content"),
        ("GET", "/openai/batches"),
    }
    assert all(path.startswith("/openai/") for _, path in paths)
    assert {r.query.get("api-version") for r in emulator.requests} == {AZURE_API_VERSION}
    # A walk's own parameters are still there beside it.
    walks = [r for r in emulator.requests if r.path == "/openai/batches"]
    assert walks[0].query["limit"] == "100"


async def test_the_v1_api_needs_no_api_version(emulator: Emulator) -> None:
    client = Client.azure(
        emulator.azure_endpoint + "/openai/v1", api_key="azure-key", allow_insecure_http=True
    )
    async with client:
        assert [b async for b in client.batches.list()] == []
    [request] = emulator.requests
    assert request.path == "/openai/v1/batches"
    assert "api-version" not in request.query


async def test_the_emulator_requires_the_api_version(emulator: Emulator) -> None:
    async with Client(
        api_key="azure-key", base_url=emulator.url, max_retries=0, allow_insecure_http=True
    ) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.batches.retrieve("batch_x")
    assert caught.value.status_code == 400
    assert caught.value.code == "MissingApiVersionParameter"


# credentials


async def test_api_key_goes_in_the_api_key_header(emulator: Emulator) -> None:
    async with emulator.client() as client:
        await client.files.create(b"{}\n", purpose="batch", filename="x.jsonl")
    assert emulator.requests
    for request in emulator.requests:
        assert request.headers["api-key"] == "azure-key"
        assert "Authorization" not in request.headers


async def test_a_wrong_key_gets_azures_answer(emulator: Emulator) -> None:
    async with emulator.client(api_key="not-this-one", max_retries=0) as client:
        with pytest.raises(AuthenticationError, match="Access denied") as caught:
            await client.batches.retrieve("batch_x")
    assert "not-this-one" not in str(caught.value)


async def test_static_entra_token_is_a_bearer_token(emulator: Emulator) -> None:
    async with emulator.client(azure_ad_token="entra-token") as client:
        assert [b async for b in client.batches.list()] == []
    [request] = emulator.requests
    assert request.headers["Authorization"] == "Bearer entra-token"
    assert "api-key" not in request.headers


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_token_provider_is_called_for_every_attempt(emulator: Emulator, kind: str) -> None:
    issued: list[str] = []

    def next_token() -> str:
        issued.append(f"token-{len(issued)}")
        return issued[-1]

    async def next_token_async() -> str:
        await asyncio.sleep(0)
        return next_token()

    provider = next_token if kind == "sync" else next_token_async
    # The first attempt fails with a 500, so the retry must fetch a token again.
    emulator.faults.add(FaultRule("status", "GET", "/openai/batches", status=500, times=1))
    async with emulator.client(azure_ad_token_provider=provider, retry_policy=NO_WAIT) as client:
        [b async for b in client.batches.list()]
    sent = [r.headers["Authorization"] for r in emulator.requests]
    assert sent == ["Bearer token-0", "Bearer token-1"]
    assert issued == ["token-0", "token-1"]


async def test_token_provider_feeds_content_downloads(emulator: Emulator) -> None:
    calls = 0

    def provider() -> str:
        nonlocal calls
        calls += 1
        return f"t{calls}"

    async with emulator.client(azure_ad_token_provider=provider) as client:
        uploaded = await client.files.create(b"abc\n", purpose="batch", filename="x.jsonl")
        chunks = [c async for c in client.files.content(uploaded.id, expected_bytes=4)]
    assert chunks == [b"abc\n"]
    download = emulator.requests[-1]
    assert calls == len(emulator.requests)
    assert download.path == f"/openai/files/{uploaded.id}/content"
    assert download.headers["Authorization"] == f"Bearer t{calls}"
    assert download.query["api-version"] == AZURE_API_VERSION


@pytest.mark.parametrize("bad", [None, "", "tok\r\nX-Injected: 1"])
async def test_a_bad_token_is_refused_without_a_request(emulator: Emulator, bad: object) -> None:
    async with emulator.client(azure_ad_token_provider=lambda: bad) as client:
        with pytest.raises((TypeError, ValueError)) as caught:
            await client.batches.retrieve("batch_x")
    assert "X-Injected" not in str(caught.value)
    assert emulator.requests == []


def test_one_credential_at_most() -> None:
    with pytest.raises(OpenAIError, match="api_key and azure_ad_token"):
        Client.azure(
            "https://res.openai.azure.com", api_version="v", api_key="k", azure_ad_token="t"
        )


def test_repr_never_shows_the_key() -> None:
    client = Client.azure(
        "https://res.openai.azure.com", api_version="2024-10-21", api_key="secret-key"
    )
    assert "secret-key" not in repr(client)
    assert "2024-10-21" in repr(client)


# configuration from the environment


def test_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-03-01-preview")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    client = Client.azure()
    assert client.base_url == "https://env.openai.azure.com/openai"
    assert client.api_version == "2025-03-01-preview"
    assert client._transport._headers["api-key"] == "env-key"


def test_ad_token_variable_wins_over_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "env-token")
    client = Client.azure("https://res.openai.azure.com", api_version="2024-10-21")
    headers = client._transport._headers
    assert headers["Authorization"] == "Bearer env-token"
    assert "api-key" not in headers


def test_an_argument_wins_over_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "env-token")
    client = Client.azure("https://res.openai.azure.com", api_version="2024-10-21", api_key="k")
    assert client._transport._headers["api-key"] == "k"
    assert "Authorization" not in client._transport._headers


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN"),
        ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_ENDPOINT"),
        ("OPENAI_API_VERSION", "OPENAI_API_VERSION"),
    ],
)
def test_missing_configuration_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, missing: str, named: str
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    monkeypatch.delenv(missing)
    with pytest.raises(OpenAIError, match=named):
        Client.azure()


# a whole flow


async def test_upload_create_wait_results(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(line("q-1", "one") + line("q-2", "two [[fail:500]]"))

    async def sleep(seconds: float) -> None:
        assert isinstance(emulator.clock, ManualClock)
        emulator.clock.advance(seconds)
        await asyncio.sleep(0)

    polling = Polling(sleep=sleep, clock=emulator.clock.now)
    async with emulator.client(azure_ad_token_provider=lambda: "t") as client:
        uploaded = await client.files.create(path, purpose="batch")
        assert uploaded.status == "pending"
        with pytest.raises(BadRequestError, match="pending"):
            await client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions")
        processed = await client.files.wait_for_processing(uploaded.id, polling=polling)
        assert processed.status == "processed"
        batch = await client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions"
        )
        done = await client.batches.wait(batch.id, polling=polling)
        assert isinstance(done, Batch)
        assert done.status == "completed"
        results = {r.custom_id: r async for r in client.batches.results(done)}
    assert results["q-1"].succeeded
    assert not results["q-2"].succeeded
    assert all(r.path.startswith("/openai/") for r in emulator.requests)
    assert all(r.query["api-version"] == AZURE_API_VERSION for r in emulator.requests)


def test_azure_form_of_the_batch_endpoint_is_accepted() -> None:
    # Azure OpenAI documents "/chat/completions"; the client must not refuse it.
    from openai_batches._batches import _check_endpoint

    assert _check_endpoint("/chat/completions") == "/chat/completions"
    with pytest.raises(ValueError, match="API path"):
        _check_endpoint("chat/completions")


def test_the_api_key_header_is_scrubbed_from_aiohttp_errors() -> None:
    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    from openai_batches._transport import _scrub

    url = URL("https://res.openai.azure.com/openai/batches")
    headers = CIMultiDictProxy(CIMultiDict({"api-key": "secret-key", "Accept": "*/*"}))
    info = aiohttp.RequestInfo(url, "GET", headers, url)
    error = aiohttp.ClientResponseError(info, (), status=200, message="bad")
    _scrub(error)
    assert error.request_info.headers["api-key"] == "<redacted>"
    assert "secret-key" not in repr(error.request_info)


async def test_azure_file_expiry_is_14_to_30_days(emulator: Emulator) -> None:
    async with emulator.client(max_retries=0) as client:
        with pytest.raises(APIStatusError, match="14 to 30 days") as caught:
            await client.files.create(
                b"{}\n", purpose="batch", filename="x.jsonl", expires_after=7 * 86400
            )
        assert caught.value.status_code == 400
        kept = await client.files.create(
            b"{}\n", purpose="batch", filename="x.jsonl", expires_after=14 * 86400
        )
    assert kept.expires_at == kept.created_at + 14 * 86400


def test_the_command_serves_azure_mode() -> None:
    import argparse

    from openai_batches.emulator import add_arguments
    from openai_batches.emulator._cli import _emulator

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert _emulator(parser.parse_args(["--azure"])).azure
    assert not _emulator(parser.parse_args([])).azure


def file_body(status: str | None) -> dict[str, object]:
    return {
        "id": "file-1",
        "object": "file",
        "bytes": 4,
        "created_at": 1,
        "filename": "in.jsonl",
        "purpose": "batch",
        "status": status,
    }


async def test_wait_for_processing_polls_until_processed(server: LoopbackServer) -> None:
    # Azure OpenAI refuses a batch on a file that is still pending.
    server.add(
        "GET",
        "/v1/files/file-1",
        reply(json_body=file_body("pending")),
        reply(json_body=file_body("running")),
        reply(json_body=file_body("processed")),
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with server.client() as client:
        polling = Polling(interval=2, backoff=2, max_interval=3, sleep=sleep)
        file = await client.files.wait_for_processing("file-1", polling=polling)
    assert file.status == "processed"
    assert len(server.seen) == 3
    assert slept == [2, 3]


@pytest.mark.parametrize("status", ["error", None])
async def test_wait_for_processing_ends_on_error_or_no_status(
    server: LoopbackServer, status: str | None
) -> None:
    server.add("GET", "/v1/files/file-1", reply(json_body=file_body(status)))

    async def never(seconds: float) -> None:
        raise AssertionError("no wait expected")

    async with server.client() as client:
        file = await client.files.wait_for_processing("file-1", polling=Polling(sleep=never))
    assert file.status == status
    assert len(server.seen) == 1


async def test_closing_aborts_a_token_provider_in_flight(emulator: Emulator) -> None:
    asked = asyncio.Event()

    async def stuck() -> str:
        asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    client = emulator.client(azure_ad_token_provider=stuck)
    call = asyncio.create_task(client.batches.retrieve("batch_x"))
    await asked.wait()
    await client.close()
    for _ in range(10):  # let the cancellation reach the task
        await asyncio.sleep(0)
    if not call.done():  # the provider was not aborted: fail rather than hang
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        pytest.fail("close() did not abort the token provider")
    with pytest.raises(ClientClosedError):
        await call
    assert emulator.requests == []


async def test_the_emulator_checks_versions_and_tokens() -> None:
    async with Emulator(azure=True, azure_ad_tokens=["good"]) as emu:
        async with emu.client(azure_ad_token="bad", max_retries=0) as client:
            with pytest.raises(AuthenticationError):
                await client.batches.retrieve("batch_x")
        async with emu.client(api_version="latest", max_retries=0) as client:
            with pytest.raises(NotFoundError, match="Resource not found"):
                await client.batches.retrieve("batch_x")
        async with emu.client(azure_ad_token="good", max_retries=0) as client:
            with pytest.raises(NotFoundError, match="batch_x"):
                await client.batches.retrieve("batch_x")


async def test_a_job_waits_for_its_files_to_be_processed(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Without the wait, the batch on a file still pending is refused, and the job fails.
    path = tmp_path / "in.jsonl"
    path.write_bytes(line("q-1", "one") + line("q-2", "two"))

    async def sleep(seconds: float) -> None:
        assert isinstance(emulator.clock, ManualClock)
        emulator.clock.advance(seconds)
        await asyncio.sleep(0)

    polling = Polling(sleep=sleep, clock=emulator.clock.now)
    async with emulator.client(azure_ad_token_provider=lambda: "t") as client:
        report = await client.jobs.run(path, tmp_path / "out.jsonl", polling=polling)
    assert (report.succeeded, report.failed) == (2, 0)
    creates = [r for r in emulator.requests if r.method == "POST" and r.path.endswith("/batches")]
    assert len(creates) == 1  # created once, on a processed file
