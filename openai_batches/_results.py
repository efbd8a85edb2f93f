"""A batch's results: streamed from its files, joined to its requests, failures rebuilt.

A finished batch (completed, expired or cancelled) splits its results between two files,
either of which may be missing: the output file (answered 2xx) and the error file
(answered 4xx/5xx, or never run: ``batch_expired``, ``batch_cancelled``). Results come
from both, one line at a time, in the order of the files, which is not the input's order.

Joining needs the requests by ``custom_id`` before the first result arrives. The index
holds only each ``custom_id`` and where its request is: a position in a sequence the
caller already holds, or else the byte offset of its line in an anonymous temporary file
the requests are spooled to. Memory grows with the number of requests (about a hundred
bytes each plus the id), never with their bodies or with the results.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Iterable,
    Sequence,
)
from contextlib import aclosing
from typing import IO, Protocol, TypeAlias

import attrs

from ._jsonl import DEFAULT_MAX_LINE_BYTES, RequestWriter, iter_jsonl, iter_requests
from ._lines import BatchRequest, BatchResult, decode_line
from ._models import Batch

__all__ = [
    "ContentSource",
    "JoinSummary",
    "RequestInputs",
    "ResultJoin",
    "iter_result_files",
    "iter_results",
    "join_results",
    "rebuild_failed",
]

#: The requests of a batch, in any form: a list, any iterable, or an async iterable
#: (such as :func:`iter_requests` over the batch's input file).
RequestInputs: TypeAlias = "Iterable[BatchRequest] | AsyncIterable[BatchRequest]"


class ContentSource(Protocol):
    """Where file contents come from: ``client.files``, or a fake in tests."""

    def content(self, file_id: str) -> AsyncIterable[bytes]:
        """The file's bytes, in chunks of any size."""
        ...


