"""JSONL in and out: an async line reader over byte chunks, and a sharding request writer.

The reader holds at most one line plus one chunk: lines are cut at ``\\n`` bytes, which
never occur inside a multi-byte UTF-8 character, so a character split across chunks is
rejoined before anything is decoded. A line longer than ``max_line_bytes`` raises instead
of growing the buffer without end.

The writer checks each request as it comes (unique ``custom_id``, one ``url``, one
model: the rules of ``_lines``) and streams it into the current shard, starting a new
shard before one would exceed the request or byte limit. It keeps the ``custom_id`` of
every request written, to catch duplicates across the whole job, and nothing else of them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from contextlib import aclosing
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs

from ._lines import (
    BatchInputError,
    BatchRequest,
    JSONLError,
    RequestRules,
    decode_line,
    request_problem,
)

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_REQUESTS",
    "RequestWriter",
    "Shard",
    "encode_requests",
    "iter_jsonl",
    "iter_lines",
    "iter_numbered_lines",
    "iter_requests",
    "positive_ints",
    "write_requests",
]

T = TypeVar("T")

#: The longest line the reader accepts unless told otherwise.
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
#: The API's limit on requests in one batch's input file.
MAX_BATCH_REQUESTS = 50_000
#: The API's limit on an input file's size, "200 MB"; read as decimal megabytes, the
#: smaller reading, so a shard is never refused for being a few MiB over.
MAX_BATCH_BYTES = 200_000_000

_BOM = b"\xef\xbb\xbf"


# --- reading -------------------------------------------------------------------------------


def _too_long(limit: int, source: str | None, number: int) -> JSONLError:
    return JSONLError(
        f"the line is longer than the limit of {limit:,} bytes (max_line_bytes)",
        source=source,
        line=number,
    )


async def iter_numbered_lines(
    chunks: AsyncIterable[bytes],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    source: str | None = None,
) -> AsyncGenerator[tuple[int, bytes], None]:
    """Yield ``(line number, line)`` for each non-blank line, without its line ending.

    Lines end with ``\\n`` or ``\\r\\n``; the last one may have no ending. Blank lines
    are skipped but counted, so numbers match an editor's. A UTF-8 byte order mark at the
    start is dropped.

    Raises:
        JSONLError: A line is longer than ``max_line_bytes`` (not counting its ending).
    """
    if max_line_bytes < 1:
        raise ValueError(f"max_line_bytes must be >= 1, got {max_line_bytes!r}")
    # One more byte may wait in the buffer: a \r whose \n is in the next chunk.
    pending_limit = max_line_bytes + 1
    pending = bytearray()
    number = 0
    async for chunk in chunks:
        start = 0
        end = chunk.find(b"\n")
        if pending:
            if end < 0:
                pending += chunk
                if len(pending) > pending_limit:
                    raise _too_long(max_line_bytes, source, number + 1)
                continue
            pending += memoryview(chunk)[:end]
            number += 1
            line = _finish(bytes(pending), number, max_line_bytes, source)
            pending.clear()
            if line is not None:
                yield number, line
            start = end + 1
            end = chunk.find(b"\n", start)
        while end >= 0:
            number += 1
            line = _finish(chunk[start:end], number, max_line_bytes, source)
            if line is not None:
                yield number, line
            start = end + 1
            end = chunk.find(b"\n", start)
        if start < len(chunk):
            pending += memoryview(chunk)[start:]
            if len(pending) > pending_limit:
                raise _too_long(max_line_bytes, source, number + 1)
    if pending:
        number += 1
        line = _finish(bytes(pending), number, max_line_bytes, source)
        if line is not None:
            yield number, line


def _finish(line: bytes, number: int, limit: int, source: str | None) -> bytes | None:
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > limit:
        raise _too_long(limit, source, number)
    if number == 1 and line.startswith(_BOM):
        line = line[len(_BOM) :]
    if not line or line.isspace():
        return None
    return line


async def iter_lines(
    chunks: AsyncIterable[bytes],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    source: str | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield each non-blank line of a stream of byte chunks, without its line ending.

    Args:
        chunks: The file's bytes, cut anywhere (``client.files.content(file_id)``).
        max_line_bytes: The longest line accepted; protects memory from a file that is
            not JSONL at all.
        source: The file id or path, named in errors.

    Raises:
        JSONLError: A line is longer than ``max_line_bytes``.
    """
    numbered = iter_numbered_lines(chunks, max_line_bytes=max_line_bytes, source=source)
    async with aclosing(numbered):
        async for _, line in numbered:
            yield line


