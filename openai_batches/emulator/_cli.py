"""The ``python -m openai_batches.emulator`` command (also mounted as ``openai-batches emulator``).

`add_arguments` declares the options on any `argparse` parser, `run` serves until SIGINT or
SIGTERM, `main` does both for the stand-alone command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from ._lifecycle import Timing
from ._runner import Emulator

__all__ = ["add_arguments", "main", "run"]


def _milliseconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of milliseconds >= 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the emulator's command-line options on *parser*."""
    defaults = Timing()
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to bind, 0 for any (default: %(default)s)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="emulated seconds per real second (default: %(default)s)",
    )
    parser.add_argument("--storage-dir", default=None, help="keep file contents in this directory")
    parser.add_argument(
        "--azure",
        action="store_true",
        help="answer as Azure OpenAI: paths under /openai, the api-version query parameter, "
        "the api-key header or a bearer token",
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        default=None,
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument(
        "--requests-per-second",
        type=float,
        default=defaults.requests_per_second,
        help="batch requests processed per emulated second (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for ids and random faults")
    parser.add_argument(
        "--webhook-url",
        default=None,
        metavar="URL",
        help="POST a signed batch.* event here when a batch reaches a final status",
    )
    parser.add_argument(
        "--webhook-secret",
        default=None,
        metavar="SECRET",
        help="sign webhooks with this whsec_ secret (default: OPENAI_WEBHOOK_SECRET, "
        "else a new one, printed at start)",
    )
    parser.add_argument(
        "--latency-ms",
        type=_milliseconds,
        default=0.0,
        metavar="MS",
        help="milliseconds every request waits before it is handled (default: %(default)s)",
    )
    parser.add_argument(
        "--enqueued-token-limit",
        type=int,
        default=None,
        metavar="N",
        help="fail batches that would put more than N input tokens of one model in the queue "
        "(token_limit_exceeded; default: no limit)",
    )


def _emulator(args: argparse.Namespace) -> Emulator:
    return Emulator(
        api_keys=args.api_keys,
        speed=args.speed,
        timing=Timing(requests_per_second=args.requests_per_second),
        storage_dir=args.storage_dir,
        host=args.host,
        port=args.port,
        seed=args.seed,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret or os.environ.get("OPENAI_WEBHOOK_SECRET") or None,
        latency=args.latency_ms / 1000,
        enqueued_token_limit=args.enqueued_token_limit,
        azure=args.azure,
    )


async def _serve(args: argparse.Namespace) -> None:
    emulator = _emulator(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with emulator:
        if emulator.azure:
            print(
                f"Azure OpenAI batch API emulator serving at {emulator.url} "
                f"(AZURE_OPENAI_ENDPOINT={emulator.azure_endpoint})",
                flush=True,
            )
        else:
            print(f"OpenAI batch API emulator serving at {emulator.url}", flush=True)
        if emulator.webhook_url is not None:
            print(
                f"sending batch webhooks to {emulator.webhook_url}, signed with "
                f"{emulator.webhook_secret}",
                flush=True,
            )
        await stop.wait()
    print("emulator stopped", flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve with the options in *args* until interrupted; return the exit status."""
    try:
        asyncio.run(_serve(args))
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover - only without signal handlers
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-alone command."""
    parser = argparse.ArgumentParser(
        prog="python -m openai_batches.emulator",
        description="Serve an emulated OpenAI Batches, Files and Uploads API.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
