"""Run ``openai-batches`` against an emulator served on the test's loop.

The emulator (the ``openai_emulator`` fixture) answers on this process's event loop, so the
command runs either as a subprocess awaited with asyncio's subprocess API (`run_cli`), or
in this process through ``main(argv)`` in a worker thread (`run_main`, much cheaper: no
interpreter to start), never with a blocking call on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any
from unittest import mock

import attrs
import orjson
import pytest

from openai_batches.emulator import Emulator

COMMAND = (sys.executable, "-m", "openai_batches.cli")
_TIMEOUT = 60


@attrs.frozen
class Run:
    """A finished command: its exit code and output."""

    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, Any]]:
        """stdout as JSON lines."""
        return [orjson.loads(line) for line in self.out.splitlines()]


def base_env(**extra: str) -> dict[str, str]:
    """The environment without any OpenAI settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(extra)
    return env


async def run_cli(*args: str, env: Mapping[str, str]) -> Run:
    """Run the command with ``args`` and wait for it (stdin closed, output captured)."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
    )
    out, err = await asyncio.wait_for(process.communicate(), _TIMEOUT)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def _main_in_thread(args: tuple[str, ...], env: dict[str, str]) -> Run:
    from openai_batches.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    out_text = io.TextIOWrapper(out, encoding="utf-8")
    err_text = io.TextIOWrapper(err, encoding="utf-8")
    with (
        mock.patch.dict(os.environ, env, clear=True),
        contextlib.redirect_stdout(out_text),
        contextlib.redirect_stderr(err_text),
    ):
        code = main(args)
    out_text.flush()
    err_text.flush()
    return Run(code, out.getvalue().decode(), err.getvalue().decode())


async def run_main(*args: str, env: Mapping[str, str]) -> Run:
    """Run ``main(args)`` in a worker thread, with ``env`` as the whole environment.

    stdout and stderr are captured (stdout has a binary ``buffer``, as the real one has);
    the event loop of the test goes on serving the emulator meanwhile. Calls must not
    overlap: the redirected streams, the environment and the working folder are the
    process's own.
    """
    return await asyncio.wait_for(asyncio.to_thread(_main_in_thread, args, dict(env)), _TIMEOUT)


CLI = Callable[..., Coroutine[Any, Any, Run]]


@pytest.fixture
def emulator_env(openai_emulator: Emulator) -> dict[str, str]:
    """An environment pointing the command at the test's emulator."""
    return base_env(OPENAI_API_KEY=openai_emulator.api_key, OPENAI_BASE_URL=openai_emulator.url)


@pytest.fixture
def cli(emulator_env: dict[str, str]) -> CLI:
    """``await cli("batches", "list")``: run the command in process against the test's emulator."""

    async def call(*args: str, env: Mapping[str, str] | None = None) -> Run:
        return await run_main(*args, env=emulator_env if env is None else env)

    return call


def chat_line(custom_id: str, text: str = "hello") -> dict[str, Any]:
    """One chat-completion request line."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
    }
