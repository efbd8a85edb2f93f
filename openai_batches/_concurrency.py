"""Structured concurrency for iterables: bounded fan-out and merging async iterators.

Both helpers are async generators that own every task they start and end them all
before they end themselves: when they are exhausted, when they raise, when the consumer
breaks out and closes them (``aclose()``, ``contextlib.aclosing``), when the consumer is
cancelled, and when an abandoned generator is finalized.

They do not yield from inside an ``asyncio.TaskGroup``. An async generator runs in its
consumer's task, so a group open across a ``yield`` would cancel the consumer's own code
when a child fails, and its exit would run in whichever task finally closes the generator.
Instead each generator keeps a :class:`_Scope`: children report back through done
callbacks, a failure is raised by the generator itself at the consumer's next step, and
the generator's ``finally`` cancels the children and waits for every one to end.

A source is read by a task of its own (a "pump") that is the only code ever to advance
it, and it closes the source there, in the task that advanced it. The pump takes an item
only when there is room for it, so back-pressure reaches the source.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any, Final, Generic, Literal, TypeVar, overload

__all__ = ["concurrent_map", "merge", "merged"]

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")


class _End(enum.Enum):
    END = enum.auto()


_END = _End.END


class _Signal:
    """Wakes one waiter; a wake with no one waiting is dropped.

    Cheaper than an Event on the hot path. Waiters check their condition first, with no
    ``await`` between the check and :meth:`wait`, so a dropped wake is never missed.
    """

    __slots__ = ("_loop", "_waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self._waiter = waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None


class _Scope:
    """The tasks one generator started: each reports to ``on_done``, all end before it.

    Unlike a TaskGroup, a scope never cancels the task that owns it: the owner learns of
    a child's end through the child's callback and a wake of :attr:`wakeup`.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.cancelled: set[asyncio.Task[Any]] = set()
        self.wakeup = _Signal(self.loop)

    def spawn(
        self,
        coro: Coroutine[Any, Any, R],
        on_done: Callable[[asyncio.Task[R]], object],
        name: str,
    ) -> asyncio.Task[R]:
        task = self.loop.create_task(coro, name=name)
        self.tasks.add(task)
        # The owner's callback first: its state is up to date when the wakeup comes.
        task.add_done_callback(on_done)
        task.add_done_callback(self._ended)
        return task

    def cancel(self, task: asyncio.Task[Any]) -> None:
        """Cancel a child, once: a second request would cut short its own cleanup."""
        if task not in self.cancelled and not task.done():
            self.cancelled.add(task)
            task.cancel()

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        self.cancelled.discard(task)
        if not task.cancelled():
            task.exception()  # the owner reports it, or drops it on purpose
        self.wakeup.wake()

    async def close(self) -> None:
        """Cancel every child still running and wait until each one has ended.

        A cancellation of the owner while it waits is held back until every child has
        ended, then raised, so no child outlives the generator.
        """
        interrupted: asyncio.CancelledError | None = None
        pending = set(self.tasks)
        for task in pending:
            self.cancel(task)
        while pending:
            try:
                await asyncio.wait(pending)
            except asyncio.CancelledError as exc:
                interrupted = exc
            pending = {task for task in pending if not task.done()}
        if interrupted is not None:
            raise interrupted


def _failed(task: asyncio.Task[Any], return_exceptions: bool) -> bool:
    """Whether a finished child's end must stop the whole generator."""
    if task.cancelled():
        return True
    exc = task.exception()
    if exc is None:
        return False
    return not (return_exceptions and isinstance(exc, Exception))


async def _next_item(source: AsyncIterator[T] | Iterator[T]) -> T | _End:
    if isinstance(source, AsyncIterator):
        try:
            return await anext(source)
        except StopAsyncIteration:
            return _END
    return next(source, _END)


async def _close_source(source: AsyncIterator[Any] | Iterator[Any]) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    close = getattr(source, "close", None)
    if close is not None:
        close()


@overload
def concurrent_map(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    limit: int = 8,
    ordered: bool = True,
    return_exceptions: Literal[False] = False,
) -> AsyncGenerator[R, None]: ...


