"""``client.files`` against the emulator: uploads, details, deletion, content, downloads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openai_batches import (
    APIConnectionError,
    Client,
    FileObject,
    InternalServerError,
    NotFoundError,
    RetryPolicy,
    _files,
)
from openai_batches._files import DownloadSizeError, Files
from openai_batches._models import FileDeleted
from openai_batches._uploads import Uploads
from openai_batches.emulator import Emulator, FaultRule
from openai_batches.emulator._store import FileRecord

CONTENT_PATH = "/v1/files/*/content"
GUARD = 30  # seconds: a hang fails the test instead of the suite


@pytest.fixture
async def client(openai_emulator: Emulator, sleeps: list[float]) -> AsyncIterator[Client]:
    """A client with two immediate retries."""
    policy = RetryPolicy(max_retries=2, initial_delay=0, max_delay=0)
    async with openai_emulator.client(retry_policy=policy) as client:
        yield client


def posts(emulator: Emulator, path: str = "/v1/files") -> int:
    return sum(1 for r in emulator.requests if r.method == "POST" and r.path == path)


def stored(emulator: Emulator, file_id: str) -> bytes:
    return emulator.store.file(file_id).blob.read()


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


# uploads


async def test_create_from_a_path_streams_the_file(
    client: Client, openai_emulator: Emulator, tmp_path: Path
) -> None:
    data = b'{"custom_id": "a"}\n' * 5000
    source = tmp_path / "requests.jsonl"
    source.write_bytes(data)

    file = await client.files.create(source, purpose="batch", expires_after=7200)

    assert isinstance(file, FileObject)
    assert (file.filename, file.purpose, file.bytes) == ("requests.jsonl", "batch", len(data))
    assert file.expires_at == file.created_at + 7200
    assert stored(openai_emulator, file.id) == data
    assert posts(openai_emulator) == 1


@pytest.mark.parametrize("use_uploads", [False, True], ids=["one-request", "in-parts"])
@pytest.mark.parametrize(
    "expires_after", [7200, {"anchor": "created_at", "seconds": 7200}], ids=["seconds", "api-form"]
)
async def test_create_takes_both_forms_of_expires_after(
    client: Client, openai_emulator: Emulator, expires_after: Any, use_uploads: bool
) -> None:
    file = await client.files.create(
        b"{}\n",
        purpose="batch",
        filename="in.jsonl",
        expires_after=expires_after,
        use_uploads=use_uploads,
    )

    assert file.expires_at == file.created_at + 7200
    assert posts(openai_emulator, "/v1/uploads") == int(use_uploads)


async def test_create_from_bytes_needs_a_filename(
    client: Client, openai_emulator: Emulator
) -> None:
    file = await client.files.create(b"hello", purpose="user_data", filename="hello.txt")

    assert (file.filename, file.bytes, file.expires_at) == ("hello.txt", 5, None)
    assert stored(openai_emulator, file.id) == b"hello"


async def test_create_from_an_async_iterator(client: Client, openai_emulator: Emulator) -> None:
    chunks = [b'{"a": 1}\n', b'{"b"', b": 2}\n"]

    async def produce() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    file = await client.files.create(produce(), purpose="batch", filename="stream.jsonl")

    assert file.bytes == len(b"".join(chunks))
    assert stored(openai_emulator, file.id) == b"".join(chunks)


async def test_large_files_go_through_the_uploads_api(
    client: Client, openai_emulator: Emulator, tmp_path: Path
) -> None:
    data = random_bytes(5000)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    uploads = Uploads(client._api, part_size=1024)
    files = Files(client._api, uploads=uploads, max_single_upload=4096)

    file = await files.create(source, purpose="user_data")

    assert stored(openai_emulator, file.id) == data
    assert posts(openai_emulator) == 0
    assert posts(openai_emulator, "/v1/uploads") == 1
    assert any(r.path.endswith("/complete") for r in openai_emulator.requests)


async def test_use_uploads_forces_parts_for_a_small_file(
    client: Client, openai_emulator: Emulator
) -> None:
    file = await client.files.create(
        b"tiny", purpose="user_data", filename="tiny.txt", use_uploads=True
    )

    assert stored(openai_emulator, file.id) == b"tiny"
    assert posts(openai_emulator) == 0
    assert posts(openai_emulator, "/v1/uploads") == 1


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
async def test_create_reports_the_bytes_sent(
    client: Client, openai_emulator: Emulator, tmp_path: Path, as_path: bool
) -> None:
    data = random_bytes(3 * (1 << 20) + 5)
    source = tmp_path / "big.jsonl"
    source.write_bytes(data)
    seen: list[int] = []

    file = await client.files.create(
        source if as_path else data,
        purpose="batch",
        filename="big.jsonl",
        on_progress=seen.append,
    )

    assert stored(openai_emulator, file.id) == data
    assert seen == [0, 1 << 20, 2 << 20, 3 << 20, len(data)]


async def test_progress_starts_again_when_the_upload_is_sent_again(
    client: Client, openai_emulator: Emulator
) -> None:
    openai_emulator.faults.add(FaultRule("status", "POST", "/v1/files", status=503, times=1))
    data = random_bytes((1 << 20) + 1)
    seen: list[int] = []

    file = await client.files.create(
        data, purpose="batch", filename="again.jsonl", on_progress=seen.append
    )

    assert stored(openai_emulator, file.id) == data
    assert posts(openai_emulator) == 2
    assert seen == [0, 1 << 20, len(data)] * 2


async def test_iterator_uploads_report_what_has_passed(client: Client) -> None:
    async def produce() -> AsyncIterator[bytes]:
        for chunk in (b"ab", b"cde", b"f\n"):
            yield chunk

    seen: list[int] = []
    await client.files.create(
        produce(), purpose="batch", filename="s.jsonl", on_progress=seen.append
    )
    assert seen == [2, 5, 7]


async def test_uploads_in_parts_report_each_part_done(
    client: Client, openai_emulator: Emulator
) -> None:
    data = random_bytes(2500)
    uploads = Uploads(client._api, part_size=1000, concurrency=1)
    files = Files(client._api, uploads=uploads, max_single_upload=2000)
    seen: list[int] = []

    file = await files.create(data, purpose="user_data", filename="p.bin", on_progress=seen.append)

    assert stored(openai_emulator, file.id) == data
    assert seen == [1000, 2000, 2500]


async def _never() -> AsyncIterator[bytes]:
    yield b""


@pytest.mark.parametrize(
    ("file", "kwargs", "error", "match"),
    [
        ("missing.jsonl", {}, FileNotFoundError, "missing.jsonl"),
        (".", {}, IsADirectoryError, "directory"),
        (42, {"filename": "x"}, TypeError, "path, bytes or an async iterable"),
        (b"x", {}, ValueError, "filename is required"),
        (b"x", {"filename": ""}, ValueError, "filename must be"),
        (b"x", {"filename": "x", "purpose": ""}, ValueError, "purpose must not be empty"),
        (b"x", {"filename": "x", "purpose": 3}, TypeError, "purpose must be a string"),
        (b"x", {"filename": "x", "expires_after": 3599}, ValueError, "between 3600 and"),
        (b"x", {"filename": "x", "expires_after": 2_592_001}, ValueError, "between 3600 and"),
        (b"x", {"filename": "x", "expires_after": "3600"}, TypeError, "whole number"),
        (
            b"x",
            {"filename": "x", "expires_after": {"anchor": "last_active_at", "seconds": 3600}},
            ValueError,
            "must be 'created_at'",
        ),
        (b"x", {"filename": "x", "expires_after": {"seconds": 3600}}, ValueError, "exactly"),
        (
            b"x",
            {"filename": "x", "expires_after": {"anchor": "created_at", "seconds": 60}},
            ValueError,
            r"expires_after\['seconds'\] must be between 3600 and",
        ),
        (_never, {"filename": "x", "use_uploads": True}, ValueError, "size up front"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    client: Client,
    openai_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    file: Any,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    kwargs.setdefault("purpose", "batch")
    if callable(file):
        file = file()

    with pytest.raises(error, match=match):
        await client.files.create(file, **kwargs)

    assert openai_emulator.requests == []


# duplicate-safe uploads


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule("reset", "POST", "/v1/files", after=True, times=1),
        FaultRule("status", "POST", "/v1/files", status=502, after=True, times=1),
    ],
    ids=["reset", "502"],
)
async def test_an_upload_whose_answer_is_lost_leaves_exactly_one_file(
    client: Client, openai_emulator: Emulator, fault: FaultRule
) -> None:
    openai_emulator.faults.add(fault)

    file = await client.files.create(b'{"a": 1}\n', purpose="batch", filename="one.jsonl")

    listed = openai_emulator.store.list_files()["data"]
    assert [f["id"] for f in listed] == [file.id]
    assert fault.hits == 1
    assert posts(openai_emulator) == 1  # found by the look, not sent again
    looks = [r for r in openai_emulator.requests if r.method == "GET" and r.path == "/v1/files"]
    # One listing before the upload, one search after its lost answer.
    assert [r.query for r in looks] == [{"purpose": "batch", "order": "desc", "limit": "100"}] * 2


async def test_an_upload_that_never_arrived_is_sent_again(
    client: Client, openai_emulator: Emulator
) -> None:
    openai_emulator.faults.add(FaultRule("reset", "POST", "/v1/files", times=1))

    file = await client.files.create(b'{"a": 1}\n', purpose="batch", filename="one.jsonl")

    assert [f["id"] for f in openai_emulator.store.list_files()["data"]] == [file.id]
    assert posts(openai_emulator) == 2


async def test_a_same_named_file_of_another_size_is_not_taken_for_the_lost_one(
    client: Client, openai_emulator: Emulator
) -> None:
    other = openai_emulator.store.put_file("one.jsonl", "batch", b"other content\n")
    openai_emulator.faults.add(FaultRule("status", "POST", "/v1/files", status=500, times=1))

    file = await client.files.create(b'{"a": 1}\n', purpose="batch", filename="one.jsonl")

    assert file.id != other["id"]
    assert posts(openai_emulator) == 2


async def test_a_lost_answer_for_an_iterator_upload_finds_the_file(
    client: Client, openai_emulator: Emulator
) -> None:
    openai_emulator.faults.add(FaultRule("reset", "POST", "/v1/files", after=True, times=1))

    async def produce() -> AsyncIterator[bytes]:
        yield b'{"a": 1}\n'

    file = await client.files.create(produce(), purpose="batch", filename="it.jsonl")

    assert [f["id"] for f in openai_emulator.store.list_files()["data"]] == [file.id]
    assert posts(openai_emulator) == 1


async def test_an_iterator_upload_that_failed_midway_is_not_retried(
    client: Client, openai_emulator: Emulator
) -> None:
    async def produce() -> AsyncIterator[bytes]:
        yield b'{"a": 1}\n'
        raise OSError("disk gone")

    with pytest.raises(APIConnectionError):
        await client.files.create(produce(), purpose="batch", filename="it.jsonl")

    assert posts(openai_emulator) <= 1
    assert openai_emulator.store.list_files()["data"] == []


async def test_a_failed_upload_raises_after_the_retries(
    client: Client, openai_emulator: Emulator
) -> None:
    openai_emulator.faults.add(FaultRule("status", "POST", "/v1/files", status=503))

    with pytest.raises(InternalServerError):
        await client.files.create(b"x", purpose="user_data", filename="x.txt")

    assert posts(openai_emulator) == 3


# details and deletion


async def test_retrieve_and_delete(client: Client, openai_emulator: Emulator) -> None:
    seeded = openai_emulator.store.put_file("notes.txt", "user_data", b"abc")

    file = await client.files.retrieve(seeded["id"])
    deleted = await client.files.delete(seeded["id"])

    assert (file.id, file.bytes, file.filename) == (seeded["id"], 3, "notes.txt")
    assert deleted == FileDeleted(id=seeded["id"], object="file", deleted=True)
    with pytest.raises(NotFoundError):
        await client.files.retrieve(seeded["id"])


@pytest.mark.parametrize("file_id", ["", None])
@pytest.mark.parametrize("method", ["retrieve", "delete"])
async def test_a_required_file_id_must_not_be_empty(
    client: Client, openai_emulator: Emulator, method: str, file_id: str | None
) -> None:
    with pytest.raises(ValueError, match="file id is required"):
        await getattr(client.files, method)(file_id)
    assert openai_emulator.requests == []


@pytest.mark.parametrize("file_id", ["", None])
async def test_an_optional_file_id_that_is_empty_means_no_file(
    client: Client, openai_emulator: Emulator, tmp_path: Path, file_id: str | None
) -> None:
    assert [chunk async for chunk in client.files.content(file_id)] == []
    assert [line async for line in client.files.lines(file_id)] == []
    assert await client.files.download(file_id, tmp_path / "out") is None
    assert os.listdir(tmp_path) == []
    assert openai_emulator.requests == []


# content and lines


async def test_content_comes_in_bounded_chunks(client: Client, openai_emulator: Emulator) -> None:
    data = random_bytes(300_000)
    seeded = openai_emulator.store.put_file("data.bin", "user_data", data)

    chunks = [chunk async for chunk in client.files.content(seeded["id"], chunk_size=10_000)]

    assert b"".join(chunks) == data
    assert len(chunks) >= 30
    assert max(map(len, chunks)) <= 10_000


async def test_content_of_a_missing_file_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError):
        async for _ in client.files.content("file-missing"):
            pass


JSONL = b'{"a": 1}\r\n\r\n{"b": 2}\n\n  \n{"c": 3}\r\n{"d": 4}'


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 1000])
async def test_lines_of_a_jsonl_file_with_crlf_blank_lines_and_split_chunks(
    client: Client, openai_emulator: Emulator, chunk_size: int
) -> None:
    seeded = openai_emulator.store.put_file("out.jsonl", "batch_output", JSONL)
    openai_emulator.faults.add(FaultRule("slow_body", "GET", CONTENT_PATH, chunk_size=chunk_size))

    lines = [line async for line in client.files.lines(seeded["id"])]

    assert lines == [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}', b'{"d": 4}']


async def test_lines_keep_long_lines_whole(client: Client, openai_emulator: Emulator) -> None:
    long_line = b"x" * 1_000_000
    seeded = openai_emulator.store.put_file("out.jsonl", "batch_output", long_line + b"\n")

    assert [line async for line in client.files.lines(seeded["id"])] == [long_line]


# downloads


@pytest.fixture
def seeded_file(openai_emulator: Emulator) -> tuple[str, bytes]:
    data = random_bytes(2_000_000)
    return openai_emulator.store.put_file("data.bin", "user_data", data)["id"], data


async def test_download_writes_the_whole_file(
    client: Client, tmp_path: Path, seeded_file: tuple[str, bytes]
) -> None:
    file_id, data = seeded_file
    target = tmp_path / "data.bin"
    target.write_bytes(b"an older copy")

    file = await client.files.download(file_id, target)

    assert file is not None
    assert file.id == file_id
    assert target.read_bytes() == data
    assert os.listdir(tmp_path) == ["data.bin"]


async def test_download_flushes_the_file_then_the_directory_after_the_rename(
    client: Client, tmp_path: Path, seeded_file: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    file_id, data = seeded_file
    target = tmp_path / "data.bin"
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        whole = stat.S_ISREG(mode) and os.fstat(fd).st_size == len(data)
        synced.append("dir" if stat.S_ISDIR(mode) else "file" if whole else "partial")
        if stat.S_ISDIR(mode):
            assert target.read_bytes() == data  # renamed before the directory is flushed
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    await client.files.download(file_id, target)
    assert synced == ["file", "dir"]


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule("truncate", "GET", CONTENT_PATH, keep=500_000),
        FaultRule("reset", "GET", CONTENT_PATH),
    ],
    ids=["truncate", "reset"],
)
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
async def test_an_interrupted_download_leaves_nothing_behind(
    client: Client,
    tmp_path: Path,
    seeded_file: tuple[str, bytes],
    fault: FaultRule,
    existing: bool,
    openai_emulator: Emulator,
) -> None:
    openai_emulator.faults.add(fault)
    target = tmp_path / "data.bin"
    if existing:
        target.write_bytes(b"an older copy")

    with pytest.raises(APIConnectionError) as caught:
        await client.files.download(seeded_file[0], target)

    assert fault.hits >= 1
    assert os.listdir(tmp_path) == (["data.bin"] if existing else [])
    if existing:
        assert target.read_bytes() == b"an older copy"
    if fault.kind == "truncate":
        assert "failed after 500000 of 2000000 bytes" in str(caught.value)
        assert "nothing was written" in str(caught.value)


@pytest.mark.parametrize("delta", [10, -10])
async def test_a_download_of_the_wrong_size_is_refused(
    client: Client,
    tmp_path: Path,
    seeded_file: tuple[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    delta: int,
) -> None:
    real = FileRecord.to_json

    def wrong_size(self: FileRecord) -> dict[str, Any]:
        return {**real(self), "bytes": self.blob.size + delta}

    monkeypatch.setattr(FileRecord, "to_json", wrong_size)

    with pytest.raises(DownloadSizeError) as caught:
        await client.files.download(seeded_file[0], tmp_path / "data.bin")

    assert caught.value.expected == 2_000_000 + delta
    assert os.listdir(tmp_path) == []


async def test_a_cancelled_download_leaves_nothing_behind(
    client: Client,
    tmp_path: Path,
    seeded_file: tuple[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_chunk = asyncio.Event()
    real = Files._chunks

    async def stall_after_one_chunk(self: Files, *args: Any) -> AsyncIterator[bytes]:
        async for chunk in real(self, *args):
            yield chunk
            first_chunk.set()
            await asyncio.Event().wait()  # stall until cancelled

    monkeypatch.setattr(Files, "_chunks", stall_after_one_chunk)
    task = asyncio.create_task(client.files.download(seeded_file[0], tmp_path / "data.bin"))
    await first_chunk.wait()
    assert len(os.listdir(tmp_path)) == 1  # the temporary file, mid-way

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
async def test_a_download_cancelled_while_its_temporary_file_is_made_leaves_nothing(
    client: Client,
    openai_emulator: Emulator,
    tmp_path: Path,
    seeded_file: tuple[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled while the temporary file is being created, a download leaks nothing.

    Were the file made in a worker thread, the thread would finish making it after the
    task was cancelled, and nobody would close or remove it. The stand-in for the file's
    maker holds such a thread until the task is cancelled; made on the loop, the file is made
    at once, and the task is cancelled at its next await, asking for the content.
    """
    loop = asyncio.get_running_loop()
    reached = asyncio.Event()
    release, made = threading.Event(), threading.Event()
    created: list[tuple[int, str]] = []
    real = _files._create_beside

    def create_beside(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if threading.current_thread() is threading.main_thread():
            reached.set()
        else:
            loop.call_soon_threadsafe(reached.set)
            release.wait(GUARD)
        try:
            fd, name = real(*args, **kwargs)
            created.append((fd, name))
            return fd, name
        finally:
            made.set()

    monkeypatch.setattr(_files, "_create_beside", create_beside)
    openai_emulator.faults.add(FaultRule("delay", "GET", CONTENT_PATH, delay=GUARD))
    task = asyncio.create_task(client.files.download(seeded_file[0], tmp_path / "data.bin"))
    async with asyncio.timeout(GUARD):
        await reached.wait()
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(made.wait, GUARD)

    assert os.listdir(tmp_path) == []
    ((fd, name),) = created
    with contextlib.suppress(FileNotFoundError):  # a closed descriptor has no entry
        assert os.readlink(f"/proc/self/fd/{fd}") != name, "the descriptor leaked"


async def test_download_into_a_missing_directory_fails_before_any_request(
    client: Client, openai_emulator: Emulator, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        await client.files.download("file-abc", tmp_path / "nope" / "out.bin")
    assert openai_emulator.requests == []


@pytest.mark.parametrize("name", ["nope/", "nope/.", "nope/out.bin"])
async def test_download_into_a_missing_folder_names_it_before_any_request(
    client: Client, openai_emulator: Emulator, tmp_path: Path, name: str
) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        await client.files.download("file-abc", f"{tmp_path}/{name}")

    assert str(caught.value.filename).rstrip("/.").endswith("nope")
    assert openai_emulator.requests == []
    assert os.listdir(tmp_path) == []  # no file named "nope"


@pytest.mark.parametrize("suffix", ["", "/", "/."])
async def test_download_onto_a_folder_fails_before_any_request(
    client: Client, openai_emulator: Emulator, tmp_path: Path, suffix: str
) -> None:
    with pytest.raises(IsADirectoryError):
        await client.files.download("file-abc", f"{tmp_path}{suffix}")

    assert openai_emulator.requests == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002], ids=lambda umask: f"umask-{umask:03o}")
async def test_a_download_gets_the_mode_of_any_new_file(
    client: Client, tmp_path: Path, seeded_file: tuple[str, bytes], umask: int
) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"an older copy")
    target.chmod(0o600)  # replaced, not kept: the download is a new file
    modes: set[int] = set()

    def look(done: int, total: int) -> None:
        # The file being written never has wider permissions than the finished one.
        [part] = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        modes.add(stat.S_IMODE(part.stat().st_mode))

    old = os.umask(umask)
    try:
        await client.files.download(seeded_file[0], target, on_progress=look)
        (tmp_path / "fresh").touch()
    finally:
        os.umask(old)

    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == expected
    assert stat.S_IMODE(target.stat().st_mode) == expected
    assert modes == {expected}
    assert target.read_bytes() == seeded_file[1]


async def test_download_reports_progress_up_to_the_size(
    client: Client, openai_emulator: Emulator, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    seeded = openai_emulator.store.put_file("big.bin", "batch_output", data)
    seen: list[tuple[int, int]] = []
    await client.files.download(
        seeded["id"],
        tmp_path / "big.bin",
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert len(seen) > 1
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert seen[-1] == (len(data), len(data))
    assert (tmp_path / "big.bin").read_bytes() == data
