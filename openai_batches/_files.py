"""The Files API: ``client.files``.

Uploads stream from disk and never read a file whole; files over the single-upload limit
(512 MB) go through the Uploads API in parts. Content is read chunk by chunk, with a read
timeout between chunks and no deadline on the whole transfer.

Duplicate-safe uploads: when an upload attempt's outcome is unknown (the connection
failed or timed out, or the API answered 5xx), the attempt may still have created the
file; when its 2xx answer cannot be read, it did. So before the first attempt the client
lists the newest 100 files of the same purpose, and after such an attempt, before
retrying or raising, it lists them again and takes the newest file with the same
``filename`` and ``bytes`` that was not there before (nor older than the oldest file
listed before): a file that existed before the call is never taken for its result, and
no clock is compared. If one is found, it is returned and nothing is sent again. If the
first listing failed (a key that may not list files, say), an unknown outcome is raised
with a note rather than sent again. Another process uploading an identical file (same
name, size and purpose) during the call could still be mistaken for the lost attempt:
give concurrent uploads distinct file names.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from contextlib import aclosing, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, Unpack, overload

import attrs

from ._api import API
from ._decode import Response, as_is, decoder
from ._errors import APIConnectionError, APIError, DownloadSizeError, ResponseValidationError
from ._models import FileDeleted, FileObject, Page
from ._options import Extra, RequestOptions, options_of
from ._pagination import (
    RawPage,
    check_cursor,
    check_limit,
    check_prefetch,
    iter_items,
    prefetch_pages,
    structured_pages,
    walk_pages,
)
from ._retry import StopRetrying
from ._types import USE_CLIENT_DEFAULT, Order, TimeoutTypes, UseClientDefault, check_seconds
from ._urls import encode_path

if TYPE_CHECKING:
    # What only some methods need loads on their first use, keeping the first
    # `client.files` light.
    from ._expiry import ExpiresAfter
    from ._filters import Seconds
    from ._many import Ids
    from ._sources import FileInput, FormField, OnUploadProgress
    from ._transport import Stream
    from ._uploads import Uploads
    from ._wait import Polling

__all__ = ["DownloadSizeError", "Files"]

log = logging.getLogger(__name__)

# A file in any other status (Azure OpenAI's pending, running, ...) is still being processed.
_FINAL_FILE_STATUSES = frozenset({"processed", "error", "deleted"})

T = TypeVar("T")

#: The API's largest page of files.
MAX_FILES_PAGE = 10_000
#: The page size walks use unless told otherwise. A page of the API's default, 10,000, is
#: parsed and built in pieces with the event loop running in between, but holds ten
#: times the objects at once, which the garbage collector pays for in ``pages()``
#: (benchmarks/bench_walk.py, benchmarks/bench_cold.py).
DEFAULT_FILES_PAGE = 1_000
#: The API's largest single ``POST /files`` upload; larger files go through the Uploads API.
MAX_SINGLE_UPLOAD = 512 * 1024**2
#: How many of the newest files are looked at, before an upload and for a lost one.
LOOKBACK = 100
#: Downloads are written to disk in batches of about this many bytes, from a thread.
_WRITE_BATCH = 1 << 20
#: The default read timeout for content: the longest gap between two chunks, in seconds.
READ_TIMEOUT = 300.0


def _no_file(file_id: str | None) -> bool:
    """Whether an optional file id means "no file": ``None`` or ``""``."""
    if file_id is None or file_id == "":
        return True
    if not isinstance(file_id, str):
        raise TypeError(f"a file id must be a string or None, got {type(file_id).__name__}")
    return False


#: What a file id must look like to be used as a file name by ``download_many``.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def _check_file_name(file_id: str) -> None:
    if not _FILE_NAME.fullmatch(file_id):
        raise ValueError(
            f"{file_id!r} cannot be saved under its own name: a file id to download "
            "must be letters, digits, '.', '_' and '-', starting with a letter or a "
            "digit, up to 200 of them"
        )


#: Why a call takes no ``extra_body``.
_GET_PAGES = "a listing sends GET requests, which have no body"
_GET_CONTENT = "reading content sends a GET request, which has no body"
_MULTIPART = "an upload is sent as a multipart form, not JSON; use extra_query or extra_headers"


def _file_path(template: str, file_id: str) -> str:
    if file_id is None or file_id == "":
        raise ValueError("a file id is required; got an empty one")
    return encode_path(template, file_id)


class Files:
    """Upload, inspect, download and list files.

    Args:
        api: The client's requests.
        uploads: The Uploads resource used for large files; one is made if not given.
        max_single_upload: Files larger than this many bytes go through the Uploads API.
    """

    def __init__(
        self,
        api: API,
        *,
        uploads: Uploads | None = None,
        max_single_upload: int = MAX_SINGLE_UPLOAD,
    ) -> None:
        self._api = api
        self._given_uploads = uploads
        self.max_single_upload = max_single_upload

    @property
    def _uploads(self) -> Uploads:
        # Built on the first large upload: listing files never loads the Uploads API.
        if self._given_uploads is None:
            from ._uploads import Uploads

            self._given_uploads = Uploads(self._api)
        return self._given_uploads

    async def create(
        self,
        file: FileInput,
        *,
        purpose: str,
        expires_after: ExpiresAfter | None = None,
        filename: str | None = None,
        use_uploads: bool | None = None,
        on_progress: OnUploadProgress | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> FileObject:
        """Upload a file.

        An upload whose answer is lost is not repeated blindly: see the module's notes on
        duplicate-safe uploads.

        Args:
            file: A path (streamed from disk), the content as bytes, or an async iterable
                of bytes (sent as it comes, once: a failure after it started is raised).
            purpose: What the file is for, such as ``"batch"`` (which needs a ``.jsonl``
                name).
            expires_after: When the file expires: seconds after its creation (3600 to
                2592000), or the API's ``{"anchor": "created_at", "seconds": N}``.
            filename: The file's name; defaults to the path's base name, and is required
                for bytes and iterables.
            use_uploads: ``True`` sends the file through the Uploads API in parts, ``False``
                never; by default only files over ``max_single_upload`` bytes. Iterables
                (whose size is unknown) are always sent in one request.
            on_progress: Called with the bytes of the file sent so far: as each piece
                goes out in one request (from 0 again if the request is sent again), or
                as each part is done in parts. Keep it quick; it runs on the event loop.
            timeout: This call's timeout (each request's, for uploads in parts).
            **extra: ``extra_headers`` and ``extra_query`` (see :class:`Extra`), with each
                request of an upload in parts; ``extra_body`` is refused (the upload is a
                multipart form).

        Raises:
            FileNotFoundError: There is no file at the path.
            TypeError, ValueError: An argument is wrong (raised before any request).
        """
        from ._expiry import check_expires_after
        from ._sources import FilePart, source_of
        from ._uploads import check_purpose

        options = options_of(extra, why=_MULTIPART)
        check_purpose(purpose)
        seconds = check_expires_after(expires_after)
        if filename is not None and (not isinstance(filename, str) or not filename):
            raise ValueError(f"filename must be a non-empty string, got {filename!r}")
        if isinstance(file, str | os.PathLike):
            filename = os.path.basename(os.fspath(file)) if filename is None else filename
        elif filename is None:
            raise ValueError("filename is required when the content is bytes or an iterable")
        source = source_of(file, on_progress)
        size = source.size
        if use_uploads and size is None:
            raise ValueError("use_uploads needs the size up front: pass a path or bytes")
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
                **extra,
            )
        fields: list[FormField] = [("purpose", purpose)]
        if seconds is not None:
            fields += [
                ("expires_after[anchor]", "created_at"),
                ("expires_after[seconds]", str(seconds)),
            ]
        fields.append(FilePart("file", filename, source))
        before = await self._files_before(purpose, timeout)

        async def recover() -> FileObject | None:
            nbytes = source.sent_size
            if nbytes is None:
                return None  # not all of it was sent: the API cannot have made the file
            if before is None:
                raise StopRetrying(
                    "The files could not be listed before the upload, so a file it may have "
                    "made cannot be told from an earlier one; it was not sent again."
                )
            return await self._find_lost_upload(filename, purpose, nbytes, before, timeout)

        return await self._api.request(
            "POST",
            "files",
            decoder(FileObject),
            form=fields,
            timeout=timeout,
            recover=recover,
            options=options,
        )

    async def _files_before(
        self, purpose: str, timeout: TimeoutTypes | UseClientDefault
    ) -> _Listed | None:
        """The newest files of ``purpose`` before an upload, or ``None`` if listing fails."""
        try:
            page = await self._list_newest(purpose, timeout)
        except APIError as exc:
            log.info("Could not list the files before an upload: %s", exc)
            return None
        oldest = page.data[-1].created_at if page.data else 0
        return _Listed(frozenset(f.id for f in page.data), page.has_more, oldest)

    async def _find_lost_upload(
        self,
        filename: str,
        purpose: str,
        nbytes: int,
        before: _Listed,
        timeout: TimeoutTypes | UseClientDefault,
    ) -> FileObject | None:
        """The newest file that a lost upload attempt may have created, if any.

        Never one of the files listed before the upload, nor one older than the oldest of
        them (it was beyond that listing, so it existed too).
        """
        page = await self._list_newest(purpose, timeout)
        for candidate in page.data:
            if candidate.id in before.ids:
                continue
            if before.more and candidate.created_at <= before.oldest:
                break  # newest first: this one and the rest existed before the upload
            if candidate.filename == filename and candidate.bytes == nbytes:
                return candidate
        return None

    def _list_newest(
        self, purpose: str, timeout: TimeoutTypes | UseClientDefault
    ) -> Awaitable[Page[FileObject]]:
        params: dict[str, str | int] = {"purpose": purpose, "order": "desc", "limit": LOOKBACK}
        return self._api.request(
            "GET", "files", decoder(Page[FileObject]), params=params, timeout=timeout
        )

    async def retrieve(
        self,
        file_id: str,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> FileObject:
        """Fetch a file's details by id.

        Args:
            file_id: The file's id.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).

        Raises:
            ValueError: ``file_id`` is empty or ``None``.
            NotFoundError: There is no such file.
        """
        path = _file_path("files/{}", file_id)
        return await self._api.request(
            "GET", path, decoder(FileObject), timeout=timeout, options=options_of(extra)
        )

    async def wait_for_processing(
        self, file_id: str, *, polling: Polling | None = None
    ) -> FileObject:
        """Poll a file until its ``status`` is final: ``processed``, ``error`` or ``deleted``.

        Azure OpenAI reports a new batch file as ``pending`` (or ``running``) for a while
        and refuses a batch on it until it is ``processed``; OpenAI's files are final at
        once, or carry no status, which also ends the wait. A file that failed processing
        is returned as it is (``status`` ``error``, ``status_details`` saying why). Bound
        the wait with ``asyncio.timeout()``.

        Args:
            file_id: The file's id.
            polling: The first interval, its growth and the sleep (a :class:`Polling`);
                its ``max_errors`` and ``clock`` are not used here.

        Raises:
            ValueError: ``file_id`` is empty or ``None``.
            NotFoundError: There is no such file.
        """
        from ._wait import Polling

        polling = polling or Polling()
        interval = polling.interval
        while True:
            file = await self.retrieve(file_id)
            if file.status is None or file.status.value in _FINAL_FILE_STATUSES:
                return file
            await polling.sleep(interval)
            interval = min(interval * polling.backoff, polling.max_interval)

    async def delete(
        self,
        file_id: str,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> FileDeleted:
        """Delete a file.

        Args:
            file_id: The file's id.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).

        Raises:
            ValueError: ``file_id`` is empty or ``None``.
            NotFoundError: There is no such file (or it was already deleted).
        """
        path = _file_path("files/{}", file_id)
        return await self._api.request(
            "DELETE", path, decoder(FileDeleted), timeout=timeout, options=options_of(extra)
        )

    @overload
    def retrieve_many(
        self,
        ids: Ids[FileObject],
        *,
        limit: int = 8,
        return_exceptions: Literal[False] = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileObject, None]: ...

    @overload
    def retrieve_many(
        self,
        ids: Ids[FileObject],
        *,
        limit: int = 8,
        return_exceptions: bool,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileObject | Exception, None]: ...

    def retrieve_many(
        self,
        ids: Ids[FileObject],
        *,
        limit: int = 8,
        return_exceptions: bool = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileObject | Exception, None]:
        """Fetch many files' details, ``limit`` at a time, and yield them in input order.

        Works as :func:`openai_batches.concurrent_map` does: ids are read only as fast
        as the requests go, and a failure is raised in its place after the files before
        it (or yielded there, with ``return_exceptions=True``).

        Args:
            ids: File ids or :class:`FileObject` objects: a collection (checked whole
                before any request), an iterable or an async iterable such as a listing.
            limit: The most requests in flight at once.
            return_exceptions: Yield an error in its file's place instead of raising it.
            timeout: Each request's timeout, instead of the client's.

        Raises:
            TypeError, ValueError: An argument, or an id in a collection, is wrong.
            NotFoundError: There is no file with one of the ids.

        The extras of a single call (see :class:`Extra`) go with each request.
        """
        from ._many import call_many

        options_of(extra)  # refuses wrong extras at once, not at each call
        return call_many(
            lambda file_id: self.retrieve(file_id, timeout=timeout, **extra),
            ids,
            FileObject,
            limit=limit,
            return_exceptions=return_exceptions,
        )

    @overload
    def delete_many(
        self,
        ids: Ids[FileObject],
        *,
        limit: int = 8,
        return_exceptions: Literal[False] = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileDeleted, None]: ...

    @overload
    def delete_many(
        self,
        ids: Ids[FileObject],
        *,
        limit: int = 8,
        return_exceptions: bool,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileDeleted | Exception, None]: ...

    def delete_many(
        self,
        ids: Ids[FileObject],
        *,
        limit: int = 8,
        return_exceptions: bool = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileDeleted | Exception, None]:
        """Delete many files, ``limit`` at a time; yield the answers in input order.

        Takes the same arguments as :meth:`retrieve_many`.
        """
        from ._many import call_many

        options_of(extra)  # refuses wrong extras at once, not at each call
        return call_many(
            lambda file_id: self.delete(file_id, timeout=timeout, **extra),
            ids,
            FileObject,
            limit=limit,
            return_exceptions=return_exceptions,
        )

    @overload
    def download_many(
        self,
        ids: Ids[FileObject],
        directory: str | os.PathLike[str],
        *,
        limit: int = 4,
        return_exceptions: Literal[False] = False,
        read_timeout: float | None = READ_TIMEOUT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Path, None]: ...

    @overload
    def download_many(
        self,
        ids: Ids[FileObject],
        directory: str | os.PathLike[str],
        *,
        limit: int = 4,
        return_exceptions: bool,
        read_timeout: float | None = READ_TIMEOUT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Path | Exception, None]: ...

    def download_many(
        self,
        ids: Ids[FileObject],
        directory: str | os.PathLike[str],
        *,
        limit: int = 4,
        return_exceptions: bool = False,
        read_timeout: float | None = READ_TIMEOUT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Path | Exception, None]:
        """Save many files in ``directory``, ``limit`` at a time; yield their paths in input order.

        Each file is saved as ``directory / <file id>`` (never under the name the API
        gives it, which may repeat or reach outside the directory) by :meth:`download`:
        whole or not at all. When the walk stops early (an error, breaking out, a
        cancellation) the downloads under way are cancelled and leave nothing behind;
        the files already saved stay.

        Args:
            ids: File ids or :class:`FileObject` objects, as for :meth:`retrieve_many`;
                each must be a plain file name: letters, digits, ``.``, ``_`` and ``-``,
                starting with a letter or a digit.
            directory: An existing directory.
            limit: The most downloads under way at once.
            return_exceptions: Yield an error in its file's place instead of raising it.
            read_timeout: The longest wait between two reads of a file's content.

        Raises:
            FileNotFoundError, NotADirectoryError: ``directory`` is not a directory
                (raised at once).
            TypeError, ValueError: An argument, or an id in a collection, is wrong.
            NotFoundError, APIConnectionError, DownloadSizeError: As :meth:`download`.

        The extras of a single call (see :class:`Extra`) go with each request.
        """
        folder = Path(directory)
        if not folder.is_dir():
            if folder.exists():
                raise NotADirectoryError(20, "Not a directory to download into", str(folder))
            raise FileNotFoundError(2, "No such directory to download into", str(folder))

        async def save(file_id: str) -> Path:
            path = folder / file_id
            await self.download(file_id, path, read_timeout=read_timeout, **extra)
            return path

        from ._many import call_many

        options_of(extra, why=_GET_CONTENT)  # refuses wrong extras at once
        return call_many(
            save,
            ids,
            FileObject,
            limit=limit,
            return_exceptions=return_exceptions,
            check=_check_file_name,
        )

    def content(
        self,
        file_id: str | None,
        *,
        chunk_size: int = 1 << 16,
        read_timeout: float | None = READ_TIMEOUT,
        expected_bytes: int | None = None,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[bytes, None]:
        """Yield a file's content in chunks of at most ``chunk_size`` bytes.

        ``None`` or ``""`` (a batch's missing ``output_file_id``, say) yields nothing and
        sends no request. Close the iterator when stopping early (``contextlib.aclosing``);
        its connection is then closed rather than reused.

        The content is checked against the file: its size must be the file's ``bytes``
        (one more request fetches them, unless ``expected_bytes`` gives them), and an
        HTML page (``text/html``) is refused unless the file is named ``.html``. An
        answer announcing another length raises before yielding anything; without a
        length, too many bytes raise before the extra ones are yielded, too few at the end.

        Args:
            read_timeout: The longest wait for the next chunk (more than 0, or ``None``
                for no limit); the whole transfer has no deadline.
            expected_bytes: The file's size, when you have it (``FileObject.bytes``).
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`), with the
                content's request (not the look-up of the file's size).

        Raises:
            NotFoundError: There is no such file.
            APIConnectionError: The content was cut short.
            DownloadSizeError: The content's size is not the file's.
            ResponseValidationError: The answer is an HTML page, not the file.
        """
        check_seconds("read_timeout", read_timeout)
        if expected_bytes is not None and (
            isinstance(expected_bytes, bool)
            or not isinstance(expected_bytes, int)
            or expected_bytes < 0
        ):
            raise ValueError(f"expected_bytes must be a whole number >= 0, got {expected_bytes!r}")
        options = options_of(extra, why=_GET_CONTENT)
        if _no_file(file_id):
            return _nothing()
        assert file_id is not None
        return self._chunks(file_id, chunk_size, read_timeout, expected_bytes, None, options)

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
        or ``""`` as :meth:`content` does. Blank lines are skipped, so the lines yielded
        are not numbered as in the file; a JSONLError's ``line`` is the file's number.
        """
        from ._jsonl import iter_lines  # the JSONL machinery loads on first use

        chunks = self.content(file_id, read_timeout=read_timeout)
        return iter_lines(chunks, max_line_bytes=max_line_bytes, source=file_id or None)

    async def _chunks(
        self,
        file_id: str,
        chunk_size: int,
        read_timeout: float | None,
        expected: int | None,
        filename: str | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """The content, checked against the file's size (looked up when not given)."""
        if expected is None:
            info = await self.retrieve(file_id)
            expected, filename = info.bytes, info.filename
        path = encode_path("files/{}/content", file_id)
        received = 0
        async with self._api.stream(
            "GET", path, read_timeout=read_timeout, options=options
        ) as stream:
            _check_media_type(stream, file_id, filename)
            announced = stream.content_length
            if announced is not None and announced != expected:
                # Refused before a byte is yielded: none of them would be the file's.
                raise DownloadSizeError(
                    f"The content of {file_id} is announced as {announced} bytes long, but "
                    f"the file has {expected}",
                    expected=expected,
                    received=0,
                    url=stream.url,
                )
            async for chunk in stream.iter_chunks(chunk_size):
                received += len(chunk)
                if received > expected:
                    raise _size_error(file_id, expected, received, stream.url, "or more ")
                yield chunk
        if received != expected:
            raise _size_error(file_id, expected, received, path, "")

    async def download(
        self,
        file_id: str | None,
        path: str | os.PathLike[str],
        *,
        read_timeout: float | None = READ_TIMEOUT,
        on_progress: Callable[[int, int], object] | None = None,
        **extra: Unpack[Extra],
    ) -> FileObject | None:
        """Save a file's content at ``path``, whole or not at all.

        The content goes to a temporary file beside ``path``; once its size matches the
        file's ``bytes`` it is flushed to disk and renamed over ``path``, and the directory
        is flushed so that the rename survives a crash. On any failure, cancellation
        included, the temporary file is closed and removed and ``path`` is untouched
        (cancelled during the final flush and rename, ``path`` is either untouched or
        whole). The file gets the permissions any new file gets (0666 less the umask).

        Args:
            file_id: The file; ``None`` or ``""`` means no file.
            path: The file to save it as, in a directory that exists.
            read_timeout: The longest wait between two reads (more than 0, or ``None``).
            on_progress: Called with ``(bytes received, file size)`` after each chunk.
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`), with the
                content's request (not the look-up of the file's size).

        Returns:
            The file's details, or ``None`` (and nothing written) for a ``None`` or ``""`` id.

        Raises:
            FileNotFoundError: The directory of ``path`` does not exist (before any request).
            IsADirectoryError: ``path`` is a directory or ends with a separator (before
                any request).
            NotFoundError: There is no such file.
            APIConnectionError: The content was cut short or the connection failed.
            DownloadSizeError: The content's size is not the file's ``bytes``.
        """
        check_seconds("read_timeout", read_timeout)
        options = options_of(extra, why=_GET_CONTENT)
        if _no_file(file_id):
            return None
        assert file_id is not None
        target, directory, name = _target(path)
        info = await self.retrieve(file_id)
        url_path = encode_path("files/{}/content", file_id)
        # Made here, not in a worker thread: a task cancelled while a thread makes the file
        # would never learn its name or descriptor, to close and remove it. Making a file
        # is one quick system call, and nothing can cancel the task between it and the try.
        fd, temp = _create_beside(directory, name)
        out = _open_fd(fd)
        try:
            received = await self._write_content(
                out, info, target, read_timeout, on_progress, options
            )
            if received != info.bytes:
                raise DownloadSizeError(
                    f"Downloading {file_id} to {target} got {received} bytes but the file has "
                    f"{info.bytes}; nothing was written",
                    expected=info.bytes,
                    received=received,
                    url=url_path,
                )
            await _to_the_end(_finish, out, temp, target, directory)
        except BaseException:
            out.close()
            _remove(temp)
            raise
        return info

    async def _write_content(
        self,
        out: IO[bytes],
        info: FileObject,
        target: str,
        read_timeout: float | None,
        on_progress: Callable[[int, int], object] | None,
        options: RequestOptions | None = None,
    ) -> int:
        """Copy the content into ``out``; return the byte count."""
        received = 0
        batch: list[bytes] = []
        batched = 0
        chunks = self._chunks(info.id, 1 << 16, read_timeout, info.bytes, info.filename, options)
        try:
            async with aclosing(chunks):
                async for chunk in chunks:
                    received += len(chunk)
                    batch.append(chunk)
                    batched += len(chunk)
                    if on_progress is not None:
                        on_progress(received, info.bytes)
                    if batched >= _WRITE_BATCH:
                        await _to_the_end(out.writelines, batch)
                        batch, batched = [], 0
        except APIConnectionError as exc:
            raise type(exc)(
                f"Downloading {info.id} to {target} failed after {received} of {info.bytes} "
                f"bytes, and nothing was written: {exc.message}",
                method=exc.method,
                url=exc.url,
            ) from exc
        except DownloadSizeError as exc:
            raise DownloadSizeError(
                f"Downloading {info.id} to {target} got {exc.received} bytes but the file has "
                f"{info.bytes}; nothing was written",
                expected=info.bytes,
                received=exc.received,
                url=exc.url,
            ) from exc
        if batch:
            await _to_the_end(out.writelines, batch)
        return received

    def pages(
        self,
        *,
        purpose: str | None = None,
        order: Order | None = None,
        limit: int = DEFAULT_FILES_PAGE,
        after: str | None = None,
        prefetch: int = 0,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Page[FileObject], None]:
        """Walk the files page by page.

        Args:
            purpose: Only files with this purpose, such as ``"batch"``.
            order: ``"desc"`` (the API's default: newest first) or ``"asc"``.
            limit: Files per page, 1 to 10,000.
            after: Start after this file id (a page's ``last_id``), to resume a walk.
            prefetch: Fetch up to this many pages ahead while the caller works on the
                current one (``0``: each page when it is asked for). Close the walk
                (``contextlib.aclosing``) to cancel a request fetched ahead at once.
            timeout: Each page's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`), with each page.

        Raises:
            ValueError: An argument is out of range (raised at once, before any request).
            PaginationError: The API's cursors do not advance.
        """
        ahead = check_prefetch(prefetch)
        options = options_of(extra, why=_GET_PAGES)
        walk = self._walk(purpose, order, limit, after, timeout, options)
        return structured_pages(prefetch_pages(walk, ahead), FileObject)

    def list(
        self,
        *,
        purpose: str | None = None,
        order: Order | None = None,
        limit: int = DEFAULT_FILES_PAGE,
        after: str | None = None,
        created_after: Seconds | None = None,
        created_before: Seconds | None = None,
        max_items: int | None = None,
        prefetch: int = 0,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[FileObject, None]:
        """Walk every file, fetching pages of ``limit`` as needed.

        Takes the arguments of :meth:`pages`, and filters. Filters never change what is
        requested, only what is yielded and where the walk ends: newest first (the
        default order), ``created_after`` ends it at the first older file; oldest first,
        ``created_before`` ends it at the first file not older; ``max_items`` ends it at
        the file that reaches the count. Each file is checked as it is yielded, so a
        malformed one raises ResponseValidationError at its turn.

        Args:
            created_after: Only files created at or after this moment (unix seconds, or
                an aware datetime).
            created_before: Only files created before this moment.
            max_items: Yield at most this many files.

        Raises:
            TypeError, ValueError: An argument is wrong (raised at once, before any
                request).
        """
        ahead = check_prefetch(prefetch)
        walk = self._walk(purpose, order, limit, after, timeout, options_of(extra, why=_GET_PAGES))
        if created_after is not None or created_before is not None or max_items is not None:
            from ._filters import file_filter, filter_pages

            walk_filter = file_filter(
                newest_first=order != "asc",
                created_after=created_after,
                created_before=created_before,
                max_items=max_items,
            )
            if walk_filter is not None:
                walk = filter_pages(walk, walk_filter)
        return iter_items(prefetch_pages(walk, ahead), FileObject)

    def scan(
        self,
        *,
        purpose: str | None = None,
        limit: int = MAX_FILES_PAGE,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncGenerator[FileObject, None]:
        """Yield every file once, in no promised order, walking from both ends at once.

        An oldest-first walk and a newest-first walk run concurrently, up to two pages
        ahead each, and the scan ends where they meet: about half the round trips of
        :meth:`list`. A file present for the whole scan is yielded exactly once, ties in
        ``created_at`` included; a file created or deleted during the scan is yielded at
        most once. Memory: five pages, and the ids of the files that share one
        ``created_at`` second where the walks meet.

        Args:
            purpose: Only files with this purpose, such as ``"batch"``.
            limit: Files per page, 1 to 10,000.
            timeout: Each page's timeout, instead of the client's.

        Raises:
            ValueError: An argument is out of range (raised at once, before any request).
            PaginationError: The API's cursors do not advance, or a page is out of order.
        """
        from ._scan import scan_pages

        oldest_first = self._walk(purpose, "asc", limit, None, timeout)
        newest_first = self._walk(purpose, "desc", limit, None, timeout)
        return iter_items(scan_pages(oldest_first, newest_first), FileObject)

    def _walk(
        self,
        purpose: str | None,
        order: Order | None,
        limit: int,
        after: str | None,
        timeout: TimeoutTypes | UseClientDefault,
        options: RequestOptions | None = None,
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
        api = self._api

        def fetch(cursor: str | None) -> Awaitable[Response]:
            params = base if cursor is None else {**base, "after": cursor}
            return api.request(
                "GET", "files", as_is, params=params, timeout=timeout, options=options
            )

        return walk_pages(fetch, check_cursor(after), api.emit)


@attrs.frozen
class _Listed:
    """The newest files of a purpose, listed before an upload."""

    ids: frozenset[str]
    #: Whether older files exist beyond those listed.
    more: bool
    #: The ``created_at`` of the oldest file listed (0 when none were).
    oldest: int


def _check_media_type(stream: Stream, file_id: str, filename: str | None) -> None:
    """Refuse an HTML page for a file that is not one: a proxy's or a login page.

    The API serves a file's content as ``application/octet-stream``.
    """
    media = stream.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media == "text/html" and not (filename or "").lower().endswith((".html", ".htm")):
        raise ResponseValidationError(
            f"The content of {file_id} came as an HTML page (text/html), which cannot be "
            "the file: a proxy or a login page answered instead of the API",
            status_code=stream.status,
            request_id=stream.headers.get("x-request-id"),
            method=stream.method,
            url=stream.url,
        )


def _size_error(file_id: str, expected: int, received: int, url: str, more: str) -> Exception:
    return DownloadSizeError(
        f"The content of {file_id} is {received} bytes {more}long, but the file has {expected}",
        expected=expected,
        received=received,
        url=url,
    )


async def _nothing() -> AsyncGenerator[bytes, None]:
    return
    yield  # an async generator that yields nothing


def _target(path: str | os.PathLike[str]) -> tuple[str, str, str]:
    """The absolute target path, its directory and its name.

    Raises:
        FileNotFoundError: The directory to write into does not exist (``missing/`` included).
        IsADirectoryError: ``path`` is a directory, or ends with a separator.
    """
    text = os.fspath(path)
    target = os.path.abspath(text)
    # abspath() drops a trailing "/" or "/.": "missing-dir/" must not become a file.
    if os.path.basename(text) in ("", ".", "..") or os.path.isdir(target):
        if not os.path.isdir(target):
            raise FileNotFoundError(errno.ENOENT, "No such directory to download into", text)
        raise IsADirectoryError(errno.EISDIR, "A directory, not a file to download to", text)
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "No such directory to download into", directory)
    return target, directory, name


def _create_beside(directory: str, name: str) -> tuple[int, str]:
    """Create an empty temporary file for ``name`` in ``directory``; return its fd and path.

    The file is created with mode 0666 less the umask, as ``open()`` creates files, so the
    finished download has the permissions of any new file from the start (``mkstemp``
    would give 0600, and a ``chmod`` afterwards needs the umask, which cannot be read
    without setting it for every thread).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No free temporary name to download into", directory)


def _open_fd(fd: int) -> IO[bytes]:
    return os.fdopen(fd, "wb")


async def _to_the_end(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a worker thread; if cancelled meanwhile, let the thread finish.

    A thread cannot be stopped: were the cancellation raised at once, the caller's
    cleanup would close and remove the file while the thread still writes or renames it.
    """
    future = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])  # a second cancellation stops only this wait
        raise


def _finish(out: IO[bytes], temp: str, target: str, directory: str) -> None:
    """Flush the temporary file to disk, close it, and rename it durably over ``target``."""
    _sync_and_close(out)
    _replace_durably(temp, target, directory)


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
