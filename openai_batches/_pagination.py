"""Walking ``after`` cursors: a loop with a guard, never recursion.

Each page is read in full (its connection already back in the pool) before it is
yielded, so no connection is held while the caller works, and breaking out of the loop
sends no further request. A page that fails with a retryable error is retried by the
transport on its own; the walk is never restarted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from ._errors import PaginationError
from ._models import Page

__all__ = ["check_limit", "iter_items", "walk_pages"]

T = TypeVar("T")


async def walk_pages(
    fetch: Callable[[str | None], Awaitable[Page[T]]], after: str | None
) -> AsyncIterator[Page[T]]:
    """Yield pages from ``fetch(after)`` until one says ``has_more: false``.

    The next cursor is the page's ``last_id``, or its last item's id when ``last_id`` is
    missing.

    Raises:
        PaginationError: A page claims ``has_more`` but gives no cursor (it is empty), or
            a cursor comes back that was already used: the listing would loop forever.
    """
    seen: set[str] = set()
    cursor = after
    while True:
        page = await fetch(cursor)
        if page.has_more:
            following = page.next_after if page.data else None
            if following is None:
                raise PaginationError(
                    f"A page after cursor {cursor!r} is empty or has no ids but claims "
                    "has_more; stopping rather than ending the listing silently."
                )
            if following == cursor or following in seen:
                raise PaginationError(
                    f"The cursor {following!r} came back again after {cursor!r}; "
                    "stopping rather than looping forever."
                )
            if cursor is not None:
                seen.add(cursor)
        yield page
        if not page.has_more:
            return
        cursor = following


async def iter_items(pages: AsyncIterator[Page[T]]) -> AsyncIterator[T]:
    """Yield every item of every page."""
    async for page in pages:
        for item in page.data:
            yield item


def check_limit(limit: object, maximum: int) -> int:
    """Check a page size before any request.

    Raises:
        TypeError: It is not an integer.
        ValueError: It is outside ``1..maximum``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an integer, got {type(limit).__name__}")
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit must be between 1 and {maximum}, got {limit}")
    return limit


def check_cursor(after: object) -> str | None:
    """Check an ``after`` cursor; ``""`` means none.

    Raises:
        TypeError: It is neither a string nor ``None``.
    """
    if after is None or after == "":
        return None
    if not isinstance(after, str):
        raise TypeError(f"after must be an object id string or None, got {type(after).__name__}")
    return after
