"""``files.scan()``: a listing walked from both ends at once, each file yielded once.

One walk goes oldest first (``order="asc"``), the other newest first (``order="desc"``),
concurrently, up to two pages ahead each (:func:`walk_ahead`). Pages are taken in the
order they arrive, and :class:`Meeting` sifts each: an item is yielded unless the other
walk has already passed it, and the scan ends where the two walks cross.

Why a file present for the whole scan is yielded exactly once. Each walk's pages are
consecutive stretches of the listing, which is ordered by ``created_at``; files with
equal ``created_at`` come in an order the client cannot see, and nothing here assumes
the two directions order them alike. A walk *passes* an item when it yields it, or skips
it because the other walk yielded it. Its *frontier* is the ``created_at`` it has reached
(the largest passed for the oldest-first walk, the smallest for the newest-first one),
with the ids it passed at exactly that ``created_at``.

- Crossing. The oldest-first walk stops at its first item newer than the other walk's
  frontier: everything from its frontier up to the newest file there was when it started
  has been passed by the newest-first walk, and everything below by this one. The same
  holds the other way round. A walk that reaches its end (``has_more`` false) has passed
  everything by itself. Either way the scan ends, and every file that was there all along
  has been passed by one walk or the other.
- Ties. At the other walk's frontier ``created_at`` a walk yields the items whose ids the
  other has not passed. A walk goes through a whole group of ties before it can move past
  it, so together the two walks pass every member of the group, whatever order each saw
  them in.
- Never twice. A yielded item is at its walk's frontier or behind it. When the other
  walk reaches it, either that frontier has moved on (the other walk is beyond it and
  stops) or the item's id is among the frontier's ids (the other walk skips it).

Files created during the scan appear at the newest end, after the newest-first walk
started there: they may be yielded or not, never twice. A file deleted during the scan
is yielded at most once, if a walk saw it before it went. Memory: each frontier keeps the
ids of one ``created_at`` second only, so the scan holds at most the ids of the largest
group of files created in the same second at either frontier, besides five pages (one
being consumed, up to two arriving for each walk), never the ids of the whole listing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from ._errors import PaginationError
from ._models import Page
from ._pagination import RawPage, walk_ahead

__all__ = ["Meeting", "scan_pages"]

#: Pages each walk may fetch beyond the one being consumed. Pages are consumed in the order
#: they arrive, so with one, a walk waits for the other's page to be consumed before it
#: asks for its next; with two, its requests follow each other by a round trip.
#: benchmarks/bench_concurrency.py printed 0.51 and 0.50 times the time of files.list()
#: with two, against 0.62 and 0.79 with one, in the same two runs.
_AHEAD = 2


class _Frontier:
    """How far one walk has got: a ``created_at`` and the ids passed at it."""

    __slots__ = ("created", "ids")

    def __init__(self) -> None:
        self.created: int | None = None
        self.ids: set[str] = set()

    def passed(self, created: int, file_id: str) -> None:
        if created != self.created:
            self.created = created
            self.ids.clear()
        self.ids.add(file_id)


class Meeting:
    """Where an oldest-first walk and a newest-first walk of one listing meet."""

    def __init__(self) -> None:
        self._oldest_first = _Frontier()
        self._newest_first = _Frontier()

    def frontier_ids(self) -> int:
        """How many ids the two frontiers hold (memory is bounded by this)."""
        return len(self._oldest_first.ids) + len(self._newest_first.ids)

    def sift(self, oldest_first: bool, items: list[Any]) -> tuple[list[Any], bool]:
        """Return the items of a page of one walk to yield, and whether the walks crossed.

        An item whose ``created_at`` or ``id`` cannot be read is kept, for decoding to
        report with its path.

        Raises:
            ValueError: The page goes back in ``created_at`` order.
        """
        mine, theirs = (
            (self._oldest_first, self._newest_first)
            if oldest_first
            else (self._newest_first, self._oldest_first)
        )
        if _clear_of(items, oldest_first, mine, theirs):
            return items, False
        kept: list[Any] = []
        for item in items:
            if type(item) is not dict:
                kept.append(item)
                continue
            created, file_id = item.get("created_at"), item.get("id")
            if type(created) is not int or type(file_id) is not str:
                kept.append(item)
                continue
            if mine.created is not None and (
                created < mine.created if oldest_first else created > mine.created
            ):
                raise ValueError(
                    f"file {file_id} (created_at {created}) comes after files created at "
                    f"{mine.created} in a listing ordered {'oldest' if oldest_first else 'newest'}"
                    " first; stopping rather than yielding files twice or not at all"
                )
            if theirs.created is not None:
                if created > theirs.created if oldest_first else created < theirs.created:
                    return kept, True
                if created == theirs.created and file_id in theirs.ids:
                    mine.passed(created, file_id)
                    continue
            mine.passed(created, file_id)
            kept.append(item)
        return kept, False


def _clear_of(items: list[Any], oldest_first: bool, mine: _Frontier, theirs: _Frontier) -> bool:
    """Pass a whole page at once if it is in order and short of both frontiers' seconds.

    That is every page but the few where the walks meet or a group of ties spans two
    pages; for those :meth:`Meeting.sift` looks at each item. This keeps the scan's own
    work to a few passes in C over each page rather than a Python loop over its items.
    """
    if not items:
        return True
    try:
        created = [item["created_at"] for item in items]
    except (TypeError, KeyError):
        return False
    if set(map(type, created)) != {int}:
        return False
    first, last = created[0], created[-1]
    if oldest_first:
        clear = (mine.created is None or first > mine.created) and (
            theirs.created is None or last < theirs.created
        )
    else:
        clear = (mine.created is None or first < mine.created) and (
            theirs.created is None or last > theirs.created
        )
    if not clear or created != sorted(created, reverse=not oldest_first):
        return False
    tail = len(created) - 1
    while tail > 0 and created[tail - 1] == last:
        tail -= 1
    ids = [item.get("id") for item in items[tail:]]
    if not all(type(file_id) is str for file_id in ids):
        return False
    mine.created = last
    mine.ids = set(ids)
    return True


async def scan_pages(
    oldest_first: AsyncGenerator[RawPage, None], newest_first: AsyncGenerator[RawPage, None]
) -> AsyncGenerator[RawPage, None]:
    """Walk both ends of a listing at once; yield pages of the items to yield.

    Ends where the walks cross, or when one reaches its end; both walks are then closed
    and any request in flight cancelled.

    Raises:
        PaginationError: A page is out of ``created_at`` order, or a walk's cursors do
            not advance.
    """
    meeting = Meeting()
    async with aclosing(walk_ahead([oldest_first, newest_first], _AHEAD)) as pages:
        async for index, (page, response) in pages:
            try:
                kept, crossed = meeting.sift(index == 0, page.data)
            except ValueError as exc:
                raise PaginationError(str(exc), method=response.method, url=response.url) from None
            last = crossed or not page.has_more
            if kept:
                yield Page(kept, not last, page.object, page.first_id, page.last_id), response
            if last:
                return
            del page, response, kept  # see walk_pages