async def iter_jsonl(
    chunks: AsyncIterable[bytes],
    cl: type[T],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    source: str | None = None,
) -> AsyncGenerator[T, None]:
    """Yield each line of a JSONL stream as a ``cl``, decoded as it is reached.

    Raises:
        JSONLError: A line is too long, not JSON, or does not fit ``cl``; the error
            names ``source`` and the line number.
    """
    numbered = iter_numbered_lines(chunks, max_line_bytes=max_line_bytes, source=source)
    async with aclosing(numbered):
        async for number, line in numbered:
            yield decode_line(line, cl, source=source, number=number)


def iter_requests(
    chunks: AsyncIterable[bytes],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    source: str | None = None,
) -> AsyncGenerator[BatchRequest, None]:
    """Yield the request lines of a batch input file; see :func:`iter_jsonl`."""
    return iter_jsonl(chunks, BatchRequest, max_line_bytes=max_line_bytes, source=source)


# --- writing -------------------------------------------------------------------------------


@attrs.frozen
class Shard:
    """One finished file of a job: upload each as the input of its own batch.

    Attributes:
        index: 0-based position among the job's shards.
        path: The file written, or ``None`` when the writer kept shards in memory.
        data: The file's bytes when kept in memory, else ``None``.
        requests: How many request lines it holds.
        size: Its size in bytes.
    """

    index: int
    path: Path | None
    data: bytes | None
    requests: int
    size: int


