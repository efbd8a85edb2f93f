"""Azure mode takes a batch endpoint and its lines' url with or without ``/v1``; OpenAI does not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from openai_batches import BadRequestError, Client
from openai_batches.emulator import Emulator, ManualClock
from openai_batches.emulator._lifecycle import parse_input
from openai_batches.emulator._responses import canonical_endpoint
from openai_batches.emulator._runner import AZURE_FILE_PROCESSING

AZURE_ENV = ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_ENDPOINT")


@pytest.fixture(autouse=True)
def no_azure_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*AZURE_ENV, "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def azure() -> AsyncIterator[Emulator]:
    async with Emulator(azure=True, clock=ManualClock(), seed=7) as emu:
        yield emu


def request(custom_id: str, url: str, text: str = "hi") -> dict[str, Any]:
    if url.endswith("/embeddings"):
        body: dict[str, Any] = {"model": "my-embedding-deployment", "input": text}
    else:
        body = {"model": "my-gpt-4o-deployment", "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def jsonl(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


async def create(emu: Emulator, client: Client, endpoint: str, data: bytes) -> str:
    """Upload *data*, let it be processed, create a batch on it; return the batch id."""
    uploaded = await client.files.create(data, purpose="batch", filename="in.jsonl")
    assert isinstance(emu.clock, ManualClock)
    emu.clock.advance(AZURE_FILE_PROCESSING)
    batch = await client.batches.create(input_file_id=uploaded.id, endpoint=endpoint)
    assert batch.endpoint == endpoint
    emu.clock.advance(60)
    return batch.id


@pytest.mark.parametrize(
    ("endpoint", "urls"),
    [
        ("/chat/completions", ["/chat/completions", "/chat/completions"]),
        # One endpoint per batch, compared in one spelling: the two may be mixed.
        ("/chat/completions", ["/v1/chat/completions", "/chat/completions"]),
        ("/v1/chat/completions", ["/chat/completions", "/v1/chat/completions"]),
    ],
)
async def test_a_chat_batch_without_v1_runs_to_completion(
    azure: Emulator, endpoint: str, urls: list[str]
) -> None:
    data = jsonl(*(request(f"q-{i}", url, f"text {i}") for i, url in enumerate(urls)))
    async with azure.client() as client:
        batch_id = await create(azure, client, endpoint, data)
        done = await client.batches.retrieve(batch_id)
        assert (done.status, done.endpoint) == ("completed", endpoint)
        assert (done.request_counts.completed, done.request_counts.failed) == (2, 0)
        results = {r.custom_id: r async for r in client.batches.results(done)}
    assert sorted(results) == ["q-0", "q-1"]
    for i, result in enumerate(results[f"q-{i}"] for i in range(2)):
        assert result.succeeded
        assert result.response is not None
        body = result.response.body
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"] == f"echo: text {i}"


async def test_the_endpoint_chooses_the_answers(azure: Emulator) -> None:
    async with azure.client() as client:
        batch_id = await create(azure, client, "/embeddings", jsonl(request("e", "/embeddings")))
        done = await client.batches.retrieve(batch_id)
        assert (done.status, done.endpoint) == ("completed", "/embeddings")
        [result] = [r async for r in client.batches.results(done)]
    assert result.response is not None
    assert result.response.body["object"] == "list"
    assert result.response.body["data"][0]["object"] == "embedding"


@pytest.mark.parametrize(
    "url", ["/embeddings", "/v1/embeddings", "/chat/completion", "chat/completions"]
)
async def test_a_line_for_another_endpoint_fails_the_batch(azure: Emulator, url: str) -> None:
    data = jsonl(request("ok", "/chat/completions"), request("odd", url))
    async with azure.client() as client:
        batch_id = await create(azure, client, "/chat/completions", data)
        failed = await client.batches.retrieve(batch_id)
    assert failed.status == "failed"
    assert failed.errors is not None
    [error] = failed.errors.data
    assert (error.code, error.line, error.param) == ("invalid_url", 2, "url")
    assert "'/chat/completions'" in (error.message or "")


async def test_an_unsupported_endpoint_is_refused_in_either_spelling(azure: Emulator) -> None:
    async with azure.client(max_retries=0) as client:
        uploaded = await client.files.create(
            jsonl(request("a", "/audio/speech")), purpose="batch", filename="in.jsonl"
        )
        assert isinstance(azure.clock, ManualClock)
        azure.clock.advance(AZURE_FILE_PROCESSING)
        for endpoint in ("/audio/speech", "/v1/audio/speech"):
            with pytest.raises(BadRequestError, match="endpoint"):
                await client.batches.create(input_file_id=uploaded.id, endpoint=endpoint)


async def test_openai_mode_still_requires_v1() -> None:
    async with Emulator(clock=ManualClock()) as emu, emu.client(max_retries=0) as client:
        uploaded = await client.files.create(
            jsonl(request("a", "/chat/completions")), purpose="batch", filename="in.jsonl"
        )
        with pytest.raises(BadRequestError, match="'/chat/completions'") as caught:
            await client.batches.create(input_file_id=uploaded.id, endpoint="/chat/completions")
        assert caught.value.status_code == 400
        # A /v1/ batch whose line leaves out the version fails at validation.
        batch = await client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions"
        )
        assert isinstance(emu.clock, ManualClock)
        emu.clock.advance(60)
        failed = await client.batches.retrieve(batch.id)
    assert failed.status == "failed"
    assert failed.errors is not None
    assert [(e.code, e.line) for e in failed.errors.data] == [("invalid_url", 1)]


@pytest.mark.parametrize(
    ("endpoint", "azure", "expected"),
    [
        ("/chat/completions", True, "/v1/chat/completions"),
        ("/v1/chat/completions", True, "/v1/chat/completions"),
        ("/embeddings", True, "/v1/embeddings"),
        ("chat/completions", True, "chat/completions"),
        ("/chat/completions", False, "/chat/completions"),
        ("/v1/chat/completions", False, "/v1/chat/completions"),
    ],
)
def test_canonical_endpoint(endpoint: str, azure: bool, expected: str) -> None:
    assert canonical_endpoint(endpoint, azure=azure) == expected


def test_a_line_url_that_is_not_a_string_is_refused() -> None:
    line = json.dumps({**request("a", "/chat/completions"), "url": 7}).encode()
    parsed = parse_input(iter([line]), "/chat/completions", azure=True)
    assert [(e["code"], e["line"]) for e in parsed.errors] == [("invalid_url", 1)]
