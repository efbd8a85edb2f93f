"""Batch webhooks: signed ``batch.*`` events POSTed to a URL when a batch reaches a final status.

Batches advance lazily (see ``_lifecycle``), so besides every request, a ticker advances the
store a few times a real second while a webhook URL is set: an event then goes out even when
nobody polls. Events are sent one at a time, in the order the batches finished, each once;
an answer other than 2xx (or no answer) is retried after each of ``retry_delays`` with the
same ``webhook-id`` and a fresh timestamp, then given up and logged. Every outcome is kept in
`WebhookSender.deliveries`.

Signing follows the Standard Webhooks scheme OpenAI uses: ``webhook-signature: v1,<base64>``
is the HMAC-SHA256 of ``"{webhook-id}.{webhook-timestamp}.{body}"`` keyed with the secret
(the base64 after ``whsec_``). The timestamp is real unix time, whatever the emulated clock
says, since receivers check it against their own clock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import attrs

from ._lifecycle import BatchRecord
from ._store import Store

__all__ = ["WebhookDelivery", "WebhookSender", "new_secret", "sign"]

log = logging.getLogger("openai_batches.emulator")

#: How often, in real seconds, the store is advanced while a webhook URL is set.
DEFAULT_TICK = 0.2
#: Real seconds to wait before each retry of a failed delivery.
DEFAULT_RETRY_DELAYS = (0.5, 2.0, 8.0)
_ATTEMPT_TIMEOUT = aiohttp.ClientTimeout(total=10)


def new_secret() -> str:
    """Return a new random ``whsec_`` secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value for one delivery."""
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret[len("whsec_") :])
    else:
        key = secret.encode("utf-8")
    content = b".".join([webhook_id.encode("utf-8"), str(timestamp).encode("ascii"), body])
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


@attrs.define
class WebhookDelivery:
    """What became of one event.

    Attributes:
        event: The event as sent.
        url: Where it was sent.
        attempts: How many POSTs were made.
        status: The last HTTP status received, or None if no answer came.
        delivered: Whether an attempt was answered 2xx.
        error: The last failure, in words, when not delivered.
    """

    event: dict[str, Any]
    url: str
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
    error: str | None = None


class WebhookSender:
    """Turns final batch states into signed POSTs; owned by a running `Emulator`.

    Args:
        store: The store to advance and listen to.
        url: Where events go; None sends nothing (the attribute may be set later).
        secret: The signing secret (``whsec_`` + base64, or any other string).
        retry_delays: Real seconds before each retry of a failed delivery.
        tick: Real seconds between advances of the store.
        seed: Seed for event ids.
        clock: Real unix time, for ``webhook-timestamp``.
    """

    def __init__(
        self,
        store: Store,
        *,
        url: str | None,
        secret: str,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        tick: float = DEFAULT_TICK,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.url = url
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.tick = tick
        self.clock = clock
        self.deliveries: list[WebhookDelivery] = []
        self._ids = random.Random(None if seed is None else f"webhooks:{seed}")
        # Made by start(), in the loop that serves: a queue belongs to one loop.
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: dict[str, Any] | None = None
        self._session: aiohttp.ClientSession | None = None
        store.on_batch_final = self._enqueue

    def _enqueue(self, batch: BatchRecord) -> None:
        if self.url is None or self._queue is None:
            return  # nowhere to send it, or not running
        event = {
            "id": f"evt_{self._ids.getrandbits(96):024x}",
            "object": "event",
            "created_at": int(batch.times[f"{batch.status}_at"]),
            "type": f"batch.{batch.status}",
            "data": {"id": batch.id},
        }
        self._queue.put_nowait(event)

    async def start(self) -> None:
        """Start the ticker and the delivery task (inside the running loop)."""
        self._session = aiohttp.ClientSession(timeout=_ATTEMPT_TIMEOUT)
        self._queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._advance_forever(), name="emulator webhook ticker"),
            asyncio.create_task(self._deliver_forever(), name="emulator webhook sender"),
        ]

    async def close(self) -> None:
        """Stop both tasks and close the session; events not yet delivered are dropped."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        queue, self._queue = self._queue, None
        dropped = (0 if queue is None else queue.qsize()) + (self._sending is not None)
        self._sending = None
        while queue is not None and not queue.empty():
            queue.get_nowait()
            queue.task_done()
        if dropped:
            log.warning("%d webhook event(s) were not sent: the emulator closed", dropped)
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def flush(self) -> None:
        """Advance the store to now, then wait until every due event is delivered or given up."""
        if self._queue is None:
            raise RuntimeError("the emulator is not running")
        self.store.advance()
        await self._queue.join()

    async def _advance_forever(self) -> None:
        while True:
            if self.url is not None:
                self.store.advance()
            await asyncio.sleep(self.tick)

    async def _deliver_forever(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            event = self._sending = await queue.get()
            try:
                await self._deliver(event)
                self._sending = None
            except Exception:  # a bug here must not stop later deliveries
                log.exception("Sending webhook event %s failed", event["id"])
            finally:
                queue.task_done()

    async def _deliver(self, event: dict[str, Any]) -> None:
        url = self.url
        if url is None:
            return
        assert self._session is not None
        delivery = WebhookDelivery(event, url)
        body = json.dumps(event).encode()
        for delay in (None, *self.retry_delays):
            if delay is not None:
                await asyncio.sleep(delay)
            timestamp = int(self.clock())
            headers = {
                "content-type": "application/json",
                "webhook-id": event["id"],
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self.secret, event["id"], timestamp, body),
            }
            delivery.attempts += 1
            try:
                async with self._session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    delivery.status = response.status
                    await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                delivery.status = None
                delivery.error = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= response.status < 300:
                    delivery.delivered = True
                    delivery.error = None
                    break
                delivery.error = f"HTTP {response.status}"
            log.info(
                "Webhook %s %s to %s failed (attempt %d): %s",
                event["id"],
                event["type"],
                url,
                delivery.attempts,
                delivery.error,
            )
        if not delivery.delivered:
            log.warning(
                "Gave up sending webhook %s %s to %s after %d attempts: %s",
                event["id"],
                event["type"],
                url,
                delivery.attempts,
                delivery.error,
            )
        self.deliveries.append(delivery)
