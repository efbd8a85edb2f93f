"""wait(events=...): a verified webhook event wakes a wait, which then retrieves at once.

The pauses here never end by themselves (``Blocked.sleep`` waits for ever), so a wait can
only go on because it was woken: no test depends on how long anything takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

import openai_batches as ob
from openai_batches import BatchEvent, BatchEvents, InvalidWebhookSignatureError, Polling
from openai_batches._models import Batch, BatchRequestCounts, BatchStatus
from openai_batches._retry import RetryPolicy
from openai_batches._wait import wait_for_batch
from openai_batches.emulator import Emulator, ManualClock


def line(custom_id: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    }


@attrs.define
class Blocked:
    """A sleep that never returns by itself, and the pauses it was asked for."""

    sleeps: list[float] = attrs.Factory(list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.Event().wait()

    def polling(self, **kwargs: Any) -> Polling:
        return Polling(sleep=self.sleep, **kwargs)


def batch(status: str, done: int = 0) -> Batch:
    return Batch(
        id="batch_1",
        object="batch",
        endpoint="/v1/chat/completions",
        input_file_id="file-1",
        completion_window="24h",
        status=BatchStatus(status),
        created_at=1,
        request_counts=BatchRequestCounts(total=10, completed=done, failed=0),
    )


async def never(batch_id: str) -> Batch:
    raise AssertionError("not expected")


async def wait(retrieve: Any, polling: Polling, events: BatchEvents, **kwargs: Any) -> ob.Batch:
    return await wait_for_batch(
        "batch_1",
        retrieve,
        never,
        RetryPolicy(),
        polling=polling,
        deadline=None,
        on_progress=kwargs.pop("on_progress", None),
        on_cancel="leave",
        cancel_at_deadline=False,
        events=events,
    )


# Against the emulator, through a real webhook endpoint


@attrs.define
class Endpoint:
    """An aiohttp.web webhook endpoint that feeds a BatchEvents, and what it saw."""

    client: ob.Client
    events: BatchEvents
    log: list[str]
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        try:
            event = self.client.webhooks.unwrap(await request.read(), request.headers)
        except InvalidWebhookSignatureError:
            return web.Response(status=400)
        assert isinstance(event, BatchEvent)
        self.log.append(f"webhook {event.type.value}")
        self.events.notify(event)
        return web.Response()


@pytest.fixture
async def endpoint(openai_emulator: Emulator, openai_client: ob.Client) -> AsyncIterator[Endpoint]:
    found = Endpoint(openai_client, BatchEvents(), [])
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    openai_emulator.webhook_url = found.url
    try:
        yield found
    finally:
        await runner.cleanup()


def retrieves(emulator: Emulator, batch_id: str) -> int:
    return sum(r.method == "GET" and r.path == f"/v1/batches/{batch_id}" for r in emulator.requests)


@pytest.mark.openai_emulator(clock=ManualClock(), webhook_retry_delays=())
async def test_a_webhook_wakes_a_wait_that_would_poll_in_an_hour(
    openai_emulator: Emulator, openai_client: ob.Client, endpoint: Endpoint
) -> None:
    batch_id = openai_emulator.store.put_batch([line("a"), line("b")])["id"]
    blocked = Blocked()
    first_poll = asyncio.Event()

    def on_progress(seen: ob.Batch) -> None:
        endpoint.log.append(f"poll {seen.status.value}")
        first_poll.set()

    task = asyncio.create_task(
        openai_client.batches.wait(
            batch_id,
            events=endpoint.events,
            on_progress=on_progress,
            polling=blocked.polling(interval=3600, max_interval=3600),
        )
    )
    await first_poll.wait()
    openai_emulator.clock.advance(60)  # the batch is complete, but nobody asked yet
    await openai_emulator.deliver_webhooks()
    done = await asyncio.wait_for(task, 10)  # a guard only: without the event, never

    assert done.status == "completed"
    assert endpoint.log == ["poll validating", "webhook batch.completed", "poll completed"]
    assert retrieves(openai_emulator, batch_id) == 2
    assert blocked.sleeps == [3600]
    assert [d.delivered for d in openai_emulator.webhook_deliveries] == [True]


@pytest.mark.openai_emulator(clock=ManualClock(), webhook_retry_delays=())
async def test_several_waits_for_one_batch_all_wake(
    openai_emulator: Emulator, openai_client: ob.Client, endpoint: Endpoint
) -> None:
    batch_id = openai_emulator.store.put_batch([line("a")])["id"]
    other_id = openai_emulator.store.put_batch([line("a")])["id"]
    polled = [asyncio.Event() for _ in range(3)]

    def waiter(n: int, which: str) -> asyncio.Task[ob.Batch]:
        return asyncio.create_task(
            openai_client.batches.wait(
                which,
                events=endpoint.events,
                on_progress=lambda _: polled[n].set(),
                polling=Blocked().polling(interval=3600, max_interval=3600),
            )
        )

    tasks = [waiter(0, batch_id), waiter(1, batch_id), waiter(2, other_id)]
    for event in polled:
        await event.wait()
    openai_emulator.store.batch(other_id).cancel(openai_emulator.clock.now() + 3600)
    openai_emulator.clock.advance(60)
    await openai_emulator.deliver_webhooks()
    first, second = await asyncio.wait_for(asyncio.gather(*tasks[:2]), 10)

    assert first.status == second.status == "completed"
    assert not tasks[2].done()  # its batch's event has not come
    assert retrieves(openai_emulator, other_id) == 1
    tasks[2].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks[2]
    assert repr(endpoint.events) == "<BatchEvents watching 0 batches>"


# The wait loop itself, with a scripted retrieve


async def test_an_event_during_a_poll_makes_the_next_pause_empty() -> None:
    events = BatchEvents()
    answers = [batch("in_progress", 1), batch("completed", 10)]
    calls = 0

    async def retrieve(batch_id: str) -> Batch:
        nonlocal calls
        calls += 1
        if calls == 1:
            events.notify("batch_1")  # arrives while the first poll is in flight
        return answers.pop(0)

    blocked = Blocked()
    done = await asyncio.wait_for(
        wait(retrieve, blocked.polling(interval=3600, max_interval=3600), events), 30
    )

    assert done.status == "completed"
    assert calls == 2
    assert blocked.sleeps == []  # no pause was even started


async def test_after_a_wake_polls_restart_at_the_first_interval() -> None:
    # The retrieve after a wake may not show the change yet (the event can come
    # first): poll again at the fast rate, not after the backed-off interval.
    events = BatchEvents()
    sleeps: list[float] = []
    polls = 0

    async def retrieve(batch_id: str) -> Batch:
        nonlocal polls
        polls += 1
        return batch("completed", 10) if polls == 6 else batch("in_progress", 1)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            events.notify("batch_1")
            await asyncio.Event().wait()

    polling = Polling(interval=1, backoff=2, max_interval=60, sleep=sleep)
    await asyncio.wait_for(wait(retrieve, polling, events), 10)

    assert sleeps == [1, 2, 4, 1, 2]


async def test_a_notification_from_another_thread_wakes_the_wait() -> None:
    events = BatchEvents()
    answers = [batch("in_progress", 1), batch("completed", 10)]
    paused = asyncio.Event()

    async def retrieve(batch_id: str) -> Batch:
        return answers.pop(0)

    async def sleep(seconds: float) -> None:
        paused.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(wait(retrieve, Polling(sleep=sleep), events))
    await paused.wait()
    await asyncio.to_thread(events.notify, "batch_1")

    assert (await asyncio.wait_for(task, 10)).status == "completed"


async def test_events_for_other_batches_or_types_do_not_wake() -> None:
    events = BatchEvents()
    with events.watch("batch_1") as woken:
        events.notify("batch_2")
        events.notify(ob.WebhookEvent(id="evt_1", type=ob.WebhookEventType("response.completed")))
        events.notify(
            BatchEvent(
                id="evt_2",
                type=ob.WebhookEventType.BATCH_COMPLETED,
                created_at=1,
                data=ob.BatchEventData(id="batch_2"),
            )
        )
        assert not woken.is_set()
        events.notify(
            BatchEvent(
                id="evt_3",
                type=ob.WebhookEventType.BATCH_FAILED,
                created_at=1,
                data=ob.BatchEventData(id="batch_1"),
            )
        )
        assert woken.is_set()
    assert repr(events) == "<BatchEvents watching 0 batches>"


async def test_a_cancelled_wait_leaves_no_task_and_no_watch_behind() -> None:
    events = BatchEvents()
    paused = asyncio.Event()

    async def retrieve(batch_id: str) -> Batch:
        return batch("in_progress", 1)

    async def sleep(seconds: float) -> None:
        paused.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(wait(retrieve, Polling(sleep=sleep), events))
    await paused.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert repr(events) == "<BatchEvents watching 0 batches>"


async def test_events_must_be_a_batch_events(openai_client: ob.Client) -> None:
    with pytest.raises(TypeError, match="events must be a BatchEvents, got list"):
        await openai_client.batches.wait("batch_1", events=[])  # type: ignore[arg-type]


async def test_a_failing_sleep_still_raises() -> None:
    class Broken(Exception):
        pass

    async def retrieve(batch_id: str) -> Batch:
        return batch("in_progress", 1)

    async def sleep(seconds: float) -> None:
        raise Broken

    with pytest.raises(Broken):
        await wait(retrieve, Polling(sleep=sleep), BatchEvents())
