"""``files list|upload|download|delete``: a round trip, listings, and progress on stderr."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from openai_batches import Client
from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, chat_line

pytestmark = pytest.mark.openai_emulator(clock=ManualClock())


async def test_upload_download_delete_round_trip(
    openai_emulator: Emulator, openai_client: Client, cli: CLI, tmp_path: Path
) -> None:
    source = tmp_path / "job.jsonl"
    source.write_bytes(b'{"custom_id": "a"}\n' * 5000)  # about 95 KiB

    upload = await cli("files", "upload", str(source), "--json", "--no-check")

    assert upload.code == 0, upload.err
    [file] = upload.json_lines()
    assert (file["filename"], file["purpose"], file["bytes"]) == ("job.jsonl", "batch", 95000)
    assert (await openai_client.files.retrieve(file["id"])).raw == file
    # Progress went to stderr as plain lines (stderr is a pipe, not a terminal).
    assert upload.err.splitlines()[-1] == "job.jsonl: uploaded 92.8 KiB/92.8 KiB (100%)"
    assert "\r" not in upload.err

    target = tmp_path / "copy.jsonl"
    download = await cli("files", "download", file["id"], "-o", str(target))

    assert download.code == 0, download.err
    assert target.read_bytes() == source.read_bytes()
    assert download.out == f"saved {file['id']} (95000 bytes) to {target}\n"
    assert "downloaded 92.8 KiB/92.8 KiB (100%)" in download.err

    again = await cli("files", "download", file["id"], "-o", str(target))
    assert again.code == 1
    assert "exists; pass --force" in again.err
    # Nothing replaced, and no temporary file left behind.
    assert sorted(os.listdir(tmp_path)) == ["copy.jsonl", "job.jsonl"]

    to_stdout = await cli("files", "download", file["id"], "-o", "-")
    assert to_stdout.out.encode() == source.read_bytes()

    deleted = await cli("files", "delete", file["id"])
    assert (deleted.code, deleted.out) == (0, f"deleted {file['id']}\n")
    gone = await cli("files", "delete", file["id"])
    assert gone.code == 3
    assert "HTTP 404" in gone.err


async def test_download_into_a_directory_uses_the_file_name(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    file = openai_emulator.store.put_file("notes.txt", "user_data", b"hello")

    run = await cli("files", "download", str(file["id"]), "-o", str(tmp_path))

    assert run.code == 0, run.err
    assert (tmp_path / "notes.txt").read_bytes() == b"hello"


async def test_a_batch_input_is_checked_and_refused_with_its_problems_by_line(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    source = tmp_path / "job.jsonl"
    lines = [chat_line("a"), chat_line("a"), {**chat_line("b"), "url": "/v1/embeddings"}]
    source.write_bytes(b"".join(orjson.dumps(each) + b"\n" for each in lines) + b"\nnot json\n")

    run = await cli("files", "upload", str(source))

    assert run.code == 1
    assert run.out == ""
    problems = run.err.splitlines()
    assert problems[:3] == [
        f"error: {source} cannot be a batch's input: 3 problems",
        "  line 2: duplicate custom_id 'a': lines 1 and 2 both use it",
        "  line 3: url '/v1/embeddings' differs from '/v1/chat/completions' of line 1; "
        "a batch has one endpoint",
    ]
    assert problems[3].startswith("  line 5: not JSON (")
    assert problems[4:] == [
        "nothing was uploaded: fix the file, or pass --no-check to upload it as it is"
    ]
    assert openai_emulator.requests == []  # nothing reached the server

    unchecked = await cli("files", "upload", str(source), "--no-check", "--json")

    assert unchecked.code == 0, unchecked.err
    [file] = unchecked.json_lines()
    assert (file["filename"], file["bytes"]) == ("job.jsonl", source.stat().st_size)

    # Only batch inputs are checked.
    notes = tmp_path / "notes.jsonl"
    notes.write_bytes(b"not json\n")
    other = await cli("files", "upload", str(notes), "--purpose", "user_data", "--json")
    assert other.code == 0, other.err
    assert other.json_lines()[0]["purpose"] == "user_data"


async def test_uploading_a_missing_file_exits_1(cli: CLI, tmp_path: Path) -> None:
    run = await cli("files", "upload", str(tmp_path / "nothing.jsonl"))

    assert run.code == 1
    assert "No such file" in run.err


async def test_list_filters_orders_and_limits(openai_emulator: Emulator, cli: CLI) -> None:
    store = openai_emulator.store
    now = openai_emulator.clock.now()
    batch_files = [
        store.put_file(f"in{i}.jsonl", "batch", b"{}\n", created_at=now - 100 + i) for i in range(3)
    ]
    store.put_file("notes.txt", "user_data", b"x", created_at=now - 50)

    table = await cli("files", "list", "--purpose", "batch", "--order", "asc")
    limited = await cli("files", "list", "--limit", "2", "--json")

    assert table.code == limited.code == 0
    header, *rows = table.out.splitlines()
    assert header.split() == ["ID", "PURPOSE", "BYTES", "CREATED", "FILENAME"]
    assert [row.split()[0] for row in rows] == [f["id"] for f in batch_files]
    assert rows[0].split()[1:3] == ["batch", "3"]
    assert [f["filename"] for f in limited.json_lines()] == ["notes.txt", "in2.jsonl"]
