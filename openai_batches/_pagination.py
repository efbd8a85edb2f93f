"""Walking ``after`` cursors: a loop with a guard, never recursion.

:func:`walk_pages` fetches one page at a time and checks only its envelope (``data``,
``has_more``, the cursors); the items stay JSON until :func:`structured_pages` or
:func:`iter_items` turn them into models. Items walked one by one are structured as they
are yielded: a page of models held all at once survives the garbage collector's young
generations and makes every later collection slower, which cost a third of the walk's
time with pages of 1,000 files.

Each page is read in full (its connection back in the pool) before anything is yielded,
so no connection is held while the caller works, and breaking out of the loop sends no
further request. Each page is let go before the next is fetched, so a walk holds one
page at a time. A page that fails with a retryable error is retried by the transport on
its own; the walk is never restarted.

A large page (files come 10,000 at a time if asked) is parsed a piece at a time (see
``_decode``) and structured in slices of :data:`SLICE` items, the event loop running
between two.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ._decode import decode_page, item_error, let_loop_run, structure_hook, while_loading
from ._errors import PaginationError
from ._models import Page
from ._transport import Response

__all__ = ["SLICE", "check_cursor", "check_limit", "iter_items", "structured_pages", "walk_pages"]

T = TypeVar("T")

#: Items structured between two turns of the event loop: about a millisecond of work for
#: files or less (``benchmarks/bench_walk.py`` prints the time to build one model), plus
#: what the caller does with each; pages of up to 1,000 items (the default for files,
#: more than the most for batches) are never cut.
SLICE = 1000

RawPage = tuple[Page[Any], Response]


async def walk_pages(
    fetch: Callable[[str | None], Awaitable[Response]], after: str | None
) -> AsyncGenerator[RawPage, None]:
    """Yield ``(page, response)`` from ``fetch(after)`` until a page says ``has_more: false``.

    The next cursor is the page's ``last_id``, or its last item's id when ``last_id`` is
    missing. The page's items are still JSON objects.

    Raises:
        PaginationError: A page claims ``has_more`` but gives no cursor (it is empty), or
            a cursor comes back that was already used: the listing would loop forever.
    """
    seen: set[str] = set()
    cursor = after
    while True:
        # The first walk of a process loads the decoding while its first request is out.
        response = await while_loading(fetch(cursor))
        page: Page[Any] = await decode_page(response)
        following = page.next_after if page.data else None
        if page.has_more:
            if following is None:
                raise PaginationError(
                    f"The page after cursor {cursor!r} is empty or has no ids but claims "
                    "has_more; stopping rather than ending the listing silently.",
                    method=response.method,
                    url=response.url,
                )
            if following == cursor or following in seen:
                raise PaginationError(
                    f"The cursor {following!r} came back again after {cursor!r}; "
                    "stopping rather than looping forever.",
                    method=response.method,
                    url=response.url,
                )
            if cursor is not None:
                seen.add(cursor)
        yield page, response
        if not page.has_more:
            return
        cursor = following
        # Let this page go before fetching the next, which is then parsed into the memory
        # it frees rather than into fresh memory beside it.
        del page, response


async def structured_pages(
    pages: AsyncIterator[RawPage], cl: type[T]
) -> AsyncGenerator[Page[T], None]:
    """Turn each walked page into a page of models."""
    hook: Callable[[Any, Any], T] | None = None
    async for page, response in pages:
        if hook is None:
            hook = structure_hook(cl)  # the first page has loaded the converter
        data = page.data
        items: list[T] = []
        for start in range(0, len(data), SLICE):
            if start:
                await let_loop_run()
            chunk = data[start : start + SLICE]
            try:
                items += [hook(item, cl) for item in chunk]
            except Exception:
                # Again one by one, to say which item it was.
                for item in chunk:
                    try:
                        hook(item, cl)
                    except Exception as exc:
                        raise item_error(item, cl, data, response) from exc
                raise
        yield Page(items, page.has_more, page.object, page.first_id, page.last_id)
        del page, response, data, items  # see walk_pages


async def iter_items(pages: AsyncIterator[RawPage], cl: type[T]) -> AsyncGenerator[T, None]:
    """Yield every item of every walked page as a model, structured as it is yielded."""
    hook: Callable[[Any, Any], T] | None = None
    async for page, response in pages:
        if hook is None:
            hook = structure_hook(cl)  # the first page has loaded the converter
        data = page.data
        for start in range(0, len(data), SLICE):
            if start:
                await let_loop_run()
            for item in data[start : start + SLICE]:
                try:
                    obj = hook(item, cl)
                except Exception as exc:
                    raise item_error(item, cl, data, response) from exc
                yield obj
        del page, response, data  # see walk_pages


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
