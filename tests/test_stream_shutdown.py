"""An abandoned download is cleaned up when the loop shuts down, without errors."""

from __future__ import annotations

import asyncio
import sys

SCRIPT = """
import asyncio
from openai_batches.emulator import Emulator

async def main():
    async with Emulator() as emulator, emulator.client() as client:
        seeded = emulator.store.put_file("out.jsonl", "batch_output", b"x" * 1_000_000)
        content = client.files.content(seeded["id"], chunk_size=1000)
        await anext(content)  # left open, as when the consumer crashes mid-download
        raise SystemExit(7)

asyncio.run(main())
"""


async def test_abandoned_content_stream_closes_cleanly_at_shutdown() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-c",
        SCRIPT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 7
    assert b"didn't stop" not in err
    assert b"Traceback" not in err, err.decode()
