"""``concurrent_map`` and ``merge``: bounds, order, errors, and nothing left running.

The calls and sources here are instrumented: every call records how many run at once,
every source checks, at the moment an item is taken, how far it is ahead of what the
consumer has received. An invariant broken at any moment is caught when it happens, with
no timing involved. ``idle()`` waits until no other task can run (as trio's
``wait_all_tasks_blocked``) to check that something did *not* happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from openai_batches import concurrent_map, merge
from openai_batches._concurrency import MERGE_AHEAD


async def idle() -> None:
    """Return once every other task waits for something that only this task can do.

    The loop's (private) ready queue holds every callback due to run in this iteration or
    the next; when it is empty as this task resumes, no other task can make progress.
    """
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    while loop._ready:  # type: ignore[attr-defined]  # noqa: ASYNC110 (what it waits for sets no event)
        await asyncio.sleep(0)


def helper_tasks() -> list[asyncio.Task[Any]]:
    """The tasks the helpers started that are still around."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(("concurrent_map", "merge")) and not task.done()
    ]


class Boom(Exception):
    """A call's failure."""


class Calls:
    """The ``fn`` under test: counts calls in flight, holds some, fails some.

    ``hops[x]`` is how many times item ``x`` yields to the loop before it finishes, so
    calls end in a scrambled but repeatable order.
    """

    def __init__(
        self,
        *,
        hold: set[int] | frozenset[int] = frozenset(),
        fail: set[int] | frozenset[int] = frozenset(),
        hops: dict[int, int] | None = None,
    ) -> None:
        self.hold = set(hold)
        self.fail = set(fail)
        self.hops = hops or {}
        self.running: set[int] = set()
        self.most = 0
        self.started: list[int] = []
        self.finished: list[int] = []
        self.cancelled: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}

    def gate(self, item: int) -> asyncio.Event:
        return self.gates.setdefault(item, asyncio.Event())

    def release(self, *items: int) -> None:
        for item in items:
            self.gate(item).set()

    async def __call__(self, item: int) -> int:
        self.running.add(item)
        self.most = max(self.most, len(self.running))
        self.started.append(item)
        try:
            if item in self.hold:
                await self.gate(item).wait()
            for _ in range(self.hops.get(item, 3 + item * 7 % 5)):
                await asyncio.sleep(0)
            if item in self.fail:
                raise Boom(item)
            self.finished.append(item)
            return item * 10
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.running.discard(item)


class Source:
    """Items ``0..n-1`` as an async or a sync generator, instrumented.

    At each item taken, checks how many were taken but not yet received by the consumer
    (``received``, which the test keeps up to date) and keeps the largest in ``ahead``.
    """

    def __init__(
        self, n: int, *, fail_at: int | None = None, hops: int = 1, sync: bool = False
    ) -> None:
        self.n = n
        self.fail_at = fail_at
        self.hops = hops
        self.sync = sync
        self.taken = 0
        self.received = 0
        self.ahead = 0
        self.closed = False
        self.cancelled = False

    def _take(self, item: int) -> None:
        if item == self.fail_at:
            raise Boom(f"source at {item}")
        self.taken += 1
        self.ahead = max(self.ahead, self.taken - self.received)

    async def _agen(self) -> AsyncIterator[int]:
        try:
            for item in range(self.n):
                for _ in range(self.hops):
                    await asyncio.sleep(0)
                self._take(item)
                yield item
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.closed = True

    def _gen(self) -> Iterator[int]:
        try:
            for item in range(self.n):
                self._take(item)
                yield item
        finally:
            self.closed = True

    def items(self) -> Any:
        return self._gen() if self.sync else self._agen()


async def collect(iterator: AsyncIterator[Any], source: Source | None = None) -> list[Any]:
    got = []
    async for value in iterator:
        got.append(value)
        if source is not None:
            source.received += 1
    return got


# bounds and order


@pytest.mark.parametrize("sync", [False, True], ids=["async source", "sync source"])
async def test_ordered_results_come_in_input_order_with_limit_calls_at_most(sync: bool) -> None:
    source, calls = Source(40, sync=sync), Calls()
    got = await collect(concurrent_map(calls, source.items(), limit=3), source)
    assert got == [item * 10 for item in range(40)]
    assert calls.finished != sorted(calls.finished)  # the calls did end out of order
    assert calls.most == 3
    assert source.ahead == 3
    assert source.closed


