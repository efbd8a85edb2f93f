"""Uploads and downloads with progress on stderr, for ``files upload`` and ``files download``.

Uploads follow ``files.create(on_progress=...)``: the bar moves with the bytes sent (from
zero again when the client sends a failed request again), or part by part for files
that go through the Uploads API.

Downloads are written to a temporary file beside the target and renamed over it only once
the size matches the file's ``bytes``: a failed download leaves nothing behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import Client, FileObject
from ._progress import Progress

__all__ = ["download", "upload"]


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
    size = os.stat(path).st_size
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


def _resolve(target: Path, filename: str, force: bool) -> Path:
    if os.path.isdir(target):
        target = target / Path(filename).name
    if os.path.exists(target) and not force:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    return target


async def download(
    client: Client, file_id: str, target: Path | None, *, force: bool = False
) -> tuple[FileObject, Path | None]:
    """Save a file's content at ``target`` (stdout when ``None``), showing its progress.

    Returns:
        The file's details and where it was saved.

    Raises:
        FileExistsError: ``target`` exists and ``force`` is false.
        APIError: The download failed or came out the wrong size.
    """
    info = await client.files.retrieve(file_id)
    progress = Progress(file_id, total=info.bytes, unit="bytes")
    progress.update(0, status="downloading")
    if target is None:
        async for chunk in client.files.content(file_id, expected_bytes=info.bytes):
            sys.stdout.buffer.write(chunk)
            progress.advance(len(chunk))
        sys.stdout.buffer.flush()
        progress.finish(status="downloaded")
        return info, None
    target = _resolve(target, info.filename, force)
    try:
        # The library writes beside the target, checks the size and renames into place.
        await client.files.download(
            file_id, target, on_progress=lambda done, _total: progress.update(done)
        )
    except BaseException:
        progress.finish(status="failed")
        raise
    progress.finish(status="downloaded")
    return info, target
