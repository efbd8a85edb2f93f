"""Uploads and downloads with progress on stderr, for ``files upload`` and ``files download``.

Uploads of up to 512 MB are streamed from disk through a counting iterator, so the bar
follows the bytes sent. The library sends such a body once (it cannot replay an
iterator), so a failed attempt is retried here, per the client's retry policy, with a
fresh read of the file; the library's lost-upload check still prevents duplicates.
Larger files go through the Uploads API in parts, with a line at the start and the end.

Downloads are written to a temporary file beside the target and renamed over it only once
the size matches the file's ``bytes``: a failed download leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from .. import APIConnectionError, APIError, APIStatusError, Client, FileObject
from ._progress import Progress

__all__ = ["download", "upload"]

_CHUNK = 1 << 20


async def _read(path: Path, progress: Progress) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, _CHUNK):
            progress.advance(len(chunk))
            yield chunk


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
    if size > client.files.max_single_upload:
        progress.update(0, status="uploading in parts")
        file = await client.files.create(path, purpose=purpose, expires_after=expires_after)
        progress.update(size, status="uploaded")
        progress.finish()
        return file
    retry = client.retry_policy
    attempt = 0
    while True:
        progress.update(0, status="uploading")
        try:
            file = await client.files.create(
                _read(path, progress),
                purpose=purpose,
                expires_after=expires_after,
                filename=path.name,
            )
        except APIError as exc:
            headers = exc.headers if isinstance(exc, APIStatusError) else None
            retryable = isinstance(exc, APIConnectionError) or (
                isinstance(exc, APIStatusError) and retry.should_retry(exc.status_code, exc.headers)
            )
            if not retryable or attempt >= retry.max_retries:
                progress.finish(status="failed")
                raise
            delay = retry.delay(attempt, headers)
            attempt += 1
            progress.update(progress.done, status=f"failed, retrying in {delay:.1f}s")
            await asyncio.sleep(delay)
            continue
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
        async for chunk in client.files.content(file_id):
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
