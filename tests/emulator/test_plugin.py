"""The pytest plugin, from a user's point of view.

The user's suite runs in a child pytest process: the fixtures come only from the installed
``pytest11`` entry point, as they would for anyone who installs the package. (``pytester``
cannot be enabled from this sub-directory's conftest: pytest refuses ``pytest_plugins`` in a
non-root conftest when the whole suite runs.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

USER_TESTS = """
import json

import openai_batches
import pytest
from openai_batches.emulator import Emulator, ManualClock


@pytest.mark.asyncio
async def test_fixtures(openai_emulator, openai_client):
    assert isinstance(openai_emulator, Emulator)
    assert isinstance(openai_client, openai_batches.Client)
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
    batch = openai_emulator.store.put_batch([line])
    openai_emulator.clock.advance(3600)
    fetched = await openai_client.batches.retrieve(batch["id"])
    assert fetched.status == "completed"


@pytest.mark.asyncio
@pytest.mark.openai_emulator(clock=ManualClock(start=1234), api_keys=["sk-mine"])
async def test_marker_configures_the_emulator(openai_emulator):
    assert openai_emulator.clock.now() == 1234
    assert openai_emulator.api_key == "sk-mine"
"""

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def run_pytest(
    directory: Path, *args: str, prelude: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    code = f"{prelude}import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "-q", "-p", "no:cacheprovider", *args, str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


def test_users_get_the_fixtures_by_installing_the_package(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_without_pytest_asyncio_the_fixtures_explain_themselves(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (tmp_path / "test_user.py").write_text("def test_it(openai_emulator):\n    pass\n")
    # Without autoloading, only our plugin is loaded, and pytest_asyncio cannot be imported.
    hide = "import sys; sys.modules['pytest_asyncio'] = None\n"
    result = run_pytest(
        tmp_path,
        "-p",
        "openai_batches.emulator._plugin",
        prelude=hide,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "need pytest-asyncio" in result.stdout


def test_importing_the_plugin_never_warns() -> None:
    code = "import openai_batches.emulator._plugin"
    for prelude in ("", "import sys; sys.modules['pytest_asyncio'] = None; "):
        subprocess.run(
            [sys.executable, "-W", "error", "-c", prelude + code], check=True, timeout=60
        )
