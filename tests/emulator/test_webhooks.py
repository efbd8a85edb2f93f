"""The emulator's batch webhooks: signed events POSTed when a batch reaches a final status.

Signatures are checked with the official ``openai`` SDK and with an HMAC computed here,
never with the emulator's own code, and each event against the OpenAPI document's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import attrs
import openai
import pytest
from aiohttp import web
from conftest import SPEC, chat

from openai_batches.emulator import Emulator, ManualClock, Timing, add_arguments
from openai_batches.emulator._cli import _emulator

SECRET = "whsec_" + base64.b64encode(b"emulator webhook secret, 32 byte").decode()


@attrs.define
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


@attrs.define
class Receiver:
    """A webhook endpoint answering scripted statuses (the last one repeats)."""

    statuses: list[int] = attrs.Factory(lambda: [200])
    received: list[Received] = attrs.Factory(list)
    arrived: asyncio.Event = attrs.Factory(asyncio.Event)
    hold: asyncio.Event | None = None  # when set, answers wait for it
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(await request.read(), dict(request.headers)))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield found
    finally:
        await runner.cleanup()


@pytest.fixture
async def emu(clock: ManualClock, receiver: Receiver) -> AsyncIterator[Emulator]:
    timing = Timing(validating=1, requests_per_second=1, finalizing=1, cancelling=1, window=100)
    async with Emulator(
        clock=clock,
        timing=timing,
        seed=7,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        webhook_retry_delays=(0, 0),
    ) as emulator:
        yield emulator


def verified_by_the_sdk(received: Received, secret: str = SECRET) -> Any:
    sdk = openai.OpenAI(api_key="sk-test", webhook_secret=secret)
    return sdk.webhooks.unwrap(received.body, received.headers)


def expected_signature(received: Received, secret: str) -> str:
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    headers = received.headers
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + received.body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


async def test_each_final_status_sends_one_signed_event(
    emu: Emulator, clock: ManualClock, receiver: Receiver
) -> None:
    store = emu.store
    done = store.put_batch([chat("a", "hi")])["id"]
    failed = store.put_batch([{"custom_id": "a"}])["id"]
    cancelled = store.put_batch([chat("a", "hi"), chat("b", "hi"), chat("c", "hi")])["id"]
    expired = store.put_batch([chat(f"r{i}", "hi") for i in range(200)])["id"]
    start = clock.now()
    clock.advance(1.5)
    store.cancel_batch(cancelled)
    clock.advance(10)
    await emu.deliver_webhooks()
    clock.advance(100)
    await emu.deliver_webhooks()
    await emu.deliver_webhooks()  # nothing new: each event goes once

    events = [r.event for r in receiver.received]
    # In the order they finished, though the first three were seen in one advance.
    assert [(e["type"], e["data"]["id"]) for e in events] == [
        ("batch.failed", failed),
        ("batch.cancelled", cancelled),
        ("batch.completed", done),
        ("batch.expired", expired),
    ]
    assert [e["created_at"] for e in events] == [
        int(start + 1),  # validating 1 s
        int(start + 2.5),  # cancelled at 1.5 s, cancelling 1 s
        int(start + 3),  # validating 1 s, one request 1 s, finalizing 1 s
        int(start + 100),  # the window
    ]
    for received, event in zip(receiver.received, events, strict=True):
        SPEC.check("WebhookBatch" + event["type"].removeprefix("batch.").capitalize(), event)
        assert event["object"] == "event"
        assert received.headers["webhook-id"] == event["id"]
        assert received.headers["Content-Type"] == "application/json"
        assert received.headers["webhook-signature"] == expected_signature(received, SECRET)
        sdk_event = verified_by_the_sdk(received)
        assert (sdk_event.type, sdk_event.data.id) == (event["type"], event["data"]["id"])
    assert len({e["id"] for e in events}) == 4
    assert [d.delivered for d in emu.webhook_deliveries] == [True] * 4


async def test_the_batches_state_matches_the_event(
    emu: Emulator, clock: ManualClock, receiver: Receiver
) -> None:
    batch_id = emu.store.put_batch([chat("a", "hi")])["id"]
    clock.advance(60)
    await emu.deliver_webhooks()
    [received] = receiver.received
    batch = emu.store.batch(batch_id).to_json()
    assert batch["status"] == "completed"
    assert batch["completed_at"] == received.event["created_at"]


async def test_the_ticker_sends_events_without_any_request(
    emu: Emulator, clock: ManualClock, receiver: Receiver
) -> None:
    emu.store.put_batch([chat("a", "hi")])
    clock.advance(60)
    await asyncio.wait_for(receiver.arrived.wait(), 10)  # a guard: the ticker runs 5x a second
    assert receiver.received[0].event["type"] == "batch.completed"
    assert emu.requests == []


async def test_a_failed_delivery_is_retried_with_the_same_id(
    emu: Emulator, clock: ManualClock, receiver: Receiver
) -> None:
    receiver.statuses[:] = [500, 503, 204]
    emu.store.put_batch([chat("a", "hi")])
    clock.advance(60)
    await emu.deliver_webhooks()

    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert all(verified_by_the_sdk(r).type == "batch.completed" for r in receiver.received)
    [delivery] = emu.webhook_deliveries
    assert (delivery.attempts, delivery.status, delivery.delivered) == (3, 204, True)


async def test_a_delivery_is_given_up_and_logged(
    emu: Emulator, clock: ManualClock, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses[:] = [500]
    first = emu.store.put_batch([chat("a", "hi")])["id"]
    clock.advance(60)
    with caplog.at_level(logging.INFO, logger="openai_batches.emulator"):
        await emu.deliver_webhooks()
        # A later event is still sent: a dead endpoint stops nothing.
        receiver.statuses[:] = [200]
        second = emu.store.put_batch([chat("a", "hi")])["id"]
        clock.advance(60)
        await emu.deliver_webhooks()

    assert [r.event["data"]["id"] for r in receiver.received] == [first] * 3 + [second]
    given_up, sent = emu.webhook_deliveries
    assert (given_up.attempts, given_up.delivered, given_up.error) == (3, False, "HTTP 500")
    assert sent.delivered
    assert any("Gave up sending webhook" in r.getMessage() for r in caplog.records)


async def test_an_unreachable_url_is_given_up(emu: Emulator, clock: ManualClock) -> None:
    emu.webhook_url = "http://127.0.0.1:1/nothing-listens-here"
    emu.store.put_batch([chat("a", "hi")])
    clock.advance(60)
    await emu.deliver_webhooks()
    [delivery] = emu.webhook_deliveries
    assert (delivery.attempts, delivery.status, delivery.delivered) == (3, None, False)
    assert delivery.error is not None


async def test_without_a_url_nothing_is_sent(receiver: Receiver) -> None:
    clock = ManualClock()
    async with Emulator(clock=clock) as emu:
        assert emu.webhook_url is None
        emu.store.put_batch([chat("a", "hi")])
        clock.advance(60)
        await emu.deliver_webhooks()
        # A batch that finished while no URL was set is not sent later either.
        emu.webhook_url = receiver.url
        await emu.deliver_webhooks()
        assert emu.webhook_deliveries == []
        emu.store.put_batch([chat("a", "hi")])
        clock.advance(60)
        await emu.deliver_webhooks()
    assert len(receiver.received) == 1
    # The generated secret is a whsec_ secret the SDK accepts.
    assert emu.webhook_secret.startswith("whsec_")
    verified_by_the_sdk(receiver.received[0], emu.webhook_secret)


async def test_a_plain_secret_signs_with_its_bytes(receiver: Receiver) -> None:
    clock = ManualClock()
    async with Emulator(clock=clock, webhook_url=receiver.url, webhook_secret="plain") as emu:
        emu.store.put_batch([chat("a", "hi")])
        clock.advance(60)
        await emu.deliver_webhooks()
    [received] = receiver.received
    assert received.headers["webhook-signature"] == expected_signature(received, "plain")
    verified_by_the_sdk(received, "plain")


async def test_the_client_of_an_emulator_knows_its_secret(emu: Emulator) -> None:
    async with emu.client() as client:
        assert client.webhook_secret == SECRET
    async with emu.client(webhook_secret="whsec_other") as client:
        assert client.webhook_secret == "whsec_other"


async def test_closing_drops_what_is_unsent_and_says_so(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.hold = asyncio.Event()
    clock = ManualClock()
    with caplog.at_level(logging.WARNING, logger="openai_batches.emulator"):
        async with Emulator(clock=clock, webhook_url=receiver.url) as emu:
            emu.store.put_batch([chat("a", "hi")])
            emu.store.put_batch([chat("a", "hi")])
            clock.advance(60)
            emu.store.advance()
            await receiver.arrived.wait()  # the first is being sent, the second waits
    receiver.hold.set()
    assert len(receiver.received) == 1
    assert emu.webhook_deliveries == []
    assert "2 webhook event(s) were not sent" in caplog.text


async def test_deliver_webhooks_needs_a_running_emulator() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        await Emulator().deliver_webhooks()


def test_the_command_line_takes_a_url_and_a_secret() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.webhook_url, args.webhook_secret) == (None, None)
    args = parser.parse_args(["--webhook-url", "http://x/hook", "--webhook-secret", SECRET])
    assert (args.webhook_url, args.webhook_secret) == ("http://x/hook", SECRET)
    emulator = _emulator(args)
    assert (emulator.webhook_url, emulator.webhook_secret) == ("http://x/hook", SECRET)


def test_the_command_lines_secret_defaults_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--webhook-url", "http://x/hook"])
    assert _emulator(args).webhook_secret.startswith("whsec_")
    assert _emulator(args).webhook_secret != _emulator(args).webhook_secret
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    assert _emulator(args).webhook_secret == SECRET
