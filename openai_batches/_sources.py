"""What an upload sends: one adapter per kind of input, and nothing else reads them.

``files.create`` takes a path, bytes or an async iterable of bytes; the Uploads API
reads a path or bytes in parts. :func:`source_of` turns each kind into a :class:`Source`,
which gives every attempt of a request a fresh body (a path is opened again, bytes are
sent again), says whether a failed attempt may be sent again (an iterable is read once),
and counts what went out. :class:`FilePart` describes a multipart file field with one.
Nothing here imports aiohttp: the transport turns the bodies into its payloads.

Files are opened synchronously, on the event loop: opening a local file is one quick
system call, and an ``open`` run in a worker thread would leave the file open for good
when the awaiting task is cancelled before the thread hands it back.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from typing import IO, Any, TypeAlias

import attrs

__all__ = [
    "Body",
    "FileInput",
    "FilePart",
    "FormField",
    "LocalFile",
    "OnUploadProgress",
    "Source",
    "local_size",
    "part_reader",
    "source_of",
]

#: What an upload accepts: a path, the content as bytes, or an async iterable of bytes.
FileInput: TypeAlias = (
    "str | os.PathLike[str] | bytes | bytearray | memoryview | AsyncIterable[bytes]"
)
#: A path or the content: the inputs whose size is known up front.
LocalFile: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview"
#: Called with the bytes of the file sent so far.
OnUploadProgress: TypeAlias = Callable[[int], object]
#: One attempt's body: bytes, an open binary file, or an async iterator of bytes.
Body: TypeAlias = "bytes | bytearray | memoryview | IO[bytes] | AsyncIterator[bytes]"

#: The size of the pieces a path or bytes are sent in when progress is reported.
_PROGRESS_CHUNK = 1 << 20


def local_size(file: LocalFile) -> int:
    """The size of bytes, or of the regular file at a path.

    Raises:
        FileNotFoundError: There is no such file.
        IsADirectoryError: The path is a directory.
        ValueError: The path is not a regular file (a FIFO, a device).
    """
    if isinstance(file, bytes | bytearray | memoryview):
        return memoryview(file).nbytes
    info = os.stat(file)  # raises FileNotFoundError with the path in the message
    if os.path.isdir(file):
        raise IsADirectoryError(21, "Is a directory, not a file to upload", os.fspath(file))
    if not os.path.isfile(file):
        raise ValueError(f"{os.fspath(file)!r} is not a regular file")
    return info.st_size


class Source:
    """The content of one upload, able to give each attempt its body.

    Attributes:
        size: The content's size when known up front (paths and bytes), else ``None``.
    """

    size: int | None = None

    def open(self, stack: ExitStack) -> Body:
        """A fresh body for one attempt; a file it opens is closed by ``stack``."""
        raise NotImplementedError

    @property
    def may_resend(self) -> bool:
        """Whether a failed attempt may be sent again: false once a one-shot body was read."""
        return True

    @property
    def sent_size(self) -> int | None:
        """The size of the whole content once it is known to have gone out, else ``None``."""
        return self.size


@attrs.define
class _Bytes(Source):
    data: bytes | bytearray | memoryview = attrs.field(repr=False)
    size: int | None = None

    def open(self, stack: ExitStack) -> Body:
        return self.data


@attrs.define
class _Path(Source):
    path: str | os.PathLike[str]
    size: int | None = None

    def open(self, stack: ExitStack) -> Body:
        # The transport streams an open file from a worker thread, in 256 KiB reads.
        return stack.enter_context(open(self.path, "rb"))


@attrs.define
class _Reporting(Source):
    """A path or bytes sent in 1 MiB pieces, reporting the bytes sent as it goes."""

    file: LocalFile = attrs.field(repr=False)
    on_progress: OnUploadProgress
    size: int | None = None

    def open(self, stack: ExitStack) -> Body:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        sent = 0
        self.on_progress(0)
        if isinstance(self.file, bytes | bytearray | memoryview):
            view = memoryview(self.file).cast("B")
            for start in range(0, len(view), _PROGRESS_CHUNK):
                chunk = bytes(view[start : start + _PROGRESS_CHUNK])
                yield chunk
                sent += len(chunk)
                self.on_progress(sent)
            return
        with open(self.file, "rb") as reader:  # noqa: ASYNC230 - see the module's notes
            while chunk := await asyncio.to_thread(reader.read, _PROGRESS_CHUNK):
                yield chunk
                sent += len(chunk)
                self.on_progress(sent)


@attrs.define
class _Iterable(Source):
    """An async iterable of bytes: read once, counting what passes through."""

    source: AsyncIterable[bytes] = attrs.field(repr=False)
    on_progress: OnUploadProgress | None = None
    started: bool = False
    done: bool = False
    sent: int = 0

    def open(self, stack: ExitStack) -> Body:
        return self._chunks()

    @property
    def may_resend(self) -> bool:
        return not self.started

    @property
    def sent_size(self) -> int | None:
        return self.sent if self.done else None

    async def _chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self.source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"the file's iterator must yield bytes, got {type(chunk).__name__}")
            self.sent += len(chunk)
            yield chunk
            if self.on_progress is not None:
                self.on_progress(self.sent)
        self.done = True


def source_of(file: object, on_progress: OnUploadProgress | None = None) -> Source:
    """The :class:`Source` for a path, bytes or an async iterable of bytes.

    A path is checked (it must be a regular file) and sized here.

    Raises:
        TypeError: ``file`` is none of those.
        FileNotFoundError, IsADirectoryError, ValueError: see :func:`local_size`.
    """
    if isinstance(file, str | os.PathLike | bytes | bytearray | memoryview):
        size = local_size(file)
        if on_progress is not None:
            return _Reporting(file, on_progress, size)
        if isinstance(file, bytes | bytearray | memoryview):
            return _Bytes(file, size)
        return _Path(file, size)
    if isinstance(file, AsyncIterable):
        return _Iterable(file, on_progress)
    raise TypeError(
        f"file must be a path, bytes or an async iterable of bytes, got {type(file).__name__}"
    )


def _as_source(value: object) -> Source:
    return value if isinstance(value, Source) else source_of(value)


@attrs.frozen
class FilePart:
    """A file field of a multipart form.

    Args:
        name: The form field's name, such as ``"file"``.
        filename: The file name sent in the part's headers.
        source: The content; bytes are wrapped in a :class:`Source` for you.
        content_type: The part's content type.
    """

    name: str
    filename: str
    source: Source = attrs.field(repr=False, converter=_as_source)
    content_type: str = "application/octet-stream"


#: One field of a multipart form: ``(name, text)`` or a :class:`FilePart`.
FormField: TypeAlias = "tuple[str, str] | FilePart"


def part_reader(
    file: LocalFile, reader: IO[bytes] | None, md5: Any, part_size: int
) -> Callable[[int], Awaitable[bytes | memoryview]]:
    """A function that returns part ``index`` and feeds it to ``md5``; call it in order.

    ``reader`` is ``file`` opened for reading, or ``None`` when ``file`` is bytes.
    """
    if reader is None:
        view = memoryview(file).cast("B")  # type: ignore[arg-type]

        async def from_memory(index: int) -> memoryview:
            part = view[index * part_size : (index + 1) * part_size]
            # hashlib releases the GIL on large buffers, so a thread runs it in parallel.
            await asyncio.to_thread(md5.update, part)
            return part

        return from_memory

    def read_and_hash() -> bytes:
        data = reader.read(part_size)
        md5.update(data)
        return data

    async def from_file(index: int) -> bytes:
        return await asyncio.to_thread(read_and_hash)

    return from_file
