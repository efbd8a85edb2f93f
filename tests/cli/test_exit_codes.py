"""Exit codes: 0 ok, 2 usage, 3 API errors, 4 unsuccessful batches, 5 unfinished, 130 Ctrl-C."""

from __future__ import annotations

import asyncio
import signal

import pytest

from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, COMMAND, base_env, chat_line, run_cli

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
    run = await run_cli("batches", "list", env=base_env())

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

    refused = await run_cli("files", "list", env=env)
    accepted = await run_cli("files", "list", "--api-key", "sk-right", env=env)

    assert refused.code == 3
    assert "HTTP 401" in refused.err
    assert "request id: req_" in refused.err
    assert accepted.code == 0, accepted.err


async def test_the_base_url_flag_wins_over_the_environment(openai_emulator: Emulator) -> None:
    env = base_env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    run = await run_cli("batches", "list", "--base-url", openai_emulator.url, env=env)

    assert run.code == 0, run.err


async def test_no_answer_exits_3() -> None:
    # Port 9 (discard) is closed on test machines: the connection is refused.
    env = base_env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    run = await run_cli("batches", "list", "--max-retries", "0", env=env)

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
    assert f"openai-batches batches wait {batch['id']}" in run.err


async def test_a_passed_deadline_exits_5(openai_emulator: Emulator, cli: CLI) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])  # time stands still

    run = await cli("batches", "wait", str(batch["id"]), "--deadline", "0.2")

    assert run.code == 5
    assert "deadline" in run.err
    assert "validating" in run.out


async def test_ctrl_c_exits_130_and_leaves_the_batch_running(
    openai_emulator: Emulator, emulator_env: dict[str, str]
) -> None:
    batch = openai_emulator.store.put_batch([chat_line("a")])  # never finishes
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "batches",
        "wait",
        str(batch["id"]),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=emulator_env,
    )
    assert process.stderr is not None
    # The first progress line says the wait has started polling.
    first = await asyncio.wait_for(process.stderr.readline(), 30)
    assert b"validating" in first

    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 130
    assert b"still running" in err
    assert b"Traceback" not in err
    assert openai_emulator.store.batch(str(batch["id"])).status == "validating"


async def test_plain_http_to_another_machine_needs_the_flag(openai_emulator: Emulator) -> None:
    # 0.0.0.0 reaches this machine's emulator, but is not a loopback address by name.
    url = openai_emulator.url.replace("127.0.0.1", "0.0.0.0")
    env = base_env(OPENAI_API_KEY=openai_emulator.api_key, OPENAI_BASE_URL=url)

    refused = await run_cli("batches", "list", env=env)
    allowed = await run_cli("batches", "list", "--allow-insecure-http", env=env)

    assert refused.code == 2
    assert "--allow-insecure-http" in refused.err
    assert openai_emulator.api_key not in refused.err
    assert allowed.code == 0, allowed.err
