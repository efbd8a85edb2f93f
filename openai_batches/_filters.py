"""Filters applied while walking: which items a walk yields, and where it stops.

Filters never change what is requested. They look at each page's items while they are
still JSON (so an item left out is never built into a model) and end the walk as soon as
nothing further can match: listings are ordered by ``created_at``, so in a newest-first
walk the first item older than ``created_after`` ends it, and in an oldest-first walk
the first item not older than ``created_before``. ``max_items`` ends it at the item that
reaches the count. The page where a walk ends is the last one requested.

The time window is half-open, ``created_after <= created_at < created_before``, so two
adjacent windows neither overlap nor leave a gap. An item whose fields cannot be read
(not an object, a ``created_at`` that is not a number) is passed on, so that decoding
reports it with its path rather than the filter hiding it.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Callable, Collection, Iterable, Mapping
from contextlib import aclosing
from datetime import datetime
from typing import Any

import attrs

from ._models import Page
from ._pagination import RawPage

__all__ = ["Filter", "Seconds", "batch_filter", "file_filter", "filter_pages"]

#: A point in time: unix seconds, or a timezone-aware datetime.
Seconds = int | float | datetime

Keep = Callable[[Any], bool]


@attrs.frozen
class Filter:
    """What a walk yields and where it ends.

    Args:
        newest_first: The listing's order: the direction in which the window is closed.
        created_after: Yield items created at or after this (unix seconds).
        created_before: Yield items created before this (unix seconds).
        keep: Yield only items (JSON objects) for which this is true.
        max_items: End the walk after yielding this many items.
    """

    newest_first: bool
    created_after: float | None = None
    created_before: float | None = None
    keep: Keep | None = None
    max_items: int | None = None

    def sift(self, items: list[Any], remaining: int | None) -> tuple[list[Any], bool]:
        """Return the items of a page to yield, and whether the walk ends with this page."""
        newest_first, after, before, keep = (
            self.newest_first,
            self.created_after,
            self.created_before,
            self.keep,
        )
        kept: list[Any] = []
        for item in items:
            created = _created_at(item)
            if created is not None:
                if newest_first:
                    if after is not None and created < after:
                        return kept, True
                    if before is not None and created >= before:
                        continue
                else:
                    if before is not None and created >= before:
                        return kept, True
                    if after is not None and created < after:
                        continue
            if keep is not None and not keep(item):
                continue
            kept.append(item)
            if remaining is not None and len(kept) == remaining:
                return kept, True
        return kept, False


async def filter_pages(
    pages: AsyncGenerator[RawPage, None], walk_filter: Filter
) -> AsyncGenerator[RawPage, None]:
    """Yield each page with only its matching items (pages left empty are skipped).

    The page where the walk ends is yielded with ``has_more`` false, and ``pages`` is
    closed at once, so no further page is requested.
    """
    remaining = walk_filter.max_items
    async with aclosing(pages):
        if remaining == 0:
            return
        async for page, response in pages:
            kept, last = walk_filter.sift(page.data, remaining)
            if remaining is not None:
                remaining -= len(kept)
            if kept:
                has_more = page.has_more and not last
                yield Page(kept, has_more, page.object, page.first_id, page.last_id), response
            if last:
                return
            del page, response, kept  # see walk_pages


def batch_filter(
    *,
    status: object = None,
    created_after: object = None,
    created_before: object = None,
    endpoint: object = None,
    metadata: object = None,
    max_items: object = None,
) -> Filter | None:
    """Check the filters of a batch walk (newest first); ``None`` when there are none.

    Raises:
        TypeError: A filter has the wrong type.
        ValueError: A filter's value is impossible (an unknown status, a naive datetime,
            an empty window).
    """
    checks: list[Keep] = []
    if status is not None:
        checks.append(_field_in("status", _statuses(status)))
    if endpoint is not None:
        checks.append(_field_in("endpoint", _endpoints(endpoint)))
    if metadata is not None:
        checks.append(_metadata_matches(_metadata(metadata)))
    return _make(True, created_after, created_before, max_items, checks)


def file_filter(
    *,
    newest_first: bool,
    created_after: object = None,
    created_before: object = None,
    max_items: object = None,
) -> Filter | None:
    """Check the filters of a file walk; ``None`` when there are none.

    Raises:
        TypeError: A filter has the wrong type.
        ValueError: A filter's value is impossible (a naive datetime, an empty window).
    """
    return _make(newest_first, created_after, created_before, max_items, [])


def _make(
    newest_first: bool,
    created_after: object,
    created_before: object,
    max_items: object,
    checks: list[Keep],
) -> Filter | None:
    after = _seconds("created_after", created_after)
    before = _seconds("created_before", created_before)
    if after is not None and before is not None and after >= before:
        raise ValueError(
            f"created_after ({created_after!r}) must be earlier than created_before "
            f"({created_before!r}): the window is empty"
        )
    count = _max_items(max_items)
    if after is None and before is None and count is None and not checks:
        return None
    return Filter(newest_first, after, before, _all_of(checks), count)


def _created_at(item: Any) -> int | None:
    """An item's ``created_at``, or ``None`` if it cannot be read."""
    if type(item) is not dict:
        return None
    value = item.get("created_at")
    return value if type(value) is int else None  # as the models read it: no floats


