"""A job's state: its requests, shards and results, in one SQLite file.

Every method is a short transaction run on one worker thread that owns the connection,
so the event loop never waits on the disk and the statements of one job run in the order
they were asked for. The runner (``_jobs``) writes here *before* each step that has an
effect on the API (the shard's file name before the upload, the idempotency key before the
create), so after a crash at any point the step can be matched with what the API holds.

Tables:

* ``meta``: the job's id, its input (path, size, sha256) and endpoint.
* ``requests``: one row per input request, in input order (``idx``): where its line is in
  the input (``offset``, ``length``), its ``model`` (``''`` when it names none), its
  estimated ``tokens``, the ``shard`` it is in,
  its ``attempts``, its ``state`` (`NEW`, `ASSIGNED`, `RETRY`, `SUCCEEDED`, `FAILED`) and,
  once it has one, its ``result``: the batch output line, as the API wrote it.
* ``shards``: one row per batch input file the job made, of requests of one model (a batch
  takes one), with its step (`ShardStep`) and what each step produced (file id,
  idempotency key, batch id).

The file's ``user_version`` is `SCHEMA_VERSION`; a file of another version is refused
rather than read wrongly.

The connection uses WAL with ``synchronous=FULL``: a commit is on disk before the call
returns, so a key written before a create survives a power cut, not only a killed process.

Sharing jobs between processes (not built): every write here is a single transaction on
one row set, so the same interface over a server database could let several runners share
the ``shards`` table, each claiming a shard with a conditional update (``UPDATE shards SET
owner = ?, lease_until = ? WHERE id = ? AND (owner IS NULL OR lease_until < now)``) and
renewing the lease while it waits; ``docs/jobs.md`` says more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, ParamSpec, TypeVar

import attrs

from ._errors import JobStateError

__all__ = [
    "DuplicateRequestError",
    "RequestState",
    "ShardRecord",
    "ShardStep",
    "Store",
]

P = ParamSpec("P")
T = TypeVar("T")

#: 2: requests and shards have a model (a job may have several).
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    idx INTEGER PRIMARY KEY,
    custom_id TEXT NOT NULL UNIQUE,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    model TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    shard INTEGER,
    state INTEGER NOT NULL DEFAULT 0,
    result BLOB
);
CREATE INDEX IF NOT EXISTS requests_by_model ON requests (model, state, idx);
CREATE TABLE IF NOT EXISTS shards (
    id INTEGER PRIMARY KEY,
    step TEXT NOT NULL,
    requests INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    filename TEXT NOT NULL,
    file_id TEXT,
    upload_since REAL,
    idempotency_key TEXT,
    create_since REAL,
    batch_id TEXT,
    batch_status TEXT,
    limit_hits INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL DEFAULT ''
);
"""

#: Result lines read per statement when the results file is written.
_CHUNK = 1_000


class RequestState(enum.IntEnum):
    """Where a request is."""

    NEW = 0
    ASSIGNED = 1
    RETRY = 2
    SUCCEEDED = 3
    FAILED = 4


class ShardStep(enum.StrEnum):
    """The last step of a shard that was written down (the next one may have happened)."""

    PLANNED = "planned"  # its requests chosen; the file may not exist yet
    UPLOADING = "uploading"  # the upload may have been sent: look for the file by name
    UPLOADED = "uploaded"  # file_id known
    CREATING = "creating"  # the create may have been sent: look for the key
    SUBMITTED = "submitted"  # batch_id known
    WAITING = "waiting"  # refused for the enqueued-token limit: create again later
    DONE = "done"  # results recorded


@attrs.define
class ShardRecord:
    """A row of ``shards``."""

    id: int
    step: ShardStep
    requests: int
    tokens: int
    bytes: int
    filename: str
    file_id: str | None = None
    upload_since: float | None = None
    idempotency_key: str | None = None
    create_since: float | None = None
    batch_id: str | None = None
    batch_status: str | None = None
    limit_hits: int = 0
    model: str = ""  # its requests' model ('' when they name none)


_SHARD_COLUMNS = ", ".join(field.name for field in attrs.fields(ShardRecord))


def _shard(row: Sequence[Any]) -> ShardRecord:
    return ShardRecord(row[0], ShardStep(row[1]), *row[2:])


class DuplicateRequestError(Exception):
    """Two requests of the input have the same ``custom_id``.

    Attributes:
        custom_id: The id.
        first: The first request's index and offset in the input.
        second: The second's.
    """

    def __init__(self, custom_id: str, first: tuple[int, int], second: tuple[int, int]) -> None:
        super().__init__(custom_id)
        self.custom_id = custom_id
        self.first = first
        self.second = second


