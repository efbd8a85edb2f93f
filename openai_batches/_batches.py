"""The Batches API: ``client.batches``.

Creating a batch is not idempotent on the API's side, so :meth:`Batches.create` makes it
so: each create carries a client-generated key in the batch's metadata, and after any
failure that may have happened after the API created the batch (no answer, a timeout, a
5xx), the recent batches are searched for that key before the create is sent again.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Unpack, overload

import attrs

from ._api import API
from ._decode import Response, as_is, decoder
from ._errors import APIError, ConflictError
from ._models import Batch, BatchStatus, Page
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
from ._types import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault
from ._urls import encode_path

if TYPE_CHECKING:
    # What only some methods need loads on their first use, keeping `import
    # openai_batches`, and the first `client.batches`, light.
    from ._expiry import ExpiresAfter
    from ._filters import Seconds
    from ._jsonl import RequestWriter
    from ._lines import BatchRequest, BatchResult
    from ._many import Ids
    from ._results import ContentSource, JoinSummary, RequestInputs, ResultJoin
    from ._wait import OnCancel, OnProgress, Polling
    from ._webhooks import BatchEvents

log = logging.getLogger(__name__)

#: The longest line the results reader accepts (as ``_jsonl.DEFAULT_MAX_LINE_BYTES``).
_MAX_LINE_BYTES = 64 * 1024**2

__all__ = ["GENERATE_KEY", "IDEMPOTENCY_METADATA_KEY", "Batches", "GenerateKey"]

#: The API's largest page of batches; walks use it by default to save round trips.
MAX_BATCHES_PAGE = 100

#: The metadata key that carries a create's idempotency key.
IDEMPOTENCY_METADATA_KEY = "openai_batches_request_id"

#: The endpoints the API documents for batches. Others starting with ``/v1/`` are sent
#: as they are, so an endpoint the API adds later needs no new release.
ENDPOINTS = frozenset(
    {
        "/v1/responses",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/moderations",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/videos",
    }
)
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512

# How far back the search for an ambiguous create looks: batches created up to this long
# before the first attempt (by this machine's clock, which may be off from the API's)...
_LOOKUP_SKEW = 600.0
# ...and never more than this many pages of the newest batches.
_LOOKUP_PAGES = 5

#: A cancel that met these has already taken effect.
_CANCELLED = frozenset({BatchStatus.CANCELLING, BatchStatus.CANCELLED})
#: A cancel that met these may be sent again.
_CANCELLABLE = frozenset({BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS})
#: Why a walk takes no ``extra_body``.
_GET_PAGES = "a listing sends GET requests, which have no body"
#: A cancel answered 409 looks at the batch before trying again.
_CONFLICT = frozenset({409})


class GenerateKey(enum.Enum):
    """The type of :data:`GENERATE_KEY`: "make up a fresh idempotency key"."""

    GENERATE_KEY = enum.auto()

    def __repr__(self) -> str:
        return "GENERATE_KEY"


GENERATE_KEY: Final = GenerateKey.GENERATE_KEY


class Batches:
    """Create, inspect, cancel and list batches."""

    def __init__(self, api: API, files: ContentSource | None = None) -> None:
        self._api = api
        self._files = files

    def _content(self) -> ContentSource:
        if self._files is None:
            raise RuntimeError("this Batches resource was built without a files source")
        return self._files

    def results(
        self, batch: Batch, *, max_line_bytes: int = _MAX_LINE_BYTES
    ) -> AsyncGenerator[BatchResult, None]:
        """Stream a finished batch's results: its output file, then its error file.

        Completed, expired and cancelled batches alike (the last two with partial
        output and ``batch_expired``/``batch_cancelled`` error lines); one line at a
        time, in bounded memory.

        Raises:
            ValueError: The batch is not finished (raised at once).
            JSONLError: A line is malformed (raised when it is reached).
        """
        from ._results import iter_results

        return iter_results(self._content(), batch, max_line_bytes=max_line_bytes)

    def join(self, batch: Batch, inputs: RequestInputs | None = None) -> ResultJoin:
        """Pair a finished batch's results with its requests by ``custom_id``.

        Iterate the returned :class:`ResultJoin` for ``(request, result)`` pairs; its
        ``summary`` then reports requests with no result and results with no request.

        Args:
            batch: The finished batch.
            inputs: Its requests; by default they are read back from its input file.
        """
        from ._results import join_results

        return join_results(self._content(), batch, inputs)

    async def rebuild_failed(
        self,
        batch: Batch,
        writer: RequestWriter,
        inputs: RequestInputs | None = None,
        *,
        include_missing: bool = True,
        select: Callable[[BatchRequest, BatchResult], bool] | None = None,
        on_result: Callable[[BatchResult], object] | None = None,
    ) -> JoinSummary:
        """Write the requests that failed, expired or were cancelled, to re-submit them.

        See :meth:`ResultJoin.write_failed` for the arguments.
        """
        from ._results import rebuild_failed

        return await rebuild_failed(
            self._content(),
            batch,
            writer,
            inputs,
            include_missing=include_missing,
            select=select,
            on_result=on_result,
        )

    async def create(
        self,
        *,
        input_file_id: str,
        endpoint: str,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
        output_expires_after: ExpiresAfter | None = None,
        idempotency_key: str | GenerateKey | None = GENERATE_KEY,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> Batch:
        """Start a batch on an uploaded ``purpose="batch"`` file, safe to retry.

        The create is tagged with ``metadata["openai_batches_request_id"] = <key>``. When
        an attempt fails in a way that leaves its outcome unknown (no answer, a timeout,
        408 or 5xx), the newest batches are searched for the key (back to a few minutes
        before the first attempt, at most 500 batches): a batch found is returned,
        otherwise the create is retried after the client's backoff. A 409 or 429 is
        retried without searching (the API turned the create away, so it created
        nothing); any other error is raised at once.

        Args:
            input_file_id: The input file's id.
            endpoint: One of the API's batch endpoints, such as ``"/v1/chat/completions"``;
                an unknown one starting with ``/v1/`` is sent as it is.
            completion_window: Only ``"24h"`` exists today.
            metadata: Up to 16 string pairs (keys up to 64 characters, values up to
                512), 15 while the idempotency key takes a pair.
            output_expires_after: When the output and error files expire: seconds after
                their creation (3600 to 2592000), or the API's
                ``{"anchor": "created_at", "seconds": N}``.
            idempotency_key: A key of your own, a fresh random one by default, or
                ``None`` to send no key: then a create whose outcome is unknown is
                raised, never retried, and all 16 metadata pairs are yours.
            timeout: Each attempt's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).

        Raises:
            ValueError: An argument breaks the API's limits (before any request).
            TypeError: An argument has the wrong type (before any request).
            APIStatusError: The API refused the batch, or kept failing.
            APIConnectionError: No answer after every retry, and no batch with the key.
        """
        key = uuid.uuid4().hex if idempotency_key is GENERATE_KEY else idempotency_key
        body = create_body(
            input_file_id, endpoint, completion_window, metadata, output_expires_after, key
        )
        return await self._create(body, key, timeout, options_of(extra))

    async def _create(
        self,
        body: dict[str, Any],
        key: str | None,
        timeout: TimeoutTypes | UseClientDefault,
        options: RequestOptions | None = None,
    ) -> Batch:
        since = time.time()
        missed = False

        async def find() -> Batch | None:
            nonlocal missed
            assert key is not None
            found = await self._find_created(key, since, timeout)
            missed = missed or found is None
            return found

        # Without a key an unknown outcome cannot be checked, so it is raised, not re-sent.
        # A 2xx whose body cannot be read made the batch: it is fetched by its key.
        batch = await self._api.request(
            "POST",
            "batches",
            decoder(Batch),
            json=body,
            timeout=timeout,
            recover=find if key is not None else None,
            resend_unknown=False,
            options=options,
        )
        if missed:
            # A search found nothing and the create was sent again: the lost attempt may
            # have been carried out since.
            assert key is not None
            await self._cancel_duplicates(batch, key, since, timeout)
        return batch

    async def _find_created(
        self, key: str, since: float, timeout: TimeoutTypes | UseClientDefault
    ) -> Batch | None:
        """The batch an earlier attempt created with ``key``, if the API made one."""
        async with contextlib.aclosing(self._created_with(key, since, timeout)) as found:
            async for batch in found:
                return batch
        return None

    async def _created_with(
        self, key: str, since: float, timeout: TimeoutTypes | UseClientDefault
    ) -> AsyncGenerator[Batch, None]:
        """The batches tagged with ``key``, newest first.

        Looks through the newest batches, back to a few minutes before the first attempt
        (the API's clock may differ from ours) and at most a few pages.
        """
        oldest = since - _LOOKUP_SKEW
        number = 0
        async with contextlib.aclosing(
            self.pages(limit=MAX_BATCHES_PAGE, timeout=timeout)
        ) as pages:
            async for page in pages:
                for batch in page.data:
                    if batch.metadata and batch.metadata.get(IDEMPOTENCY_METADATA_KEY) == key:
                        yield batch
                number += 1
                if number >= _LOOKUP_PAGES or not page.data or page.data[-1].created_at < oldest:
                    return

    async def _cancel_duplicates(
        self, kept: Batch, key: str, since: float, timeout: TimeoutTypes | UseClientDefault
    ) -> None:
        """Cancel the batches an attempt whose answer was lost started besides ``kept``.

        An attempt that timed out may still be queued at the API when the search before
        the next attempt runs, and start a second batch later. After such a create, the
        search runs once more. Whatever goes wrong here is logged, never raised: the
        create itself succeeded.
        """
        try:
            others = [b async for b in self._created_with(key, since, timeout) if b.id != kept.id]
        except APIError as exc:
            log.warning("Could not look for duplicates of batch %s: %s", kept.id, exc)
            return
        for other in others:
            if other.status.is_final or other.status is BatchStatus.CANCELLING:
                continue
            try:
                await self.cancel(other.id, timeout=timeout)
            except APIError as exc:
                log.warning(
                    "Batch %s duplicates batch %s (a lost create attempt started it) "
                    "and could not be cancelled: %s",
                    other.id,
                    kept.id,
                    " ".join([str(exc), *getattr(exc, "__notes__", ())]),
                )
            else:
                log.warning(
                    "Cancelled batch %s: a lost create attempt started it as a duplicate of "
                    "batch %s.",
                    other.id,
                    kept.id,
                )

    async def retrieve(
        self,
        batch_id: str,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> Batch:
        """Fetch a batch by id.

        Args:
            batch_id: The batch's id.
            timeout: This call's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).

        Raises:
            ValueError: ``batch_id`` is empty.
            NotFoundError: There is no such batch.
        """
        path = encode_path("batches/{}", batch_id)
        return await self._api.request(
            "GET", path, decoder(Batch), timeout=timeout, options=options_of(extra)
        )

    async def cancel(
        self,
        batch_id: str,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> Batch:
        """Ask the API to cancel a batch; it goes to ``cancelling``, then ``cancelled``.

        After a lost answer, a 5xx or a 409, the batch is looked at before anything is
        sent again: if it is already cancelling or cancelled, an earlier attempt worked
        and that batch is returned; if it is finalizing or final, ConflictError is raised
        at once, noting its status; only while it is still validating or in progress is
        the cancel sent again, as the retry policy allows.

        Args:
            batch_id: The batch's id.
            timeout: Each attempt's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query``, ``extra_body`` (see :class:`Extra`).

        Returns:
            The batch as the API answered, usually ``cancelling``.

        Raises:
            ValueError: ``batch_id`` is empty.
            NotFoundError: There is no such batch.
            ConflictError: The batch can no longer be cancelled.
        """
        path = encode_path("batches/{}/cancel", batch_id)
        options = options_of(extra)

        async def settle() -> Batch | None:
            batch = await self.retrieve(batch_id, timeout=timeout)
            if batch.status in _CANCELLED:
                return batch
            if batch.status in _CANCELLABLE or not batch.status.known:
                return None
            raise StopRetrying(f"The batch is {batch.status}; it can no longer be cancelled.")

        return await self._api.request(
            "POST",
            path,
            decoder(Batch),
            timeout=timeout,
            recover=settle,
            recover_statuses=_CONFLICT,
            options=options,
        )

    @overload
    def retrieve_many(
        self,
        ids: Ids[Batch],
        *,
        limit: int = 8,
        return_exceptions: Literal[False] = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch, None]: ...

    @overload
    def retrieve_many(
        self,
        ids: Ids[Batch],
        *,
        limit: int = 8,
        return_exceptions: bool,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch | Exception, None]: ...

    def retrieve_many(
        self,
        ids: Ids[Batch],
        *,
        limit: int = 8,
        return_exceptions: bool = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch | Exception, None]:
        """Fetch many batches, ``limit`` at a time, and yield them in input order.

        Works as :func:`openai_batches.concurrent_map` does: ids are read only as fast
        as the requests go, and a failure is raised in its place after the batches
        before it (or yielded there, with ``return_exceptions=True``).

        Args:
            ids: Batch ids or :class:`Batch` objects: a collection (checked whole
                before any request), an iterable or an async iterable such as a listing.
            limit: The most requests in flight at once.
            return_exceptions: Yield an error in its batch's place instead of raising it.
            timeout: Each request's timeout, instead of the client's.

        Raises:
            TypeError, ValueError: An argument, or an id in a collection, is wrong.
            NotFoundError: There is no batch with one of the ids.

        The extras of a single call (see :class:`Extra`) go with each request.
        """
        from ._many import call_many

        options_of(extra)  # refuses wrong extras at once, not at each call
        return call_many(
            lambda batch_id: self.retrieve(batch_id, timeout=timeout, **extra),
            ids,
            Batch,
            limit=limit,
            return_exceptions=return_exceptions,
        )

    @overload
    def cancel_many(
        self,
        ids: Ids[Batch],
        *,
        limit: int = 8,
        return_exceptions: Literal[False] = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch, None]: ...

    @overload
    def cancel_many(
        self,
        ids: Ids[Batch],
        *,
        limit: int = 8,
        return_exceptions: bool,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch | Exception, None]: ...

    def cancel_many(
        self,
        ids: Ids[Batch],
        *,
        limit: int = 8,
        return_exceptions: bool = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch | Exception, None]:
        """Cancel many batches, ``limit`` at a time; yield the answers in input order.

        Each cancel is :meth:`cancel`, lost answers and 409s included; a batch that can
        no longer be cancelled raises ConflictError in its place (pass
        ``return_exceptions=True`` to go on past it). Takes the same arguments as
        :meth:`retrieve_many`.
        """
        from ._many import call_many

        options_of(extra)  # refuses wrong extras at once, not at each call
        return call_many(
            lambda batch_id: self.cancel(batch_id, timeout=timeout, **extra),
            ids,
            Batch,
            limit=limit,
            return_exceptions=return_exceptions,
        )

    async def wait(
        self,
        batch_id: str,
        *,
        deadline: float | None = None,
        on_progress: OnProgress | None = None,
        on_cancel: OnCancel = "leave",
        cancel_at_deadline: bool = False,
        polling: Polling | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        events: BatchEvents | None = None,
        **extra: Unpack[Extra],
    ) -> Batch:
        """Poll a batch until its status is final: completed, failed, expired or cancelled.

        Only the status decides: ``request_counts`` read 100% while the batch is still
        ``finalizing``. Polls start every ``polling.interval`` seconds and back off to
        ``polling.max_interval`` while nothing changes; a change of status or counts
        resets them. A failed poll that the client's retries could not save is polled
        again, up to ``polling.max_errors`` times in a row (honouring ``retry-after``).

        Args:
            batch_id: The batch to wait for.
            deadline: Give up after this many seconds (on ``polling.clock``).
            on_progress: Called (or awaited, if it returns an awaitable) with the batch
                at the first poll and whenever its status or counts change, the final
                state included.
            on_cancel: When the waiting task is cancelled, ``"leave"`` the batch running
                or ``"cancel"`` it too (the request is sent shielded from the
                cancellation, then ``CancelledError`` propagates).
            cancel_at_deadline: Cancel the batch when the deadline passes.
            polling: Intervals, backoff, error tolerance, and the sleep and clock used
                (``None``: ``Polling()``, the defaults).
            timeout: Each poll's timeout, instead of the client's.
            events: Webhook events that wake this wait: when ``events`` is notified of
                an event for this batch, the batch is retrieved at once rather than at
                the next poll (polling goes on meanwhile, in case no event comes).
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`), with each
                poll (and the cancel, if it is sent).

        Returns:
            The batch in its final status; a failed batch is returned, not raised.

        Raises:
            WaitTimeoutError: The deadline passed; ``.batch`` is the last one seen.
            APIStatusError: A poll failed for good (404, 401, or too many errors).
        """
        from ._wait import Polling, wait_for_batch

        polling = Polling() if polling is None else polling
        abortable = self._api.transport.abortable

        async def sleep(seconds: float) -> object:
            with abortable():  # closing the client ends the wait, not only its requests
                return await polling.sleep(seconds)

        return await wait_for_batch(
            batch_id,
            lambda batch_id: self.retrieve(batch_id, timeout=timeout, **extra),
            lambda batch_id: self.cancel(batch_id, timeout=timeout, **extra),
            self._api.retry,
            polling=attrs.evolve(polling, sleep=sleep),
            deadline=deadline,
            on_progress=on_progress,
            on_cancel=on_cancel,
            cancel_at_deadline=cancel_at_deadline,
            events=events,
            emit=self._api.emit,
        )

    async def cancel_and_wait(
        self,
        batch_id: str,
        *,
        deadline: float | None = None,
        on_progress: OnProgress | None = None,
        polling: Polling | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        events: BatchEvents | None = None,
        **extra: Unpack[Extra],
    ) -> Batch:
        """Cancel a batch and wait until it stops.

        A batch that can no longer be cancelled (it is finalizing, or already final) is
        waited for all the same.

        Returns:
            The batch in its final status: usually ``cancelled``, with the counts of the
            requests that ran; ``completed`` (or another final status) if it got there
            first.

        Raises:
            WaitTimeoutError: The deadline passed.
        """
        # Too late to cancel (finalizing, or final): wait for how it ends all the same.
        with contextlib.suppress(ConflictError):
            await self.cancel(batch_id, timeout=timeout, **extra)
        return await self.wait(
            batch_id,
            deadline=deadline,
            on_progress=on_progress,
            polling=polling,
            timeout=timeout,
            events=events,
            **extra,
        )

    def pages(
        self,
        *,
        limit: int = MAX_BATCHES_PAGE,
        after: str | None = None,
        prefetch: int = 0,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Page[Batch], None]:
        """Walk the batches page by page, newest first.

        Args:
            limit: Batches per page, 1 to 100.
            after: Start after this batch id (a page's ``last_id``), to resume a walk.
            prefetch: Fetch up to this many pages ahead while the caller works on the
                current one (``0``: each page when it is asked for). Close the walk
                (``contextlib.aclosing``) to cancel a request fetched ahead at once.
            timeout: Each page's timeout, instead of the client's.
            **extra: ``extra_headers``, ``extra_query`` (see :class:`Extra`), with each page.

        Raises:
            ValueError: ``limit`` is out of range (raised at once, before any request).
            PaginationError: The API's cursors do not advance.
        """
        ahead = check_prefetch(prefetch)
        walk = self._walk(limit, after, timeout, options_of(extra, why=_GET_PAGES))
        return structured_pages(prefetch_pages(walk, ahead), Batch)

    def list(
        self,
        *,
        limit: int = MAX_BATCHES_PAGE,
        after: str | None = None,
        status: str | BatchStatus | Collection[str | BatchStatus] | None = None,
        created_after: Seconds | None = None,
        created_before: Seconds | None = None,
        endpoint: str | Collection[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        max_items: int | None = None,
        prefetch: int = 0,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        **extra: Unpack[Extra],
    ) -> AsyncGenerator[Batch, None]:
        """Walk every batch, newest first, fetching pages of ``limit`` as needed.

        Takes the arguments of :meth:`pages`, and filters. Filters never change what is
        requested, only what is yielded and where the walk ends: ``created_after`` ends
        it at the first older batch, ``max_items`` at the batch that reaches the count.
        Each batch is checked as it is yielded, so a malformed one raises
        ResponseValidationError at its turn.

        Args:
            status: Only batches with this status, or one of these statuses.
            created_after: Only batches created at or after this moment (unix seconds,
                or an aware datetime).
            created_before: Only batches created before this moment.
            endpoint: Only batches for this endpoint, or one of these.
            metadata: Only batches whose metadata has all of these pairs.
            max_items: Yield at most this many batches.

        Raises:
            TypeError, ValueError: An argument is wrong (raised at once, before any
                request).
        """
        ahead = check_prefetch(prefetch)
        walk = self._walk(limit, after, timeout, options_of(extra, why=_GET_PAGES))
        filters = (status, created_after, created_before, endpoint, metadata, max_items)
        if any(value is not None for value in filters):
            from ._filters import batch_filter, filter_pages

            walk_filter = batch_filter(
                status=status,
                created_after=created_after,
                created_before=created_before,
                endpoint=endpoint,
                metadata=metadata,
                max_items=max_items,
            )
            if walk_filter is not None:
                walk = filter_pages(walk, walk_filter)
        return iter_items(prefetch_pages(walk, ahead), Batch)

    def _walk(
        self,
        limit: int,
        after: str | None,
        timeout: TimeoutTypes | UseClientDefault,
        options: RequestOptions | None = None,
    ) -> AsyncGenerator[RawPage, None]:
        check_limit(limit, MAX_BATCHES_PAGE)
        api = self._api

        def fetch(cursor: str | None) -> Awaitable[Response]:
            params: dict[str, str | int] = {"limit": limit}
            if cursor is not None:
                params["after"] = cursor
            return api.request(
                "GET", "batches", as_is, params=params, timeout=timeout, options=options
            )

        return walk_pages(fetch, check_cursor(after), api.emit)


def create_body(
    input_file_id: object,
    endpoint: object,
    completion_window: object,
    metadata: object,
    output_expires_after: object,
    key: str | None,
) -> dict[str, Any]:
    """Check a create's arguments against the API's limits and build its JSON body.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An argument is out of the API's limits.
    """
    body: dict[str, Any] = {
        "input_file_id": _non_empty("input_file_id", input_file_id),
        "endpoint": _check_endpoint(endpoint),
        "completion_window": _non_empty("completion_window", completion_window),
    }
    pairs = _check_metadata(metadata, reserved=key is not None)
    if key is not None:
        if len(_non_empty("idempotency_key", key)) > MAX_METADATA_VALUE:
            raise ValueError(f"idempotency_key is longer than {MAX_METADATA_VALUE} characters")
        pairs[IDEMPOTENCY_METADATA_KEY] = key
    if pairs:
        body["metadata"] = pairs
    from ._expiry import check_expires_after, expires_after_json

    seconds = check_expires_after(output_expires_after, "output_expires_after")
    if seconds is not None:
        body["output_expires_after"] = expires_after_json(seconds)
    return body


def _non_empty(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def _check_endpoint(endpoint: object) -> str:
    endpoint = _non_empty("endpoint", endpoint)
    if endpoint in ENDPOINTS:
        return endpoint
    # Unknown but well-formed: an endpoint newer than this library, or Azure OpenAI's
    # spelling without the version ("/chat/completions").
    path = endpoint.removeprefix("/v1/") if endpoint.startswith("/v1/") else endpoint[1:]
    if endpoint.startswith("/") and path and all(c.isalnum() or c in "/_-." for c in path):
        return endpoint
    raise ValueError(
        f"endpoint must be an API path such as '/v1/chat/completions' (one of "
        f"{', '.join(sorted(ENDPOINTS))}; '/chat/completions' on Azure OpenAI), "
        f"got {endpoint!r}"
    )


def _check_metadata(metadata: object, *, reserved: bool) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping of strings, got {type(metadata).__name__}")
    limit = MAX_METADATA_PAIRS - 1 if reserved else MAX_METADATA_PAIRS
    if len(metadata) > limit:
        why = " (the idempotency key takes the 16th)" if reserved else ""
        raise ValueError(f"metadata has {len(metadata)} pairs; at most {limit} are allowed{why}")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {key!r}")
        if len(key) > MAX_METADATA_KEY:
            raise ValueError(
                f"metadata key {key[:20]!r}... is {len(key)} characters long; "
                f"at most {MAX_METADATA_KEY} are allowed"
            )
        if not isinstance(value, str):
            raise TypeError(f"metadata[{key!r}] must be a string, got {type(value).__name__}")
        if len(value) > MAX_METADATA_VALUE:
            raise ValueError(
                f"metadata[{key!r}] is {len(value)} characters long; "
                f"at most {MAX_METADATA_VALUE} are allowed"
            )
    if reserved and IDEMPOTENCY_METADATA_KEY in metadata:
        raise ValueError(
            f"metadata[{IDEMPOTENCY_METADATA_KEY!r}] is set by the client; "
            "pass idempotency_key=... instead"
        )
    return dict(metadata)