def _seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(
                f"{name} is a naive datetime, which names no moment; give it a timezone "
                "(datetime.now(timezone.utc)) or pass unix seconds"
            )
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name} must be unix seconds (int or float) or an aware datetime, "
            f"got {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    return value


def _max_items(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_items must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"max_items must be 0 or more, got {value}")
    return value


def _some(name: str, value: object) -> list[object]:
    """One value or a collection of them, as a non-empty list."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    values = list(value)
    if not values:
        raise ValueError(f"{name} must name at least one value, got an empty collection")
    return values


def _statuses(value: object) -> frozenset[str]:
    # Imported here: the files' walks use this module too, and do not load the batches'
    # models.
    from ._models import BatchStatus

    statuses: set[str] = set()
    for one in _some("status", value):
        if isinstance(one, BatchStatus):
            statuses.add(one.value)  # a member made for a value this version does not know
        elif isinstance(one, str):
            if one not in BatchStatus.__members__.values():
                known = ", ".join(repr(s.value) for s in BatchStatus.__members__.values())
                raise ValueError(
                    f"status {one!r} is not a batch status ({known}); for a status newer "
                    f"than this library, pass BatchStatus({one!r})"
                )
            statuses.add(one)
        else:
            raise TypeError(
                f"status must be a string, a BatchStatus or a collection of them, "
                f"got {type(one).__name__}"
            )
    return frozenset(statuses)


def _endpoints(value: object) -> frozenset[str]:
    endpoints: set[str] = set()
    for one in _some("endpoint", value):
        if not isinstance(one, str):
            raise TypeError(
                f"endpoint must be a string or a collection of strings, got {type(one).__name__}"
            )
        if not one.startswith("/v1/") or one == "/v1/":
            raise ValueError(
                f"endpoint must be an API path such as '/v1/chat/completions', got {one!r}"
            )
        endpoints.add(one)
    return frozenset(endpoints)


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"metadata must be a mapping of strings, got {type(value).__name__}")
    for key, one in value.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {key!r}")
        if not isinstance(one, str):
            raise TypeError(f"metadata[{key!r}] must be a string, got {type(one).__name__}")
    return dict(value)


def _field_in(name: str, allowed: Collection[str]) -> Keep:
    def keep(item: Any) -> bool:
        if type(item) is not dict:
            return True  # for decoding to report
        value = item.get(name)
        return value in allowed if type(value) is str else True

    return keep


def _metadata_matches(pairs: dict[str, str]) -> Keep:
    wanted = list(pairs.items())

    def keep(item: Any) -> bool:
        if type(item) is not dict:
            return True  # for decoding to report
        metadata = item.get("metadata")
        if metadata is None:
            return not wanted
        if type(metadata) is not dict:
            return True  # for decoding to report
        return all(metadata.get(key) == value for key, value in wanted)

    return keep


def _all_of(checks: list[Keep]) -> Keep | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda item: all(check(item) for check in checks)