@pytest.mark.parametrize("sync", [False, True], ids=["async source", "sync source"])
async def test_unordered_results_come_as_the_calls_finish(sync: bool) -> None:
    source, calls = Source(40, sync=sync), Calls()
    got = await collect(concurrent_map(calls, source.items(), limit=4, ordered=False), source)
    assert got == [item * 10 for item in calls.finished]
    assert got != sorted(got)
    assert sorted(got) == [item * 10 for item in range(40)]
    assert calls.most == 4
    assert source.ahead == 4
    assert source.closed


async def test_a_slow_first_call_holds_finished_results_and_takes_no_more_items() -> None:
    source, calls = Source(10), Calls(hold={0})
    results = concurrent_map(calls, source.items(), limit=3)
    first = asyncio.create_task(anext(results))
    await idle()
    # 1 and 2 are done and wait behind 0: three items held, so no fourth is taken.
    assert calls.finished == [1, 2]
    assert calls.running == {0}
    assert source.taken == 3
    calls.release(0)
    assert await first == 0
    source.received = 1
    assert await collect(results, source) == [item * 10 for item in range(1, 10)]
    assert source.ahead == 3


async def test_unordered_a_slow_call_does_not_hold_the_others_back() -> None:
    source, calls = Source(10), Calls(hold={0})
    results = concurrent_map(calls, source.items(), limit=3, ordered=False)
    got = []
    for _ in range(9):
        got.append(await anext(results))
        source.received += 1
    assert sorted(got) == [item * 10 for item in range(1, 10)]
    await idle()
    assert calls.running == {0}
    calls.release(0)
    assert await collect(results, source) == [0]
    assert source.ahead == 3


async def test_limit_one_runs_the_calls_one_after_another() -> None:
    calls = Calls()
    assert await collect(concurrent_map(calls, range(6), limit=1, ordered=False)) == [
        item * 10 for item in range(6)
    ]
    assert calls.most == 1


async def test_an_empty_input_yields_nothing() -> None:
    calls = Calls()
    assert await collect(concurrent_map(calls, [])) == []
    assert await collect(concurrent_map(calls, Source(0).items())) == []
    assert calls.started == []


async def test_fn_may_return_any_awaitable() -> None:
    loop = asyncio.get_running_loop()

    def future_of(item: int) -> asyncio.Future[int]:
        future: asyncio.Future[int] = loop.create_future()
        loop.call_soon(future.set_result, item + 1)
        return future

    assert await collect(concurrent_map(future_of, range(5))) == [1, 2, 3, 4, 5]


async def test_fn_returning_no_awaitable_fails_in_its_place() -> None:
    results = concurrent_map(lambda item: item, range(3))  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="fn must return an awaitable, got int"):
        await anext(results)


# failures


async def test_return_exceptions_yields_each_failure_in_its_place() -> None:
    calls = Calls(fail={3, 7})
    got = await collect(concurrent_map(calls, range(10), limit=3, return_exceptions=True))
    assert [type(value) for value in got[3::4]] == [Boom, Boom]
    assert [str(value) for value in got[3::4]] == ["3", "7"]
    assert [value for i, value in enumerate(got) if i not in (3, 7)] == [
        item * 10 for item in range(10) if item not in (3, 7)
    ]
    assert calls.cancelled == []


async def test_a_failure_cancels_the_calls_after_it_and_is_raised_after_those_before() -> None:
    source, calls = Source(20), Calls(hold={0, 3}, fail={2})
    results = concurrent_map(calls, source.items(), limit=4)
    first = asyncio.create_task(anext(results))
    await idle()
    # 2 failed: 3 (after it) is cancelled at once, no item is taken after it, and 0
    # (before it) goes on.
    assert calls.cancelled == [3]
    assert calls.running == {0}
    assert source.taken == 4
    assert source.closed
    calls.release(0)
    assert await first == 0
    assert await anext(results) == 10
    with pytest.raises(Boom, match="2"):
        await anext(results)
    assert helper_tasks() == []


async def test_the_first_failure_in_input_order_is_the_one_raised() -> None:
    # 5 fails first, then 1: 1 comes first in input order.
    calls = Calls(hold={1}, fail={1, 5}, hops={5: 0})
    got: list[int] = []

    async def consume() -> None:
        async for value in concurrent_map(calls, range(8), limit=6):
            got.append(value)

    task = asyncio.create_task(consume())
    await idle()
    assert calls.started == [0, 1, 2, 3, 4, 5]
    assert calls.running == {1}
    calls.release(1)
    with pytest.raises(Boom, match="1"):
        await task
    assert got == [0]
    assert helper_tasks() == []


