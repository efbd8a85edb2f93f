"""The Uploads API and the engine that sends files in parts, against the emulator."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openai_batches import BadRequestError, Client, RetryPolicy
from openai_batches._models import Upload, UploadPart, UploadStatus
from openai_batches._uploads import MAX_PART_SIZE, Uploads
from openai_batches.emulator import Emulator, FaultRule

DATA = random.Random(3).randbytes(10_500)


@pytest.fixture
async def client(openai_emulator: Emulator, sleeps: list[float]) -> AsyncIterator[Client]:
    """A client with two immediate retries."""
    policy = RetryPolicy(max_retries=2, initial_delay=0, max_delay=0)
    async with openai_emulator.client(retry_policy=policy) as client:
        yield client


@pytest.fixture
def uploads(client: Client) -> Uploads:
    """Uploads in parts of 1,000 bytes, 4 at a time."""
    return Uploads(client._api, part_size=1000, concurrency=4)


def upload_ids(emulator: Emulator) -> list[str]:
    """The ids of the uploads that requests went to, in order."""
    ids = [r.path.split("/")[3] for r in emulator.requests if r.path.startswith("/v1/uploads/")]
    return list(dict.fromkeys(ids))


def paths(emulator: Emulator) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in emulator.requests if r.method == "POST"]


async def test_upload_file_from_a_path_in_ordered_parts(
    uploads: Uploads, openai_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "input.jsonl"
    source.write_bytes(DATA)
    completed: list[dict[str, Any]] = []
    real_complete = uploads.complete

    async def spy(upload_id: str, part_ids: list[str], **kwargs: Any) -> Upload:
        completed.append({"part_ids": list(part_ids), **kwargs})
        return await real_complete(upload_id, part_ids, **kwargs)

    monkeypatch.setattr(uploads, "complete", spy)

    file = await uploads.upload_file(source, purpose="batch", expires_after=3600)

    assert (file.filename, file.bytes, file.purpose) == ("input.jsonl", len(DATA), "batch")
    assert file.expires_at == file.created_at + 3600
    assert openai_emulator.store.file(file.id).blob.read() == DATA
    assert paths(openai_emulator) == ["uploads"] + ["parts"] * 11 + ["complete"]
    assert completed[0]["md5"] == hashlib.md5(DATA).hexdigest()
    assert len(completed[0]["part_ids"]) == 11


async def test_create_takes_the_api_form_of_expires_after(uploads: Uploads) -> None:
    policy = {"anchor": "created_at", "seconds": 3600}
    upload = await uploads.create(
        bytes=3, filename="a.txt", purpose="user_data", mime_type="text/plain", expires_after=policy
    )
    part = await uploads.add_part(upload.id, b"abc")
    done = await uploads.complete(upload.id, [part.id])

    assert done.file is not None
    assert done.file.expires_at == done.file.created_at + 3600


async def test_upload_file_from_bytes(uploads: Uploads, openai_emulator: Emulator) -> None:
    file = await uploads.upload_file(DATA, purpose="user_data", filename="data.bin")

    assert openai_emulator.store.file(file.id).blob.read() == DATA


async def test_an_empty_file_needs_no_parts(uploads: Uploads, openai_emulator: Emulator) -> None:
    file = await uploads.upload_file(b"", purpose="user_data", filename="empty.txt")

    assert file.bytes == 0
    assert paths(openai_emulator) == ["uploads", "complete"]


async def test_at_most_concurrency_parts_are_in_flight(
    uploads: Uploads, openai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight = 0
    most = 0
    four_in_flight = asyncio.Event()
    real_add_part = uploads.add_part

    async def gated(upload_id: str, data: Any, **kwargs: Any) -> UploadPart:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if in_flight == 4:
            four_in_flight.set()
        # The first four wait for each other: a sequential engine would hang here.
        await four_in_flight.wait()
        try:
            return await real_add_part(upload_id, data, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(uploads, "add_part", gated)

    async with asyncio.timeout(10):
        file = await uploads.upload_file(DATA, purpose="user_data", filename="data.bin")

    assert most == 4
    assert openai_emulator.store.file(file.id).blob.read() == DATA


async def test_a_failure_midway_cancels_the_upload(
    uploads: Uploads, openai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real_add_part = uploads.add_part

    async def fail_the_third(upload_id: str, data: Any, **kwargs: Any) -> UploadPart:
        nonlocal calls
        calls += 1
        if calls == 3:
            openai_emulator.faults.add(
                FaultRule("status", "POST", "/v1/uploads/*/parts", status=400, times=1)
            )
        return await real_add_part(upload_id, data, **kwargs)

    monkeypatch.setattr(uploads, "add_part", fail_the_third)

    with pytest.raises(BadRequestError):
        await uploads.upload_file(DATA, purpose="user_data", filename="data.bin")

    assert "cancel" in paths(openai_emulator)
    assert "complete" not in paths(openai_emulator)
    (upload_id,) = upload_ids(openai_emulator)
    assert openai_emulator.store.upload(upload_id).status == "cancelled"
    assert openai_emulator.store.list_files()["data"] == []


async def test_a_cancelled_upload_is_cancelled_on_the_server(
    uploads: Uploads, openai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    second_part = asyncio.Event()
    calls = 0
    real_add_part = uploads.add_part

    async def stall_on_the_second(upload_id: str, data: Any, **kwargs: Any) -> UploadPart:
        nonlocal calls
        calls += 1
        if calls == 2:
            second_part.set()
            await asyncio.Event().wait()
        return await real_add_part(upload_id, data, **kwargs)

    monkeypatch.setattr(uploads, "add_part", stall_on_the_second)
    task = asyncio.create_task(uploads.upload_file(DATA, purpose="user_data", filename="data.bin"))
    await second_part.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    (upload_id,) = upload_ids(openai_emulator)
    assert openai_emulator.store.upload(upload_id).status == "cancelled"


async def test_the_low_level_calls(client: Client) -> None:
    uploads = Uploads(client._api)

    upload = await uploads.create(
        bytes=6, filename="six.txt", purpose="user_data", mime_type="text/plain"
    )
    first = await uploads.add_part(upload.id, b"abc")
    second = await uploads.add_part(upload.id, b"def")
    done = await uploads.complete(
        upload.id, [second.id, first.id], md5=hashlib.md5(b"defabc").hexdigest()
    )
    other = await uploads.create(
        bytes=1, filename="one.txt", purpose="user_data", mime_type="text/plain"
    )
    cancelled = await uploads.cancel(other.id)

    assert upload.status is UploadStatus.PENDING
    assert (first.upload_id, first.object) == (upload.id, "upload.part")
    assert done.status is UploadStatus.COMPLETED
    assert done.file is not None
    assert (done.file.filename, done.file.bytes) == ("six.txt", 6)
    assert cancelled.status == "cancelled"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"file": DATA}, ValueError, "filename is required"),
        ({"file": 3, "filename": "x"}, TypeError, "path or bytes"),
        ({"file": "missing.bin"}, FileNotFoundError, "missing.bin"),
        ({"file": DATA, "filename": "x", "part_size": 0}, ValueError, "part_size"),
        ({"file": DATA, "filename": "x", "part_size": MAX_PART_SIZE + 1}, ValueError, "part_size"),
        ({"file": DATA, "filename": "x", "concurrency": 0}, ValueError, "concurrency"),
        ({"file": DATA, "filename": "x", "expires_after": 60}, ValueError, "expires_after"),
        (
            {"file": DATA, "filename": "x", "expires_after": {"anchor": "now", "seconds": 3600}},
            ValueError,
            r"expires_after\['anchor'\]",
        ),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    uploads: Uploads,
    openai_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(error, match=match):
        await uploads.upload_file(purpose="user_data", **kwargs)

    assert openai_emulator.requests == []


@pytest.mark.parametrize("method", ["add_part", "complete", "cancel"])
async def test_an_empty_upload_id_is_refused(
    uploads: Uploads, openai_emulator: Emulator, method: str
) -> None:
    args: dict[str, tuple[Any, ...]] = {"add_part": (b"x",), "complete": ([],), "cancel": ()}

    with pytest.raises(ValueError, match="empty"):
        await getattr(uploads, method)("", *args[method])
    assert openai_emulator.requests == []