def positive_ints(**values: int) -> None:
    """Check that each of ``values`` is a whole number >= 1.

    Raises:
        ValueError: One is not; the error names it.
    """
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class RequestWriter:
    """Write request lines as JSONL shards, each within the batch limits.

    Write with :meth:`write`, then :meth:`close` to get the shards; as a context manager
    it closes on success and, on an exception, deletes the files it wrote, so half a job
    is never left looking finished.

    Args:
        directory: Where to write ``{prefix}00000.jsonl``, ``{prefix}00001.jsonl``, ...
            (created if needed; existing files are never overwritten). ``None`` keeps the
            shards in memory, for small jobs.
        max_requests: Requests per shard (the API allows 50,000).
        max_bytes: Bytes per shard (the API allows 200 MB).
        prefix: The start of each shard's file name.

    File writes are buffered and blocking, like logging's: small and fast next to the
    network, so they are not moved to a thread.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = MAX_BATCH_BYTES,
        prefix: str = "requests-",
    ) -> None:
        positive_ints(max_requests=max_requests, max_bytes=max_bytes)
        self._directory = None if directory is None else Path(directory)
        self._max_requests = max_requests
        self._max_bytes = max_bytes
        self._prefix = prefix
        self._rules = RequestRules("request")
        self._shards: list[Shard] = []
        self._file: IO[bytes] | None = None
        self._memory: bytearray | None = None
        self._path: Path | None = None
        self._requests = 0
        self._size = 0
        self._closed = False

    @property
    def count(self) -> int:
        """How many requests have been written so far."""
        return len(self._rules)

    @property
    def shards(self) -> list[Shard]:
        """The shards finished so far (all of them after :meth:`close`)."""
        return list(self._shards)

    def write(self, request: BatchRequest) -> None:
        """Check one request and append it to the current shard.

        A rejected request leaves the writer as it was, so the caller may skip it.

        Raises:
            BatchInputError: The ``custom_id`` was already written, the ``url`` or model
                differs from the first request's, the line alone exceeds ``max_bytes``,
                or the request is not valid (an empty ``custom_id`` or ``url``, a method
                other than ``POST``, a body that is not a dict) or not JSON-serialisable.
            ValueError: The writer is closed.
        """
        if self._closed:
            raise ValueError("the writer is closed")
        index = len(self._rules)
        line = _encode(request, index)
        if len(line) > self._max_bytes:
            raise BatchInputError(
                f"Request {request.custom_id!r} (request {index + 1}) is {len(line):,} bytes "
                f"as a line, more than a whole shard may hold ({self._max_bytes:,} bytes).",
                code="request_too_large",
                custom_id=request.custom_id,
                index=index,
            )
        custom_id, url, model = request.custom_id, request.url, request.model
        problem = self._rules.problem(custom_id, url, model, index + 1)
        if problem is not None:
            code, reason = problem
            raise BatchInputError(
                f"Request {custom_id!r} (request {index + 1}): {reason}.",
                code=code,
                custom_id=custom_id,
                index=index,
            )
        self._rules.add(custom_id, url, model, index + 1)
        self._append(line)

    def write_all(self, requests: Iterable[BatchRequest]) -> None:
        """Write each of ``requests``; see :meth:`write`."""
        for request in requests:
            self.write(request)

    def close(self) -> list[Shard]:
        """Finish the last shard and return every shard, in order."""
        if not self._closed:
            self._closed = True
            self._finish_shard()
        return self.shards

    def abort(self) -> None:
        """Stop writing and delete every shard file written so far."""
        self._closed = True
        file, path = self._file, self._path
        self._file = self._memory = self._path = None
        if file is not None:
            file.close()
        paths = [shard.path for shard in self._shards] + [path]
        self._shards.clear()
        for each in paths:
            if each is not None:
                each.unlink(missing_ok=True)

    def __enter__(self) -> RequestWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _append(self, line: bytes) -> None:
        if self._requests and (
            self._requests >= self._max_requests or self._size + len(line) > self._max_bytes
        ):
            self._finish_shard()
        if self._file is None and self._memory is None:
            self._start_shard()
        if self._file is not None:
            self._file.write(line)
        else:
            assert self._memory is not None
            self._memory += line
        self._requests += 1
        self._size += len(line)

    def _start_shard(self) -> None:
        if self._directory is None:
            self._memory = bytearray()
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / f"{self._prefix}{len(self._shards):05d}.jsonl"
        # "x": never overwrite the shards of an earlier job (nor delete it in abort()).
        self._file = open(path, "xb", buffering=1 << 20)  # noqa: SIM115
        self._path = path

    def _finish_shard(self) -> None:
        if not self._requests:
            return
        data = None
        if self._file is not None:
            self._file.close()
        elif self._memory is not None:
            data = bytes(self._memory)
        self._shards.append(Shard(len(self._shards), self._path, data, self._requests, self._size))
        self._file = self._memory = self._path = None
        self._requests = self._size = 0


def _encode(request: object, index: int) -> bytes:
    import orjson

    # Typed callers cannot get these wrong, but untyped ones can, and the API would
    # refuse the whole file for one bad line: say which request, before uploading.
    custom_id: Any = getattr(request, "custom_id", None)
    problem: str | None
    if not isinstance(request, BatchRequest):
        problem = f"expected a BatchRequest, got {type(request).__name__}"
    else:
        problem = request_problem(custom_id, request.method, request.url, request.body)
        if problem is None:
            try:
                return orjson.dumps(request.to_json(), option=orjson.OPT_APPEND_NEWLINE)
            except TypeError as exc:  # orjson.JSONEncodeError
                problem = f"the request is not JSON-serialisable: {exc}"
    raise BatchInputError(
        f"Request {index + 1}: {problem}",
        code="invalid_request",
        custom_id=custom_id if isinstance(custom_id, str) else None,
        index=index,
    )


def encode_requests(
    requests: Iterable[BatchRequest],
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[bytes]:
    """Check and encode a small job in memory: the bytes of each shard, in order.

    Raises:
        BatchInputError: See :meth:`RequestWriter.write`.
    """
    with RequestWriter(max_requests=max_requests, max_bytes=max_bytes) as writer:
        writer.write_all(requests)
    return [shard.data or b"" for shard in writer.shards]


async def write_requests(
    requests: Iterable[BatchRequest] | AsyncIterable[BatchRequest],
    directory: str | os.PathLike[str] | None = None,
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
    prefix: str = "requests-",
) -> list[Shard]:
    """Write a job's requests, sync or async, as shards; see :class:`RequestWriter`.

    Raises:
        BatchInputError: See :meth:`RequestWriter.write`; the files written are removed.
    """
    with RequestWriter(
        directory, max_requests=max_requests, max_bytes=max_bytes, prefix=prefix
    ) as writer:
        if isinstance(requests, AsyncIterable):
            async for request in requests:
                writer.write(request)
        else:
            writer.write_all(requests)
    return writer.shards