@overload
def concurrent_map(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    limit: int = 8,
    ordered: bool = True,
    return_exceptions: bool,
) -> AsyncGenerator[R | Exception, None]: ...


def concurrent_map(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    limit: int = 8,
    ordered: bool = True,
    return_exceptions: bool = False,
) -> AsyncGenerator[R | Exception, None]:
    """Yield ``await fn(item)`` for each item, with at most ``limit`` calls in flight.

    An item is taken from ``items`` only when there is room for it: the calls in flight
    and the results finished but not yet yielded are never more than ``limit`` together,
    so an async source (a listing, say) is never read further ahead than that, and memory
    follows ``limit``, not the input.

    When a call fails, no further item is taken; the results that come before the failure
    in the order of yielding are still yielded, then the failure is raised and every
    call still running is cancelled. With ``ordered=True`` that is the first failure in
    input order (calls after it are cancelled at once, calls before it run to their
    end); with ``ordered=False``, the first failure to happen. The other failures are
    dropped. An error from ``items`` itself is raised the same way, at its position.

    Breaking out and closing the generator (``aclose()``, ``contextlib.aclosing``), or
    cancelling the task that iterates it, cancels every call in flight and waits for them
    to end. ``items`` is closed (``aclose()`` or ``close()``, when it has one) when the
    generator ends, for whatever reason.

    Args:
        fn: Called with each item; returns an awaitable (usually a coroutine).
        items: An iterable or an async iterable, such as a listing's walk.
        limit: The most calls in flight at once, at least 1.
        ordered: Yield results in input order, or as the calls finish.
        return_exceptions: Yield an ``Exception`` raised by a call in its result's
            place instead of raising it. (Cancellation and other ``BaseException``\\s
            are always raised.)

    Raises:
        TypeError: ``fn`` is not callable, ``items`` is not iterable, or ``limit`` is not
            an int (raised at once, before anything runs).
        ValueError: ``limit`` is below 1 (raised at once).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(items, Iterable | AsyncIterable):
        raise TypeError(
            f"items must be an iterable or an async iterable, got {type(items).__name__}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an int, got {type(limit).__name__}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return _FanOut(fn, items, limit, bool(ordered), bool(return_exceptions)).run()


class _FanOut(Generic[T, R]):
    """The state of one :func:`concurrent_map`, shared with its tasks' callbacks."""

    def __init__(
        self,
        fn: Callable[[T], Awaitable[R]],
        items: Iterable[T] | AsyncIterable[T],
        limit: int,
        ordered: bool,
        return_exceptions: bool,
    ) -> None:
        self.fn = fn
        self.items = items
        self.limit = limit
        self.ordered = ordered
        self.return_exceptions = return_exceptions

    async def run(self) -> AsyncGenerator[R | Exception, None]:
        self.scope = scope = _Scope()
        # Ordered: every call not yet yielded, in input order. As completed: every call
        # that ended and was not yet yielded, in the order they ended.
        self.queue: deque[asyncio.Task[R]] = deque()
        self.running: set[asyncio.Task[R]] = set()  # calls whose end was not yet seen
        self.dropped: set[asyncio.Task[R]] = set()  # cancelled: they come after a failure
        # Items taken (or being taken) and not yet yielded: never more than `limit`.
        self.held = 0
        self.room = _Signal(scope.loop)
        self.taking = True
        self.closing = False
        self.source_error: BaseException | None = None
        self.count = 0
        source = aiter(self.items) if isinstance(self.items, AsyncIterable) else iter(self.items)
        self.pump = scope.spawn(self._pump(source), self._pump_ended, "concurrent_map source")
        try:
            while True:
                call = self._next_ready()
                if call is not None:
                    self.held -= 1
                    self.room.wake()
                    yield self._outcome(call)
                    continue
                if self._finished():
                    if self.source_error is not None:
                        raise self.source_error
                    return
                await scope.wakeup.wait()
        finally:
            self.closing = True
            self.taking = False
            await scope.close()
            _raise_close_error(self.pump, self.source_error)

    def _finished(self) -> bool:
        """Whether nothing is left to yield: no item to take, no call to wait for."""
        return not self.taking and self.pump.done() and not self.queue and not self.running

    def _next_ready(self) -> asyncio.Task[R] | None:
        queue = self.queue
        # A call counts as ended once its callback has run, so the state is consistent.
        if queue and (not self.ordered or queue[0] not in self.running):
            return queue.popleft()
        return None

    def _outcome(self, call: asyncio.Task[R]) -> R | Exception:
        exc = None if call.cancelled() else call.exception()
        if exc is None:
            return call.result()  # raises CancelledError for a call cancelled by itself
        if self.return_exceptions and isinstance(exc, Exception):
            return exc
        raise exc

    async def _pump(self, source: AsyncIterator[T] | Iterator[T]) -> None:
        """Take an item whenever there is room, start its call; close the source at the end."""
        try:
            while True:
                while self.held >= self.limit:
                    await self.room.wait()
                self.held += 1
                item = await _next_item(source)
                if item is _END:
                    self.held -= 1
                    return
                self.count += 1
                name = f"concurrent_map call {self.count}"
                call = self.scope.spawn(self._call(item), self._call_ended, name)
                self.running.add(call)
                if self.ordered:
                    self.queue.append(call)
        finally:
            await _close_source(source)

    async def _call(self, item: T) -> R:
        awaitable = self.fn(item)
        if not isinstance(awaitable, Awaitable):
            raise TypeError(f"fn must return an awaitable, got {type(awaitable).__name__}")
        return await awaitable

    def _pump_ended(self, pump: asyncio.Task[None]) -> None:
        if not self.taking:
            return  # stopped on purpose
        self.taking = False
        error = asyncio.CancelledError() if pump.cancelled() else pump.exception()
        if error is not None:
            self.source_error = error
            if not self.ordered:
                self._drop(list(self.running))  # they end after the failure

    def _call_ended(self, call: asyncio.Task[R]) -> None:
        self.running.discard(call)
        if call in self.dropped or self.closing:
            return
        if not self.ordered:
            self.queue.append(call)
        if _failed(call, self.return_exceptions):
            self._stop_after(call)

    def _stop_after(self, call: asyncio.Task[R]) -> None:
        """Take no more items, and cancel the calls that would be yielded after ``call``."""
        self.taking = False
        self.scope.cancel(self.pump)
        if self.ordered:
            queue = list(self.queue)
            self._drop(queue[queue.index(call) + 1 :])
        else:
            self._drop(list(self.running))

    def _drop(self, calls: list[asyncio.Task[R]]) -> None:
        for call in calls:
            if not call.done():
                self.scope.cancel(call)
                self.dropped.add(call)
                self.running.discard(call)


