"""``python -m openai_batches.emulator`` serves until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import aiohttp
import pytest

from openai_batches.emulator import add_arguments, main, run


def test_arguments_and_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.speed, args.storage_dir, args.api_keys) == (
        "127.0.0.1",
        8000,
        1.0,
        None,
        None,
    )
    args = parser.parse_args(["--api-key", "a", "--api-key", "b", "--speed", "60"])
    assert args.api_keys == ["a", "b"]
    assert args.speed == 60
    assert callable(run)
    assert callable(main)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_serves_until_interrupted(signum: signal.Signals) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-m",
        "openai_batches.emulator",
        "--port",
        "0",
        "--api-key",
        "sk-cli",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        url = line.split()[-1]
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        headers = {"Authorization": "Bearer sk-cli"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(url + "/batches") as response,
        ):
            assert response.status == 200
            assert (await response.json())["object"] == "list"
        process.send_signal(signum)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"stopped" in stdout
    assert stderr == b""


def test_port_in_use_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert "error" in capsys.readouterr().err
