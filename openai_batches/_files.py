"""The Files API: ``client.files``.

Uploads stream from disk and never read a file whole; files over the single-upload limit
(512 MB) go through the Uploads API in parts. Content is read chunk by chunk, with a read
timeout between chunks and no deadline on the whole transfer.

Duplicate-safe uploads: when an upload attempt's outcome is unknown (the connection
failed or timed out, or the API answered 5xx), the attempt may still have created the
file. Before retrying, and before raising the final error, the client lists the newest
100 files of the same purpose and takes the newest one with the same ``filename`` and
``bytes`` created since the call began (less :data:`CLOCK_SKEW` seconds, since
``created_at`` is the server's clock); if there is one, it is returned and nothing is sent
again. Another process uploading an identical file (same name, size and purpose) in the
same few minutes could be mistaken for the lost attempt: give concurrent uploads
distinct file names.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress
from typing import IO

from ._decode import decode
from ._errors import APIConnectionError, DownloadSizeError
from ._models import FileDeleted, FileObject, Page
from ._pagination import (
    RawPage,
    check_cursor,
    check_limit,
    iter_items,
    structured_pages,
    walk_pages,
)
from ._transport import FilePart, FormField, Response, Transport, encode_path
from ._types import USE_CLIENT_DEFAULT, Order, TimeoutTypes, UseClientDefault
from ._uploads import Uploads, check_expires_after, check_purpose, local_size

__all__ = ["DownloadSizeError", "Files"]

#: The API's largest page of files.
MAX_FILES_PAGE = 10_000
#: The page size walks use unless told otherwise. A page of the API's default, 10,000, is
#: parsed and built in pieces with the event loop running in between, but holds ten
#: times the objects at once, which the garbage collector pays for in ``pages()``
#: (benchmarks/bench_walk.py, benchmarks/bench_cold.py).
DEFAULT_FILES_PAGE = 1_000
#: The API's largest single ``POST /files`` upload; larger files go through the Uploads API.
MAX_SINGLE_UPLOAD = 512 * 1024**2
#: How far the server's clock may be behind ours when looking for a lost upload, in seconds.
CLOCK_SKEW = 300
#: How many of the newest files are looked at for a lost upload.
LOOKBACK = 100
#: Downloads are written to disk in batches of about this many bytes, from a thread.
_WRITE_BATCH = 1 << 20
#: The default read timeout for content: the longest gap between two chunks, in seconds.
READ_TIMEOUT = 300.0

FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | AsyncIterable[bytes]


#: Called with the bytes of the file sent so far (see :meth:`Files.create`).
OnUploadProgress = Callable[[int], object]

#: The size of the pieces a path or bytes are sent in when progress is reported.
_PROGRESS_CHUNK = 1 << 20


class _Counted:
    """An async iterable of bytes, used once, that counts what passed through it."""

    def __init__(
        self, source: AsyncIterable[bytes], on_progress: OnUploadProgress | None = None
    ) -> None:
        self._source = source
        self._on_progress = on_progress
        self.size = 0
        self.done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"the file's iterator must yield bytes, got {type(chunk).__name__}")
            self.size += len(chunk)
            yield chunk
            if self._on_progress is not None:
                self._on_progress(self.size)
        self.done = True


def _reporting(
    file: str | os.PathLike[str] | bytes | bytearray | memoryview, on_progress: OnUploadProgress
) -> Callable[[], AsyncIterator[bytes]]:
    """A fresh reader of ``file`` per attempt, reporting the bytes sent as it goes."""

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        on_progress(0)
        if isinstance(file, bytes | bytearray | memoryview):
            view = memoryview(file).cast("B")
            for start in range(0, len(view), _PROGRESS_CHUNK):
                chunk = bytes(view[start : start + _PROGRESS_CHUNK])
                yield chunk
                sent += len(chunk)
                on_progress(sent)
            return
        reader = await asyncio.to_thread(open, file, "rb")
        try:
            while chunk := await asyncio.to_thread(reader.read, _PROGRESS_CHUNK):
                yield chunk
                sent += len(chunk)
                on_progress(sent)
        finally:
            reader.close()

    return chunks


def _no_file(file_id: str | None) -> bool:
    """Whether an optional file id means "no file": ``None`` or ``""``."""
    if file_id is None or file_id == "":
        return True
    if not isinstance(file_id, str):
        raise TypeError(f"a file id must be a string or None, got {type(file_id).__name__}")
    return False


def _file_path(template: str, file_id: str) -> str:
    if file_id is None or file_id == "":
        raise ValueError("a file id is required; got an empty one")
    return encode_path(template, file_id)


class Files:
    """Upload, inspect, download and list files.

    Args:
        transport: The client's transport.
        uploads: The Uploads resource used for large files; one is made if not given.
        max_single_upload: Files larger than this many bytes go through the Uploads API.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        uploads: Uploads | None = None,
        max_single_upload: int = MAX_SINGLE_UPLOAD,
    ) -> None:
        self._transport = transport
        self._uploads = Uploads(transport) if uploads is None else uploads
        self.max_single_upload = max_single_upload

    async def create(
        self,
        file: FileInput,
        *,
        purpose: str,
        expires_after: int | None = None,
        filename: str | None = None,
        use_uploads: bool | None = None,
        on_progress: OnUploadProgress | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> FileObject:
        """Upload a file.

        An upload whose answer is lost is not repeated blindly: see the module's notes on
        duplicate-safe uploads.

        Args:
            file: A path (streamed from disk), the content as bytes, or an async iterable
                of bytes (sent as it comes, once: a failure after it started is raised).
            purpose: What the file is for, such as ``"batch"`` (which needs a ``.jsonl``
                name).
            expires_after: Seconds after creation when the file expires (3600..2592000).
            filename: The file's name; defaults to the path's base name, and is required
                for bytes and iterables.
            use_uploads: ``True`` sends the file through the Uploads API in parts, ``False``
                never; by default only files over ``max_single_upload`` bytes. Iterables
                (whose size is unknown) are always sent in one request.
            on_progress: Called with the bytes of the file sent so far: as each piece
                goes out in one request (from 0 again if the request is sent again), or
                as each part is done in parts. Keep it quick; it runs on the event loop.
            timeout: This call's timeout (each request's, for uploads in parts).

        Raises:
            FileNotFoundError: There is no file at the path.
            TypeError, ValueError: An argument is wrong (raised before any request).
        """
        check_purpose(purpose)
        seconds = check_expires_after(expires_after)
        if filename is not None and (not isinstance(filename, str) or not filename):
            raise ValueError(f"filename must be a non-empty string, got {filename!r}")
        if isinstance(file, str | os.PathLike):
            filename = os.path.basename(os.fspath(file)) if filename is None else filename
        elif filename is None:
            raise ValueError("filename is required when the content is bytes or an iterable")
        size: int | None
        if isinstance(file, str | os.PathLike | bytes | bytearray | memoryview):
            size = local_size(file)
            source: FilePart = FilePart(
                "file", filename, file if on_progress is None else _reporting(file, on_progress)
            )
            counted = None
        elif isinstance(file, AsyncIterable):
            if use_uploads:
                raise ValueError("use_uploads needs the size up front: pass a path or bytes")
            size = None
            counted = _Counted(file, on_progress)
            source = FilePart("file", filename, counted)
        else:
            raise TypeError(
                "file must be a path, bytes or an async iterable of bytes, "
                f"got {type(file).__name__}"
            )
        if use_uploads or (
            use_uploads is None and size is not None and size > self.max_single_upload
        ):
            assert not isinstance(file, AsyncIterable)
            return await self._uploads.upload_file(
                file,
                purpose=purpose,
                filename=filename,
                expires_after=seconds,
                on_progress=on_progress,
                timeout=timeout,
            )
        fields: list[FormField] = [("purpose", purpose)]
        if seconds is not None:
            fields += [
                ("expires_after[anchor]", "created_at"),
                ("expires_after[seconds]", str(seconds)),
            ]
        fields.append(source)
        since = int(time.time()) - CLOCK_SKEW

        async def reconcile() -> FileObject | None:
            nbytes = size if counted is None else (counted.size if counted.done else None)
            if nbytes is None:
                return None  # not all of it was sent: the API cannot have made the file
            return await self._find_lost_upload(filename, purpose, nbytes, since)

        result = await self._transport.request_form(
            "POST", "files", fields, timeout=timeout, reconcile=reconcile
        )
        return result if isinstance(result, FileObject) else decode(result, FileObject)

    async def _find_lost_upload(
        self, filename: str, purpose: str, nbytes: int, since: int
    ) -> FileObject | None:
        """The newest file that a lost upload attempt may have created, if any."""
        params: dict[str, str | int] = {"purpose": purpose, "order": "desc", "limit": LOOKBACK}
        response = await self._transport.request("GET", "files", params=params)
        page = decode(response, Page[FileObject])
        for candidate in page.data:
            if candidate.created_at < since:
                break  # newest first: the rest are older still
            if candidate.filename == filename and candidate.bytes == nbytes:
                return candidate
        return None

    async def retrieve(
        self, file_id: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> FileObject:
        """Fetch a file's details by id.

        Raises:
            ValueError: ``file_id`` is empty or ``None``.
            NotFoundError: There is no such file.
        """
        path = _file_path("files/{}", file_id)
        return decode(await self._transport.request("GET", path, timeout=timeout), FileObject)

    async def delete(
        self, file_id: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> FileDeleted:
        """Delete a file.

        Raises:
            ValueError: ``file_id`` is empty or ``None``.
            NotFoundError: There is no such file (or it was already deleted).
        """
        path = _file_path("files/{}", file_id)
        return decode(await self._transport.request("DELETE", path, timeout=timeout), FileDeleted)

    def content(
        self,
        file_id: str | None,
        *,
        chunk_size: int = 1 << 16,
        read_timeout: float | None = READ_TIMEOUT,
    ) -> AsyncGenerator[bytes, None]:
        """Yield a file's content in chunks of at most ``chunk_size`` bytes.

        ``None`` or ``""`` (a batch's missing ``output_file_id``, say) yields nothing and
        sends no request. Close the iterator when stopping early (``contextlib.aclosing``);
        its connection is then closed rather than reused.

        Args:
            read_timeout: The longest wait for the next chunk; the whole transfer has no
                deadline.

        Raises:
            NotFoundError: There is no such file.
            APIConnectionError: The content was cut short.
        """
        if _no_file(file_id):
            return _nothing()
        assert file_id is not None
        path = encode_path("files/{}/content", file_id)
        return self._chunks(path, chunk_size, read_timeout)

    def lines(
        self,
        file_id: str | None,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        max_line_bytes: int = 64 * 1024**2,
    ) -> AsyncGenerator[bytes, None]:
        """Yield a file's non-blank lines as bytes, without their ``\n`` or ``\r\n``.

        A last line without a line ending is yielded as is. A line longer than
        ``max_line_bytes`` raises JSONLError rather than filling memory. Takes ``None``
        or ``""`` as :meth:`content` does. (For line numbers, use
        ``iter_numbered_lines(client.files.content(file_id))``.)
        """
        from ._jsonl import iter_lines  # the JSONL machinery loads on first use

        chunks = self.content(file_id, read_timeout=read_timeout)
        return iter_lines(chunks, max_line_bytes=max_line_bytes, source=file_id or None)

    async def _chunks(
        self, path: str, chunk_size: int, read_timeout: float | None
    ) -> AsyncGenerator[bytes, None]:
        async with self._transport.stream("GET", path, read_timeout=read_timeout) as response:
            async for chunk in response.iter_chunks(chunk_size):
                yield chunk

    async def download(
        self,
        file_id: str | None,
        path: str | os.PathLike[str],
        *,
        read_timeout: float | None = READ_TIMEOUT,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> FileObject | None:
        """Save a file's content at ``path``, whole or not at all.

        The content goes to a temporary file beside ``path``; once its size matches the
        file's ``bytes`` it is flushed to disk and renamed over ``path``, and the directory
        is flushed so that the rename survives a crash. On any failure, cancellation
        included, the temporary file is removed and ``path`` is untouched.

        Args:
            file_id: The file; ``None`` or ``""`` means no file.
            path: Where to save it.
            read_timeout: The longest wait between two reads.
            on_progress: Called with ``(bytes received, file size)`` after each chunk.

        Returns:
            The file's details, or ``None`` (and nothing written) for a ``None`` or ``""`` id.

        Raises:
            FileNotFoundError: The directory of ``path`` does not exist.
            NotFoundError: There is no such file.
            APIConnectionError: The content was cut short or the connection failed.
            DownloadSizeError: The content's size is not the file's ``bytes``.
        """
        if _no_file(file_id):
            return None
        assert file_id is not None
        target, directory, name = _target(path)
        info = await self.retrieve(file_id)
        url_path = encode_path("files/{}/content", file_id)
        fd, temp = await asyncio.to_thread(
            tempfile.mkstemp, dir=directory, prefix=f".{name}.", suffix=".part"
        )
        out = _open_fd(fd)
        try:
            received = await self._write_content(
                out, url_path, info, target, read_timeout, on_progress
            )
            if received != info.bytes:
                raise DownloadSizeError(
                    f"Downloading {file_id} to {target} got {received} bytes but the file has "
                    f"{info.bytes}; nothing was written",
                    expected=info.bytes,
                    received=received,
                    url=url_path,
                )
            await asyncio.to_thread(_sync_and_close, out)
            await asyncio.to_thread(_replace_durably, temp, target, directory)
        except BaseException:
            out.close()
            _remove(temp)
            raise
        return info

    async def _write_content(
        self,
        out: IO[bytes],
        url_path: str,
        info: FileObject,
        target: str,
        read_timeout: float | None,
        on_progress: Callable[[int, int], object] | None,
    ) -> int:
        """Copy the content into ``out``; return the byte count."""
        received = 0
        batch: list[bytes] = []
        batched = 0
        try:
            async with aclosing(self._chunks(url_path, 1 << 16, read_timeout)) as chunks:
                async for chunk in chunks:
                    received += len(chunk)
                    if received > info.bytes:
                        break  # too long already: the size check below reports it
                    batch.append(chunk)
                    batched += len(chunk)
                    if on_progress is not None:
                        on_progress(received, info.bytes)
                    if batched >= _WRITE_BATCH:
                        await asyncio.to_thread(out.writelines, batch)
                        batch, batched = [], 0
        except APIConnectionError as exc:
            raise type(exc)(
                f"Downloading {info.id} to {target} failed after {received} of {info.bytes} "
                f"bytes, and nothing was written: {exc.message}",
                method=exc.method,
                url=exc.url,
            ) from exc
        if batch:
            await asyncio.to_thread(out.writelines, batch)
        return received

    def pages(
        self,
        *,
        purpose: str | None = None,
        order: Order | None = None,
        limit: int = DEFAULT_FILES_PAGE,
        after: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncGenerator[Page[FileObject], None]:
        """Walk the files page by page.

        Args:
            purpose: Only files with this purpose, such as ``"batch"``.
            order: ``"desc"`` (the API's default: newest first) or ``"asc"``.
            limit: Files per page, 1 to 10,000.
            after: Start after this file id (a page's ``last_id``), to resume a walk.
            timeout: Each page's timeout, instead of the client's.

        Raises:
            ValueError: An argument is out of range (raised at once, before any request).
            PaginationError: The API's cursors do not advance.
        """
        return structured_pages(self._walk(purpose, order, limit, after, timeout), FileObject)

    def list(
        self,
        *,
        purpose: str | None = None,
        order: Order | None = None,
        limit: int = DEFAULT_FILES_PAGE,
        after: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncGenerator[FileObject, None]:
        """Walk every file, fetching pages of ``limit`` as needed.

        Takes the same arguments as :meth:`pages`. Each file is checked as it is
        yielded, so a malformed one raises ResponseValidationError at its turn.
        """
        return iter_items(self._walk(purpose, order, limit, after, timeout), FileObject)

    def _walk(
        self,
        purpose: str | None,
        order: Order | None,
        limit: int,
        after: str | None,
        timeout: TimeoutTypes | UseClientDefault,
    ) -> AsyncGenerator[RawPage, None]:
        check_limit(limit, MAX_FILES_PAGE)
        base: dict[str, str | int] = {"limit": limit}
        if order is not None:
            if order not in ("asc", "desc"):
                raise ValueError(f"order must be 'asc' or 'desc', got {order!r}")
            base["order"] = order
        if purpose is not None:
            if not isinstance(purpose, str) or not purpose:
                raise ValueError(f"purpose must be a non-empty string, got {purpose!r}")
            base["purpose"] = purpose
        transport = self._transport

        def fetch(cursor: str | None) -> Awaitable[Response]:
            params = base if cursor is None else {**base, "after": cursor}
            return transport.request("GET", "files", params=params, timeout=timeout)

        return walk_pages(fetch, check_cursor(after))


async def _nothing() -> AsyncGenerator[bytes, None]:
    return
    yield  # an async generator that yields nothing


def _target(path: str | os.PathLike[str]) -> tuple[str, str, str]:
    """The absolute target path, its directory and its name; the directory must exist."""
    target = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, "No such directory to download into", directory)
    return target, directory, name


def _open_fd(fd: int) -> IO[bytes]:
    return os.fdopen(fd, "wb")


def _sync_and_close(out: IO[bytes]) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def _replace_durably(temp: str, target: str, directory: str) -> None:
    """Rename ``temp`` over ``target``, then flush the directory so the rename survives a crash."""
    os.replace(temp, target)
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # a platform that cannot open directories (Windows) has nothing to flush
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to sync a directory; the rename is done all the same
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
