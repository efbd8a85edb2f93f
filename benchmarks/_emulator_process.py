"""Run the emulator in a child process with disk storage, for the file benchmarks.

A separate process keeps the server's work off the measured event loop and out of the
measured process's memory.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def emulator_process(storage_dir: str, *options: str) -> Iterator[str]:
    """Start ``python -m openai_batches.emulator`` on a free port; yield its base URL."""
    command = [sys.executable, "-m", "openai_batches.emulator", "--port", "0"]
    command += ["--storage-dir", storage_dir, "--api-key", "sk-bench", *options]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "serving at" not in line:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
