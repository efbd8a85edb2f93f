"""Check a batch input file before it is uploaded: every problem the API would find, by line.

The API reads a batch's input only when the batch is created, and fails the whole batch
for one bad line; this check finds those problems first, on this machine. The file is
read as the library reads every JSONL file (one line at a time; blank lines skipped but
counted, so line numbers match an editor's) and each request is held to the rules the
request writer applies (``_lines.request_problem`` and ``_lines.RequestRules``).

Memory stays bounded: one chunk and one line at a time, the ``custom_id`` of each of the
first ``max_requests`` requests (long ones as a 16-byte digest, so the ids' length does not
matter), and the first ``max_problems`` problems. The file is read in a thread and the
lines are checked on the event loop, which gets a turn every few hundred lines, so a check
never holds the loop for long.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import IO, Any

import attrs

from ._jsonl import (
    DEFAULT_MAX_LINE_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    iter_numbered_lines,
    positive_ints,
)
from ._lines import BatchInputError, JSONLError, RequestRules, model_of, request_problem

__all__ = ["BatchInputSummary", "check_batch_input"]

#: The size of the reads from the file.
_CHUNK = 1 << 20
#: The event loop gets a turn after this many lines (a few milliseconds of checking).
_LINES_PER_TURN = 256
#: The keys every request line must have.
_KEYS = ("custom_id", "method", "url", "body")
_SNIPPET = 60


@attrs.frozen
class BatchInputSummary:
    """What a batch input file holds, once checked.

    Attributes:
        requests: How many requests (non-blank lines) it has.
        bytes: Its size.
        url: The requests' url: the ``endpoint`` of the batch to create.
        model: The requests' ``body["model"]``, or ``None`` if they name none (when
            several models were allowed, the first request's).
    """

    requests: int
    bytes: int
    url: str
    model: str | None


async def check_batch_input(
    path: str | os.PathLike[str],
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_problems: int = 100,
    unique_ids: bool = True,
    one_model: bool = True,
) -> BatchInputSummary:
    """Check that the file at ``path`` can be the input of one batch, before uploading it.

    Every line must be a JSON object with a non-empty string ``custom_id`` used by no
    other line, ``method`` ``"POST"``, a ``url`` and an object ``body``; every line must
    have the same ``url`` and (unless ``one_model=False``) the same ``body["model"]``;
    the file must hold 1 to ``max_requests`` requests and at most ``max_bytes`` bytes.
    The whole file is read and every problem found is reported with its line, not only
    the first.

    Args:
        path: The file.
        max_requests: The most requests a batch takes (the API's limit is 50,000).
        max_bytes: The largest input file a batch takes (the API's limit is 200 MB).
        max_line_bytes: A longer line stops the check (it is not JSONL at all).
        max_problems: How many of the lines' problems to list; the rest are counted.
        unique_ids: Check that no two lines share a ``custom_id``. ``False`` leaves that
            to the caller and keeps no ids, so memory does not grow with the file (a
            job finds duplicates in its state file instead).
        one_model: Check that every line names the same ``body["model"]``, as a batch
            needs. ``False`` allows several (a job's input, sharded by model), and the
            summary's ``model`` is then the first line's.

    Returns:
        How many requests the file has, its size, and the url and model they share.

    Raises:
        BatchInputError: The file has problems: ``problems`` lists them (each with its
            ``line``, ``code`` and ``custom_id``), the message too, one a line.
        OSError: The file cannot be read.
    """
    positive_ints(
        max_requests=max_requests,
        max_bytes=max_bytes,
        max_line_bytes=max_line_bytes,
        max_problems=max_problems,
    )
    source = os.fspath(path)
    file: IO[bytes] = await asyncio.to_thread(open, source, "rb")
    try:
        size = os.fstat(file.fileno()).st_size
        check = _Check(source, max_requests, max_problems, unique_ids, one_model)
        async with (
            aclosing(_read(file)) as chunks,
            aclosing(
                iter_numbered_lines(chunks, max_line_bytes=max_line_bytes, source=source)
            ) as lines,
        ):
            try:
                async for number, line in lines:
                    check.line(number, line)
                    if check.requests % _LINES_PER_TURN == 0:
                        await asyncio.sleep(0)
            except JSONLError as exc:  # the reader's only error: a line that is too long
                check.too_long(exc)
    finally:
        file.close()
    return check.finish(size, max_bytes)


async def _read(file: IO[bytes]) -> AsyncGenerator[bytes, None]:
    while chunk := await asyncio.to_thread(file.read, _CHUNK):
        yield chunk


class _Check:
    """The state of one file's check: the rules, the counts and the problems so far."""

    def __init__(
        self,
        source: str,
        max_requests: int,
        max_problems: int,
        unique_ids: bool = True,
        one_model: bool = True,
    ) -> None:
        self.source = source
        self.rules = RequestRules("line", unique_ids=unique_ids, one_model=one_model)
        self.requests = 0
        self.max_requests = max_requests
        self.max_problems = max_problems
        self.problems: list[BatchInputError] = []
        self.problem_count = 0
        self.first_over: int | None = None  # the line of request max_requests + 1
        self.stopped: BatchInputError | None = None

    def line(self, number: int, line: bytes) -> None:
        """Check one non-blank line, the file's ``number``-th."""
        index = self.requests
        self.requests += 1
        if index == self.max_requests:
            self.first_over = number
        fields = _fields(line)
        if isinstance(fields, tuple):
            code, reason, custom_id = fields
            self.add(code, reason, number, index, custom_id)
            return
        custom_id, method, url, body = (fields[key] for key in _KEYS)
        invalid = request_problem(custom_id, method, url, body)
        if invalid is not None:
            self.add("invalid_request", invalid, number, index, _text(custom_id))
            return
        model = model_of(body)
        problem = self.rules.problem(custom_id, url, model, number)
        if problem is not None:
            self.add(*problem, number, index, custom_id)
        elif index < self.max_requests:
            # Past the limit the file is refused anyway; remembering no more ids keeps
            # memory bounded however long the file is.
            self.rules.add(custom_id, url, model, number)

    def add(self, code: str, reason: str, number: int, index: int, custom_id: str | None) -> None:
        """Record a problem of line ``number``; only the first ``max_problems`` are kept."""
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(
                BatchInputError(
                    f"line {number}: {reason}",
                    code=code,
                    custom_id=custom_id,
                    index=index,
                    line=number,
                    source=self.source,
                )
            )

    def too_long(self, exc: JSONLError) -> None:
        """Record the line too long to read; the check ends there."""
        self.stopped = BatchInputError(
            f"line {exc.line}: {exc.reason}; the lines after it were not checked",
            code="line_too_long",
            custom_id=None,
            index=self.requests,
            line=exc.line,
            source=self.source,
        )

    def finish(self, size: int, max_bytes: int) -> BatchInputSummary:
        """The file's summary, or the error listing its problems."""
        whole: list[BatchInputError] = []
        if size > max_bytes:
            whole.append(
                BatchInputError(
                    f"the file is {size:,} bytes, more than the {max_bytes:,} a batch's "
                    "input may be; split it",
                    code="file_too_large",
                    custom_id=None,
                    index=None,
                    source=self.source,
                )
            )
        if self.first_over is not None:
            whole.append(
                BatchInputError(
                    f"line {self.first_over}: request {self.max_requests + 1:,} is one more "
                    f"than a batch takes ({self.max_requests:,}); the file has "
                    f"{self.requests:,} requests; split it",
                    code="too_many_requests",
                    custom_id=None,
                    index=self.max_requests,
                    line=self.first_over,
                    source=self.source,
                )
            )
        if self.stopped is not None:
            whole.append(self.stopped)
        elif self.requests == 0:
            whole.append(
                BatchInputError(
                    "the file has no requests",
                    code="empty_file",
                    custom_id=None,
                    index=None,
                    source=self.source,
                )
            )
        count = len(whole) + self.problem_count
        url = self.rules.url
        if not count and url is not None:
            return BatchInputSummary(self.requests, size, url, self.rules.model)
        problems = (*whole, *self.problems)
        source = self.source
        text = [f"{source} cannot be a batch's input: {count:,} problem{'s' * (count != 1)}"]
        text += (f"  {problem}" for problem in problems)
        if count > len(problems):
            text.append(f"  and {count - len(problems):,} more")
        raise BatchInputError(
            "\n".join(text),
            code="invalid_batch_input",
            custom_id=None,
            index=None,
            source=source,
            problems=problems,
            problem_count=count,
        )


def _fields(line: bytes) -> dict[str, Any] | tuple[str, str, str | None]:
    """The line's JSON object, or why it is not a request: a code, a reason, its custom_id."""
    import orjson

    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode()
        except UnicodeDecodeError as bad:
            reason = f"not UTF-8: byte {bad.start + 1} of the line is 0x{line[bad.start]:02x}"
            return "invalid_json_line", reason, None
        text = line[:_SNIPPET].decode(errors="replace")
        return "invalid_json_line", f"not JSON ({exc}): {text!r}", None
    if value.__class__ is not dict:
        return "invalid_request", f"expected a JSON object, got {_kind(value)}", None
    missing = [key for key in _KEYS if key not in value]
    if missing:
        reason = f"missing {', '.join(missing)}: a request has {', '.join(_KEYS)}"
        return "missing_required_parameter", reason, _text(value.get("custom_id"))
    return value


def _kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a number"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
