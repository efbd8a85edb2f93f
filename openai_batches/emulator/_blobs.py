"""Byte storage for file contents, in memory or on disk.

A `Blob` is an immutable byte string with a size, read back in chunks or lines so content can
be served and validated without reading it whole. A `BlobWriter` builds one incrementally:
uploads, upload parts and batch outputs are written chunk by chunk as they arrive or are
produced. `BlobStorage` chooses the medium: memory by default, or files under a directory
(`storage_dir=`) so gigabyte outputs never live in RAM.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["Blob", "BlobStorage", "BlobWriter"]

CHUNK_SIZE = 256 * 1024


class Blob:
    """Stored bytes: either an in-memory `bytes` or a file on disk."""

    __slots__ = ("_data", "_owned", "path", "size")

    def __init__(
        self, *, data: bytes | None = None, path: Path | None = None, owned: bool = True
    ) -> None:
        if (data is None) == (path is None):
            raise ValueError("a blob holds either data or a path")
        self._data = data
        self.path = path
        self._owned = owned
        self.size = len(data) if data is not None else os.path.getsize(path)  # type: ignore[arg-type]

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the content in chunks of at most *chunk_size* bytes."""
        if self._data is not None:
            view = memoryview(self._data)
            for start in range(0, len(view), chunk_size):
                yield bytes(view[start : start + chunk_size])
            return
        assert self.path is not None
        with self.path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def iter_lines(self) -> Iterator[bytes]:
        """Yield the content line by line, each with its line ending."""
        if self._data is not None:
            yield from io.BytesIO(self._data)
            return
        assert self.path is not None
        with self.path.open("rb") as handle:
            yield from handle

    def read(self) -> bytes:
        """Return the whole content (for tests and small files)."""
        return b"".join(self.iter_chunks())

    def md5(self) -> str:
        """Return the hex MD5 digest of the content."""
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in self.iter_chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def discard(self) -> None:
        """Free the storage (deletes the backing file if the blob owns it)."""
        if self.path is not None and self._owned:
            self.path.unlink(missing_ok=True)


class BlobWriter:
    """An append-only buffer that becomes a `Blob` when closed.

    On disk, writes are buffered and appended to the file in pieces of about `FLUSH_SIZE`,
    opening it only for each append: thousands of unfinished writers (one per running batch)
    hold no file descriptors, and a writer that stays empty never creates a file.
    """

    FLUSH_SIZE = 1024 * 1024

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._path: Path | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append *data*."""
        if not data:
            return
        self.size += len(data)
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._directory is not None and self._pending_size >= self.FLUSH_SIZE:
            self._flush()

    def _flush(self) -> None:
        assert self._directory is not None
        if self._path is None:
            fd, name = tempfile.mkstemp(dir=self._directory, suffix=".blob")
            os.close(fd)
            self._path = Path(name)
        with self._path.open("ab") as handle:
            handle.writelines(self._pending)
        self._pending = []
        self._pending_size = 0

    def write_blob(self, blob: Blob) -> None:
        """Append the content of another blob, chunk by chunk."""
        for chunk in blob.iter_chunks():
            self.write(chunk)

    def close(self) -> Blob:
        """Finish writing and return the blob."""
        if self._directory is None:
            data = b"".join(self._pending)
            self._pending = []
            return Blob(data=data)
        self._flush()
        assert self._path is not None
        return Blob(path=self._path)

    def abort(self) -> None:
        """Drop what was written."""
        self._pending = []
        self._pending_size = 0
        if self._path is not None:
            self._path.unlink(missing_ok=True)


class BlobStorage:
    """Creates writers and blobs in memory or under *directory*."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = None if directory is None else Path(directory)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def writer(self) -> BlobWriter:
        """Return a new, empty writer."""
        return BlobWriter(self.directory)

    def from_bytes(self, data: bytes) -> Blob:
        """Store *data*."""
        if self.directory is None:
            return Blob(data=bytes(data))
        writer = self.writer()
        writer.write(data)
        return writer.close()

    def from_chunks(self, chunks: Iterable[bytes]) -> Blob:
        """Store the concatenation of *chunks*."""
        writer = self.writer()
        for chunk in chunks:
            writer.write(chunk)
        return writer.close()

    def from_path(self, path: str | os.PathLike[str]) -> Blob:
        """Store the content of an existing file.

        On disk storage the file is copied into the storage directory; in memory it is read.
        """
        source = Path(path)
        if self.directory is None:
            return Blob(data=source.read_bytes())
        writer = self.writer()
        with source.open("rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                writer.write(chunk)
        return writer.close()

    def clear(self) -> None:
        """Remove the storage directory's blob files."""
        if self.directory is not None and self.directory.exists():
            for entry in self.directory.glob("*.blob"):
                entry.unlink(missing_ok=True)
