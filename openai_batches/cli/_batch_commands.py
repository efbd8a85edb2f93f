"""``openai-batches batches ...``: list, get, cancel, create, wait, results."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from .. import Batch, Client, Polling, WaitTimeoutError
from .._batches import ENDPOINTS
from ._app import (
    ExitCode,
    UsageError,
    command_for,
    command_group,
    non_negative_float,
    positive_int,
    take,
)
from ._output import BATCH_COLUMNS, Output, batch_row
from ._progress import Progress, on_batch_progress

if TYPE_CHECKING:
    from ._app import Subparsers

__all__ = ["register", "wait_with_progress"]


def register(commands: Subparsers) -> None:
    """Add ``batches`` and its sub-commands."""
    command = command_group(commands, "batches", "list, inspect, create, wait for batches")

    p = command("list", list_batches, "list batches, newest first")
    p.add_argument("--limit", type=positive_int, default=20, help="batches to show (default 20)")
    p.add_argument("--after", metavar="BATCH_ID", help="start after this batch")

    p = command("get", get_batch, "show a batch")
    p.add_argument("batch_id")

    p = command("cancel", cancel_batch, "cancel a batch")
    p.add_argument("batch_id")
    p.add_argument("--wait", action="store_true", help="wait until it has stopped")

    p = command("create", create_batch, "start a batch on an uploaded input file")
    p.add_argument("input_file_id", help="a file uploaded with purpose batch")
    p.add_argument(
        "--endpoint",
        default="/v1/chat/completions",
        help=f"one of {', '.join(sorted(ENDPOINTS))} (default %(default)s)",
    )
    p.add_argument("--completion-window", default="24h", help="(default %(default)s)")
    p.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a metadata pair (repeatable)",
    )
    p.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="retrying with the same key returns the same batch (default: a fresh one)",
    )
    p.add_argument("--wait", action="store_true", help="then wait for it to finish")
    _add_wait_options(p)

    p = command("wait", wait_batch, "wait until a batch finishes, showing progress on stderr")
    p.add_argument("batch_id")
    _add_wait_options(p)

    p = command("results", show_results, "show a finished batch's results")
    p.add_argument("batch_id")
    p.add_argument("--failed", action="store_true", help="only the failed requests")
    p.add_argument(
        "--rebuild-failed",
        metavar="PATH",
        help="write the requests that failed or never ran to PATH, a JSONL file to re-submit",
    )


def _add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deadline",
        type=non_negative_float,
        metavar="SECONDS",
        help="stop waiting after this long (exit code 5)",
    )
    parser.add_argument(
        "--cancel-at-deadline", action="store_true", help="cancel the batch at the deadline"
    )
    parser.add_argument(
        "--poll-interval",
        type=non_negative_float,
        default=1.0,
        metavar="SECONDS",
        help="the first pause between polls; it grows while nothing changes (default 1)",
    )


async def list_batches(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Print up to ``--limit`` batches, newest first."""
    batches = client.batches.list(limit=min(args.limit, 100), after=args.after)
    empty = f"no batches after {args.after}" if args.after else "no batches"
    await out.listing(take(batches, args.limit), BATCH_COLUMNS, batch_row, empty=empty)
    return ExitCode.OK


