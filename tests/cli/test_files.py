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
    # The permissions any new file gets (0666 less the umask), not mkstemp's 0600.
    (tmp_path / "fresh").touch()
    assert target.stat().st_mode == (tmp_path / "fresh").stat().st_mode
    (tmp_path / "fresh").unlink()

    openai_emulator.requests.clear()
    again = await cli("files", "download", file["id"], "-o", str(target))
    assert again.code == 1
    # Refused before any request, so before any progress line.
    assert again.err == f"error: File exists; pass --force to replace it: {target}\n"
    assert openai_emulator.requests == []
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


async def test_download_to_a_positional_path(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    file = openai_emulator.store.put_file("notes.txt", "user_data", b"hello")
    target = tmp_path / "out.txt"

    run = await cli("files", "download", str(file["id"]), str(target))
    both = await cli("files", "download", str(file["id"]), str(target), "-o", str(target))

    assert run.code == 0, run.err
    assert target.read_bytes() == b"hello"
    assert both.code == 2
    assert "give the output path once" in both.err


@pytest.mark.parametrize(
    ("where", "folder"),
    [("missing-dir/", "missing-dir/"), ("missing-dir/out.txt", "missing-dir")],
)
@pytest.mark.parametrize("flag", [["-o"], []], ids=["-o", "positional"])
async def test_download_into_a_missing_folder_names_it_before_any_request(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path, where: str, folder: str, flag: list[str]
) -> None:
    file = openai_emulator.store.put_file("notes.txt", "user_data", b"hello")
    openai_emulator.requests.clear()

    run = await cli("files", "download", str(file["id"]), *flag, f"{tmp_path}/{where}")

    assert run.code == 1
    assert run.err == f"error: No such folder: {tmp_path}/{folder}\n"
    assert openai_emulator.requests == []
    assert os.listdir(tmp_path) == []  # in particular, no file named missing-dir


async def test_download_into_a_folder_refuses_an_existing_file_before_progress(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    file = openai_emulator.store.put_file("notes.txt", "user_data", b"hello")
    (tmp_path / "notes.txt").write_bytes(b"mine")

    run = await cli("files", "download", str(file["id"]), "-o", f"{tmp_path}/")

    assert run.code == 1
    assert run.err == f"error: File exists; pass --force to replace it: {tmp_path}/notes.txt\n"
    assert not any(r.path.endswith("/content") for r in openai_emulator.requests)
    assert (tmp_path / "notes.txt").read_bytes() == b"mine"


async def test_uploading_a_missing_file_exits_1(cli: CLI, tmp_path: Path) -> None:
    run = await cli("files", "upload", str(tmp_path / "nothing.jsonl"))

    assert run.code == 1
    assert run.err == f"error: No such file or directory: {tmp_path / 'nothing.jsonl'}\n"


async def test_uploading_a_folder_fails_before_progress(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    run = await cli("files", "upload", str(tmp_path))

    assert run.code == 1
    assert run.err == f"error: Is a directory, not a file to upload: {tmp_path}\n"
    assert openai_emulator.requests == []


async def test_empty_listings_say_so(openai_emulator: Emulator, cli: CLI) -> None:
    files = await cli("files", "list", "--purpose", "batch")
    batches = await cli("batches", "list")
    as_json = await cli("files", "list", "--json")
    only = openai_emulator.store.put_file("notes.txt", "user_data", b"x")
    after = await cli("files", "list", "--after", str(only["id"]))

    assert (files.code, files.out, files.err) == (0, "", "no files with purpose batch\n")
    assert (batches.code, batches.out, batches.err) == (0, "", "no batches\n")
    assert (as_json.code, as_json.out, as_json.err) == (0, "", "")
    assert (after.code, after.out, after.err) == (0, "", f"no files after {only['id']}\n")


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