async def test_unordered_the_first_failure_cancels_every_other_call() -> None:
    calls = Calls(hold={0, 1}, fail={2})
    got: list[int] = []
    with pytest.raises(Boom, match="2"):
        async for value in concurrent_map(calls, range(10), limit=3, ordered=False):
            got.append(value)
    assert got == []
    assert sorted(calls.cancelled) == [0, 1]
    assert helper_tasks() == []


async def test_unordered_results_finished_before_the_failure_are_yielded_first() -> None:
    calls = Calls(fail={4}, hops={0: 0, 1: 0, 2: 0, 3: 0, 4: 1, 5: 9})
    got: list[int] = []
    with pytest.raises(Boom, match="4"):
        async for value in concurrent_map(calls, range(8), limit=6, ordered=False):
            got.append(value)
    assert got == [0, 10, 20, 30]
    assert calls.cancelled == [5]


@pytest.mark.parametrize("sync", [False, True], ids=["async source", "sync source"])
async def test_an_error_from_the_source_comes_after_every_item_before_it(sync: bool) -> None:
    source, calls = Source(20, fail_at=5, sync=sync), Calls()
    got: list[int] = []
    with pytest.raises(Boom, match="source at 5"):
        async for value in concurrent_map(calls, source.items(), limit=3):
            got.append(value)
    assert got == [0, 10, 20, 30, 40]
    assert source.closed


async def test_unordered_an_error_from_the_source_cancels_the_calls_in_flight() -> None:
    source, calls = Source(20, fail_at=2), Calls(hold={0, 1})
    with pytest.raises(Boom, match="source at 2"):
        await collect(concurrent_map(calls, source.items(), limit=3, ordered=False))
    assert sorted(calls.cancelled) == [0, 1]


async def test_a_call_cancelled_by_itself_is_raised_not_yielded() -> None:
    async def fn(item: int) -> int:
        if item == 2:
            raise asyncio.CancelledError
        return item

    results = concurrent_map(fn, range(5), return_exceptions=True)
    assert [await anext(results), await anext(results)] == [0, 1]
    with pytest.raises(asyncio.CancelledError):
        await anext(results)


async def test_a_failure_never_interrupts_the_consumers_own_code() -> None:
    # A TaskGroup held open across the generator's yield would cancel the consumer here.
    calls = Calls(hold={1}, fail={1})
    results = concurrent_map(calls, range(3), limit=2)
    assert await anext(results) == 0
    calls.release(1)
    working = asyncio.Event()
    asyncio.get_running_loop().call_soon(working.set)
    await idle()
    await working.wait()  # the consumer's own awaits go on undisturbed
    assert calls.cancelled == [2]  # the call after the failure, and nothing else
    with pytest.raises(Boom, match="1"):
        await anext(results)


async def test_the_generator_may_be_driven_from_one_task_then_another() -> None:
    source, calls = Source(12), Calls()
    results = concurrent_map(calls, source.items(), limit=3)
    assert await asyncio.create_task(anext(results)) == 0
    source.received = 1
    assert await asyncio.create_task(collect(results, source)) == [
        item * 10 for item in range(1, 12)
    ]
    assert source.ahead == 3


# stopping early


async def test_closing_cancels_the_calls_in_flight_and_closes_the_source() -> None:
    source, calls = Source(100), Calls(hold={2, 3, 4})
    async with contextlib.aclosing(concurrent_map(calls, source.items(), limit=4)) as results:
        async for value in results:
            if value == 10:
                break
    assert sorted(calls.cancelled) == [2, 3, 4]
    assert calls.running == set()
    assert source.closed
    assert source.taken <= 6
    assert helper_tasks() == []


async def test_breaking_out_without_closing_cleans_up_once_the_generator_is_dropped() -> None:
    source, calls = Source(100), Calls(hold={1, 2})
    async for value in concurrent_map(calls, source.items(), limit=3):
        assert value == 0
        break
    await idle()  # the loop's finalizer closes the dropped generator
    assert sorted(calls.cancelled) == [1, 2]
    assert source.closed
    assert helper_tasks() == []


async def test_a_generator_garbage_collected_unclosed_cancels_everything() -> None:
    source, calls = Source(100), Calls(hold={1, 2})
    results = concurrent_map(calls, source.items(), limit=3)
    assert await anext(results) == 0
    del results
    gc.collect()
    await idle()
    assert sorted(calls.cancelled) == [1, 2]
    assert source.closed
    assert helper_tasks() == []


async def test_cancelling_the_consumer_while_it_waits_cancels_everything() -> None:
    source, calls = Source(100), Calls(hold={0, 1, 2})
    consumer = asyncio.create_task(collect(concurrent_map(calls, source.items(), limit=3)))
    await idle()
    assert calls.running == {0, 1, 2}
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert sorted(calls.cancelled) == [0, 1, 2]
    assert source.closed
    assert not source.cancelled  # closed at a yield, not mid-step
    assert helper_tasks() == []