async def get_batch(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Print one batch."""
    out.batch(await client.batches.retrieve(args.batch_id))
    return ExitCode.OK


async def cancel_batch(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Cancel a batch; print it as the API answered, or once stopped with ``--wait``."""
    if not args.wait:
        out.batch(await client.batches.cancel(args.batch_id))
        return ExitCode.OK
    progress = Progress(args.batch_id)
    batch = await client.batches.cancel_and_wait(
        args.batch_id, on_progress=on_batch_progress(progress), polling=_polling(1.0)
    )
    progress.finish()
    out.batch(batch)
    return ExitCode.OK


async def create_batch(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Create a batch (duplicate-safe), and wait for it with ``--wait``."""
    metadata = {}
    for pair in args.metadata:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--metadata takes KEY=VALUE, got {pair!r}")
        metadata[key] = value
    kwargs = {} if args.idempotency_key is None else {"idempotency_key": args.idempotency_key}
    batch = await client.batches.create(
        input_file_id=args.input_file_id,
        endpoint=args.endpoint,
        completion_window=args.completion_window,
        metadata=metadata or None,
        **kwargs,
    )
    if not args.wait:
        out.batch(batch)
        return ExitCode.OK
    return await _wait_and_print(client, batch.id, args, out)


async def wait_batch(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Wait for a batch, then print it; exit code 4 unless it completed."""
    return await _wait_and_print(client, args.batch_id, args, out)


def _polling(interval: float) -> Polling:
    interval = max(interval, 0.01)
    return Polling(interval=interval, max_interval=max(interval, 30.0))


async def wait_with_progress(
    client: Client,
    batch_id: str,
    *,
    deadline: float | None = None,
    cancel_at_deadline: bool = False,
    polling: Polling | None = None,
    progress: Progress | None = None,
    interrupted: str | None = None,
) -> Batch:
    """Wait for a batch, drawing its progress on stderr.

    On Ctrl-C the batch is left running and ``interrupted`` is printed; by default, the
    command that resumes the wait.
    """
    progress = progress or Progress(batch_id)
    try:
        batch = await client.batches.wait(
            batch_id,
            deadline=deadline,
            cancel_at_deadline=cancel_at_deadline,
            on_progress=on_batch_progress(progress),
            polling=polling or _polling(1.0),
        )
    except asyncio.CancelledError:  # Ctrl-C
        progress.finish()
        if interrupted is None:
            resume = command_for(client, "batches", "wait", batch_id)
            interrupted = f"batch {batch_id} is still running; wait again with: {resume}"
        print(interrupted, file=sys.stderr)
        raise
    except BaseException:
        progress.finish()  # the caller reports what happened (a deadline, an error)
        raise
    progress.finish()
    return batch


async def _wait_and_print(
    client: Client, batch_id: str, args: argparse.Namespace, out: Output
) -> int:
    try:
        batch = await wait_with_progress(
            client,
            batch_id,
            deadline=args.deadline,
            cancel_at_deadline=args.cancel_at_deadline,
            polling=_polling(args.poll_interval),
        )
    except WaitTimeoutError as exc:
        print(_deadline_passed(client, exc, args.cancel_at_deadline), file=sys.stderr)
        if exc.batch is not None:
            out.batch(exc.batch)
        return ExitCode.NOT_FINISHED
    out.batch(batch)
    return _exit_for(batch)


def _deadline_passed(client: Client, exc: WaitTimeoutError, cancel: bool) -> str:
    """What happened at a wait's deadline, and what to run next, in one line."""
    when = f"the {exc.deadline:g} s deadline"
    resume = command_for(client, "batches", "wait", exc.batch_id)
    if exc.batch is None:
        return f"batch {exc.batch_id}: no answer before {when}; wait again with: {resume}"
    status = exc.batch.status.value
    if cancel and status in ("cancelling", "cancelled"):
        follow = f"; see it stop with: {resume}" if status == "cancelling" else ""
        return (
            f"batch {exc.batch_id} was not finished at {when}, so it was cancelled "
            f"(now {status}){follow}"
        )
    refused = " and could not be cancelled" if cancel else ""
    return (
        f"batch {exc.batch_id} is still {status} after {when}{refused}; wait again with: {resume}"
    )


def _exit_for(batch: Batch) -> int:
    if batch.status == "completed":
        return ExitCode.OK
    print(f"batch {batch.id} ended {batch.status.value}", file=sys.stderr)
    return ExitCode.BATCH_UNSUCCESSFUL


async def show_results(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Print a finished batch's results; see ``_results`` in this package."""
    from ._results_view import show_results as show

    return await show(client, args, out)
