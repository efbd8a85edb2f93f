"""Uploads: parts in any order, completion checks, cancel and expiry."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from conftest import Api

from openai_batches.emulator import Emulator, ManualClock
from openai_batches.emulator._blobs import BlobWriter

T0 = 1_700_000_000


async def create(api: Api, size: int, **overrides: Any) -> Any:
    body = {"filename": "big.jsonl", "purpose": "batch", "bytes": size, "mime_type": "text/jsonl"}
    return await api.post("/uploads", json={**body, **overrides})


async def add_part(api: Api, upload_id: str, data: bytes, expect: int = 200) -> Any:
    form = aiohttp.FormData()
    form.add_field("data", data, filename="blob")
    return await api.post(f"/uploads/{upload_id}/parts", data=form, expect=expect)


async def test_parts_are_joined_in_part_ids_order(api: Api) -> None:
    chunks = [b"first-", b"second-", b"third"]
    data = b"".join(chunks)
    upload = await create(api, len(data))
    assert upload["status"] == "pending"
    assert upload["object"] == "upload"
    assert upload["expires_at"] == T0 + 3600
    assert upload["file"] is None
    # Sent out of order, concatenated in the order of part_ids.
    third = await add_part(api, upload["id"], chunks[2])
    first = await add_part(api, upload["id"], chunks[0])
    second = await add_part(api, upload["id"], chunks[1])
    assert first["object"] == "upload.part"
    assert first["upload_id"] == upload["id"]
    done = await api.post(
        f"/uploads/{upload['id']}/complete",
        json={
            "part_ids": [first["id"], second["id"], third["id"]],
            "md5": hashlib.md5(data).hexdigest(),
        },
    )
    assert done["status"] == "completed"
    file = done["file"]
    assert file["bytes"] == len(data)
    assert file["filename"] == "big.jsonl"
    assert file["purpose"] == "batch"
    assert await api.content(file["id"]) == data
    assert await api.get(f"/files/{file['id']}") == file
    await add_part(api, upload["id"], b"late", expect=400)


async def test_md5_mismatch_is_rejected(api: Api) -> None:
    upload = await create(api, 3)
    part = await add_part(api, upload["id"], b"abc")
    error = await api.post(
        f"/uploads/{upload['id']}/complete",
        json={"part_ids": [part["id"]], "md5": hashlib.md5(b"xyz").hexdigest()},
        expect=400,
    )
    assert error["error"]["param"] == "md5"
    assert (await api.get("/files"))["data"] == []
    # Still pending: the right checksum completes it.
    done = await api.post(
        f"/uploads/{upload['id']}/complete",
        json={"part_ids": [part["id"]], "md5": hashlib.md5(b"abc").hexdigest()},
    )
    assert done["status"] == "completed"


@pytest.mark.parametrize(
    ("parts", "use", "declared"),
    [([b"ab", b"cd"], [0], 4), ([b"ab", b"cd"], [0, 1], 5), ([b"ab"], [0, 0], 4)],
)
async def test_completion_checks_the_parts(
    api: Api, parts: list[bytes], use: list[int], declared: int
) -> None:
    upload = await create(api, declared)
    ids = [(await add_part(api, upload["id"], data))["id"] for data in parts]
    error = await api.post(
        f"/uploads/{upload['id']}/complete", json={"part_ids": [ids[i] for i in use]}, expect=400
    )
    assert error["error"]["param"] == "part_ids"


async def test_unknown_part_is_rejected(api: Api) -> None:
    upload = await create(api, 0)
    error = await api.post(
        f"/uploads/{upload['id']}/complete", json={"part_ids": ["part_nope"]}, expect=400
    )
    assert "part_nope" in error["error"]["message"]


async def test_cancel(api: Api) -> None:
    upload = await create(api, 10)
    await add_part(api, upload["id"], b"12345")
    cancelled = await api.post(f"/uploads/{upload['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    await add_part(api, upload["id"], b"12345", expect=400)
    await api.post(f"/uploads/{upload['id']}/cancel", expect=400)
    await api.post(f"/uploads/{upload['id']}/complete", json={"part_ids": []}, expect=400)


async def test_upload_expires_after_an_hour(api: Api, clock: ManualClock) -> None:
    upload = await create(api, 1)
    clock.advance(3600)
    await add_part(api, upload["id"], b"x", expect=400)
    error = await api.post(f"/uploads/{upload['id']}/cancel", expect=400)
    assert "expired" in error["error"]["message"]


async def test_unknown_upload_is_404(api: Api) -> None:
    await add_part(api, "upload_nope", b"x", expect=404)
    await api.post("/uploads/upload_nope/complete", json={"part_ids": []}, expect=404)
    await api.post("/uploads/upload_nope/cancel", expect=404)


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"purpose": "batch_output"}, "purpose"),
        ({"bytes": -1}, "bytes"),
        ({"bytes": 8 * 1024**3 + 1}, "bytes"),
        ({"bytes": "12"}, "bytes"),
        ({"mime_type": None}, "mime_type"),
        ({"expires_after": {"anchor": "created_at", "seconds": 10}}, "expires_after.seconds"),
    ],
)
async def test_create_upload_validates(api: Api, overrides: dict[str, Any], param: str) -> None:
    body = {"filename": "a.jsonl", "purpose": "batch", "bytes": 1, "mime_type": "text/jsonl"}
    body.update(overrides)
    body = {key: value for key, value in body.items() if value is not None}
    error = await api.post("/uploads", json=body, expect=400)
    assert error["error"]["param"] == param


async def test_file_expiry_policy_applies_to_the_completed_file(api: Api) -> None:
    upload = await create(
        api, 1, purpose="user_data", expires_after={"anchor": "created_at", "seconds": 7200}
    )
    part = await add_part(api, upload["id"], b"x")
    done = await api.post(f"/uploads/{upload['id']}/complete", json={"part_ids": [part["id"]]})
    assert done["file"]["expires_at"] == T0 + 7200


class _Records(logging.Handler):
    """Keeps log records; ``logged`` is set by the emulator's own or by any warning."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.name == "openai_batches.emulator" or record.levelno >= logging.WARNING:
            self.logged.set()


