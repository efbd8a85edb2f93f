"""Calls by id, many at once: the one adapter behind every ``*_many`` method.

Ids come as strings or as the resource's models (their ``.id``), from a collection, an
iterable or an async iterable such as a listing. A collection (a list, a tuple, a set) is
checked whole before any request; ids from any other source are checked as they are
taken, and a bad one fails in its place like a failed call.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Collection,
    Iterable,
)
from typing import Protocol, TypeAlias, TypeVar

from ._concurrency import concurrent_map
from ._urls import encode_path

__all__ = ["Ids", "call_many"]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


M = TypeVar("M", bound=_HasId)
R = TypeVar("R")

#: What the ``*_many`` methods take: ids or models, from an iterable or an async iterable.
Ids: TypeAlias = "Iterable[str | M] | AsyncIterable[str | M]"


def call_many(
    call: Callable[[str], Awaitable[R]],
    ids: Ids[M],
    model: type[M],
    *,
    limit: int,
    return_exceptions: bool,
    check: Callable[[str], object] | None = None,
) -> AsyncGenerator[R | Exception, None]:
    """Yield ``await call(id)`` for each id, in input order, ``limit`` at a time.

    Args:
        call: The single-id method, such as ``Batches.retrieve``.
        ids: The ids or models.
        model: The resource's model, whose ``.id`` is taken.
        check: A further check of each id (raising ``ValueError``), beyond the API's rules.

    Raises:
        TypeError, ValueError: ``ids`` is a lone string or not iterable, an id in a
            collection is not a string or a ``model`` or is malformed, or ``limit`` is
            wrong (raised at once, before any request).
    """
    if isinstance(ids, str | bytes):
        raise TypeError(f"ids must be a collection or an iterable of ids, not one id: {ids!r}")

    def id_of(value: str | M) -> str:
        if isinstance(value, model):
            value = value.id
        elif not isinstance(value, str):
            raise TypeError(
                f"an id must be a string or a {model.__name__}, got {type(value).__name__}"
            )
        encode_path("{}", value)  # the same rules as every single call
        if check is not None:
            check(value)
        return value

    if isinstance(ids, Collection):
        checked = []
        for position, value in enumerate(ids):
            try:
                checked.append(id_of(value))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{exc} (ids, at position {position})") from None
        return concurrent_map(call, checked, limit=limit, return_exceptions=return_exceptions)
    if not isinstance(ids, Iterable | AsyncIterable):
        raise TypeError(f"ids must be an iterable or an async iterable, got {type(ids).__name__}")

    def checked_call(value: str | M) -> Awaitable[R]:
        return call(id_of(value))

    return concurrent_map(checked_call, ids, limit=limit, return_exceptions=return_exceptions)
