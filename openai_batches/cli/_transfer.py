"""Uploads and downloads with progress on stderr, for ``files upload`` and ``files download``.

Uploads follow ``files.create(on_progress=...)``: the bar moves with the bytes sent (from
zero again when the client sends a failed request again), or part by part for files
that go through the Uploads API.

Downloads are written to a temporary file beside the target and renamed over it only once
the size matches the file's ``bytes``: a failed download leaves nothing behind.

Where a file will be read or written is checked before any request (`check_destination`),
so a missing folder or an existing target is reported before any work or progress.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from .. import Client, FileObject
from .._uploads import local_size
from ._progress import Progress

__all__ = ["check_destination", "download", "upload"]


async def upload(
    client: Client,
    path: Path,
    *,
    purpose: str,
    expires_after: int | None = None,
    progress: Progress | None = None,
) -> FileObject:
    """Upload the file at ``path``, showing its progress.

    Raises:
        OSError: The file cannot be read.
        APIError: The upload failed, after retries.
    """
    size = local_size(path)  # a missing file or a folder fails here, before any progress
    progress = progress or Progress(path.name, total=size, unit="bytes")
    in_parts = size > client.files.max_single_upload
    progress.update(0, status="uploading in parts" if in_parts else "uploading")
    try:
        file = await client.files.create(
            path,
            purpose=purpose,
            expires_after=expires_after,
            on_progress=progress.update,
        )
    except BaseException:
        progress.finish(status="failed")
        raise
    progress.finish(status="uploaded")
    return file


def check_destination(path: str, *, folder: bool = False) -> bool:
    """Check that a file can be written at ``path`` (as the user typed it), before any request.

    Args:
        path: Where the file goes.
        folder: Whether ``path`` may be a folder to write into.

    Returns:
        Whether ``path`` is a folder (the file's own name goes in it).

    Raises:
        FileNotFoundError: The folder ``path`` names, or the one it is in, does not exist.
        IsADirectoryError: ``path`` is a folder and ``folder`` is false.
    """
    # A trailing separator, "." or ".." names a folder, which must not become a file name.
    if os.path.basename(path) in ("", ".", "..") or os.path.isdir(path):
        if not os.path.isdir(path):
            raise FileNotFoundError(errno.ENOENT, "No such folder", path)
        if not folder:
            raise IsADirectoryError(errno.EISDIR, "A folder, not a file to write", path)
        return True
    parent = os.path.dirname(path)
    if not os.path.isdir(parent or "."):
        raise FileNotFoundError(errno.ENOENT, "No such folder", parent)
    return False


def _refuse_existing(target: Path, force: bool) -> None:
    if os.path.lexists(target) and not force:
        raise FileExistsError(errno.EEXIST, "File exists; pass --force to replace it", str(target))


async def download(
    client: Client, file_id: str, target: str | None, *, force: bool = False
) -> tuple[FileObject, Path | None]:
    """Save a file's content at ``target`` (stdout when ``None``), showing its progress.

    ``target`` is a file or a folder to save the file in under its own name; a name
    ending with a separator is a folder.

    Returns:
        The file's details and where it was saved.

    Raises:
        FileNotFoundError: The folder to save into does not exist (before any request).
        FileExistsError: The file exists and ``force`` is false (before any download).
        APIError: The download failed or came out the wrong size.
    """
    into_folder = False
    if target is not None:
        into_folder = check_destination(target, folder=True)
        if not into_folder:
            _refuse_existing(Path(target), force)
    info = await client.files.retrieve(file_id)
    progress = Progress(file_id, total=info.bytes, unit="bytes")
    if target is None:
        progress.update(0, status="downloading")
        async for chunk in client.files.content(file_id, expected_bytes=info.bytes):
            sys.stdout.buffer.write(chunk)
            progress.advance(len(chunk))
        sys.stdout.buffer.flush()
        progress.finish(status="downloaded")
        return info, None
    path = Path(target) / Path(info.filename).name if into_folder else Path(target)
    if into_folder:
        _refuse_existing(path, force)
    progress.update(0, status="downloading")
    try:
        # The library writes beside the target, checks the size and renames into place.
        await client.files.download(
            file_id, path, on_progress=lambda done, _total: progress.update(done)
        )
    except BaseException:
        progress.finish(status="failed")
        raise
    progress.finish(status="downloaded")
    return info, path
