"""The documentation's complete example runs, and does what the docs say."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
EXAMPLE = EXAMPLES / "pipeline.py"


async def test_pipeline_example_runs_on_the_emulator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["TMPDIR"] = str(tmp_path)  # its default folder goes there, and is cleaned up
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(EXAMPLE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    text = out.decode()
    assert process.returncode == 0, err.decode()
    assert "completed" in text  # every state is checked on a manual clock in test_wait.py
    assert "q-3: echo: What is 3 squared?" in text
    assert "q-7 failed:" in text
    assert "succeeded=39, failed=1" in text
    assert "1 to re-submit" in text
    # The files it names still exist once it has ended.
    [line] = [line for line in text.splitlines() if "to re-submit in" in line]
    [retry] = [Path(p) for p in ast.literal_eval(line.split(" to re-submit in ", 1)[1])]
    assert retry.parent.parent.parent == tmp_path
    assert len(retry.read_bytes().splitlines()) == 1


async def test_job_example_is_interrupted_and_resumes() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(EXAMPLES / "job.py"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    text = out.decode()
    assert process.returncode == 0, err.decode()
    stopped = re.search(r"stopped: (\d+) pending, shards .*'submitted': \d", text)
    assert stopped, text  # where it stopped depends on timing; that it resumed does not
    assert 0 < int(stopped[1]) <= 600
    assert "done: 599 succeeded, 1 failed" in text
    assert "600 results, in input order: q-0 first" in text
    assert "q-7: Emulated failure: status 400" in text