@attrs.frozen
class Line:
    """Where one request's line is in the input, its model and its estimated tokens."""

    custom_id: str
    offset: int
    length: int
    model: str
    tokens: int


class Store:
    """One job's state file, used from one event loop.

    Args:
        path: The SQLite file (created when missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="openai-batches-job"
        )
        self._db: sqlite3.Connection | None = None
        self._lock: int | None = None

    async def _run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the job store is not open")
        return self._db

    # opening and closing

    async def open(self, *, exclusive: bool = False) -> None:
        """Open (or create) the file.

        Args:
            exclusive: Hold ``PATH.lock`` until `close`, so that a second runner of the
                same job (a cron job started twice) stops at once instead of sending
                every step twice; the lock goes with the process, even on ``kill -9``.

        Raises:
            JobStateError: ``exclusive`` and another process holds the lock.
        """
        await self._run(self._open, exclusive)

    def _open(self, exclusive: bool) -> None:
        if exclusive:
            self._lock = _lock(self.path + ".lock")
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables and version != SCHEMA_VERSION:
                raise JobStateError(
                    f"{self.path} is a job state file of schema {_schema_of(db)}, which this "
                    f"version of openai-batches (schema {SCHEMA_VERSION}) does not read: "
                    "finish that job with the version that started it, or use another "
                    "state file"
                )
            # Large pages suit rows that carry a result line of a kilobyte or more (taken
            # only when the file is created).
            db.execute("PRAGMA page_size=16384")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            if not tables:  # created whole or not at all; an existing file is not written
                db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        except BaseException:
            db.close()
            raise
        self._db = db

    async def close(self) -> None:
        """Close the file and the worker thread."""
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=False)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            os.close(self._lock)  # releases the lock
            self._lock = None

    # the job

    async def meta(self) -> dict[str, str]:
        """The job's description; empty when no job was loaded yet."""
        return await self._run(lambda: dict(self.db.execute("SELECT key, value FROM meta")))

    async def load(
        self,
        input_path: str,
        lines: Callable[[Callable[[], bytes]], Iterator[Line]],
        meta: dict[str, str],
    ) -> dict[str, str]:
        """Record every request of the input in one transaction; return the job's meta.

        ``lines`` reads the input with the ``readline`` it is given and yields its
        requests, in order; ``meta`` is read once they all are (so ``lines`` may add
        what it learnt). The input's size and sha256 are recorded beside ``meta`` (a
        crash leaves no half-loaded job).
        """
        return await self._run(self._load, input_path, lines, meta)

    def _load(
        self,
        input_path: str,
        lines: Callable[[Callable[[], bytes]], Iterator[Line]],
        meta: dict[str, str],
    ) -> dict[str, str]:
        db = self.db
        last: list[Any] = []

        def rows(read: Iterator[Line]) -> Iterator[tuple[int, str, int, int, str, int]]:
            for n, line in enumerate(read):
                last[:] = [n, line]
                yield n, line.custom_id, line.offset, line.length, line.model, line.tokens

        with open(input_path, "rb") as file, _transaction(db):
            hashing = _Hashing(file)
            try:
                db.executemany(
                    "INSERT INTO requests (idx, custom_id, offset, length, model, tokens) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows(lines(hashing.readline)),
                )
            except sqlite3.IntegrityError:
                index, line = last
                first = db.execute(
                    "SELECT idx, offset FROM requests WHERE custom_id = ?", (line.custom_id,)
                ).fetchone()
                raise DuplicateRequestError(line.custom_id, first, (index, line.offset)) from None
            hashing.drain()
            full = {
                **meta,
                "id": uuid.uuid4().hex[:16],
                "input_bytes": str(hashing.size),
                "input_sha256": hashing.digest(),
                "schema": str(SCHEMA_VERSION),
                "created_at": str(time.time()),
            }
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", full.items())
        return full

    # requests

    async def counts(self) -> dict[str, dict[RequestState, int]]:
        """How many requests of each model are in each state (models in sorted order)."""
        return await self._run(self._counts)

    def _counts(self) -> dict[str, dict[RequestState, int]]:
        counts: dict[str, dict[RequestState, int]] = {}
        sql = "SELECT model, state, count(*) FROM requests GROUP BY model, state ORDER BY model"
        for model, state, count in self.db.execute(sql):
            counts.setdefault(model, dict.fromkeys(RequestState, 0))[RequestState(state)] = count
        return counts

    async def plan_shard(
        self,
        model: str,
        filename: Callable[[int], str],
        max_requests: int,
        max_bytes: int,
        max_tokens: int,
    ) -> ShardRecord | None:
        """Put the first requests of ``model`` waiting for a shard into a new one.

        In input order; a shard takes at most ``max_requests`` requests, ``max_bytes`` of
        input and ``max_tokens`` estimated tokens (always at least one request). Returns
        the shard, or ``None`` when no request of the model waits.
        """
        return await self._run(
            self._plan_shard, model, filename, max_requests, max_bytes, max_tokens
        )

    def _plan_shard(
        self,
        model: str,
        filename: Callable[[int], str],
        max_requests: int,
        max_bytes: int,
        max_tokens: int,
    ) -> ShardRecord | None:
        db = self.db
        count = size = tokens = 0
        last = -1
        waiting = (RequestState.NEW, RequestState.RETRY)
        with _transaction(db):
            # Streamed, keeping only sums: memory does not grow with the shard's size.
            cursor = db.execute(
                "SELECT idx, length, tokens FROM requests WHERE model = ? AND state IN (?, ?) "
                "ORDER BY idx LIMIT ?",
                (model, *waiting, max_requests),
            )
            for idx, length, line_tokens in cursor:
                line_bytes = length + 1  # each line is written with its newline
                if count and (size + line_bytes > max_bytes or tokens + line_tokens > max_tokens):
                    break
                count, size, tokens, last = count + 1, size + line_bytes, tokens + line_tokens, idx
            cursor.close()
            if not count:
                return None
            number = 1 + (db.execute("SELECT coalesce(max(id), 0) FROM shards").fetchone()[0])
            shard = ShardRecord(
                number, ShardStep.PLANNED, count, tokens, size, filename(number), model=model
            )
            db.execute(
                "INSERT INTO shards (id, step, requests, tokens, bytes, filename, model) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    shard.id,
                    shard.step,
                    shard.requests,
                    shard.tokens,
                    shard.bytes,
                    shard.filename,
                    shard.model,
                ),
            )
            # The chosen requests are exactly the model's waiting ones up to the last chosen.
            db.execute(
                "UPDATE requests SET state = ?, shard = ?, attempts = attempts + 1 "
                "WHERE model = ? AND state IN (?, ?) AND idx <= ?",
                (RequestState.ASSIGNED, number, model, *waiting, last),
            )
        return shard

    async def write_shard_file(self, shard_id: int, source: str, target: str) -> int:
        """Copy the shard's lines from the input ``source`` to ``target``; return how many.

        Written aside and renamed, so ``target`` exists only whole.
        """
        return await self._run(self._write_shard_file, shard_id, source, target)

    def _write_shard_file(self, shard_id: int, source: str, target: str) -> int:
        temp = target + ".part"
        count = 0
        cursor = self.db.execute(
            "SELECT offset, length FROM requests WHERE shard = ? AND state = ? ORDER BY idx",
            (shard_id, RequestState.ASSIGNED),
        )
        with open(source, "rb") as file, open(temp, "wb") as out:
            for offset, length in cursor:
                file.seek(offset)
                out.write(file.read(length))
                out.write(b"\n")
                count += 1
        os.replace(temp, target)
        return count

    async def record_results(
        self, shard_id: int, results: Iterable[tuple[RequestState, bytes, str]], max_attempts: int
    ) -> None:
        """Record results of a shard's requests: ``(outcome, output line, custom_id)``.

        The outcome is `SUCCEEDED`, `FAILED` (for good) or `RETRY` (worth another
        attempt, which becomes `FAILED` once a request has had ``max_attempts``). Only
        requests still assigned to this shard change, so recording twice is harmless.
        """
        await self._run(self._record_results, shard_id, results, max_attempts)

    def _record_results(
        self, shard_id: int, results: Iterable[tuple[RequestState, bytes, str]], max_attempts: int
    ) -> None:
        with _transaction(self.db):
            self.db.executemany(
                "UPDATE requests SET result = ?2, state = CASE WHEN ?1 != ?6 THEN ?1 "
                "WHEN attempts < ?5 THEN ?6 ELSE ?7 END "
                "WHERE custom_id = ?3 AND shard = ?4 AND state = ?8",
                (
                    (
                        outcome,
                        line,
                        custom_id,
                        shard_id,
                        max_attempts,
                        RequestState.RETRY,
                        RequestState.FAILED,
                        RequestState.ASSIGNED,
                    )
                    for outcome, line, custom_id in results
                ),
            )

    async def finish_shard(
        self,
        shard_id: int,
        batch_status: str,
        code: str,
        message: str,
        retry: bool,
        max_attempts: int,
    ) -> int:
        """Settle the requests of a shard that got no result, and mark the shard done.

        Each gets an output line with ``error`` ``{code, message}``; ``retry`` says whether
        it is worth another attempt. Returns how many there were.
        """
        return await self._run(
            self._finish_shard, shard_id, batch_status, code, message, retry, max_attempts
        )

    def _finish_shard(
        self,
        shard_id: int,
        batch_status: str,
        code: str,
        message: str,
        retry: bool,
        max_attempts: int,
    ) -> int:
        db = self.db
        with _transaction(db):
            cursor = db.execute(
                "UPDATE requests SET "
                "result = json_object('id', NULL, 'custom_id', custom_id, 'response', NULL, "
                "'error', json_object('code', ?1, 'message', ?2)), "
                "state = CASE WHEN ?3 AND attempts < ?4 THEN ?5 ELSE ?6 END "
                "WHERE shard = ?7 AND state = ?8",
                (
                    code,
                    message,
                    retry,
                    max_attempts,
                    RequestState.RETRY,
                    RequestState.FAILED,
                    shard_id,
                    RequestState.ASSIGNED,
                ),
            )
            db.execute(
                "UPDATE shards SET step = ?, batch_status = ? WHERE id = ?",
                (ShardStep.DONE, batch_status, shard_id),
            )
        return cursor.rowcount

    # shards

    async def shards(self, *, active_only: bool = False) -> list[ShardRecord]:
        """The job's shards, oldest first (only those not done, with ``active_only``)."""
        where = f" WHERE step != '{ShardStep.DONE}'" if active_only else ""
        sql = f"SELECT {_SHARD_COLUMNS} FROM shards{where} ORDER BY id"
        return await self._run(lambda: [_shard(row) for row in self.db.execute(sql)])

    async def update_shard(self, shard: ShardRecord, **changes: Any) -> None:
        """Write ``changes`` to the shard's row (and to ``shard``)."""
        for name, value in changes.items():
            setattr(shard, name, value)
        assignments = ", ".join(f"{name} = ?" for name in changes)
        sql = f"UPDATE shards SET {assignments} WHERE id = ?"
        values = [*changes.values(), shard.id]
        await self._run(self._write, sql, values)

    def _write(self, sql: str, values: Sequence[Any]) -> None:
        with _transaction(self.db):
            self.db.execute(sql, values)

    # results

    async def write_results(self, target: str) -> None:
        """Write every request's result line, in input order, to ``target``, atomically.

        Written beside the target, flushed to disk and renamed into place, so a crash
        leaves either the old file or the whole new one.
        """
        await self._run(self._write_results, target)

    def _write_results(self, target: str) -> None:
        directory = os.path.dirname(os.path.abspath(target))
        temp = f"{target}.{uuid.uuid4().hex[:8]}.part"
        try:
            with open(temp, "wb") as out:
                cursor = self.db.execute("SELECT result FROM requests ORDER BY idx")
                while rows := cursor.fetchmany(_CHUNK):
                    out.write(b"".join(_line(row[0]) for row in rows))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _schema_of(db: sqlite3.Connection) -> str:
    """The schema of a state file this version does not read, as far as it can tell."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version:
        return str(version)
    try:  # the first schema recorded its version in meta only
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.Error:
        row = None
    return str(row[0]) if row else "unknown"


def _lock(path: str) -> int | None:
    """Lock the file at ``path`` for this process; return its descriptor (None: no locks)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no lock
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JobStateError(
            f"{path[: -len('.lock')]} is in use: another process is running this job"
        ) from None
    return fd


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if it raises.

    The connection is in autocommit mode (``isolation_level=None``), where ``with db``
    would commit each statement on its own; so the transaction is begun explicitly.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _line(result: bytes | str | None) -> bytes:
    if result is None:
        raise RuntimeError("a request has no result yet")
    data = result.encode() if isinstance(result, str) else result
    return data if data.endswith(b"\n") else data + b"\n"


class _Hashing:
    """A binary file that hashes what is read from it, front to back."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._hash = hashlib.sha256()
        self.size = 0

    def readline(self) -> bytes:
        line = self._file.readline()
        self._hash.update(line)
        self.size += len(line)
        return line

    def drain(self) -> None:
        while chunk := self._file.read(1 << 20):
            self._hash.update(chunk)
            self.size += len(chunk)

    def digest(self) -> str:
        return self._hash.hexdigest()


def file_digest(path: str) -> tuple[int, str]:
    """The size and sha256 of the file at ``path``."""
    with open(path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256")
        return os.fstat(file.fileno()).st_size, digest.hexdigest()
