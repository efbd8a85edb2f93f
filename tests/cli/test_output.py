"""Tables, timestamps and progress, in process."""

from __future__ import annotations

import io

from openai_batches import Client
from openai_batches.cli._app import command_for
from openai_batches.cli._output import Output, timestamp
from openai_batches.cli._progress import Progress, format_bytes


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_timestamps_are_utc_iso() -> None:
    assert timestamp(1_700_000_000) == "2023-11-14T22:13:20Z"
    assert timestamp(None) == "-"


def test_tables_align_columns_to_the_widest_cell() -> None:
    stream = io.StringIO()

    Output(stream=stream).table(("ID", "N"), [("a", "1"), ("longer", "22")])

    assert stream.getvalue() == "ID      N\na       1\nlonger  22\n"


def test_json_mode_prints_nothing_but_json() -> None:
    stream = io.StringIO()
    out = Output(json=True, stream=stream)

    out.write("for people")
    out.json_line({"id": "x", "n": 1})

    assert stream.getvalue() == '{"id":"x","n":1}\n'


def test_plain_progress_prints_status_changes_and_at_most_every_interval() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress("b", stream=stream, tty=False, every=2.0, clock=clock)

    progress.update(0, total=10, status="in_progress")
    progress.update(1)  # too soon: not printed
    clock.now = 2.5
    progress.update(3)
    progress.update(10, status="finalizing")  # a new status: printed at once
    progress.finish(status="completed")

    assert stream.getvalue().splitlines() == [
        "b: in_progress 0/10 (0%)",
        "b: in_progress 3/10 (30%)",
        "b: finalizing 10/10 (100%)",
        "b: completed 10/10 (100%)",
    ]


def test_terminal_progress_redraws_one_line() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress("f", total=2048, unit="bytes", stream=stream, tty=True, clock=clock)

    progress.update(1024, status="uploading")
    clock.now = 1.0
    progress.finish(status="uploaded")

    text = stream.getvalue()
    assert text.count("\n") == 1
    assert text.endswith("\n")
    assert "\r[##############--------------] f: uploading 1.0 KiB/2.0 KiB (50%)\x1b[K" in text
    assert "f: uploaded 1.0 KiB/2.0 KiB (50%)" in text


def test_byte_sizes() -> None:
    assert [format_bytes(n) for n in (512, 1536, 20 * 1024**2)] == ["512 B", "1.5 KiB", "20.0 MiB"]


def test_commands_to_run_later_keep_the_server_and_project_never_the_key() -> None:
    default = Client("sk-secret")
    elsewhere = Client(
        "sk-secret",
        base_url="http://user:pw@proxy.local:8080/v1",
        organization="org-1",
        project="my project",
        allow_insecure_http=True,
    )
    secure = Client("sk-secret", base_url="https://proxy.local/v1")

    assert command_for(default, "batches", "wait", "batch_1") == (
        "openai-batches batches wait batch_1"
    )
    assert command_for(elsewhere, "batches", "wait", "batch_1") == (
        "openai-batches batches wait batch_1 --base-url http://user@proxy.local:8080/v1 "
        "--allow-insecure-http --organization org-1 --project 'my project'"
    )
    assert command_for(secure, "batches", "wait", "batch_1") == (
        "openai-batches batches wait batch_1 --base-url https://proxy.local/v1"
    )
