"""The argument parser, the configuration of the client, and the exit codes.

Each command module registers its sub-commands with a ``run`` function taking the parsed
arguments. Commands that talk to the API are ``async (client, args, out) -> int`` and are
run by :func:`run_with_client`, which builds the client from the flags and environment.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import os
import shlex
import sys
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TextIO, TypeAlias, TypeVar

from .. import (
    APIStatusError,
    BatchInputError,
    Client,
    JSONLError,
    OpenAIError,
    Timeout,
    __version__,
)
from .._client import DEFAULT_BASE_URL
from .._urls import is_loopback
from ._output import Output

__all__ = [
    "ClientCommand",
    "ExitCode",
    "UsageError",
    "add_common_options",
    "command_for",
    "command_group",
    "make_client",
    "positive_int",
    "report_error",
    "run_with_client",
    "take",
]

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

T = TypeVar("T")

ClientCommand = Callable[[Client, argparse.Namespace, Output], Awaitable[int]]

_ENV_HELP = """\
configuration (flags win over the environment):
  OPENAI_API_KEY      --api-key        the secret key (required, except for `demo`)
  OPENAI_BASE_URL     --base-url       default https://api.openai.com/v1
  OPENAI_ORG_ID       --organization
  OPENAI_PROJECT_ID   --project

exit codes:
  0    success
  1    a local file could not be read or written, or is not a valid batch input
  2    usage error, including a missing API key
  3    the API or the client failed (the message and request id go to stderr)
  4    the batch ended failed, expired or cancelled (wait, results);
       some requests of a job failed for good (run)
  5    the batch is not finished (results), or the wait's --deadline passed
  130  interrupted (Ctrl-C)
"""


class ExitCode(enum.IntEnum):
    """The command's exit status; see ``openai-batches --help``."""

    OK = 0
    LOCAL_ERROR = 1
    USAGE = 2
    API_ERROR = 3
    BATCH_UNSUCCESSFUL = 4
    NOT_FINISHED = 5
    INTERRUPTED = 130


