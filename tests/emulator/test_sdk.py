"""The official ``openai`` SDK, as an independent client, runs against the emulator unchanged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import openai
import pytest
from conftest import chat

from openai_batches.emulator import Emulator, FaultRule, ManualClock


@pytest.fixture
async def sdk(emu: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=emu.url, api_key="sk-test", max_retries=0)
    try:
        yield client
    finally:
        await client.close()


async def test_upload_create_poll_download_list_cancel(
    sdk: openai.AsyncOpenAI, clock: ManualClock
) -> None:
    lines = [chat(f"q{i}", f"question {i}") for i in range(3)] + [chat("q3", "x [[fail:400]]")]
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    uploaded = await sdk.files.create(file=("requests.jsonl", data), purpose="batch")
    assert uploaded.filename == "requests.jsonl"
    assert uploaded.bytes == len(data)
    assert uploaded.purpose == "batch"

    batch = await sdk.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": "sdk"},
    )
    assert batch.metadata == {"run": "sdk"}
    statuses: list[str] = [batch.status]
    assert statuses == ["validating"]
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        clock.advance(0.01)
        batch = await sdk.batches.retrieve(batch.id)
        if batch.status != statuses[-1]:
            statuses.append(batch.status)
    assert statuses == ["validating", "in_progress", "finalizing", "completed"]
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (3, 1)
    assert batch.usage is not None
    assert batch.usage.total_tokens == 3 * 2 + 3 * 3
    assert batch.output_file_id is not None
    assert batch.error_file_id is not None

    content = await sdk.files.content(batch.output_file_id)
    output = [json.loads(line) for line in content.text.splitlines()]
    assert [line["custom_id"] for line in output] == ["q0", "q1", "q2"]
    reply = output[1]["response"]["body"]["choices"][0]["message"]["content"]
    assert reply == "echo: question 1"
    errors = (await sdk.files.content(batch.error_file_id)).text.splitlines()
    assert json.loads(errors[0])["response"]["status_code"] == 400

    files = [f.id async for f in sdk.files.list(purpose="batch_output")]
    assert sorted(files) == sorted([batch.output_file_id, batch.error_file_id])
    all_files = await sdk.files.list(limit=2, order="asc")
    assert all_files.data[0].id == uploaded.id
    assert all_files.has_more is True
    assert len([f async for f in await sdk.files.list(limit=1)]) == 3  # auto-pagination

    second = await sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batches = [b.id async for b in sdk.batches.list(limit=1)]
    assert batches == [second.id, batch.id]
    cancelled = await sdk.batches.cancel(second.id)
    assert cancelled.status == "cancelling"
    clock.advance(10)
    assert (await sdk.batches.retrieve(second.id)).status == "cancelled"
    with pytest.raises(openai.ConflictError):
        await sdk.batches.cancel(batch.id)

    deleted = await sdk.files.delete(uploaded.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.files.retrieve(uploaded.id)


async def test_sdk_uploads(sdk: openai.AsyncOpenAI) -> None:
    upload = await sdk.uploads.create(
        bytes=6, filename="in.jsonl", mime_type="text/jsonl", purpose="batch"
    )
    second = await sdk.uploads.parts.create(upload.id, data=b"def")
    first = await sdk.uploads.parts.create(upload.id, data=b"abc")
    done = await sdk.uploads.complete(upload.id, part_ids=[first.id, second.id])
    assert done.status == "completed"
    assert done.file is not None
    assert (await sdk.files.content(done.file.id)).content == b"abcdef"


async def test_sdk_sees_api_errors(emu: Emulator, sdk: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.batches.create(
            input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert info.value.param == "input_file_id"
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req_")
    emu.faults.add(FaultRule("status", status=429, retry_after=1, times=1))
    with pytest.raises(openai.RateLimitError):
        await sdk.batches.list()
    async with Emulator(api_keys=["sk-right"], clock=ManualClock()) as locked:
        wrong = openai.AsyncOpenAI(base_url=locked.url, api_key="sk-wrong", max_retries=0)
        try:
            with pytest.raises(openai.AuthenticationError):
                await wrong.files.list()
        finally:
            await wrong.close()