@pytest.fixture
def records() -> Iterator[_Records]:
    handler = _Records()
    loggers = [logging.getLogger("aiohttp"), logging.getLogger("openai_batches.emulator")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


async def abort_upload(
    emu: Emulator, path: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Send the start of a multipart body to ``path``, then close the connection."""
    reading = asyncio.Event()
    store_writer = emu.store.writer

    def writer() -> BlobWriter:
        reading.set()  # the handler has reached the file's bytes
        return store_writer()

    monkeypatch.setattr(emu.store, "writer", writer)
    head = (
        f'--b\r\nContent-Disposition: form-data; name="{field}"; filename="a.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + b"x" * 10_000
    _, stream = await asyncio.open_connection(emu.host, emu.port)
    stream.write(
        f"POST {path} HTTP/1.1\r\nHost: {emu.host}\r\nAuthorization: Bearer {emu.api_key}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n".encode()
        + head
    )
    await stream.drain()
    async with asyncio.timeout(10):
        await reading.wait()
    stream.transport.abort()


@pytest.mark.parametrize("route", ["files", "parts"])
async def test_an_aborted_upload_is_one_log_line_not_a_traceback(
    api: Api, emu: Emulator, records: _Records, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if route == "files":
        path, field = "/v1/files", "file"
    else:
        upload = await create(api, 1_000_000)
        path, field = f"/v1/uploads/{upload['id']}/parts", "data"

    await abort_upload(emu, path, field, monkeypatch)
    async with asyncio.timeout(10):
        await records.logged.wait()

    assert [r for r in records.records if r.levelno >= logging.WARNING or r.exc_info] == []
    [line] = [r for r in records.records if r.name == "openai_batches.emulator"]
    assert (line.levelno, line.getMessage()) == (
        logging.INFO,
        f"POST {path}: the client went away (Connection lost)",
    )
    # Nothing half-received was kept.
    assert emu.store.list_files()["data"] == []
    if route == "parts":
        assert emu.store.upload(upload["id"]).parts == {}
