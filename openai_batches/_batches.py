"""The Batches API: ``client.batches``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

from ._decode import decode
from ._models import Batch, Page
from ._pagination import (
    RawPage,
    check_cursor,
    check_limit,
    iter_items,
    structured_pages,
    walk_pages,
)
from ._transport import Response, Transport, encode_path
from ._types import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

__all__ = ["Batches"]

#: The API's largest page of batches; walks use it by default to save round trips.
MAX_BATCHES_PAGE = 100


class Batches:
    """Create, inspect, cancel and list batches."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def retrieve(
        self, batch_id: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> Batch:
        """Fetch a batch by id.

        Raises:
            ValueError: ``batch_id`` is empty.
            NotFoundError: There is no such batch.
        """
        path = encode_path("batches/{}", batch_id)
        return decode(await self._transport.request("GET", path, timeout=timeout), Batch)

    async def cancel(
        self, batch_id: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> Batch:
        """Ask the API to cancel a batch; it goes to ``cancelling``, then ``cancelled``.

        Returns:
            The batch as the API answered, usually ``cancelling``.
        """
        path = encode_path("batches/{}/cancel", batch_id)
        return decode(await self._transport.request("POST", path, timeout=timeout), Batch)

    def pages(
        self,
        *,
        limit: int = MAX_BATCHES_PAGE,
        after: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncIterator[Page[Batch]]:
        """Walk the batches page by page, newest first.

        Args:
            limit: Batches per page, 1 to 100.
            after: Start after this batch id (a page's ``last_id``), to resume a walk.
            timeout: Each page's timeout, instead of the client's.

        Raises:
            ValueError: ``limit`` is out of range (raised at once, before any request).
            PaginationError: The API's cursors do not advance.
        """
        return structured_pages(self._walk(limit, after, timeout), Batch)

    def list(
        self,
        *,
        limit: int = MAX_BATCHES_PAGE,
        after: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncIterator[Batch]:
        """Walk every batch, newest first, fetching pages of ``limit`` as needed.

        Takes the same arguments as :meth:`pages`. Each batch is checked as it is
        yielded, so a malformed one raises ResponseValidationError at its turn.
        """
        return iter_items(self._walk(limit, after, timeout), Batch)

    def _walk(
        self, limit: int, after: str | None, timeout: TimeoutTypes | UseClientDefault
    ) -> AsyncIterator[RawPage]:
        check_limit(limit, MAX_BATCHES_PAGE)
        transport = self._transport

        def fetch(cursor: str | None) -> Awaitable[Response]:
            params: dict[str, str | int] = {"limit": limit}
            if cursor is not None:
                params["after"] = cursor
            return transport.request("GET", "batches", params=params, timeout=timeout)

        return walk_pages(fetch, check_cursor(after))
