"""The Files API: ``client.files``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

from ._models import FileObject, Page
from ._pagination import (
    RawPage,
    check_cursor,
    check_limit,
    iter_items,
    structured_pages,
    walk_pages,
)
from ._transport import Response, Transport
from ._types import USE_CLIENT_DEFAULT, Order, TimeoutTypes, UseClientDefault

__all__ = ["Files"]

#: The API's largest page of files.
MAX_FILES_PAGE = 10_000
#: The page size walks use unless told otherwise. The API's default, 10,000, takes tens
#: of milliseconds of event-loop time to decode in one go; pages of this size stay
#: well under 10 ms and walk as fast overall.
DEFAULT_FILES_PAGE = 1_000


class Files:
    """Upload, inspect, download and list files."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def pages(
        self,
        *,
        purpose: str | None = None,
        order: Order | None = None,
        limit: int = DEFAULT_FILES_PAGE,
        after: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncIterator[Page[FileObject]]:
        """Walk the files page by page.

        Args:
            purpose: Only files with this purpose, such as ``"batch"``.
            order: ``"desc"`` (the API's default: newest first) or ``"asc"``.
            limit: Files per page, 1 to 10,000.
            after: Start after this file id (a page's ``last_id``), to resume a walk.
            timeout: Each page's timeout, instead of the client's.

        Raises:
            ValueError: An argument is out of range (raised at once, before any request).
            PaginationError: The API's cursors do not advance.
        """
        return structured_pages(self._walk(purpose, order, limit, after, timeout), FileObject)

    def list(
        self,
        *,
        purpose: str | None = None,
        order: Order | None = None,
        limit: int = DEFAULT_FILES_PAGE,
        after: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> AsyncIterator[FileObject]:
        """Walk every file, fetching pages of ``limit`` as needed.

        Takes the same arguments as :meth:`pages`. Each file is checked as it is
        yielded, so a malformed one raises ResponseValidationError at its turn.
        """
        return iter_items(self._walk(purpose, order, limit, after, timeout), FileObject)

    def _walk(
        self,
        purpose: str | None,
        order: Order | None,
        limit: int,
        after: str | None,
        timeout: TimeoutTypes | UseClientDefault,
    ) -> AsyncIterator[RawPage]:
        check_limit(limit, MAX_FILES_PAGE)
        base: dict[str, str | int] = {"limit": limit}
        if order is not None:
            if order not in ("asc", "desc"):
                raise ValueError(f"order must be 'asc' or 'desc', got {order!r}")
            base["order"] = order
        if purpose is not None:
            if not isinstance(purpose, str) or not purpose:
                raise ValueError(f"purpose must be a non-empty string, got {purpose!r}")
            base["purpose"] = purpose
        transport = self._transport

        def fetch(cursor: str | None) -> Awaitable[Response]:
            params = base if cursor is None else {**base, "after": cursor}
            return transport.request("GET", "files", params=params, timeout=timeout)

        return walk_pages(fetch, check_cursor(after))
