"""What the commands print: aligned tables and details for people, JSON lines for programs.

Everything goes to stdout; progress and errors go to stderr (see ``_progress``), so
``openai-batches batches list --json | jq`` sees only data.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO, TypeVar

import attrs
import orjson

from .. import Batch, BatchRequestCounts, FileObject

T = TypeVar("T")

__all__ = [
    "BATCH_COLUMNS",
    "FILE_COLUMNS",
    "Output",
    "batch_details",
    "batch_row",
    "counts",
    "file_row",
    "timestamp",
]

BATCH_COLUMNS = ("ID", "STATUS", "ENDPOINT", "DONE/FAILED/TOTAL", "CREATED")
FILE_COLUMNS = ("ID", "PURPOSE", "BYTES", "CREATED", "FILENAME")


def timestamp(seconds: float | None) -> str:
    """Unix seconds as UTC ISO 8601 (``2024-05-01T12:00:00Z``); ``-`` for none."""
    if seconds is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def counts(request_counts: BatchRequestCounts | None) -> str:
    """``completed/failed/total``, or ``-`` before the API has counted."""
    if request_counts is None:
        return "-"
    c = request_counts
    return f"{c.completed}/{c.failed}/{c.total}"


def batch_row(batch: Batch) -> tuple[str, ...]:
    """One batch as a row of :data:`BATCH_COLUMNS`."""
    return (
        batch.id,
        batch.status.value,
        batch.endpoint,
        counts(batch.request_counts),
        timestamp(batch.created_at),
    )


def file_row(file: FileObject) -> tuple[str, ...]:
    """One file as a row of :data:`FILE_COLUMNS`."""
    return (file.id, file.purpose.value, str(file.bytes), timestamp(file.created_at), file.filename)


def batch_details(batch: Batch) -> list[tuple[str, str]]:
    """A batch as ``(field, value)`` pairs, empty fields left out."""
    pairs = [
        ("id", batch.id),
        ("status", batch.status.value),
        ("endpoint", batch.endpoint),
        ("model", batch.model or ""),
        ("requests", _counts_words(batch.request_counts)),
        ("input_file_id", batch.input_file_id),
        ("output_file_id", batch.output_file_id or ""),
        ("error_file_id", batch.error_file_id or ""),
    ]
    for name in (
        "created_at",
        "in_progress_at",
        "finalizing_at",
        "completed_at",
        "failed_at",
        "expired_at",
        "cancelling_at",
        "cancelled_at",
        "expires_at",
    ):
        value = getattr(batch, name)
        if value is not None:
            pairs.append((name, timestamp(value)))
    if batch.usage is not None:
        u = batch.usage
        pairs.append(
            ("usage", f"{u.input_tokens} in + {u.output_tokens} out = {u.total_tokens} tokens")
        )
    for key, value in sorted((batch.metadata or {}).items()):
        pairs.append((f"metadata.{key}", value))
    for error in batch.errors.data if batch.errors else []:
        where = f"line {error.line}: " if error.line is not None else ""
        pairs.append(("error", f"{where}{error.code or ''} {error.message or ''}".strip()))
    return [(name, value) for name, value in pairs if value]


def _counts_words(request_counts: BatchRequestCounts | None) -> str:
    if request_counts is None:
        return ""
    c = request_counts
    return f"{c.completed} completed, {c.failed} failed, {c.total} total"


def to_json(obj: object) -> Any:
    """The JSON of an API object: its raw JSON when it kept it, else its fields."""
    raw = getattr(obj, "raw", None)
    if isinstance(raw, Mapping) and raw:
        return dict(raw)
    if attrs.has(type(obj)):
        return attrs.asdict(obj)  # type: ignore[arg-type]
    return obj


class Output:
    """Prints tables, details or JSON lines to one stream (stdout by default).

    Args:
        json: Print one JSON object per line instead of text for people.
        stream: Where to print.
    """

    def __init__(self, *, json: bool = False, stream: TextIO | None = None) -> None:
        self.json = json
        self.stream = stream if stream is not None else sys.stdout

    def write(self, text: str = "") -> None:
        """Print a line of text (nothing in ``--json`` mode)."""
        if not self.json:
            print(text, file=self.stream)

    def json_line(self, obj: object) -> None:
        """Print one object as one line of JSON."""
        data = orjson.dumps(to_json(obj), option=orjson.OPT_NON_STR_KEYS)
        self.stream.write(data.decode() + "\n")

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        """Print rows under a header, each column as wide as its widest cell."""
        rows = [tuple(row) for row in rows]
        widths = [len(name) for name in columns]
        for row in rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
        for row in [tuple(columns), *rows]:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            print("  ".join(cells).rstrip(), file=self.stream)

    async def listing(
        self,
        items: AsyncIterable[T],
        columns: Sequence[str],
        row: Callable[[T], Sequence[str]],
        *,
        empty: str,
    ) -> None:
        """Print a walk: one JSON line per item as it comes, or a table at the end.

        An empty walk prints no table, only ``empty`` on stderr (nothing with ``--json``).
        """
        rows = []
        async for item in items:
            if self.json:
                self.json_line(item)
            else:
                rows.append(row(item))
        if self.json:
            return
        if rows:
            self.table(columns, rows)
        else:
            print(empty, file=sys.stderr)

    def details(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Print ``name  value`` lines, the values aligned."""
        width = max((len(name) for name, _ in pairs), default=0)
        for name, value in pairs:
            print(f"{name.ljust(width)}  {value}", file=self.stream)

    def batch(self, batch: Batch) -> None:
        """Print one batch: its raw JSON, or its details."""
        if self.json:
            self.json_line(batch)
        else:
            self.details(batch_details(batch))
