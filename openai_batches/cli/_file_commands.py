"""``openai-batches files ...`` (list, upload, download, delete) and ``emulator``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import Client
from .._uploads import local_size
from ._app import ExitCode, UsageError, command_group, positive_int, report_error, take
from ._output import FILE_COLUMNS, Output, file_row
from ._transfer import download, upload

if TYPE_CHECKING:
    from ._app import Subparsers

__all__ = ["register", "register_emulator"]


def register(commands: Subparsers) -> None:
    """Add ``files`` and its sub-commands."""
    command = command_group(commands, "files", "list, upload, download, delete files")

    p = command("list", list_files, "list files")
    p.add_argument("--purpose", help="only files with this purpose, such as batch")
    p.add_argument("--order", choices=("asc", "desc"), help="by creation time (default desc)")
    p.add_argument("--limit", type=positive_int, default=20, help="files to show (default 20)")
    p.add_argument("--after", metavar="FILE_ID", help="start after this file")

    p = command("upload", upload_file, "upload a file, showing progress on stderr")
    p.add_argument("path", type=Path)
    p.add_argument("--purpose", default="batch", help="(default %(default)s)")
    p.add_argument(
        "--expires-after",
        type=positive_int,
        metavar="SECONDS",
        help="delete the file this long after its creation (3600 to 2592000)",
    )
    p.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="upload a batch input as it is, without checking its lines first",
    )

    p = command("download", download_file, "save a file's content, showing progress on stderr")
    p.add_argument("file_id")
    where = "where to save it: a file, or a folder (ending in / or existing); - for stdout"
    p.add_argument("path", nargs="?", metavar="PATH", help=f"{where} (default: its own name, here)")
    p.add_argument("-o", "--output", metavar="PATH", help="the same as PATH")
    p.add_argument("--force", action="store_true", help="replace an existing file")

    p = command("delete", delete_files, "delete files")
    p.add_argument("file_ids", nargs="+", metavar="file_id")


def register_emulator(commands: Subparsers) -> None:
    """Add ``emulator``: the emulator's own command, mounted as it is."""
    from ..emulator import add_arguments, run

    parser = commands.add_parser(
        "emulator",
        help="serve an emulated Batches/Files API (no key needed)",
        description="Serve an emulated OpenAI Batches, Files and Uploads API until Ctrl-C.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


async def list_files(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Print up to ``--limit`` files."""
    files = client.files.list(
        purpose=args.purpose, order=args.order, limit=min(args.limit, 1000), after=args.after
    )
    purpose = f" with purpose {args.purpose}" if args.purpose else ""
    after = f" after {args.after}" if args.after else ""
    await out.listing(
        take(files, args.limit), FILE_COLUMNS, file_row, empty=f"no files{purpose}{after}"
    )
    return ExitCode.OK


async def upload_file(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Upload a file and print it; a batch input is checked first, unless ``--no-check``."""
    if args.purpose == "batch" and args.check:
        local_size(args.path)  # a missing file or a folder is refused as by any upload
        if not await _check(args.path):
            return ExitCode.LOCAL_ERROR
    file = await upload(client, args.path, purpose=args.purpose, expires_after=args.expires_after)
    if out.json:
        out.json_line(file)
    else:
        out.table(FILE_COLUMNS, [file_row(file)])
    return ExitCode.OK


async def _check(path: Path) -> bool:
    """Check a batch input file; print its problems and return ``False`` if it has any."""
    from .. import BatchInputError, check_batch_input  # loaded only for an upload

    try:
        await check_batch_input(path)
    except BatchInputError as exc:
        report_error(exc)
        print(
            "nothing was uploaded: fix the file, or pass --no-check to upload it as it is",
            file=sys.stderr,
        )
        return False
    return True


async def download_file(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Save a file's content and say where."""
    if args.path is not None and args.output is not None:
        raise UsageError("give the output path once: as PATH or with -o")
    output = args.path if args.output is None else args.output
    target = None if output == "-" else (output or os.curdir)
    info, saved = await download(client, args.file_id, target, force=args.force)
    if saved is not None:
        if out.json:
            out.json_line({"id": info.id, "bytes": info.bytes, "path": str(saved)})
        else:
            out.write(f"saved {info.id} ({info.bytes} bytes) to {saved}")
    return ExitCode.OK


async def delete_files(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Delete each file, stopping at the first error."""
    for file_id in args.file_ids:
        deleted = await client.files.delete(file_id)
        if out.json:
            out.json_line(deleted)
        else:
            out.write(f"deleted {deleted.id}")
    return ExitCode.OK
