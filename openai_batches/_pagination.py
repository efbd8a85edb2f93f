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

:func:`prefetch_pages` runs a walk in a task of its own, up to ``N`` pages ahead of the
consumer (see :func:`walk_ahead`); such a walk has a request in flight while the caller
works. Every stage between the walk and the caller closes the stage it reads from when
it stops, so closing the outermost one (``contextlib.aclosing``) cancels that request at
once.

A large page (files come 10,000 at a time if asked) is parsed a piece at a time (see
``_decode``) and structured in slices of :data:`SLICE` items, the event loop running
between two, and between parsing a page of more than :data:`PARSED_APART` items and
structuring it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

from ._decode import (
    Response,
    decode_page,
    item_error,
    let_loop_run,
    structure_hook,
    while_loading,
)
from ._errors import PaginationError
from ._events import Emit, PageEvent
from ._models import Page

__all__ = [
    "SLICE",
    "check_cursor",
    "check_limit",
    "check_prefetch",
    "iter_items",
    "prefetch_pages",
    "structured_pages",
    "walk_ahead",
    "walk_pages",
]

T = TypeVar("T")

#: Items structured between two turns of the event loop: about a millisecond of work for
#: files or less (``benchmarks/bench_walk.py`` prints the time to build one model), plus
#: what the caller does with each; pages of up to 1,000 items (the default for files,
#: more than the most for batches) are never cut.
SLICE = 1000

#: A page with more items than this (files come 1,000 a page by default) is structured on
#: a later turn of the event loop than it was parsed: parsing it and building its first
#: slice of models are each a millisecond or so, and a fresh process's first full
#: garbage collection (several milliseconds) tends to fall due during a parse, so the
#: two together would hold the loop that much longer. Pages of up to 100 (batches) are
#: parsed and built in one turn: they are quick, and a turn costs a few microseconds.
PARSED_APART = 100


def _turn_before(start: int, size: int) -> bool:
    """Whether the loop runs before building the slice at ``start`` of a page of ``size``."""
    return start > 0 or size > PARSED_APART


RawPage = tuple[Page[Any], Response]


async def walk_pages(
    fetch: Callable[[str | None], Awaitable[Response]],
    after: str | None,
    emit: Emit | None = None,
) -> AsyncGenerator[RawPage, None]:
    """Yield ``(page, response)`` from ``fetch(after)`` until a page says ``has_more: false``.

    The next cursor is the page's ``last_id``, or its last item's id when ``last_id`` is
    missing. The page's items are still JSON objects. ``emit``, when given, receives a
    :class:`PageEvent` for each page that passed the checks, before it is yielded.

    Raises:
        PaginationError: A page claims ``has_more`` but gives no cursor (it is empty), or
            a cursor comes back that was already used: the listing would loop forever.
    """
    seen: set[str] = set()
    cursor = after
    number = 0
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
        number += 1
        if emit is not None:
            await emit(
                PageEvent(
                    response.method,
                    response.url,
                    number,
                    len(page.data),
                    page.has_more,
                    response.request_id,
                )
            )
        yield page, response
        if not page.has_more:
            return
        cursor = following
        # Let this page go before fetching the next, which is then parsed into the memory
        # it frees rather than into fresh memory beside it.
        del page, response


async def structured_pages(
    pages: AsyncGenerator[RawPage, None], cl: type[T]
) -> AsyncGenerator[Page[T], None]:
    """Turn each walked page into a page of models; closes ``pages`` when it stops."""
    hook: Callable[[Any, Any], T] | None = None
    async with aclosing(pages):
        async for page, response in pages:
            if hook is None:
                hook = structure_hook(cl)  # the first page has loaded the converter
            data = page.data
            items: list[T] = []
            for start in range(0, len(data), SLICE):
                if _turn_before(start, len(data)):
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


async def iter_items(pages: AsyncGenerator[RawPage, None], cl: type[T]) -> AsyncGenerator[T, None]:
    """Yield every item of every walked page as a model, structured as it is yielded.

    Closes ``pages`` when it stops.
    """
    hook: Callable[[Any, Any], T] | None = None
    async with aclosing(pages):
        async for page, response in pages:
            if hook is None:
                hook = structure_hook(cl)  # the first page has loaded the converter
            data = page.data
            for start in range(0, len(data), SLICE):
                if _turn_before(start, len(data)):
                    await let_loop_run()
                for item in data[start : start + SLICE]:
                    try:
                        obj = hook(item, cl)
                    except Exception as exc:
                        raise item_error(item, cl, data, response) from exc
                    yield obj
            del page, response, data  # see walk_pages


def prefetch_pages(
    pages: AsyncGenerator[RawPage, None], ahead: int
) -> AsyncGenerator[RawPage, None]:
    """Fetch up to ``ahead`` pages of ``pages`` ahead of the consumer; ``0`` returns ``pages``.

    While the consumer works on one page, the next ones are fetched (one request at a
    time: a cursor chain is sequential), so at most ``ahead + 1`` pages are held. A page
    that fails raises when the consumer reaches it, after every page before it. Closing
    the result, or cancelling its consumer, cancels the request in flight.
    """
    if ahead == 0:
        return pages
    return _first_of_pairs(walk_ahead([pages], ahead))


async def _first_of_pairs(
    pairs: AsyncGenerator[tuple[int, RawPage], None],
) -> AsyncGenerator[RawPage, None]:
    async with aclosing(pairs):
        async for _, page in pairs:
            yield page
            del page  # see walk_pages


def walk_ahead(
    sources: Sequence[AsyncGenerator[T, None]], ahead: int
) -> AsyncGenerator[tuple[int, T], None]:
    """Drive each source in a task of its own, at most ``ahead`` items ahead of the consumer.

    Yields ``(index of the source, item)`` in the order the items arrive; each source's own
    items keep their order. A source takes an item only when it has a free slot, and a
    slot frees when the consumer takes one of its items, so each source holds at most
    ``ahead`` items besides the one being consumed. An error of a source is raised when the
    consumer reaches it, after every item that arrived before it; the other sources are
    cancelled then and there. Ends when every source has ended.

    The tasks live only as long as this generator: when it stops (the sources ended, an
    error is raised, the consumer closes it or is cancelled), it cancels them, waits for
    them, and each task closes its source. This is :func:`merge`'s mechanism
    (:func:`._concurrency.merged`), keyed by position.
    """
    # Loaded here: a walk without look-ahead never needs it.
    from ._concurrency import merged

    return merged(dict(enumerate(sources)), ahead)


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


def check_prefetch(prefetch: object) -> int:
    """Check how many pages to fetch ahead before any request.

    Raises:
        TypeError: It is not an integer.
        ValueError: It is negative.
    """
    if isinstance(prefetch, bool) or not isinstance(prefetch, int):
        raise TypeError(f"prefetch must be an integer, got {type(prefetch).__name__}")
    if prefetch < 0:
        raise ValueError(f"prefetch must be 0 (no look-ahead) or more, got {prefetch}")
    return prefetch


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