async def iter_result_files(
    files: ContentSource,
    output_file_id: str | None,
    error_file_id: str | None,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> AsyncGenerator[BatchResult, None]:
    """Yield every line of an output file, then of an error file; ``None`` or ``""`` skips one.

    Raises:
        JSONLError: A line is malformed; the error names the file id and line number.
    """
    for file_id in (output_file_id, error_file_id):
        if not file_id:
            continue
        chunks = files.content(file_id)
        try:
            lines = iter_jsonl(chunks, BatchResult, max_line_bytes=max_line_bytes, source=file_id)
            async with aclosing(lines):
                async for result in lines:
                    yield result
        finally:
            # Breaking out of the loop must release the download's connection now,
            # not whenever the garbage collector finalises the chunk iterator.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()


_UNFINISHED = frozenset({"validating", "in_progress", "finalizing", "cancelling"})


def iter_results(
    files: ContentSource, batch: Batch, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> AsyncGenerator[BatchResult, None]:
    """Stream a finished batch's results from its output and error files.

    Works for completed, expired and cancelled batches alike (the last two have partial
    output, and error lines for the requests that never ran); a failed batch has none.

    Raises:
        ValueError: The batch is still running (raised at once); results come only with
            the final status.
        JSONLError: A line is malformed (raised when it is reached).
    """
    if batch.status in _UNFINISHED:
        raise ValueError(
            f"batch {batch.id} is {batch.status.value}; its results exist only once it is "
            "completed, expired or cancelled"
        )
    return iter_result_files(
        files, batch.output_file_id, batch.error_file_id, max_line_bytes=max_line_bytes
    )


@attrs.frozen
class JoinSummary:
    """How results and requests matched up, known once a join has run to the end.

    Attributes:
        matched: Results paired with a request.
        succeeded: Of those, how many succeeded.
        failed: Of those, how many failed (errors, non-2xx, expired, cancelled).
        missing: ``custom_id`` of each request that got no result, in input order.
        unmatched: ``custom_id`` of each result that matches no request.
        duplicate_results: ``custom_id`` of each result after the first for one request
            (only the first is yielded).
        duplicate_inputs: ``custom_id`` of each request after the first with that id
            (only the first is joined).
    """

    matched: int
    succeeded: int
    failed: int
    missing: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    duplicate_results: tuple[str, ...] = ()
    duplicate_inputs: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every request has exactly one result and every result a request."""
        return not (self.missing or self.unmatched or self.duplicate_results)


class _InputIndex:
    """``custom_id`` -> request, holding the requests' positions rather than the requests."""

    def __init__(self, held: Sequence[BatchRequest] | None) -> None:
        self.slots: dict[str, int] = {}
        self.duplicates: list[str] = []
        self._held = held
        self._spool: IO[bytes] | None = None
        self._offsets = array("q")
        self._end = 0

    @classmethod
    async def build(cls, inputs: RequestInputs) -> _InputIndex:
        if isinstance(inputs, Sequence):
            index = cls(inputs)
            for position, request in enumerate(inputs):
                index._add(request.custom_id, position)
            return index
        index = cls(None)
        try:
            if isinstance(inputs, AsyncIterable):
                async for request in inputs:
                    index._spool_request(request)
            else:
                for request in inputs:
                    index._spool_request(request)
            if index._spool is not None:
                index._spool.flush()
        except BaseException:
            index.close()
            raise
        return index

    def _add(self, custom_id: str, position: int) -> bool:
        if self.slots.setdefault(custom_id, position) != position:
            self.duplicates.append(custom_id)
            return False
        return True

    def _spool_request(self, request: BatchRequest) -> None:
        import orjson

        if not self._add(request.custom_id, len(self._offsets)):
            return
        if self._spool is None:
            # Anonymous: gone when closed, or when the process dies.
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115
        line = orjson.dumps(request.to_json())
        self._spool.write(line)
        self._offsets.append(self._end)
        self._end += len(line)

    def request(self, slot: int) -> BatchRequest:
        if self._held is not None:
            return self._held[slot]
        assert self._spool is not None
        start = self._offsets[slot]
        end = self._offsets[slot + 1] if slot + 1 < len(self._offsets) else self._end
        self._spool.seek(start)
        return decode_line(self._spool.read(end - start), BatchRequest, source="spooled inputs")

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class ResultJoin:
    """Pair each result with its request: an async iterable of ``(request, result)``.

    Iterate it once; :attr:`summary` then says which requests got no result and which
    results had no request. See the module's docstring for what the index holds. To stop
    early, iterate ``aclosing(aiter(join))``: the temporary file is closed at once.

    Args:
        results: The results, such as :func:`iter_results`.
        inputs: The batch's requests; a list is indexed in place, anything else is
            spooled to a temporary file first.
    """

    def __init__(self, results: AsyncIterable[BatchResult], inputs: RequestInputs) -> None:
        self._results = results
        self._inputs = inputs
        self._started = False
        self._summary: JoinSummary | None = None

    @property
    def summary(self) -> JoinSummary:
        """The tally; available once the iteration has ended.

        Raises:
            RuntimeError: The join has not run to its end.
        """
        if self._summary is None:
            raise RuntimeError("the join has not run to its end yet; iterate it first")
        return self._summary

    def __aiter__(self) -> AsyncGenerator[tuple[BatchRequest, BatchResult], None]:
        return self._pairs(None)

    async def write_failed(
        self,
        writer: RequestWriter,
        *,
        include_missing: bool = True,
        select: Callable[[BatchRequest, BatchResult], bool] | None = None,
        on_result: Callable[[BatchResult], object] | None = None,
    ) -> JoinSummary:
        """Run the join, writing the request of every failed result to ``writer``.

        Args:
            writer: Receives the requests to re-submit; the caller closes it.
            include_missing: Also write the requests that got no result at all.
            select: Which failures to retry (default: all); a 400 for a malformed
                request, say, will fail again.
            on_result: Called with every result matched to a request, as the join
                passes it, to show or tally the results without reading them twice.

        Returns:
            The join's :attr:`summary`.
        """

        def write_missing(index: _InputIndex, missing: Iterable[str]) -> None:
            for custom_id in missing:
                writer.write(index.request(index.slots[custom_id]))

        pairs = self._pairs(write_missing if include_missing else None)
        async with aclosing(pairs):  # a refused write must not leave the spool open
            async for request, result in pairs:
                if on_result is not None:
                    on_result(result)
                if not result.succeeded and (select is None or select(request, result)):
                    writer.write(request)
        return self.summary

    async def _pairs(
        self, on_end: Callable[[_InputIndex, Iterable[str]], None] | None
    ) -> AsyncGenerator[tuple[BatchRequest, BatchResult], None]:
        if self._started:
            raise RuntimeError("a ResultJoin can be iterated only once")
        self._started = True
        index = await _InputIndex.build(self._inputs)
        try:
            slots = index.slots
            seen = bytearray(len(index._held) if index._held is not None else len(slots))
            unmatched: list[str] = []
            duplicates: list[str] = []
            succeeded = failed = 0
            async for result in self._results:
                slot = slots.get(result.custom_id)
                if slot is None:
                    unmatched.append(result.custom_id)
                    continue
                if seen[slot]:
                    duplicates.append(result.custom_id)
                    continue
                seen[slot] = 1
                if result.succeeded:
                    succeeded += 1
                else:
                    failed += 1
                yield index.request(slot), result
            missing = tuple(custom_id for custom_id, slot in slots.items() if not seen[slot])
            if on_end is not None:
                on_end(index, missing)
            self._summary = JoinSummary(
                succeeded + failed,
                succeeded,
                failed,
                missing,
                tuple(unmatched),
                tuple(duplicates),
                tuple(index.duplicates),
            )
        finally:
            index.close()


def join_results(
    files: ContentSource,
    batch: Batch,
    inputs: RequestInputs | None = None,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> ResultJoin:
    """Join a finished batch's results to its requests.

    Args:
        files: Where to read the files from (``client.files``).
        batch: The finished batch.
        inputs: Its requests; by default, read back from its input file.

    Raises:
        ValueError: The batch is still running.
    """
    results = iter_results(files, batch, max_line_bytes=max_line_bytes)
    if inputs is None:
        source = batch.input_file_id
        inputs = iter_requests(files.content(source), max_line_bytes=max_line_bytes, source=source)
    return ResultJoin(results, inputs)


async def rebuild_failed(
    files: ContentSource,
    batch: Batch,
    writer: RequestWriter,
    inputs: RequestInputs | None = None,
    *,
    include_missing: bool = True,
    select: Callable[[BatchRequest, BatchResult], bool] | None = None,
    on_result: Callable[[BatchResult], object] | None = None,
) -> JoinSummary:
    """Write the requests of a finished batch that failed, expired or were cancelled.

    The writer then holds a new job of exactly those requests, ready to upload. See
    :meth:`ResultJoin.write_failed` for the arguments.
    """
    join = join_results(files, batch, inputs)
    return await join.write_failed(
        writer, include_missing=include_missing, select=select, on_result=on_result
    )