async def test_cancelling_the_consumer_in_its_own_code_cleans_up_on_closing() -> None:
    source, calls = Source(100), Calls(hold={1, 2})
    stuck = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(concurrent_map(calls, source.items(), limit=3)) as results:
            async for _ in results:
                await stuck.wait()  # cancelled here, between two items

    consumer = asyncio.create_task(consume())
    await idle()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert sorted(calls.cancelled) == [1, 2]
    assert source.closed
    assert helper_tasks() == []


async def test_cancelling_the_consumer_while_the_source_is_mid_step_cancels_the_step() -> None:
    calls = Calls()
    step = asyncio.Event()
    closed: list[str] = []

    async def items() -> AsyncIterator[int]:
        try:
            yield 0
            await step.wait()  # a page being fetched
            yield 1
        except asyncio.CancelledError:
            closed.append("cancelled mid-step")
            raise

    consumer = asyncio.create_task(collect(concurrent_map(calls, items(), limit=2)))
    await idle()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert closed == ["cancelled mid-step"]
    assert helper_tasks() == []


async def test_closing_waits_for_every_call_to_end() -> None:
    unwinding = asyncio.Event()
    ended: list[int] = []

    async def slow_to_stop(item: int) -> int:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await unwinding.wait()  # cleanup that takes a while
            ended.append(item)
            raise
        return item

    results = concurrent_map(slow_to_stop, range(5), limit=2)
    first = asyncio.create_task(anext(results))
    await idle()
    first.cancel()
    closing = asyncio.create_task(asyncio.wait([first]))
    await idle()
    assert not first.done()  # held until the calls have ended
    unwinding.set()
    await closing
    assert first.cancelled()
    assert sorted(ended) == [0, 1]
    assert helper_tasks() == []


async def test_a_second_cancellation_while_closing_still_waits_for_the_calls() -> None:
    unwinding = asyncio.Event()
    ended: list[int] = []

    async def slow_to_stop(item: int) -> int:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await unwinding.wait()
            ended.append(item)
            raise
        return item

    consumer = asyncio.create_task(collect(concurrent_map(slow_to_stop, range(5), limit=2)))
    await idle()
    consumer.cancel()
    await idle()
    consumer.cancel()  # again, while the generator waits for its calls
    await idle()
    assert not consumer.done()
    unwinding.set()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert sorted(ended) == [0, 1]


async def test_a_call_cancelled_after_a_failure_is_not_cancelled_again_while_it_unwinds() -> None:
    unwinding = asyncio.Event()
    log: list[str] = []

    async def fn(item: int) -> int:
        if item == 0:
            raise Boom(0)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            try:
                await unwinding.wait()
            except asyncio.CancelledError:
                log.append("interrupted")
                raise
            log.append("unwound")
            raise
        return item

    consumer = asyncio.create_task(collect(concurrent_map(fn, range(2), limit=2)))
    await idle()  # 0 failed, 1 was cancelled and unwinds; the generator waits for it
    assert not consumer.done()
    unwinding.set()
    with pytest.raises(Boom):
        await consumer
    assert log == ["unwound"]


async def test_the_source_is_closed_when_the_map_ends() -> None:
    source = Source(3)
    await collect(concurrent_map(Calls(), source.items()))
    assert source.closed


async def test_an_error_closing_the_source_is_raised() -> None:
    async def items() -> AsyncIterator[int]:
        try:
            yield 0
            yield 1
        finally:
            raise RuntimeError("cannot close")

    results = concurrent_map(Calls(), items(), limit=1)
    assert await anext(results) == 0
    with pytest.raises(RuntimeError, match="cannot close"):
        await results.aclose()


# arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fn": 3}, TypeError, "fn must be callable, got int"),
        ({"items": 3}, TypeError, "items must be an iterable or an async iterable, got int"),
        ({"limit": 0}, ValueError, "limit must be at least 1, got 0"),
        ({"limit": -2}, ValueError, "limit must be at least 1, got -2"),
        ({"limit": 2.0}, TypeError, "limit must be an int, got float"),
        ({"limit": "8"}, TypeError, "limit must be an int, got str"),
        ({"limit": True}, TypeError, "limit must be an int, got bool"),
    ],
)
def test_bad_arguments_are_refused_at_once(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    source, calls = Source(5), Calls()
    arguments: dict[str, Any] = {"fn": calls, "items": source.items(), **kwargs}
    fn, items = arguments.pop("fn"), arguments.pop("items")
    with pytest.raises(error, match=message):
        concurrent_map(fn, items, **arguments)  # no loop needed: refused before any work
    assert calls.started == []
    assert source.taken == 0


# merge


async def test_merge_yields_every_item_by_name_each_source_in_its_own_order() -> None:
    a, b, c = Source(30, hops=1), Source(10, hops=3), Source(0)
    got = await collect(merge(a=a.items(), b=b.items(), c=c.items()))
    assert [item for name, item in got if name == "a"] == list(range(30))
    assert [item for name, item in got if name == "b"] == list(range(10))
    assert len(got) == 40
    assert [name for name, _ in got[:6]] != ["a"] * 6  # interleaved, not one after the other
    assert a.closed
    assert b.closed
    assert c.closed


async def test_merge_takes_at_most_merge_ahead_items_of_a_source_before_they_are_received() -> None:
    n = MERGE_AHEAD * 2 + 10
    sources = {name: Source(n, hops=hops) for name, hops in [("a", 1), ("b", 2), ("c", 0)]}
    results = merge(**{name: source.items() for name, source in sources.items()})
    async for name, _ in results:
        sources[name].received += 1
        await idle()  # nothing more is taken while this item is held
        assert sources[name].taken - sources[name].received <= MERGE_AHEAD
    # Each source ran ahead as far as the bound, and never beyond it.
    assert all(source.ahead == MERGE_AHEAD for source in sources.values())
    assert all(source.taken == n for source in sources.values())


async def test_merge_failure_cancels_the_others_and_is_raised() -> None:
    a, b = Source(5, fail_at=3, hops=0), Source(100, hops=1)
    stuck = asyncio.Event()

    async def never() -> AsyncIterator[int]:
        try:
            await stuck.wait()
            yield 0
        except asyncio.CancelledError:
            cancelled.append("c")
            raise

    cancelled: list[str] = []
    got: list[tuple[str, int]] = []
    with pytest.raises(Boom, match="source at 3"):
        async for pair in merge(a=a.items(), b=b.items(), c=never()):
            got.append(pair)
            if pair == ("a", 2):
                await idle()
                # a failed taking its next item: c is cancelled at once, while the
                # consumer still holds an item.
                assert cancelled == ["c"]
    assert [item for name, item in got if name == "a"] == [0, 1, 2]
    assert cancelled == ["c"]
    assert a.closed
    assert b.closed
    assert helper_tasks() == []


async def test_merge_breaking_out_cancels_and_closes_every_source() -> None:
    a, b = Source(100), Source(100)
    stuck = asyncio.Event()
    cancelled: list[str] = []

    async def slow() -> AsyncIterator[int]:
        try:
            await stuck.wait()
            yield 0
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    async with contextlib.aclosing(merge(a=a.items(), b=b.items(), slow=slow())) as results:
        async for _, item in results:
            if item == 3:
                break
    assert a.closed
    assert b.closed
    assert cancelled == ["slow"]
    assert helper_tasks() == []


async def test_merge_consumer_cancelled_cancels_every_source() -> None:
    a = Source(3)
    stuck = asyncio.Event()
    cancelled: list[str] = []

    async def slow() -> AsyncIterator[int]:
        try:
            await stuck.wait()
            yield 0
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    consumer = asyncio.create_task(collect(merge(a=a.items(), slow=slow())))
    await idle()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert cancelled == ["slow"]
    assert a.closed
    assert helper_tasks() == []


async def test_merge_garbage_collected_unclosed_cancels_every_source() -> None:
    a, b = Source(100), Source(100)
    results = merge(a=a.items(), b=b.items())
    await anext(results)
    del results
    gc.collect()
    await idle()
    assert a.closed
    assert b.closed
    assert helper_tasks() == []


async def test_merge_with_a_source_that_cannot_start_starts_nothing() -> None:
    class Broken:
        def __aiter__(self) -> AsyncIterator[int]:
            raise Boom("no iterator")

    a = Source(3)
    with pytest.raises(Boom, match="no iterator"):
        await collect(merge(a=a.items(), b=Broken()))
    await idle()
    assert helper_tasks() == []
    assert a.taken == 0


async def test_merge_of_nothing_yields_nothing() -> None:
    assert await collect(merge()) == []


def test_merge_refuses_what_it_cannot_walk_at_once() -> None:
    with pytest.raises(TypeError, match=r"merge\(files=...\) needs an async iterable, got list"):
        merge(files=[1, 2])  # type: ignore[arg-type]
    source = Source(3).items()
    with pytest.raises(ValueError, match="the same source twice"):
        merge(a=source, b=source)
