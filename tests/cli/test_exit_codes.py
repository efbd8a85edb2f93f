"""Exit codes: 0 ok, 2 usage, 3 API errors, 4 unsuccessful batches, 5 unfinished, 130 Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from openai_batches import BatchInputError, JSONLError
from openai_batches.cli import _app
from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, COMMAND, Run, base_env, chat_line, run_main

if TYPE_CHECKING:
    from openai_batches.cli._app import Subparsers

pytestmark = pytest.mark.openai_emulator(clock=ManualClock())


@pytest.mark.parametrize(
    "args",
    [
        ["bogus"],
        ["batches", "list", "--limit", "0"],
        ["batches", "list", "--limit", "many"],
        ["files", "list", "--order", "sideways"],
        ["batches", "get"],
        ["batches"],
        [],
    ],
)
async def test_usage_errors_exit_2(cli: CLI, args: list[str]) -> None:
    run = await cli(*args)

    assert run.code == 2
    assert run.out == ""
    assert "usage:" in run.err
    assert "Traceback" not in run.err


async def test_a_missing_key_exits_2_with_a_clear_message() -> None:
    run = await run_main("batches", "list", env=base_env())

    assert run.code == 2
    assert "no API key" in run.err
    assert "OPENAI_API_KEY" in run.err
    assert "Traceback" not in run.err


async def test_an_argument_the_library_refuses_exits_2(cli: CLI) -> None:
    run = await cli("batches", "create", "file-abc", "--endpoint", "chat")

    assert run.code == 2
    assert "endpoint must be an API path" in run.err


async def test_not_found_exits_3_with_the_request_id(openai_emulator: Emulator, cli: CLI) -> None:
    run = await cli("batches", "get", "batch_nope")

    assert run.code == 3
    assert run.out == ""
    request_id = openai_emulator.requests[-1].request_id
    assert run.err.splitlines() == [
        "error: HTTP 404: No batch found with id 'batch_nope'.",
        f"request id: {request_id}",
    ]


@pytest.mark.openai_emulator(clock=ManualClock(), api_keys=["sk-right"])
async def test_the_key_flag_wins_over_the_environment(
    openai_emulator: Emulator, emulator_env: dict[str, str]
) -> None:
    env = {**emulator_env, "OPENAI_API_KEY": "sk-wrong"}

    refused = await run_main("files", "list", env=env)
    accepted = await run_main("files", "list", "--api-key", "sk-right", env=env)

    assert refused.code == 3
    assert "HTTP 401" in refused.err
    assert "request id: req_" in refused.err
    assert accepted.code == 0, accepted.err


async def test_the_base_url_flag_wins_over_the_environment(openai_emulator: Emulator) -> None:
    env = base_env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    run = await run_main("batches", "list", "--base-url", openai_emulator.url, env=env)

    assert run.code == 0, run.err


async def test_no_answer_exits_3() -> None:
    # Port 9 (discard) is closed on test machines: the connection is refused.
    env = base_env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    run = await run_main("batches", "list", "--max-retries", "0", env=env)

    assert run.code == 3
    assert run.err.startswith("error: ")
    assert "Traceback" not in run.err


def failed_batch(emulator: Emulator) -> str:
    """A batch whose input fails validation (two urls), once validating is over."""
    other = {**chat_line("b"), "url": "/v1/embeddings"}
    batch = emulator.store.put_batch([chat_line("a"), other])
    assert isinstance(emulator.clock, ManualClock)
    emulator.clock.advance(60)
    return str(batch["id"])


async def test_waiting_for_a_failed_batch_exits_4(openai_emulator: Emulator, cli: CLI) -> None:
    batch_id = failed_batch(openai_emulator)

    run = await cli("batches", "wait", batch_id)

    assert run.code == 4
    assert dict(line.split(None, 1) for line in run.out.splitlines())["status"] == "failed"
    assert f"batch {batch_id} ended failed" in run.err


async def test_results_of_a_failed_batch_exit_4(openai_emulator: Emulator, cli: CLI) -> None:
    batch_id = failed_batch(openai_emulator)

    run = await cli("batches", "results", batch_id)

    assert run.code == 4
    assert f"batch {batch_id} failed; it has no results" in run.err
    assert "line 2" in run.err


async def test_results_of_a_running_batch_exit_5(openai_emulator: Emulator, cli: CLI) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])

    run = await cli("batches", "results", str(batch["id"]))

    assert run.code == 5
    assert "validating" in run.err
    # The command to run next talks to the same server as this one did.
    resume = f"openai-batches batches wait {batch['id']} --base-url {openai_emulator.url}"
    assert f"({resume})" in run.err


async def test_rebuilding_into_a_missing_folder_fails_before_any_request(
    openai_emulator: Emulator, cli: CLI, tmp_path: Path
) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a", "no [[fail:400]]")])
    assert isinstance(openai_emulator.clock, ManualClock)
    openai_emulator.clock.advance(60)
    openai_emulator.requests.clear()

    run = await cli(
        "batches", "results", str(batch["id"]), "--rebuild-failed", f"{tmp_path}/missing/r.jsonl"
    )
    folder = await cli("batches", "results", str(batch["id"]), "--rebuild-failed", f"{tmp_path}/")

    assert (run.code, run.out) == (1, "")
    assert run.err == f"error: No such folder: {tmp_path}/missing\n"
    assert (folder.code, folder.out) == (1, "")
    assert folder.err == f"error: A folder, not a file to write: {tmp_path}/\n"
    assert openai_emulator.requests == []


def outcome(run: Run, batch_id: str) -> list[str]:
    """The lines of stderr that are not progress lines."""
    return [line for line in run.err.splitlines() if not line.startswith(f"{batch_id}: ")]


async def test_a_passed_deadline_exits_5(openai_emulator: Emulator, cli: CLI) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])  # time stands still
    batch_id = str(batch["id"])

    run = await cli("batches", "wait", batch_id, "--deadline", "0.05", "--poll-interval", "0.01")

    assert run.code == 5
    assert outcome(run, batch_id) == [
        f"batch {batch_id} is still validating after the 0.05 s deadline; wait again with: "
        f"openai-batches batches wait {batch_id} --base-url {openai_emulator.url}"
    ]
    assert dict(line.split(None, 1) for line in run.out.splitlines())["status"] == "validating"


async def test_a_deadline_that_cancels_prints_one_outcome(
    openai_emulator: Emulator, cli: CLI
) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])  # time stands still
    batch_id = str(batch["id"])

    run = await cli(
        "batches",
        "wait",
        batch_id,
        "--deadline",
        "0.05",
        "--cancel-at-deadline",
        "--poll-interval",
        "0.01",
    )

    assert run.code == 5
    assert outcome(run, batch_id) == [
        f"batch {batch_id} was not finished at the 0.05 s deadline, so it was cancelled "
        f"(now cancelling); see it stop with: "
        f"openai-batches batches wait {batch_id} --base-url {openai_emulator.url}"
    ]
    assert dict(line.split(None, 1) for line in run.out.splitlines())["status"] == "cancelling"
    assert openai_emulator.store.batch(batch_id).status == "cancelling"


@pytest.mark.parametrize(
    "error",
    [
        JSONLError("not JSON", source="job.jsonl", line=3),
        BatchInputError("custom_id 'a' twice", code="duplicate_custom_id", custom_id="a", index=1),
    ],
    ids=["JSONLError", "BatchInputError"],
)
def test_bad_local_input_exits_1(error: Exception, capsys: pytest.CaptureFixture[str]) -> None:
    # A command that meets the user's own malformed requests (files upload checks them).
    def register(commands: Subparsers) -> None:
        def run(args: argparse.Namespace) -> int:
            raise error

        commands.add_parser("check").set_defaults(run=run)

    code = _app.main(["check"], [register])

    assert code == 1
    assert capsys.readouterr().err == f"error: {error}\n"


@pytest.mark.openai_emulator(clock=ManualClock(), api_keys=["sk-secret-key"])
async def test_ctrl_c_exits_130_and_leaves_the_batch_running(openai_emulator: Emulator) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])  # never finishes
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "batches",
        "wait",
        str(batch["id"]),
        "--base-url",
        openai_emulator.url,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=base_env(OPENAI_API_KEY="sk-secret-key"),
    )
    assert process.stderr is not None
    # The first progress line says the wait has started polling.
    first = await asyncio.wait_for(process.stderr.readline(), 30)
    assert b"validating" in first

    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 130
    # The command to resume talks to the same server, and never shows the key.
    resume = f"openai-batches batches wait {batch['id']} --base-url {openai_emulator.url}"
    assert f"is still running; wait again with: {resume}\n".encode() in err
    assert b"sk-secret" not in err
    assert b"Traceback" not in err
    assert openai_emulator.store.batch(str(batch["id"])).status == "validating"


async def test_plain_http_to_another_machine_needs_the_flag(openai_emulator: Emulator) -> None:
    # 0.0.0.0 reaches this machine's emulator, but is not a loopback address by name.
    url = openai_emulator.url.replace("127.0.0.1", "0.0.0.0")
    env = base_env(OPENAI_API_KEY=openai_emulator.api_key, OPENAI_BASE_URL=url)

    refused = await run_main("batches", "list", env=env)
    allowed = await run_main("batches", "list", "--allow-insecure-http", env=env)

    assert refused.code == 2
    assert "--allow-insecure-http" in refused.err
    assert openai_emulator.api_key not in refused.err
    assert allowed.code == 0, allowed.err
