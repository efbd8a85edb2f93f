"""The Uploads API: ``client.uploads``, and the engine that sends a large file in parts.

:meth:`Uploads.upload_file` creates an upload, reads the content in order one part at a
time (hashing it with md5 as it goes), sends up to ``concurrency`` parts at once, and
completes the upload with the part ids in order and the md5. Any failure or cancellation
cancels the upload, so no pending upload is left holding parts. Memory in use is at most
``concurrency`` parts (4 x 64 MB by default).

The inputs shared with ``client.files.create`` (the source, the purpose) are checked here,
before any request; ``expires_after`` by :mod:`._expiry`, as for batches.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
import os
from collections.abc import Callable, Sequence
from typing import IO, Any, Unpack

from ._api import API
from ._decode import decoder
from ._errors import APIResponseValidationError, OpenAIError
from ._expiry import ExpiresAfter, check_expires_after, expires_after_json
from ._models import FileObject, Upload, UploadPart
from ._options import Extra, options_of
from ._sources import FilePart, local_size, part_reader
from ._types import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault
from ._urls import encode_path

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PART_SIZE",
    "MAX_PART_SIZE",
    "Uploads",
    "check_purpose",
    "local_size",
]

log = logging.getLogger(__name__)

#: The API's largest part.
MAX_PART_SIZE = 64 * 1024**2
#: Parts are as large as the API allows: fewer requests, and the same memory bound.
DEFAULT_PART_SIZE = MAX_PART_SIZE
#: Parts in flight at once.
DEFAULT_CONCURRENCY = 4

# Cancel requests sent while unwinding run as tasks; keep them referenced until done.
_BACKGROUND: set[asyncio.Task[None]] = set()


#: Why a part takes no ``extra_body``.
_MULTIPART = "a part is sent as a multipart form, not JSON; use extra_query or extra_headers"


def check_purpose(purpose: object) -> str:
    """Check a file purpose (any non-empty string: the API adds new ones).

    Raises:
        TypeError: It is not a string.
        ValueError: It is empty.
    """
    if not isinstance(purpose, str):
        raise TypeError(f"purpose must be a string such as 'batch', got {type(purpose).__name__}")
    if not purpose:
        raise ValueError("purpose must not be empty")
    return purpose


def guess_mime_type(filename: str) -> str:
    """The MIME type for a file name; JSONL, which ``mimetypes`` does not know, included."""
    if filename.endswith(".jsonl"):
        return "text/jsonl"
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _check_part_settings(part_size: int, concurrency: int) -> None:
    if isinstance(part_size, bool) or not isinstance(part_size, int):
        raise TypeError(f"part_size must be an integer, got {type(part_size).__name__}")
    if not 1 <= part_size <= MAX_PART_SIZE:
        raise ValueError(f"part_size must be between 1 and {MAX_PART_SIZE} bytes, got {part_size}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")


class Uploads:
    """Send large files in parts through the Uploads API.

    Args:
        api: The client's requests.
        part_size: Bytes per part in :meth:`upload_file`, up to 64 MB.
        concurrency: Parts sent at once in :meth:`upload_file`.
    """

    def __init__(
        self,
        api: API,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        _check_part_settings(part_size, concurrency)
        self._api = api
        self.part_size = part_size
        self.concurrency = concurrency

    async def create(
        self,
        *,
        bytes: int,
        filename: str,
        purpose: str,
        mime_type: str,
        expires_after: ExpiresAfter | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> Upload:
        """Start an upload of ``bytes`` bytes; it takes parts for an hour.

        Args:
            bytes: The size of the whole file.
            filename: The name of the file it makes.
            purpose: The file's purpose, such as ``"batch"``.
            mime_type: The file's MIME type, such as ``"text/jsonl"``.
            expires_after: When the file expires: seconds after its creation (3600 to
                2592000), or the API's ``{"anchor": "created_at", "seconds": N}``.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).
        """
        body: dict[str, Any] = {
            "bytes": bytes,
            "filename": filename,
            "purpose": check_purpose(purpose),
            "mime_type": mime_type,
        }
        seconds = check_expires_after(expires_after)
        if seconds is not None:
            body["expires_after"] = expires_after_json(seconds)
        return await self._api.request(
            "POST",
            "uploads",
            decoder(Upload),
            json=body,
            timeout=timeout,
            options=options_of(extra),
        )

    async def add_part(
        self,
        upload_id: str,
        data: bytes | bytearray | memoryview,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> UploadPart:
        """Add one part (at most 64 MB) to a pending upload.

        A retried part may leave an unused copy on the server; only the ids passed to
        :meth:`complete` count, so it does no harm.

        Args:
            upload_id: The upload's id.
            data: The part's bytes.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`); a part is
                a multipart form, so ``extra_body`` is refused.
        """
        options = options_of(extra, why=_MULTIPART)
        path = encode_path("uploads/{}/parts", upload_id)
        form = [FilePart("data", "part", data)]
        return await self._api.request(
            "POST", path, decoder(UploadPart), form=form, timeout=timeout, options=options
        )

    async def complete(
        self,
        upload_id: str,
        part_ids: Sequence[str],
        *,
        md5: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> Upload:
        """Join the parts, in the order given, into a file.

        Args:
            part_ids: The ids of the parts, in the order of the content.
            md5: The hex md5 of the whole content, for the API to check.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).

        Returns:
            The completed upload; its ``file`` is the new file.
        """
        path = encode_path("uploads/{}/complete", upload_id)
        body: dict[str, Any] = {"part_ids": list(part_ids)}
        if md5 is not None:
            body["md5"] = md5
        return await self._api.request(
            "POST", path, decoder(Upload), json=body, timeout=timeout, options=options_of(extra)
        )

    async def cancel(
        self,
        upload_id: str,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> Upload:
        """Cancel a pending upload; its parts are dropped.

        Args:
            upload_id: The upload's id.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).
        """
        path = encode_path("uploads/{}/cancel", upload_id)
        return await self._api.request(
            "POST", path, decoder(Upload), timeout=timeout, options=options_of(extra)
        )

    async def upload_file(
        self,
        file: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        purpose: str,
        filename: str | None = None,
        mime_type: str | None = None,
        expires_after: ExpiresAfter | None = None,
        part_size: int | None = None,
        concurrency: int | None = None,
        on_progress: Callable[[int], object] | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> FileObject:
        """Upload a file of any size (up to the API's 8 GB) in parts, and return the file.

        A path is read in order, one part at a time, never whole.

        Args:
            file: A path, or the content.
            purpose: The file's purpose, such as ``"batch"``.
            filename: The file's name; defaults to the path's base name.
            mime_type: Defaults to a guess from the file name.
            expires_after: When the file expires: seconds after its creation (3600 to
                2592000), or the API's ``{"anchor": "created_at", "seconds": N}``.
            part_size: Bytes per part, instead of this resource's setting.
            concurrency: Parts in flight at once, instead of this resource's setting.
            on_progress: Called with the bytes of the parts sent so far, as each is done.
            timeout: Each request's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`), with each
                request; ``extra_body`` is refused (the parts are multipart forms).

        Raises:
            FileNotFoundError: There is no file at the path.
            TypeError, ValueError: An argument is wrong (raised before any request).
            APIError: A request failed; the upload has been cancelled.
        """
        options_of(extra, why=_MULTIPART)
        part_size = self.part_size if part_size is None else part_size
        concurrency = self.concurrency if concurrency is None else concurrency
        _check_part_settings(part_size, concurrency)
        check_purpose(purpose)
        check_expires_after(expires_after)
        if isinstance(file, bytes | bytearray | memoryview):
            if filename is None:
                raise ValueError("filename is required when the content is given as bytes")
        elif isinstance(file, str | os.PathLike):
            filename = os.path.basename(os.fspath(file)) if filename is None else filename
        else:
            raise TypeError(f"file must be a path or bytes, got {type(file).__name__}")
        size = local_size(file)
        upload = await self.create(
            bytes=size,
            filename=filename,
            purpose=purpose,
            mime_type=mime_type or guess_mime_type(filename),
            expires_after=expires_after,
            timeout=timeout,
            **extra,
        )
        try:
            part_ids, md5 = await self._send_parts(
                upload.id, file, size, part_size, concurrency, timeout, on_progress, extra
            )
            done = await self.complete(upload.id, part_ids, md5=md5, timeout=timeout, **extra)
        except BaseException:
            await self._cancel_in_background(upload.id, extra)
            raise
        if done.file is None:
            raise APIResponseValidationError(
                f"The completed upload {upload.id} has no file", path="$.file"
            )
        return done.file

    async def _send_parts(
        self,
        upload_id: str,
        file: str | os.PathLike[str] | bytes | bytearray | memoryview,
        size: int,
        part_size: int,
        concurrency: int,
        timeout: TimeoutTypes | UseClientDefault,
        on_progress: Callable[[int], object] | None = None,
        extra: Extra | None = None,
    ) -> tuple[list[str], str]:
        """Read parts in order, hashing them, and send them ``concurrency`` at a time."""
        md5 = hashlib.md5(usedforsecurity=False)
        count = -(-size // part_size)
        part_ids: list[str] = [""] * count
        slots = asyncio.Semaphore(concurrency)
        sent = 0

        async def send(index: int, data: bytes | memoryview) -> None:
            nonlocal sent
            try:
                part = await self.add_part(upload_id, data, timeout=timeout, **(extra or {}))
                part_ids[index] = part.id
            finally:
                slots.release()
            sent += len(data)
            if on_progress is not None:
                on_progress(sent)

        reader: IO[bytes] | None = None
        try:
            if not isinstance(file, bytes | bytearray | memoryview):
                # On the loop, not in a thread: see the notes in _sources.py.
                reader = open(file, "rb")  # noqa: ASYNC230, SIM115
            read = part_reader(file, reader, md5, part_size)
            async with asyncio.TaskGroup() as group:
                for index in range(count):
                    # Read a part only once a slot is free: memory stays at `concurrency` parts.
                    await slots.acquire()
                    data = await read(index)
                    group.create_task(send(index, data))
        except BaseExceptionGroup as group_error:
            # One part failed and the others were cancelled: raise that part's error.
            raise group_error.exceptions[0] from None
        finally:
            if reader is not None:
                reader.close()
        return part_ids, md5.hexdigest()

    async def _cancel_in_background(self, upload_id: str, extra: Extra | None = None) -> None:
        # A task, shielded: the cancel request goes out even if this task is cancelled.
        task = asyncio.ensure_future(self._cancel_quietly(upload_id, extra or {}))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        await asyncio.shield(task)

    async def _cancel_quietly(self, upload_id: str, extra: Extra) -> None:
        try:
            await self.cancel(upload_id, **extra)
        except OpenAIError as exc:  # the client closed included: the upload expires in an hour
            log.warning("Could not cancel the failed upload %s: %s", upload_id, exc)
