"""Webhooks: verifying OpenAI's signatures, decoding batch events, and waking waits.

OpenAI signs webhooks with the Standard Webhooks scheme
(https://www.standardwebhooks.com/): three headers, ``webhook-id``,
``webhook-timestamp`` (unix seconds) and ``webhook-signature`` (space-separated
``v1,<base64>`` entries), where each signature is an HMAC-SHA256 of
``"{id}.{timestamp}.{body}"`` keyed with the secret. A ``whsec_`` secret is base64 after
its prefix; any other secret is used as its UTF-8 bytes, as openai-python does.

Nothing here touches the network: :class:`Webhooks` works on a client that never made a
request, outside any event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias

from ._errors import APIResponseValidationError, InvalidWebhookSignatureError, OpenAIError
from ._models import BatchEvent, WebhookEvent

if TYPE_CHECKING:
    from ._client import Client

__all__ = [
    "DEFAULT_TOLERANCE",
    "BatchEvents",
    "Body",
    "Webhooks",
    "parse_event",
    "verify_signature",
]

#: How far ``webhook-timestamp`` may be from now, either way, in seconds: the value of
#: openai-python and the Standard Webhooks libraries.
DEFAULT_TOLERANCE = 300

_PREFIX = "whsec_"
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")

#: A webhook's body exactly as received: verify the bytes, not a re-encoding of them.
Body: TypeAlias = bytes | bytearray | memoryview | str


def _key(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret:
        raise ValueError("The webhook secret must be a non-empty string")
    if not secret.startswith(_PREFIX):
        return secret.encode()
    encoded = secret[len(_PREFIX) :]
    try:
        # Some senders drop the padding; decoding accepts a secret with or without it.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError(
            "The webhook secret starts with 'whsec_' but the rest is not base64"
        ) from None
    if not key:
        raise ValueError("The webhook secret is empty after its 'whsec_' prefix")
    return key


def _headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """Find the three headers, whatever the case of their names."""
    found: dict[str, str] = {}
    # Walk the items rather than calling get(): a plain dict is case-sensitive, and a
    # multidict may hold a header twice.
    for name, value in headers.items():
        if not isinstance(name, str) or (lower := name.lower()) not in _HEADERS:
            continue
        if lower in found and found[lower] != value:
            raise InvalidWebhookSignatureError(f"The webhook has several {lower} headers")
        found[lower] = value
    values: list[str] = []
    for wanted in _HEADERS:
        text = found.get(wanted)
        if not isinstance(text, str) or not text.strip():
            raise InvalidWebhookSignatureError(f"The webhook has no {wanted} header")
        values.append(text.strip())
    return values[0], values[1], values[2]


def _body_bytes(body: Body) -> bytes:
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise TypeError(f"A webhook body must be bytes or str, got {type(body).__name__}")


def verify_signature(
    body: Body,
    headers: Mapping[str, str],
    *,
    secret: str,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float,
) -> None:
    """Check a webhook's signature and timestamp against ``secret`` at time ``now``.

    Raises:
        InvalidWebhookSignatureError: A header is missing or malformed, the timestamp is
            more than ``tolerance`` seconds from ``now``, or no ``v1`` signature matches.
        ValueError: The secret or the tolerance is unusable.
    """
    # `not >= 0` also refuses NaN, which would let every timestamp through.
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number of seconds >= 0, got {tolerance!r}")
    key = _key(secret)
    data = _body_bytes(body)
    webhook_id, timestamp, signatures = _headers(headers)
    # Twenty digits at most: int() refuses very long numbers with a ValueError of its own.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20):
        raise InvalidWebhookSignatureError(
            f"The webhook-timestamp header is not unix seconds: {timestamp[:40]!r}"
        )
    age = now - int(timestamp)
    if age > tolerance:
        raise InvalidWebhookSignatureError(
            f"The webhook timestamp is {age:.0f} s old, more than the {tolerance:g} s tolerance"
        )
    if -age > tolerance:
        raise InvalidWebhookSignatureError(
            f"The webhook timestamp is {-age:.0f} s in the future, more than the "
            f"{tolerance:g} s tolerance"
        )
    # The header's text is what was signed; it is digits only, checked above.
    signed = f"{webhook_id}.{timestamp}.".encode() + data
    expected = hmac.digest(key, signed, hashlib.sha256)
    candidates = 0
    for entry in signatures.split():
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue  # another scheme (v1a is asymmetric), or not an entry at all
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        candidates += 1
        if hmac.compare_digest(expected, given):
            return
    if not candidates:
        raise InvalidWebhookSignatureError(
            "The webhook-signature header has no v1,<base64> signature"
        )
    raise InvalidWebhookSignatureError(
        "No signature in the webhook-signature header matches the body and the secret"
    )


def parse_event(body: Body) -> BatchEvent | WebhookEvent:
    """Decode a webhook's body: a :class:`BatchEvent` for ``batch.*`` types, else a
    :class:`WebhookEvent`.

    Raises:
        APIResponseValidationError: The body is not a JSON event; the error says where.
    """
    import orjson

    from ._converter import locate_error, structure_hook

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise APIResponseValidationError("The webhook body is not JSON") from exc
    kind = data.get("type") if isinstance(data, dict) else None
    cl: type[BatchEvent | WebhookEvent] = (
        BatchEvent if isinstance(kind, str) and kind.startswith("batch.") else WebhookEvent
    )
    try:
        return structure_hook(cl)(data, cl)
    except Exception as exc:
        path, reason = locate_error(data, cl)
        raise APIResponseValidationError(
            f"Unexpected webhook body at {path}: {reason}", path=path
        ) from exc


class Webhooks:
    """Verify and decode the webhooks OpenAI sends; no request is ever made.

    Reach it as ``client.webhooks``; its secret is the client's ``webhook_secret``
    (``OPENAI_WEBHOOK_SECRET`` by default), or ``secret=`` on each call.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def _secret(self, secret: str | None) -> str:
        secret = secret if secret is not None else self._client.webhook_secret
        if secret is None:
            raise OpenAIError(
                "No webhook secret: pass secret=... to this call, webhook_secret=... to "
                "Client(), or set the OPENAI_WEBHOOK_SECRET environment variable."
            )
        return secret

    def verify_signature(
        self,
        body: Body,
        headers: Mapping[str, str],
        *,
        secret: str | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        """Check that a webhook was sent by OpenAI and is recent.

        Args:
            body: The request body exactly as received (bytes, or the same text).
            headers: The request headers: a dict, or aiohttp's or Starlette's headers;
                names in any case.
            secret: The endpoint's signing secret, instead of the client's.
            tolerance: How many seconds ``webhook-timestamp`` may be from now, either way.

        Raises:
            InvalidWebhookSignatureError: The webhook does not verify; answer 400.
            OpenAIError: No secret was given or configured.
            ValueError: The secret is malformed (``whsec_`` followed by non-base64).
        """
        verify_signature(
            body, headers, secret=self._secret(secret), tolerance=tolerance, now=time.time()
        )

    def unwrap(
        self, body: Body, headers: Mapping[str, str], *, secret: str | None = None
    ) -> BatchEvent | WebhookEvent:
        """Verify a webhook, then decode its event.

        Returns:
            A :class:`BatchEvent` for ``batch.completed``, ``batch.failed``,
            ``batch.expired``, ``batch.cancelled`` (and any later ``batch.*`` type);
            a :class:`WebhookEvent` for every other type.

        Raises:
            InvalidWebhookSignatureError: The webhook does not verify; answer 400.
            APIResponseValidationError: The signed body is not a JSON event.
            OpenAIError: No secret was given or configured.
        """
        self.verify_signature(body, headers, secret=secret)
        return parse_event(body)


class BatchEvents:
    """Wake :meth:`Batches.wait` when a webhook says a batch changed.

    Give one to the waits (``client.batches.wait(batch_id, events=events)``) and feed
    it the events your webhook endpoint unwrapped (``events.notify(event)``): each wait
    for that batch then retrieves it at once instead of at its next poll. The event is
    only a hint, the state still comes from the retrieve, and polling goes on as a
    fallback for events that never come.

    ``notify`` may be called from any thread; an event for a batch nobody waits for
    is dropped.
    """

    def __init__(self) -> None:
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def notify(self, event: BatchEvent | WebhookEvent | str) -> None:
        """Wake the waits for the event's batch (or for the batch id given)."""
        if isinstance(event, str):
            batch_id = event
        elif isinstance(event, BatchEvent):
            batch_id = event.data.id
        else:
            return  # not about a batch
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, woken in list(self._waiters.get(batch_id, ())):
            if loop is running:
                woken.set()
            else:
                with contextlib.suppress(RuntimeError):  # that loop is closed
                    loop.call_soon_threadsafe(woken.set)

    @contextlib.contextmanager
    def watch(self, batch_id: str) -> Iterator[asyncio.Event]:
        """Register a wait for ``batch_id``; the event is set when it is notified."""
        woken = asyncio.Event()
        entry = (asyncio.get_running_loop(), woken)
        waiters = self._waiters.setdefault(batch_id, set())
        waiters.add(entry)
        try:
            yield woken
        finally:
            waiters.discard(entry)
            if not waiters and self._waiters.get(batch_id) is waiters:
                del self._waiters[batch_id]

    def __repr__(self) -> str:
        return f"<BatchEvents watching {len(self._waiters)} batches>"
