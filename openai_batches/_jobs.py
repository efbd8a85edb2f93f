"""Batch jobs: many shards of one input, inside the queue's limits, surviving restarts.

`Jobs.run` takes a JSONL of requests of any size, for one endpoint and any number of
models, and returns when every request has its final result, written in input order to
one file. In between it cuts the requests into shards of one model each (a batch takes
one), uploads each and creates its batch (duplicate-safe), keeps the estimated tokens
enqueued per model (the API's limit is per model) and the batches in flight under the
limits, puts a shard refused for the enqueued-token limit back in line, collects
requests that failed for a reason worth retrying into new shards, and records everything
in a state file (`_jobstore`), written before each step that has an effect on the API.
Running it again on the same state resumes where it stopped: an upload or a create whose
outcome was not recorded is looked up (the file by its name, unique to the job and shard;
the batch by its idempotency key) before it is sent again.

Concurrency: one coordinator plans shards when a slot is free (for a model none of whose
shards waits for room), and one task per shard drives it (upload, create, wait, harvest),
all inside one `asyncio.TaskGroup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from ._errors import BatchInputError, JobStateError
from ._jobstore import (
    DuplicateRequestError,
    Line,
    RequestState,
    ShardRecord,
    ShardStep,
    Store,
    file_digest,
)
from ._jsonl import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS
from ._lines import model_of
from ._tokens import TokenCounter, token_counter
from ._wait import Polling

if TYPE_CHECKING:
    from ._client import Client
    from ._models import Batch
    from ._webhooks import BatchEvents

__all__ = ["JobLimits", "JobProgress", "JobReport", "Jobs", "job_status"]

#: How far before a recorded step a search for its outcome looks, for clock skew.
_LOOKBACK = 300.0
#: Output lines handed to the state file per transaction.
_RESULTS_PER_WRITE = 2_000
#: ``error.code`` of a result line (no response) that is worth another attempt.
RETRYABLE_CODES = frozenset(
    {"batch_expired", "batch_cancelled", "rate_limit_exceeded", "server_error", "timeout"}
)
#: The code of a batch refused for the organisation's enqueued-token limit.
TOKEN_LIMIT_CODE = "token_limit_exceeded"

OnJobProgress = Callable[["JobProgress"], object]


def _positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "max_enqueued_tokens":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"JobLimits.{attribute.name} must be a whole number >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class JobLimits:
    """How much of the API a job may hold at once, and how often a request is tried.

    Args:
        max_enqueued_tokens: The most estimated input tokens of one model in batches
            not yet finished, as the API's limit counts them per model (``None``: no
            limit of the job's own; the API's limit still refuses batches, and they are
            then submitted again later).
        max_batches: The most batches in flight at once, of all models.
        max_attempts: How many times a request is sent before a retryable failure is
            final (1: never retried).
        shard_requests: The most requests in one batch (the API takes 50,000).
        shard_bytes: The largest input file of one batch (the API takes 200 MB).
    """

    max_enqueued_tokens: int | None = attrs.field(default=None, validator=_positive)
    max_batches: int = attrs.field(default=10, validator=_positive)
    max_attempts: int = attrs.field(default=3, validator=_positive)
    shard_requests: int = attrs.field(default=MAX_BATCH_REQUESTS, validator=_positive)
    shard_bytes: int = attrs.field(default=MAX_BATCH_BYTES, validator=_positive)


def _names(values: Iterable[str]) -> tuple[str, ...]:
    # A list back from JSON (``JobReport(**report.to_dict())``) becomes a tuple again.
    return tuple(values)


@attrs.frozen(kw_only=True)
class JobProgress:
    """Where a job stands, given to ``on_progress`` at every event.

    Attributes:
        event: What happened: ``"started"``, ``"submitted"`` (a batch was created),
            ``"batch"`` (a batch's status or counts changed), ``"limited"`` (a batch was
            refused for the enqueued-token limit; its shard waits), ``"harvested"`` (a
            batch's results were recorded) or ``"finished"``.
        requests: The job's requests.
        succeeded: Requests with a successful result.
        failed: Requests that failed for good.
        pending: Requests still waiting for a final result.
        batches: The job's batches in flight, by status.
        tokens_enqueued: Estimated input tokens in batches in flight, of all models.
        tokens_by_model: The same by model (``""`` for requests that name none), for
            every model of the job.
        elapsed: Seconds since this run started.
        remaining: An estimate of the seconds left (``None`` until something finished).
        shard: The shard the event is about, if any.
        batch_id: The batch the event is about, if any.
    """

    event: str
    requests: int
    succeeded: int
    failed: int
    pending: int
    batches: Mapping[str, int]
    tokens_enqueued: int
    tokens_by_model: Mapping[str, int]
    elapsed: float
    remaining: float | None
    shard: int | None = None
    batch_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready data; ``JobProgress(**d)`` builds it again."""
        return _as_dict(self)


@attrs.frozen(kw_only=True)
class JobReport:
    """A job's state, as its state file records it.

    Attributes:
        state: The state file.
        input: The input file the job was made from.
        endpoint: The requests' url.
        models: The models the requests name, sorted (``""`` for requests that name
            none).
        requests: How many requests the job has.
        succeeded: Requests with a successful result.
        failed: Requests that failed for good.
        pending: Requests still waiting for a final result.
        shards: The job's shards by step (``"done"``, ``"submitted"``, ...).
        batches: The last known status of the batches not yet harvested.
        tokens_enqueued: Estimated input tokens of the batches in flight, of all models.
        tokens_by_model: The same by model, for every model of the job.
        token_counter: How tokens are estimated: ``"tiktoken"`` or ``"bytes/4"`` (both,
            comma-separated, if tiktoken knew only some of the models' encodings).
    """

    state: str
    input: str
    endpoint: str
    models: tuple[str, ...] = attrs.field(converter=_names)
    requests: int
    succeeded: int
    failed: int
    pending: int
    shards: Mapping[str, int]
    batches: Mapping[str, int]
    tokens_enqueued: int
    tokens_by_model: Mapping[str, int]
    token_counter: str

    @property
    def finished(self) -> bool:
        """Whether every request has its final result."""
        return self.pending == 0

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready data; ``JobReport(**d)`` builds it again."""
        return _as_dict(self)


def _as_dict(obj: JobProgress | JobReport) -> dict[str, Any]:
    """The fields of ``obj`` as JSON-ready data (mappings as dicts, tuples as lists)."""
    return {
        field.name: dict(value)
        if isinstance(value, Mapping)
        else list(value)
        if isinstance(value, tuple)
        else value
        for field in attrs.fields(type(obj))
        for value in (getattr(obj, field.name),)
    }


async def job_status(state: str | os.PathLike[str]) -> JobReport:
    """Report the job recorded in the state file ``state``, changing nothing.

    Raises:
        FileNotFoundError: There is no such file.
        JobStateError: The file holds no job.
    """
    path = os.fspath(state)
    if not await asyncio.to_thread(os.path.exists, path):
        raise FileNotFoundError(f"no job state at {path}")
    store = Store(path)
    try:
        await store.open()
        meta = await store.meta()
        if "id" not in meta:
            raise JobStateError(f"{path} holds no job (it was never loaded)")
        return await _report(store, meta)
    finally:
        await store.close()


async def _report(store: Store, meta: Mapping[str, str]) -> JobReport:
    by_model = await store.counts()
    counts = _totals(by_model)
    shards = await store.shards()
    steps: dict[str, int] = {}
    batches: dict[str, int] = {}
    tokens = dict.fromkeys(by_model, 0)
    for shard in shards:
        step = str(shard.step)
        steps[step] = steps.get(step, 0) + 1
        if shard.step in (ShardStep.CREATING, ShardStep.SUBMITTED):
            tokens[shard.model] = tokens.get(shard.model, 0) + shard.tokens
            status = shard.batch_status or "unknown"
            batches[status] = batches.get(status, 0) + 1
    return JobReport(
        state=store.path,
        input=meta["input"],
        endpoint=meta["endpoint"],
        models=tuple(by_model),
        requests=sum(counts.values()),
        succeeded=counts[RequestState.SUCCEEDED],
        failed=counts[RequestState.FAILED],
        pending=sum(counts.values()) - counts[RequestState.SUCCEEDED] - counts[RequestState.FAILED],
        shards=steps,
        batches=batches,
        tokens_enqueued=sum(tokens.values()),
        tokens_by_model=tokens,
        token_counter=meta.get("token_counter", "bytes/4"),
    )


def _totals(by_model: Mapping[str, Mapping[RequestState, int]]) -> dict[RequestState, int]:
    totals = dict.fromkeys(RequestState, 0)
    for counts in by_model.values():
        for state, count in counts.items():
            totals[state] += count
    return totals


class Jobs:
    """Run batch jobs of any size (``client.jobs``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def run(
        self,
        input: str | os.PathLike[str],
        output: str | os.PathLike[str],
        *,
        state: str | os.PathLike[str] | None = None,
        limits: JobLimits = JobLimits(),
        completion_window: str = "24h",
        on_progress: OnJobProgress | None = None,
        polling: Polling | None = None,
        limit_backoff: float = 60.0,
        events: BatchEvents | None = None,
    ) -> JobReport:
        """Run the job of the requests in ``input`` until every request has a result.

        The input is checked first, as :func:`check_batch_input` checks a batch's input
        (but with no limit on its size, and several models allowed); then its requests
        are recorded in the state file and sent in shards, each of one model. The
        results file has one line per request, in input order, in the batch output line
        format (``id``, ``custom_id``, ``response``, ``error``): the request's response,
        or the error it failed with for good. It is written when every request is
        final, to a temporary file renamed into place.

        Call it again with the same ``state`` after any interruption (a cancelled task,
        a killed process) and it resumes: nothing is uploaded, created or paid for twice.

        Args:
            input: The JSONL of requests (one endpoint; any models: each shard has one).
            output: Where to write the results.
            state: The state file; by default ``output`` + ``".job"``.
            limits: The limits the job keeps to (`JobLimits`).
            completion_window: Each batch's completion window.
            on_progress: Called (or awaited) with a `JobProgress` at every event.
            polling: How each batch is polled (its ``sleep`` also paces the backoff); by
                default every 5 s at first, backing off to every minute.
            limit_backoff: Seconds before a shard refused for the enqueued-token limit
                is tried again, unless one of the job's batches ends sooner; it doubles
                with each refusal, up to 16 times as long.
            events: Webhook events that wake the waits for the job's batches (see
                :meth:`Batches.wait`): a batch is retrieved as soon as an event about it
                is notified, rather than at its next poll.

        Returns:
            The job's final report; ``report.failed`` counts requests that failed for good.

        Raises:
            BatchInputError: A line of the input cannot be a batch request.
            JobStateError: The state file belongs to another input, or another process
                is running the same job.
            APIStatusError, APIConnectionError: A step failed after the client's retries
                (run again to resume).
        """
        state_path = os.fspath(state) if state is not None else os.fspath(output) + ".job"
        runner = _Runner(
            self._client,
            Store(state_path),
            os.fspath(input),
            os.fspath(output),
            limits,
            completion_window,
            on_progress,
            polling or Polling(interval=5.0, max_interval=60.0),
            limit_backoff,
            events,
        )
        return await runner.run()


class _Capacity:
    """The batches in flight, and their estimated tokens per model, against the limits.

    The batches count against ``max_batches`` whatever their model; the tokens against
    ``max_enqueued_tokens`` model by model, as the API's queue counts them.
    """

    def __init__(self, limits: JobLimits, changed: asyncio.Condition) -> None:
        self._limits = limits
        self._changed = changed
        self.batches = 0
        self.tokens: dict[str, int] = {}  # model -> tokens in flight
        self._batches_of: dict[str, int] = {}  # model -> batches in flight
        self._releases: dict[str, int] = {}  # model -> batches that have left the queue

    def fits(self, model: str, tokens: int) -> bool:
        if self.batches >= self._limits.max_batches:
            return False
        limit = self._limits.max_enqueued_tokens
        # A shard larger than the limit goes alone (of its model) rather than never.
        return (
            limit is None
            or not self._batches_of.get(model)
            or self.tokens.get(model, 0) + tokens <= limit
        )

    async def acquire(self, model: str, tokens: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.fits(model, tokens))
            self.take(model, tokens)

    def take(self, model: str, tokens: int) -> None:
        self.batches += 1
        self._batches_of[model] = self._batches_of.get(model, 0) + 1
        self.tokens[model] = self.tokens.get(model, 0) + tokens

    async def release(self, model: str, tokens: int, *, ran: bool = True) -> None:
        """Give back a batch's place; ``ran``: it held a place in the API's queue too.

        A batch refused for the token limit never did, so its end frees nothing there.
        """
        async with self._changed:
            self.batches -= 1
            self._batches_of[model] -= 1
            self.tokens[model] -= tokens
            if ran:
                self._releases[model] = self._releases.get(model, 0) + 1
            self._changed.notify_all()

    def releases(self, model: str) -> int:
        """How many batches of ``model`` have left the queue so far."""
        return self._releases.get(model, 0)

    async def wait_for_release(self, model: str, than: int) -> None:
        """Return once more than ``than`` batches of ``model`` have left the queue."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.releases(model) > than)


class _Runner:
    def __init__(
        self,
        client: Client,
        store: Store,
        input_path: str,
        output_path: str,
        limits: JobLimits,
        completion_window: str,
        on_progress: OnJobProgress | None,
        polling: Polling,
        limit_backoff: float,
        events: BatchEvents | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.input_path = input_path
        self.output_path = output_path
        self.limits = limits
        self.completion_window = completion_window
        self.on_progress = on_progress
        self.polling = polling
        self.limit_backoff = limit_backoff
        self.events = events
        self.changed = asyncio.Condition()
        self.capacity = _Capacity(limits, self.changed)
        self.meta: dict[str, str] = {}
        self.by_model: dict[str, dict[RequestState, int]] = {}
        self.counts: dict[RequestState, int] = {}
        self.statuses: dict[int, str] = {}  # shard -> its batch's last status
        self.running = 0  # shard tasks alive
        self.queued: dict[str, int] = {}  # model -> its shard tasks waiting for capacity
        self.started = time.monotonic()
        self.finished_at_start = 0
        self.shard_dir = store.path + ".shards"

    # the whole job

    async def run(self) -> JobReport:
        try:
            await self.store.open(exclusive=True)
            self.meta = await self._load()
            await self._refresh_counts()
            self.finished_at_start = self._finished()
            await self._emit("started")
            await self._drive_all()
            await self.store.write_results(self.output_path)
            with contextlib.suppress(OSError):  # only shard files not yet uploaded live there
                await asyncio.to_thread(os.rmdir, self.shard_dir)
            await self._emit("finished")
            return await _report(self.store, self.meta)
        finally:
            await self.store.close()

    async def _load(self) -> dict[str, str]:
        from ._check import check_batch_input

        meta = await self.store.meta()
        if "id" in meta:
            size, digest = await asyncio.to_thread(file_digest, self.input_path)
            if (str(size), digest) != (meta["input_bytes"], meta["input_sha256"]):
                raise JobStateError(
                    f"{self.store.path} records a job on another input "
                    f"({meta['input']}, {meta['input_bytes']} bytes); "
                    f"{self.input_path} differs: use another state file"
                )
            return meta
        # Duplicate ids are found by the state file's unique index as the requests are
        # recorded, rather than by the check, whose set of ids would grow with the job.
        summary = await check_batch_input(
            self.input_path, max_requests=2**62, max_bytes=2**62, unique_ids=False, one_model=False
        )
        counter_names: set[str] = set()
        meta = {
            "input": os.path.abspath(self.input_path),  # noqa: ASYNC240 (no I/O)
            "endpoint": summary.url,
        }

        def lines(readline: Callable[[], bytes]) -> Iterator[Line]:
            # Run by the store's thread: loading a model's encoding happens off the loop.
            counters: dict[str, TokenCounter] = {}  # one per model: encodings differ
            offset = 0
            while line := readline():
                stripped = line.rstrip(b"\r\n")
                if stripped.strip():
                    request = orjson.loads(stripped)
                    body = request["body"]
                    model = model_of(body) or ""
                    counter = counters.get(model)
                    if counter is None:
                        counter, name = token_counter(model or None)
                        counters[model] = counter
                        counter_names.add(name)
                    yield Line(request["custom_id"], offset, len(stripped), model, counter(body))
                offset += len(line)
            meta["token_counter"] = ", ".join(sorted(counter_names))

        try:
            return await self.store.load(self.input_path, lines, meta)
        except DuplicateRequestError as exc:
            raise await asyncio.to_thread(_duplicate_error, self.input_path, exc) from None

    async def _drive_all(self) -> None:
        os.makedirs(self.shard_dir, exist_ok=True)
        async with asyncio.TaskGroup() as group:
            for shard in await self.store.shards(active_only=True):
                self._start(group, shard)
            while True:
                async with self.changed:
                    await self.changed.wait_for(self._ready)
                model = self._next_model()
                if model is None:
                    break  # nothing left to plan, and no shard running
                planned = await self.store.plan_shard(
                    model,
                    self._filename,
                    self.limits.shard_requests,
                    self.limits.shard_bytes,
                    self.limits.max_enqueued_tokens or 2**62,
                )
                await self._refresh_counts()
                if planned is None:  # counted requests that another step just took
                    continue
                await self._ensure_shard_file(planned)
                self._start(group, planned)

    def _ready(self) -> bool:
        if any(self._unplanned(counts) for counts in self.by_model.values()):
            # A shard of a model none of whose shards waits for room, in a free slot: a
            # model held at its token limit does not hold up the others.
            return self._next_model() is not None and (
                self.capacity.batches < self.limits.max_batches
            )
        return self.running == 0

    def _next_model(self) -> str | None:
        """The model to plan a shard of: the first with requests waiting and no shard queued."""
        for model, counts in self.by_model.items():
            if self._unplanned(counts) and not self.queued.get(model):
                return model
        return None

    @staticmethod
    def _unplanned(counts: Mapping[RequestState, int]) -> int:
        return counts[RequestState.NEW] + counts[RequestState.RETRY]

    def _start(self, group: asyncio.TaskGroup, shard: ShardRecord) -> None:
        self.running += 1
        holds = shard.step in (ShardStep.CREATING, ShardStep.SUBMITTED)
        if holds:
            self.capacity.take(shard.model, shard.tokens)  # already in the API's queue
        else:
            self.queued[shard.model] = self.queued.get(shard.model, 0) + 1
        group.create_task(self._drive(shard, holds))

    async def _drive(self, shard: ShardRecord, holds: bool) -> None:
        try:
            await self._drive_shard(shard, holds)
        finally:
            async with self.changed:
                self.running -= 1
                self.statuses.pop(shard.id, None)
                self.changed.notify_all()

    async def _acquire(self, shard: ShardRecord) -> None:
        await self.capacity.acquire(shard.model, shard.tokens)
        async with self.changed:
            self.queued[shard.model] -= 1
            self.changed.notify_all()

    # one shard

    async def _drive_shard(self, shard: ShardRecord, holds: bool) -> None:
        if not holds:
            await self._acquire(shard)
            holds = True
        try:
            while True:
                # The queue had the room it had now; a batch of the job that ends after
                # this point frees more, and a refusal is worth trying again at once.
                seen = self.capacity.releases(shard.model)
                batch_id = await self._submit(shard)
                batch = await self.client.batches.wait(
                    batch_id,
                    polling=self.polling,
                    on_progress=lambda batch: self._on_batch(shard, batch),
                    events=self.events,
                )
                refused = _refused_for_tokens(batch)
                await self.capacity.release(shard.model, shard.tokens, ran=not refused)
                holds = False
                if not refused:
                    break
                delay = self.limit_backoff * 2 ** min(shard.limit_hits, 4)
                await self.store.update_shard(
                    shard,
                    step=ShardStep.WAITING,
                    limit_hits=shard.limit_hits + 1,
                    idempotency_key=None,
                    batch_id=None,
                    batch_status=None,
                )
                self.statuses.pop(shard.id, None)
                await self._emit("limited", shard, batch.id)
                async with self.changed:
                    self.queued[shard.model] = self.queued.get(shard.model, 0) + 1
                await self._back_off(shard.model, delay, seen)
                await self._acquire(shard)
                holds = True
            await self._harvest(shard, batch)
        except BaseException:
            if holds:
                await self.capacity.release(shard.model, shard.tokens)
            raise

    async def _back_off(self, model: str, delay: float, releases: int) -> None:
        """Wait ``delay`` seconds, or less once ``releases`` of ``model``'s batches ended.

        The API's queue of a model frees up when a batch of that model ends; a refused
        shard tries again then, rather than sleeping on while its turn has come (at once,
        if one ended since it was created). When none of the job's batches of the model
        is in flight (the queue is held by other work), only the delay ends the wait.
        """

        async def sleep() -> None:
            await self.polling.sleep(delay)

        async with asyncio.TaskGroup() as group:
            sleeping = group.create_task(sleep())
            freed = group.create_task(self.capacity.wait_for_release(model, releases))
            await asyncio.wait((sleeping, freed), return_when=asyncio.FIRST_COMPLETED)
            sleeping.cancel()
            freed.cancel()

    async def _submit(self, shard: ShardRecord) -> str:
        """Upload the shard's file and create its batch, unless that was done already."""
        if shard.step in (ShardStep.PLANNED, ShardStep.UPLOADING):
            found = None
            if shard.step is ShardStep.UPLOADING:
                found = await self._find_upload(shard)
            if found is None:
                path = await self._ensure_shard_file(shard)
                await self.store.update_shard(
                    shard, step=ShardStep.UPLOADING, upload_since=time.time()
                )
                found = (await self.client.files.create(path, purpose="batch")).id
            await self.store.update_shard(shard, step=ShardStep.UPLOADED, file_id=found)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._shard_path(shard))
        if shard.step is ShardStep.SUBMITTED:
            assert shard.batch_id is not None
            return shard.batch_id
        batch = None
        if shard.step is ShardStep.CREATING:
            batch = await self._find_batch(shard)
        if batch is None:
            if shard.step is not ShardStep.CREATING:
                await self.store.update_shard(
                    shard,
                    step=ShardStep.CREATING,
                    idempotency_key=uuid.uuid4().hex,
                    create_since=time.time(),
                )
            assert shard.file_id is not None
            if self.client.api_version is not None:
                # Azure refuses a batch on a file it has not processed yet.
                await self.client.files.wait_for_processing(shard.file_id, polling=self.polling)
            batch = await self.client.batches.create(
                input_file_id=shard.file_id,
                endpoint=self.meta["endpoint"],
                completion_window=self.completion_window,
                metadata={
                    "openai_batches_job": self.meta["id"],
                    "openai_batches_shard": str(shard.id),
                },
                idempotency_key=shard.idempotency_key,
            )
        await self.store.update_shard(
            shard, step=ShardStep.SUBMITTED, batch_id=batch.id, batch_status=str(batch.status)
        )
        self.statuses[shard.id] = str(batch.status)
        await self._emit("submitted", shard, batch.id)
        return batch.id

    async def _find_upload(self, shard: ShardRecord) -> str | None:
        """The file an upload recorded but not confirmed made, if it made one."""
        since = (shard.upload_since or 0) - _LOOKBACK
        async with aclosing(self.client.files.list(purpose="batch", order="desc")) as files:
            async for file in files:
                if file.created_at < since:
                    break
                if file.filename == shard.filename and file.bytes == shard.bytes:
                    return file.id
        return None

    async def _find_batch(self, shard: ShardRecord) -> Batch | None:
        """The batch a create recorded but not confirmed made, if it made one."""
        from ._batches import IDEMPOTENCY_METADATA_KEY

        since = (shard.create_since or 0) - _LOOKBACK
        async with aclosing(self.client.batches.list()) as batches:
            async for batch in batches:
                if batch.created_at < since:
                    break
                metadata = batch.metadata or {}
                if metadata.get(IDEMPOTENCY_METADATA_KEY) == shard.idempotency_key:
                    return batch
        return None

    async def _on_batch(self, shard: ShardRecord, batch: Batch) -> None:
        self.statuses[shard.id] = str(batch.status)
        await self._emit("batch", shard, batch.id)

    async def _harvest(self, shard: ShardRecord, batch: Batch) -> None:
        """Record the results of a finished batch; settle its requests that got none."""
        max_attempts = self.limits.max_attempts
        if batch.status == "failed":
            error = batch.errors.data[0] if batch.errors and batch.errors.data else None
            code = (error.code if error else None) or "batch_failed"
            message = (error.message if error else None) or f"batch {batch.id} failed"
            await self.store.finish_shard(
                shard.id, "failed", code, message, retry=False, max_attempts=max_attempts
            )
        else:
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                chunk: list[tuple[RequestState, bytes, str]] = []
                async with aclosing(self.client.files.lines(file_id)) as lines:
                    async for line in lines:
                        chunk.append(classify(line))
                        if len(chunk) >= _RESULTS_PER_WRITE:
                            await self.store.record_results(shard.id, chunk, max_attempts)
                            chunk = []
                if chunk:
                    await self.store.record_results(shard.id, chunk, max_attempts)
            await self.store.finish_shard(
                shard.id,
                str(batch.status),
                "missing_result",
                f"batch {batch.id} ended {batch.status} without a result for this request",
                retry=True,
                max_attempts=max_attempts,
            )
        async with self.changed:
            await self._refresh_counts()
            self.changed.notify_all()
        await self._emit("harvested", shard, batch.id)

    # shard files

    def _filename(self, shard_id: int) -> str:
        stem = os.path.splitext(os.path.basename(self.input_path))[0][:40]
        return f"{stem}-{self.meta['id']}-{shard_id:05d}.jsonl"

    def _shard_path(self, shard: ShardRecord) -> str:
        return os.path.join(self.shard_dir, shard.filename)

    async def _ensure_shard_file(self, shard: ShardRecord) -> str:
        path = self._shard_path(shard)
        if not await asyncio.to_thread(os.path.exists, path):
            written = await self.store.write_shard_file(shard.id, self.input_path, path)
            if written != shard.requests:
                raise JobStateError(
                    f"{self.store.path}: shard {shard.id} should hold {shard.requests} "
                    f"requests, but {written} are assigned to it"
                )
        return path

    # progress

    async def _refresh_counts(self) -> None:
        self.by_model = await self.store.counts()
        self.counts = _totals(self.by_model)

    def _finished(self) -> int:
        return self.counts[RequestState.SUCCEEDED] + self.counts[RequestState.FAILED]

    async def _emit(
        self, event: str, shard: ShardRecord | None = None, batch_id: str | None = None
    ) -> None:
        if self.on_progress is None:
            return
        total = sum(self.counts.values())
        finished = self._finished()
        elapsed = time.monotonic() - self.started
        done_now = finished - self.finished_at_start
        pending = total - finished
        remaining = elapsed / done_now * pending if done_now > 0 else None
        batches: dict[str, int] = {}
        for status in self.statuses.values():
            batches[status] = batches.get(status, 0) + 1
        progress = JobProgress(
            event=event,
            requests=total,
            succeeded=self.counts[RequestState.SUCCEEDED],
            failed=self.counts[RequestState.FAILED],
            pending=pending,
            batches=batches,
            tokens_enqueued=sum(self.capacity.tokens.values()),
            tokens_by_model={model: self.capacity.tokens.get(model, 0) for model in self.by_model},
            elapsed=elapsed,
            remaining=remaining,
            shard=None if shard is None else shard.id,
            batch_id=batch_id,
        )
        result = self.on_progress(progress)
        if isinstance(result, Awaitable):
            await result


def _refused_for_tokens(batch: Batch) -> bool:
    if batch.status != "failed" or batch.errors is None:
        return False
    return any(error.code == TOKEN_LIMIT_CODE for error in batch.errors.data or ())


def classify(line: bytes) -> tuple[RequestState, bytes, str]:
    """Sort an output line: ``(SUCCEEDED | RETRY | FAILED, line, custom_id)``.

    A 2xx response succeeded. A 408, 429 (but not ``insufficient_quota``, which waiting
    never clears) or 5xx response, and a line without a response whose error code is in
    `RETRYABLE_CODES` (``batch_expired``, ``batch_cancelled``, ...), are worth another
    attempt; anything else failed for good.
    """
    item = orjson.loads(line)
    custom_id = item["custom_id"]
    response = item.get("response")
    if isinstance(response, dict) and isinstance(response.get("status_code"), int):
        status = response["status_code"]
        if 200 <= status < 300:
            return RequestState.SUCCEEDED, line, custom_id
        body = response.get("body")
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        retry = (status in (408, 429) or status >= 500) and code != "insufficient_quota"
    else:
        error = item.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        retry = code in RETRYABLE_CODES
    return (RequestState.RETRY if retry else RequestState.FAILED), line, custom_id


def _duplicate_error(path: str, exc: DuplicateRequestError) -> BatchInputError:
    """The error ``check_batch_input`` would give for a duplicate ``custom_id``."""
    (_, first_offset), (index, offset) = exc.first, exc.second
    with open(path, "rb") as file:  # line numbers count every line, blank ones too
        first_line = 1 + file.read(first_offset).count(b"\n")
        line = first_line + file.read(offset - first_offset).count(b"\n")
    problem = BatchInputError(
        f"line {line}: duplicate custom_id {exc.custom_id!r}: lines {first_line} and {line} "
        "both use it",
        code="duplicate_custom_id",
        custom_id=exc.custom_id,
        index=index,
        line=line,
        source=path,
    )
    return BatchInputError(
        f"{path} cannot be a job's input: the first duplicate custom_id found\n  {problem}",
        code="invalid_batch_input",
        custom_id=None,
        index=None,
        source=path,
        problems=(problem,),
        problem_count=1,
    )