class UsageError(Exception):
    """The command line or the configuration cannot work (exit code 2)."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_common_options(parser: argparse.ArgumentParser, *, json: bool = True) -> None:
    """Add the client's and the output's options.

    They are added to the top-level parser and to every sub-command, with suppressed
    defaults, so they work before or after the command name and neither overrides the
    other.
    """
    group = parser.add_argument_group("client options")
    suppress = argparse.SUPPRESS
    group.add_argument("--api-key", default=suppress, help="the API key (or OPENAI_API_KEY)")
    group.add_argument(
        "--base-url", default=suppress, help="the API's base URL (or OPENAI_BASE_URL)"
    )
    group.add_argument("--organization", default=suppress, help="(or OPENAI_ORG_ID)")
    group.add_argument("--project", default=suppress, help="(or OPENAI_PROJECT_ID)")
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=suppress,
        help="accept a plain http:// base URL to another machine (sends the key unencrypted)",
    )
    group.add_argument(
        "--timeout",
        type=non_negative_float,
        default=suppress,
        metavar="SECONDS",
        help="each request's timeout (default 600; 0 for none)",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=suppress,
        metavar="N",
        help="retries of a failed request (default 2)",
    )
    if not json:
        return
    parser.add_argument(
        "--json",
        action="store_true",
        default=suppress,
        help="print one JSON object per line (the API's own JSON) instead of tables",
    )


async def take(items: AsyncIterator[T], limit: int) -> AsyncIterator[T]:
    """Yield the first ``limit`` items, then close ``items`` so its connection is freed."""
    try:
        count = 0
        async for item in items:
            yield item
            count += 1
            if count >= limit:
                return
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def make_client(args: argparse.Namespace) -> Client:
    """Build the client from the flags, falling back on the environment.

    Raises:
        UsageError: No API key in ``--api-key`` or ``OPENAI_API_KEY``.
    """
    api_key = getattr(args, "api_key", None) or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise UsageError(
            "no API key: set OPENAI_API_KEY or pass --api-key "
            "(`openai-batches demo` needs none: it runs against the built-in emulator)"
        )
    timeout: float | None = getattr(args, "timeout", None)
    max_retries: int = getattr(args, "max_retries", 2)
    if max_retries < 0:
        raise UsageError(f"--max-retries must be >= 0, got {max_retries}")
    return Client(
        api_key,
        base_url=getattr(args, "base_url", None),
        organization=getattr(args, "organization", None),
        project=getattr(args, "project", None),
        allow_insecure_http=bool(getattr(args, "allow_insecure_http", False)),
        timeout=Timeout() if timeout is None else (Timeout.of(timeout) if timeout else None),
        max_retries=max_retries,
    )


def command_for(client: Client, *words: str) -> str:
    """``openai-batches WORDS...`` with the options that reach ``client``'s server and project.

    Printed as a hint to run later (resume a wait, say), so following it talks to the same
    server as this command did. The key is never part of it.
    """
    parts = ["openai-batches", *words]
    if client.base_url.rstrip("/") != DEFAULT_BASE_URL:
        parts += ["--base-url", _without_password(client.base_url)]
        url = urllib.parse.urlsplit(client.base_url)
        if url.scheme == "http" and not is_loopback(url.hostname or ""):
            parts.append("--allow-insecure-http")  # the hint could not reach it without
    if client.organization:
        parts += ["--organization", client.organization]
    if client.project:
        parts += ["--project", client.project]
    return shlex.join(parts)


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}@{parts.netloc.rpartition('@')[2]}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def output(args: argparse.Namespace) -> Output:
    """The output chosen by ``--json``."""
    return Output(json=bool(getattr(args, "json", False)))


def command_group(
    commands: Subparsers, name: str, help: str
) -> Callable[[str, object, str], argparse.ArgumentParser]:
    """Add a group such as ``batches``; return a function that adds its sub-commands.

    The group alone prints its help. Each sub-command gets the common options and runs
    its handler with a client.
    """
    group = commands.add_parser(name, help=help)
    group.set_defaults(run=lambda _: _print_help(group))
    sub = group.add_subparsers(title=f"{name} commands", metavar="COMMAND")

    def command(name: str, handler: object, help: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, description=help)
        add_common_options(parser)
        parser.set_defaults(run=run_with_client, command=handler)
        return parser

    return command


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def run_with_client(args: argparse.Namespace) -> int:
    """Run ``args.command`` with a client built from the arguments, then close it."""
    command: ClientCommand = args.command
    client = make_client(args)

    async def go() -> int:
        async with client:
            return await command(client, args, output(args))

    return asyncio.run(go())


def report_error(error: BaseException, *, stream: TextIO | None = None) -> None:
    """Print an error for people: the message, the HTTP status and the request id."""
    out = sys.stderr if stream is None else stream
    if isinstance(error, APIStatusError):
        message = f"error: HTTP {error.status_code}: {error.message}"
    else:
        message = f"error: {error}"
    print(message, file=out)
    request_id = getattr(error, "request_id", None)
    if request_id:
        print(f"request id: {request_id}", file=out)
    for note in getattr(error, "__notes__", ()):
        print(note, file=out)


def _describe(error: OSError) -> str:
    """``No such folder: out/`` rather than ``[Errno 2] No such folder: 'out/'``."""
    if error.strerror and error.filename is not None:
        return f"{error.strerror}: {os.fsdecode(error.filename)}"
    return str(error)


def build_parser(
    register: Sequence[Callable[[Subparsers], None]],
) -> argparse.ArgumentParser:
    """The ``openai-batches`` parser, with each module's sub-commands registered."""
    parser = argparse.ArgumentParser(
        prog="openai-batches",
        description="Run and inspect OpenAI batches and files from the command line.",
        epilog=_ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common_options(parser)
    sub = parser.add_subparsers(title="commands", dest="group", metavar="COMMAND")
    for each in register:
        each(sub)
    return parser


def main(
    argv: Sequence[str] | None,
    register: Sequence[Callable[[Subparsers], None]],
) -> int:
    """Parse ``argv``, run the command, and turn its outcome into an exit code."""
    parser = build_parser(register)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else ExitCode.OK
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(run(args))
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except (JSONLError, BatchInputError) as exc:
        # The user's own requests are at fault, not the API: like a file that cannot be read.
        report_error(exc)
        return ExitCode.LOCAL_ERROR
    except OpenAIError as exc:
        report_error(exc)
        return ExitCode.API_ERROR
    except ValueError as exc:
        # The library checks arguments before any request and raises ValueError.
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): not an error. Keep Python's exit flush quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except OSError as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return ExitCode.LOCAL_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
