"""``openai-batches run``: a whole job, sharded, resumable; ``run --status`` reports one."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._app import (
    ExitCode,
    UsageError,
    add_common_options,
    make_client,
    output,
    positive_int,
    report_error,
)
from ._output import Output

if TYPE_CHECKING:
    from .. import Client, JobProgress, JobReport
    from ._app import Subparsers

__all__ = ["register"]

_DESCRIPTION = """\
Run every request of INPUT.jsonl in as many batches as it takes and write one result per
request, in input order, to --out. The job is recorded in a state file (--state, by
default RESULTS.jsonl.job): run the same command again after Ctrl-C, a crash or a reboot
and it resumes, uploading, creating and paying for nothing twice.

exit codes: 0 every request succeeded, 4 some failed for good (their errors are in the
results), 1 a local file could not be read or written, 2 a bad input or state file,
3 the API failed (run again to resume), 130 interrupted (run again to resume).
"""


def register(commands: Subparsers) -> None:
    """Add ``run``."""
    parser = commands.add_parser(
        "run",
        help="run a job of any size: shards, limits, retries, resumable",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(parser)
    parser.add_argument("input", nargs="?", type=Path, help="the batch requests (JSONL)")
    parser.add_argument("--out", type=Path, help="where to write the results (JSONL)")
    parser.add_argument("--state", type=Path, help="the job's state file (default: OUT.job)")
    parser.add_argument(
        "--status",
        action="store_true",
        help="report the job in --state and exit, changing nothing (no API key needed)",
    )
    parser.add_argument("--completion-window", default="24h", help="(default %(default)s)")
    parser.add_argument(
        "--max-enqueued-tokens",
        type=positive_int,
        metavar="N",
        help="the most estimated input tokens of one model in unfinished batches "
        "(default: no limit)",
    )
    parser.add_argument(
        "--max-batches",
        type=positive_int,
        default=10,
        metavar="K",
        help="the most batches in flight, of all models (default %(default)s)",
    )
    parser.add_argument(
        "--max-attempts",
        type=positive_int,
        default=3,
        metavar="N",
        help="tries of a request that fails for a retryable reason (default %(default)s)",
    )
    parser.add_argument(
        "--shard-requests",
        type=positive_int,
        default=50_000,
        metavar="N",
        help="the most requests in one batch (default and the API's limit: %(default)s)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="first wait between polls of a batch; grows to a minute (default %(default)s)",
    )
    parser.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the job, or report it with ``--status``."""
    out = output(args)
    if args.status:
        if args.state is None:
            raise UsageError("--status needs --state PATH")
        return asyncio.run(_status(args.state, out))
    if args.input is None or args.out is None:
        raise UsageError("run needs INPUT and --out RESULTS.jsonl (or --status --state PATH)")
    if not args.poll_interval > 0:
        raise UsageError(f"--poll-interval must be > 0, got {args.poll_interval}")
    client = make_client(args)

    async def go() -> int:
        async with client:
            return await _run(client, args, out)

    try:
        return asyncio.run(go())
    except KeyboardInterrupt:
        print(
            "interrupted: the job's batches keep running; run the same command again to resume",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED


async def _status(state: Path, out: Output) -> int:
    from .. import JobStateError, job_status

    try:
        report = await job_status(state)
    except JobStateError as exc:
        raise UsageError(str(exc)) from None
    _print_report(report, out)
    return ExitCode.OK


async def _run(client: Client, args: argparse.Namespace, out: Output) -> int:
    from .. import BatchInputError, JobLimits, JobStateError, Polling

    printer = _ProgressPrinter(out)
    try:
        report = await client.jobs.run(
            args.input,
            args.out,
            state=args.state,
            limits=JobLimits(
                max_enqueued_tokens=args.max_enqueued_tokens,
                max_batches=args.max_batches,
                max_attempts=args.max_attempts,
                shard_requests=args.shard_requests,
            ),
            completion_window=args.completion_window,
            on_progress=printer,
            polling=Polling(interval=args.poll_interval, max_interval=max(60, args.poll_interval)),
        )
    except BatchInputError as exc:
        report_error(exc)
        print("nothing was sent: fix the input and run again", file=sys.stderr)
        return ExitCode.USAGE
    except JobStateError as exc:
        raise UsageError(str(exc)) from None
    _print_report(report, out)
    return ExitCode.BATCH_UNSUCCESSFUL if report.failed else ExitCode.OK


def _print_report(report: JobReport, out: Output) -> None:
    if out.json:
        out.json_line(
            {
                "state": report.state,
                "input": report.input,
                "endpoint": report.endpoint,
                "models": list(report.models),
                "requests": report.requests,
                "succeeded": report.succeeded,
                "failed": report.failed,
                "pending": report.pending,
                "finished": report.finished,
                "shards": dict(report.shards),
                "batches": dict(report.batches),
                "tokens_enqueued": report.tokens_enqueued,
                "tokens_by_model": dict(report.tokens_by_model),
                "token_counter": report.token_counter,
            }
        )
        return
    shards = ", ".join(f"{count} {step}" for step, count in sorted(report.shards.items()))
    batches = ", ".join(f"{count} {status}" for status, count in sorted(report.batches.items()))
    out.details(
        [
            ("state", report.state),
            ("input", report.input),
            ("endpoint", report.endpoint),
            ("models", ", ".join(model or "(none)" for model in report.models) or "-"),
            ("requests", str(report.requests)),
            ("succeeded", str(report.succeeded)),
            ("failed", str(report.failed)),
            ("pending", str(report.pending)),
            ("shards", shards or "-"),
            ("batches in flight", batches or "-"),
            (
                "tokens enqueued",
                f"{report.tokens_enqueued:,} ({report.token_counter})"
                + (f": {each}" if (each := _each(report.tokens_by_model)) else ""),
            ),
        ]
    )


def _each(by_model: Mapping[str, int]) -> str:
    """``gpt-4o 1,000, gpt-4o-mini 200``; empty for one model (the total says it all)."""
    if len(by_model) < 2:
        return ""
    return ", ".join(f"{model or '(none)'} {tokens:,}" for model, tokens in by_model.items())


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _ProgressPrinter:
    """Progress lines on stderr, or one JSON event per line on stdout with ``--json``.

    A line for every event, except that batch polls print at most every ``every`` seconds
    unless a batch changed status.
    """

    def __init__(self, out: Output, stream: TextIO | None = None, every: float = 5.0) -> None:
        self.out = out
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self._last = -float("inf")
        self._last_batches: dict[str, int] = {}

    def __call__(self, progress: JobProgress) -> None:
        if self.out.json:
            self.out.json_line(
                {
                    "event": progress.event,
                    "requests": progress.requests,
                    "succeeded": progress.succeeded,
                    "failed": progress.failed,
                    "pending": progress.pending,
                    "batches": dict(progress.batches),
                    "tokens_enqueued": progress.tokens_enqueued,
                    "tokens_by_model": dict(progress.tokens_by_model),
                    "elapsed": round(progress.elapsed, 3),
                    "remaining": None if progress.remaining is None else round(progress.remaining),
                    "shard": progress.shard,
                    "batch_id": progress.batch_id,
                }
            )
            self.out.stream.flush()
            return
        now = time.monotonic()
        batches = dict(progress.batches)
        if (
            progress.event == "batch"
            and batches == self._last_batches
            and now - self._last < self.every
        ):
            return
        self._last, self._last_batches = now, batches
        done = progress.succeeded + progress.failed
        in_flight = ", ".join(f"{n} {status}" for status, n in sorted(batches.items())) or "none"
        left = "" if progress.remaining is None else f", ~{_duration(progress.remaining)} left"
        about = f" (shard {progress.shard})" if progress.shard is not None else ""
        each = f" ({each})" if (each := _each(progress.tokens_by_model)) else ""
        print(
            f"{progress.event}{about}: {done}/{progress.requests} done "
            f"({progress.succeeded} succeeded, {progress.failed} failed, "
            f"{progress.pending} pending); batches: {in_flight}; "
            f"{progress.tokens_enqueued:,} tokens enqueued{each}; "
            f"{_duration(progress.elapsed)} elapsed{left}",
            file=self.stream,
            flush=True,
        )
