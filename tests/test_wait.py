"""client.batches.wait and cancel_and_wait, on the emulator's manual clock.

Every wait sleeps through ``FakeTime.sleep``, which moves the emulator's clock by the
requested delay instead of waiting, so a day-long wait runs in milliseconds and the
sleeps requested can be asserted one by one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

import openai_batches as ob
import openai_batches._wait
from openai_batches._wait import Polling, WaitTimeoutError
from openai_batches.emulator import Emulator, FaultRule, ManualClock, Timing
from tests.conftest import LoopbackServer, reply

pytestmark = pytest.mark.usefixtures("sleeps")

SLOW = Timing(validating=2, requests_per_second=1, finalizing=5, cancelling=0.5)


def line(custom_id: str, text: str = "hi") -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
    }


def seed(emulator: Emulator, count: int) -> str:
    batch_id: str = emulator.store.put_batch([line(f"r{i}") for i in range(count)])["id"]
    return batch_id


@attrs.define
class FakeTime:
    """A sleep that advances the emulator's clock, and the delays it was asked for."""

    emulator: Emulator
    sleeps: list[float] = attrs.Factory(list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.emulator.clock.advance(seconds)
        await asyncio.sleep(0)

    def polling(self, **kwargs: Any) -> Polling:
        return Polling(sleep=self.sleep, clock=self.emulator.clock.now, **kwargs)


@pytest.fixture
def fake_time(openai_emulator: Emulator) -> FakeTime:
    return FakeTime(openai_emulator)


Seen = tuple[str, int, int]


def recorder() -> tuple[list[Seen], Any]:
    seen: list[Seen] = []

    def on_progress(batch: ob.Batch) -> None:
        counts = batch.request_counts
        done = 0 if counts is None else counts.completed + counts.failed
        total = 0 if counts is None else counts.total
        seen.append((batch.status.value, done, total))

    return seen, on_progress


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_wait_reports_every_state_and_stops_only_at_completed(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 4)
    seen, on_progress = recorder()

    batch = await openai_client.batches.wait(
        batch_id, on_progress=on_progress, polling=fake_time.polling()
    )

    assert batch.status == "completed"
    assert batch.output_file_id is not None
    assert seen == [
        ("validating", 0, 0),
        ("in_progress", 0, 4),
        ("in_progress", 1, 4),
        ("in_progress", 2, 4),
        ("in_progress", 3, 4),
        # Every request is done, yet the batch is not: its output does not exist yet.
        ("finalizing", 4, 4),
        ("completed", 4, 4),
    ]
    # Back off while nothing changes; back to the first interval after each change.
    assert fake_time.sleeps == [1, 1.5, 1, 1, 1, 1, 1, 1.5, 2.25]


@pytest.mark.openai_emulator(clock=ManualClock(), timing=Timing(validating=100))
async def test_polls_back_off_to_the_cap(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 1)

    await openai_client.batches.wait(
        batch_id, polling=fake_time.polling(interval=1, max_interval=10, backoff=2)
    )

    assert fake_time.sleeps[:7] == [1, 2, 4, 8, 10, 10, 10]
    assert max(fake_time.sleeps) == 10


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_async_progress_callback_is_awaited(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 2)
    statuses: list[str] = []

    async def on_progress(batch: ob.Batch) -> None:
        await asyncio.sleep(0)
        statuses.append(batch.status.value)

    await openai_client.batches.wait(batch_id, on_progress=on_progress, polling=fake_time.polling())

    assert statuses == ["validating", "finalizing", "completed"]


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_a_batch_that_fails_validation_is_returned(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    broken = {"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}
    batch_id = openai_emulator.store.put_batch([line("ok"), broken])["id"]

    batch = await openai_client.batches.wait(batch_id, polling=fake_time.polling())

    assert batch.status == "failed"
    assert batch.errors is not None
    assert [error.line for error in batch.errors.data] == [2]


@pytest.mark.openai_emulator(clock=ManualClock(), timing=Timing(validating=200_000))
async def test_a_day_long_deadline_raises_with_the_last_batch(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 1)
    start = openai_emulator.clock.now()

    with pytest.raises(WaitTimeoutError) as caught:
        await openai_client.batches.wait(
            batch_id, deadline=86_400, polling=fake_time.polling(max_interval=3600)
        )

    assert isinstance(caught.value, ob.OpenAIError)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.batch is not None
    assert caught.value.batch.status == "validating"
    assert caught.value.deadline == 86_400
    assert openai_emulator.clock.now() - start == pytest.approx(86_400)
    assert fake_time.sleeps[-1] < 3600  # the last sleep is cut to the deadline
    assert not any(r.path.endswith("/cancel") for r in openai_emulator.requests)


@pytest.mark.openai_emulator(clock=ManualClock(), timing=Timing(validating=200_000))
async def test_a_deadline_can_cancel_the_batch(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 1)

    with pytest.raises(WaitTimeoutError) as caught:
        await openai_client.batches.wait(
            batch_id, deadline=30, cancel_at_deadline=True, polling=fake_time.polling()
        )

    assert caught.value.batch is not None
    assert caught.value.batch.status == "cancelling"
    openai_emulator.clock.advance(1)
    assert (await openai_client.batches.retrieve(batch_id)).status == "cancelled"


def blocking_polling(openai_emulator: Emulator) -> tuple[Polling, asyncio.Event]:
    """Polling whose first sleep never ends, and an event set when it starts."""
    sleeping = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    return Polling(sleep=sleep, clock=openai_emulator.clock.now), sleeping


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_a_cancelled_waiter_leaves_the_batch_running_by_default(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    batch_id = seed(openai_emulator, 4)
    polling, sleeping = blocking_polling(openai_emulator)
    waiter = asyncio.create_task(openai_client.batches.wait(batch_id, polling=polling))
    await sleeping.wait()

    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    openai_emulator.clock.advance(3)
    assert (await openai_client.batches.retrieve(batch_id)).status == "in_progress"
    assert not any(r.path.endswith("/cancel") for r in openai_emulator.requests)


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_a_cancelled_waiter_can_cancel_the_batch(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    batch_id = seed(openai_emulator, 4)
    polling, sleeping = blocking_polling(openai_emulator)
    waiter = asyncio.create_task(
        openai_client.batches.wait(batch_id, on_cancel="cancel", polling=polling)
    )
    await sleeping.wait()

    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    # The cancel request finished before CancelledError reached the caller.
    assert [r.path for r in openai_emulator.requests][-1] == f"/v1/batches/{batch_id}/cancel"
    openai_emulator.clock.advance(1)
    assert (await openai_client.batches.retrieve(batch_id)).status == "cancelled"


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_a_second_cancellation_does_not_stop_the_cancel_request(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    batch_id = seed(openai_emulator, 4)
    polling, sleeping = blocking_polling(openai_emulator)
    waiter = asyncio.create_task(
        openai_client.batches.wait(batch_id, on_cancel="cancel", polling=polling)
    )
    await sleeping.wait()

    waiter.cancel()
    await asyncio.sleep(0)  # one step: the waiter starts the cancel request and awaits it
    assert openai_batches._wait._background
    waiter.cancel()  # as a TaskGroup or a timeout closing in would
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.gather(*openai_batches._wait._background)

    assert (await openai_client.batches.retrieve(batch_id)).status == "cancelling"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"on_cancel": "stop"}, "on_cancel"), ({"deadline": -1}, "deadline")],
)
async def test_bad_wait_arguments_are_refused_before_any_request(
    openai_emulator: Emulator, openai_client: ob.Client, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await openai_client.batches.wait("batch_x", **kwargs)
    assert openai_emulator.requests == []


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_cancel_and_wait_ends_cancelled_with_partial_counts(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 10)
    openai_emulator.clock.advance(2 + 3.5)  # validated, then three requests done
    seen, on_progress = recorder()

    batch = await openai_client.batches.cancel_and_wait(
        batch_id, on_progress=on_progress, polling=fake_time.polling()
    )

    assert batch.status == "cancelled"
    assert batch.request_counts is not None
    assert batch.request_counts.total == 10
    assert batch.request_counts.completed == 3
    assert [status for status, _, _ in seen] == ["cancelling", "cancelled"]


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_cancel_and_wait_on_a_finalizing_batch_waits_for_its_end(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 2)
    openai_emulator.clock.advance(2 + 2 + 1)  # finalizing

    batch = await openai_client.batches.cancel_and_wait(batch_id, polling=fake_time.polling())

    assert batch.status == "completed"


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
@pytest.mark.parametrize(
    ("status", "retry_after"), [pytest.param(429, 5, id="429"), pytest.param(500, None, id="500")]
)
async def test_wait_polls_on_through_failures_the_client_retries_could_not_save(
    openai_emulator: Emulator,
    openai_client: ob.Client,
    fake_time: FakeTime,
    status: int,
    retry_after: float | None,
) -> None:
    batch_id = seed(openai_emulator, 2)
    # Three failures exhaust the client's own two retries, twice over.
    fault = openai_emulator.faults.add(
        FaultRule("status", "GET", "/v1/batches/*", status=status, retry_after=retry_after, times=6)
    )

    batch = await openai_client.batches.wait(batch_id, polling=fake_time.polling())

    assert fault.exhausted
    assert batch.status == "completed"
    if retry_after is not None:
        assert fake_time.sleeps[:2] == [5, 5]  # the asked wait beats a shorter interval
    else:
        assert fake_time.sleeps[:2] == [1, 1.5]


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_wait_gives_up_after_too_many_failed_polls(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 1)
    openai_emulator.faults.add(FaultRule("status", "GET", "/v1/batches/*", status=503))

    with pytest.raises(ob.InternalServerError):
        await openai_client.batches.wait(batch_id, polling=fake_time.polling(max_errors=2))

    assert len(fake_time.sleeps) == 2
    assert len(openai_emulator.requests) == 3 * 3  # three polls of three attempts each


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_wait_raises_when_the_server_asks_for_more_than_the_cap(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    batch_id = seed(openai_emulator, 1)
    openai_emulator.faults.add(
        FaultRule("status", "GET", "/v1/batches/*", status=429, retry_after=3600)
    )

    with pytest.raises(ob.RateLimitError) as info:
        await openai_client.batches.wait(batch_id, polling=fake_time.polling())

    assert ["3600" in note for note in info.value.__notes__] == [True]
    assert fake_time.sleeps == []
    assert len(openai_emulator.requests) == 1


async def test_wait_raises_at_once_when_the_quota_is_used_up(server: LoopbackServer) -> None:
    body = {"error": {"message": "quota", "type": "insufficient_quota", "code": None}}
    server.add("GET", "/v1/batches/b", reply(429, body))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with server.client() as client:
        with pytest.raises(ob.InsufficientQuotaError):
            await client.batches.wait("b", polling=Polling(sleep=sleep))

    assert slept == []
    assert len(server.seen) == 1


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_wait_on_an_unknown_batch_raises_at_once(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    with pytest.raises(ob.NotFoundError):
        await openai_client.batches.wait("batch_nope", polling=fake_time.polling())
    assert fake_time.sleeps == []
    assert len(openai_emulator.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": 0}, "interval"),
        ({"interval": 5, "max_interval": 1}, "max_interval"),
        ({"backoff": 0.5}, "backoff"),
        ({"max_errors": -1}, "max_errors"),
    ],
)
def test_polling_refuses_nonsense(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Polling(**kwargs)


@pytest.mark.openai_emulator(clock=ManualClock(), timing=SLOW)
async def test_extras_go_with_every_poll_and_the_cancel(
    openai_emulator: Emulator, openai_client: ob.Client, fake_time: FakeTime
) -> None:
    extra: Any = {"extra_headers": {"X-Trace": "t1"}, "extra_query": {"trace": "1"}}
    await openai_client.batches.wait(seed(openai_emulator, 2), polling=fake_time.polling(), **extra)
    polls = len(openai_emulator.requests)
    cancelled = seed(openai_emulator, 2)  # still cancellable: no look-up after the cancel
    await openai_client.batches.cancel_and_wait(cancelled, polling=fake_time.polling(), **extra)
    seen = openai_emulator.requests
    assert polls > 3
    assert {r.method for r in seen[:polls]} == {"GET"}
    assert seen[polls].method == "POST"  # the cancel
    assert len(seen) > polls + 1
    assert all(r.headers.get("X-Trace") == "t1" and r.query.get("trace") == "1" for r in seen)
