"""An ordered index of ids for cursor pagination.

Objects are ordered by ``(created_at, sequence)``: creation time, ties broken by creation
order, so ``desc`` is exactly the reverse of ``asc``. The index keeps parallel sorted lists of
keys and ids; a page locates the ``after`` cursor by bisecting on its key (looked up in a dict,
and kept after deletion so a cursor stays valid), so listing 100,000 objects page by page is
O(n log n) overall, not quadratic.
"""

from __future__ import annotations

import bisect

__all__ = ["Key", "SortedIds"]

Key = tuple[int, int]


class SortedIds:
    """Ids sorted by key, with exclusive-cursor pages in either direction."""

    def __init__(self) -> None:
        self._keys: list[Key] = []
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, key: Key, id: str) -> None:
        """Insert *id* at *key* (appending is O(1) in the common, increasing case)."""
        if not self._keys or key > self._keys[-1]:
            self._keys.append(key)
            self._ids.append(id)
            return
        position = bisect.bisect_left(self._keys, key)
        self._keys.insert(position, key)
        self._ids.insert(position, id)

    def remove(self, key: Key) -> None:
        """Remove the id stored at *key*, if any."""
        position = bisect.bisect_left(self._keys, key)
        if position < len(self._keys) and self._keys[position] == key:
            del self._keys[position]
            del self._ids[position]

    def page(self, after: Key | None, limit: int, descending: bool) -> tuple[list[str], bool]:
        """Return up to *limit* ids strictly after the cursor, and whether more follow."""
        if descending:
            end = len(self._keys) if after is None else bisect.bisect_left(self._keys, after)
            start = max(0, end - limit)
            return self._ids[start:end][::-1], start > 0
        start = 0 if after is None else bisect.bisect_right(self._keys, after)
        end = start + limit
        return self._ids[start:end], end < len(self._ids)
