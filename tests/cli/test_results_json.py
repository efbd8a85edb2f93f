"""``batches results --json``: what docs/cli.md says it prints."""

from __future__ import annotations

import json

import orjson
import pytest

from openai_batches.emulator import Emulator, ManualClock

from .conftest import CLI, chat_line


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_results_json_writes_each_line_out_again_compactly(
    openai_emulator: Emulator, cli: CLI
) -> None:
    lines = [chat_line("ok", "hi"), chat_line("bad", "no [[fail:400]]")]
    batch = openai_emulator.store.put_batch(lines)
    assert isinstance(openai_emulator.clock, ManualClock)
    openai_emulator.clock.advance(60)
    openai_emulator.store.advance()  # the batch's files are written as time is replayed
    done = openai_emulator.store.batch(str(batch["id"]))
    in_files = [
        line
        for file_id in (done.output_file_id, done.error_file_id)
        if file_id is not None
        for line in openai_emulator.store.file(file_id).blob.read().splitlines()
    ]

    run = await cli("batches", "results", str(batch["id"]), "--json")

    assert run.code == 0, run.err
    printed = run.out.encode().splitlines()
    assert len(printed) == len(in_files) == 2
    # The same keys in the same order, and the same values...
    assert printed == [orjson.dumps(json.loads(line)) for line in in_files]
    # ...but not the file's bytes (the emulator writes `json.dumps`'s spaced form).
    assert printed != in_files