def _raise_close_error(pump: asyncio.Task[None], reported: BaseException | None) -> None:
    """Raise what a source raised while it was being closed, unless that was raised already."""
    if pump.done() and not pump.cancelled():
        exc = pump.exception()
        if exc is not None and exc is not reported:
            raise exc


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


#: Items of each source that :func:`merge` takes ahead of the consumer. Handing items over
#: one at a time costs two task switches per item (about 7 µs, more than building a
#: file's model); a run of them costs two per run. A listing's page is in memory anyway,
#: so this holds little more than the walk alone does. benchmarks/bench_concurrency.py
#: printed 1.05 and 1.06 times the slower walk alone with 128, against 1.10 and 1.15
#: with one, in the same two runs.
MERGE_AHEAD: Final = 128


def merge(**walks: AsyncIterable[T]) -> AsyncGenerator[tuple[str, T], None]:
    """Walk several async iterables at once; yield ``(name, item)`` as items arrive.

    Each source keeps its own order, and is advanced only as the consumer takes its
    items: at most 128 items of each source are taken ahead of the consumer.

    When a source fails, the others are cancelled at once; the items that arrived before
    the failure are yielded, then its error is raised. Breaking out and closing the
    generator (``aclose()``, ``contextlib.aclosing``), or cancelling the task that
    iterates it, cancels every source. Every source is closed (``aclose()``, when it has
    one) when the generator ends, for whatever reason, by the task that advanced it.

    Args:
        walks: The sources by name, such as ``batches=client.batches.list()``.

    Raises:
        TypeError: A source is not an async iterable (raised at once).
        ValueError: The same object is given twice (raised at once).
    """
    for name, walk in walks.items():
        if not isinstance(walk, AsyncIterable):
            raise TypeError(f"merge({name}=...) needs an async iterable, got {type(walk).__name__}")
    if len({id(walk) for walk in walks.values()}) < len(walks):
        raise ValueError("merge() was given the same source twice; each needs its own")
    return merged(walks, MERGE_AHEAD)


