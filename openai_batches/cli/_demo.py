"""``openai-batches demo``: the whole batch workflow, by default against the built-in emulator.

The emulator runs in this process on a free port, so the demo needs no key and spends
nothing; ``--live`` runs the same steps against the real API (with the key and options
of the other commands, and five requests unless told otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .. import Batch, BatchRequest, Client, Polling, RequestWriter, write_requests
from ._app import (
    ExitCode,
    add_common_options,
    command_for,
    make_client,
    non_negative_float,
    positive_int,
    take,
)
from ._batch_commands import wait_with_progress
from ._output import BATCH_COLUMNS, FILE_COLUMNS, Output, batch_row, file_row
from ._progress import Progress
from ._results_view import answer_text, result_row
from ._transfer import upload

if TYPE_CHECKING:
    from ._app import Subparsers

__all__ = ["register", "requests"]

_ENDPOINT = "/v1/chat/completions"
_TOPICS = ("tides", "volcanoes", "comets", "glaciers", "coral reefs", "auroras", "deserts")


def register(commands: Subparsers) -> None:
    """Add ``demo``."""
    parser = commands.add_parser(
        "demo",
        help="run the whole workflow against the built-in emulator (no key needed)",
        description=(
            "Write a job of chat-completion requests, upload it, create a batch, wait for "
            "it, join its results to the requests, rebuild the failed ones, and list what "
            "was made. Uses the built-in emulator unless --live is given, even when "
            "OPENAI_API_KEY is set."
        ),
    )
    add_common_options(parser, json=False)
    parser.add_argument(
        "--requests",
        type=positive_int,
        metavar="N",
        help="requests in the job (default 300; 5 with --live)",
    )
    parser.add_argument(
        "--dir", type=Path, help="where to write the JSONL files (default: a new temp directory)"
    )
    parser.add_argument(
        "--speed",
        type=non_negative_float,
        default=1.0,
        help="the emulator's emulated seconds per real second (default %(default)s)",
    )
    parser.add_argument("--model", default="gpt-4o-mini", help="(default %(default)s)")
    parser.add_argument(
        "--live", action="store_true", help="use the real API (costs money; needs a key)"
    )
    parser.set_defaults(run=run)


def requests(count: int, model: str, *, failures: bool) -> Iterator[BatchRequest]:
    """The demo's job: ``count`` chat requests; with ``failures``, every 50th will fail."""
    for i in range(count):
        prompt = f"In one sentence, what causes {_TOPICS[i % len(_TOPICS)]}? (question {i})"
        if failures and i % 50 == 49:
            # The emulator answers this request 400, so the error path shows.
            prompt += " [[fail:400]]"
        yield BatchRequest(
            custom_id=f"question-{i:04d}",
            url=_ENDPOINT,
            body={"model": model, "messages": [{"role": "user", "content": prompt}]},
        )


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit code."""
    return asyncio.run(_main(args))


async def _main(args: argparse.Namespace) -> int:
    out = Output()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="openai-batches-demo-"))
    if args.live:
        count = args.requests or 5
        async with make_client(args) as client:
            out.write(f"Using the real API at {client.base_url} ({count} requests).")
            return await _pipeline(client, out, directory, count, args.model, live=True)
    from ..emulator import Emulator, Timing

    if os.environ.get("OPENAI_API_KEY"):
        out.write("OPENAI_API_KEY is set, but the demo uses the emulator; --live uses the API.")
    # The emulator counts validating from the start of the second the batch was created
    # in; a longer validating keeps that state on screen for at least half a second.
    timing = Timing(validating=1.5)
    emulator = Emulator(port=0, speed=args.speed, timing=timing)
    async with emulator, emulator.client() as client:
        out.write(f"Emulator serving at {emulator.url} (no API key needed).")
        count = args.requests or 300
        return await _pipeline(client, out, directory, count, args.model, live=False)


class _Steps:
    """Numbered step headings with the time since the demo started."""

    def __init__(self, out: Output, total: int) -> None:
        self.out, self.total, self.number = out, total, 0
        self.started = time.monotonic()

    def __call__(self, title: str) -> None:
        self.number += 1
        elapsed = time.monotonic() - self.started
        self.out.write(f"\n[{self.number}/{self.total}] {title}  (+{elapsed:.1f}s)")


async def _pipeline(
    client: Client, out: Output, directory: Path, count: int, model: str, *, live: bool
) -> int:
    step = _Steps(out, 7)
    step(f"Writing {count} chat-completion requests as JSONL")
    job = list(requests(count, model, failures=not live))
    shards = await write_requests(job, directory, prefix="demo-requests-")
    path = shards[0].path
    assert path is not None
    out.write(f"  {path} ({shards[0].size:,} bytes)")

    step("Uploading it (progress on stderr)")
    file = await upload(client, path, purpose="batch")
    out.table(FILE_COLUMNS, [file_row(file)])

    step("Creating the batch (duplicate-safe: retries never make a second batch)")
    created = await client.batches.create(
        input_file_id=file.id, endpoint=_ENDPOINT, metadata={"created_by": "openai-batches demo"}
    )
    out.table(BATCH_COLUMNS, [batch_row(created)])

    if live:
        step("Waiting for it to finish (progress on stderr; Ctrl-C leaves it running)")
        polling = Polling(interval=5.0, max_interval=60.0)
        interrupted = None  # the batch runs on: say how to resume the wait
    else:
        step("Waiting for it to finish (progress on stderr)")
        polling = Polling(0.1, 0.25)
        interrupted = f"batch {created.id} stops with the demo's emulator; nothing is left running"
    progress = Progress(created.id, every=5.0 if live else 0.5)
    batch = await wait_with_progress(
        client, created.id, polling=polling, progress=progress, interrupted=interrupted
    )
    out.table(BATCH_COLUMNS, [batch_row(batch)])
    if batch.status != "completed":
        print(f"batch {batch.id} ended {batch.status.value}", file=sys.stderr)
        return ExitCode.BATCH_UNSUCCESSFUL

    step("Streaming the results and joining them to the requests by custom_id")
    await _summarise(client, out, batch, job)

    step("Rebuilding the failed requests as a JSONL file to re-submit")
    writer = RequestWriter(directory, prefix="demo-retry-")
    with writer:
        summary = await client.batches.rebuild_failed(batch, writer, job)
    retry = writer.shards
    if retry and retry[0].path is not None:
        out.write(f"  {summary.failed} failed request(s) written to {retry[0].path}")
        upload_again = ("files", "upload", str(retry[0].path))
        resubmit = (
            command_for(client, *upload_again)
            if live
            else shlex.join(["openai-batches", *upload_again])
        )
        out.write(f"  re-submit: {resubmit}")
    else:
        out.write("  nothing failed")

    step("Listing batches and files")
    batches = [batch_row(b) async for b in take(client.batches.list(limit=5), 5)]
    out.table(BATCH_COLUMNS, batches)
    out.write()
    files = [file_row(f) async for f in take(client.files.list(limit=10), 10)]
    out.table(FILE_COLUMNS, files)
    out.write(f"\nDone in {time.monotonic() - step.started:.1f}s; files kept in {directory}")
    return ExitCode.OK


async def _summarise(client: Client, out: Output, batch: Batch, job: list[BatchRequest]) -> None:
    join = client.batches.join(batch, job)
    samples: list[tuple[str, str, str]] = []
    failures: list[tuple[str, str, str]] = []
    async for request, result in join:
        if result.succeeded and len(samples) < 3 and result.response is not None:
            question = request.body["messages"][-1]["content"]
            samples.append((result.custom_id, question, answer_text(result.response.body)))
        elif not result.succeeded and len(failures) < 3:
            failures.append(result_row(result))
    summary = join.summary
    out.write(f"  {summary.succeeded} succeeded, {summary.failed} failed, of {len(job)}")
    if summary.missing:
        out.write(f"  {len(summary.missing)} request(s) got no result")
    if batch.usage is not None:
        u = batch.usage
        out.write(f"  tokens: {u.input_tokens:,} in + {u.output_tokens:,} out = {u.total_tokens:,}")
    out.write("\n  Sample answers:")
    out.table(("  CUSTOM_ID", "QUESTION", "ANSWER"), [(f"  {a}", b, c) for a, b, c in samples])
    if failures:
        out.write("\n  Sample failures:")
        out.table(("  CUSTOM_ID", "STATUS", "ERROR"), [(f"  {a}", b, c) for a, b, c in failures])