def merged(sources: Mapping[K, AsyncIterable[T]], ahead: int) -> AsyncGenerator[tuple[K, T], None]:
    """Advance each source in a task of its own, at most ``ahead`` items ahead of the consumer.

    The mechanism behind :func:`merge` and the look-ahead of listings. Yields
    ``(key, item)`` in the order items arrive. A source's task takes an item only when
    fewer than ``ahead`` of that source's items are taken (or being taken) and not yet
    yielded, so a source is never further ahead than that: with ``ahead=1`` its next item
    is fetched only once the previous one was yielded. A failure is queued in its place
    and raised when the consumer reaches it, after the items that arrived before it; the
    other sources are cancelled at once, since nothing of theirs that comes after it would
    be yielded.
    """
    return _Merge(sources, ahead).run()


class _Lane(Generic[K]):
    """One source's place in a merge: its key and how many of its items are held."""

    __slots__ = ("held", "key", "room")

    def __init__(self, key: K, room: _Signal) -> None:
        self.key = key
        self.held = 0  # taken or being taken, not yet yielded
        self.room = room


class _Merge(Generic[K, T]):
    """The state of one :func:`merged`, shared with its pumps' callbacks."""

    def __init__(self, sources: Mapping[K, AsyncIterable[T]], ahead: int) -> None:
        self.sources = sources
        self.ahead = ahead

    async def run(self) -> AsyncGenerator[tuple[K, T], None]:
        self.scope = scope = _Scope()
        ready: deque[tuple[K, T] | _Failure] = deque()
        self.ready = ready
        self.error: BaseException | None = None
        self.closing = False
        # Every source's iterator before any task: one that cannot start leaves none behind.
        iterators = {key: aiter(source) for key, source in self.sources.items()}
        lanes = {key: _Lane(key, _Signal(scope.loop)) for key in iterators}
        pumps = [
            scope.spawn(self._pump(lanes[key], iterator), self._pump_ended, f"merge {key}")
            for key, iterator in iterators.items()
        ]
        try:
            while True:
                if ready:
                    entry = ready.popleft()
                    if isinstance(entry, _Failure):
                        raise entry.error
                    lane = lanes[entry[0]]
                    lane.held -= 1
                    lane.room.wake()
                    yield entry
                    del entry  # an item is held by the consumer only
                    continue
                if not scope.tasks:
                    return
                await scope.wakeup.wait()
        finally:
            self.closing = True
            await scope.close()
            for pump in pumps:
                _raise_close_error(pump, self.error)

    async def _pump(self, lane: _Lane[K], source: AsyncIterator[T]) -> None:
        ahead, ready, wakeup = self.ahead, self.ready, self.scope.wakeup
        try:
            while True:
                while lane.held >= ahead:
                    await lane.room.wait()
                lane.held += 1
                item = await _next_item(source)
                if item is _END:
                    return
                ready.append((lane.key, item))
                del item  # the queue holds it now, and lets it go once it is yielded
                wakeup.wake()
        finally:
            await _close_source(source)

    def _pump_ended(self, pump: asyncio.Task[None]) -> None:
        if self.error is not None or self.closing:
            return  # stopping already
        error = asyncio.CancelledError() if pump.cancelled() else pump.exception()
        if error is None:
            return
        self.error = error
        self.ready.append(_Failure(error))
        for other in list(self.scope.tasks):
            self.scope.cancel(other)
