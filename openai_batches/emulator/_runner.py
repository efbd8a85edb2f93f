"""`Emulator`: the application served on a loopback port, as an async context manager.

    async with Emulator(clock=ManualClock()) as emu:
        client = openai.AsyncOpenAI(base_url=emu.url, api_key=emu.api_key)
        ...
        emu.clock.advance(60)

The server runs on the caller's event loop (no thread), binds 127.0.0.1 and a free port by
default, and on exit closes every connection and releases every stored blob.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._app import EmulatorState, RecordedRequest, make_app
from ._blobs import BlobStorage
from ._clock import Clock, SystemClock
from ._faults import Faults
from ._lifecycle import Timing
from ._store import Store
from ._webhooks import DEFAULT_RETRY_DELAYS, WebhookDelivery, WebhookSender, new_secret

if TYPE_CHECKING:
    from openai_batches import Client

__all__ = ["AZURE_API_VERSION", "DEFAULT_API_KEY", "Emulator"]

#: The key `Emulator.api_key` returns when no keys are configured (any key is accepted then).
DEFAULT_API_KEY = "sk-emulator"

#: Emulated seconds an uploaded file stays ``pending`` in Azure mode.
AZURE_FILE_PROCESSING = 5.0

#: The api-version `Emulator.client` sends in Azure mode (any dated version is accepted).
AZURE_API_VERSION = "2024-10-21"


class Emulator:
    """An embedded OpenAI Batches/Files/Uploads API server.

    Args:
        api_keys: Accepted bearer keys; None accepts any non-empty key.
        speed: Emulated seconds per real second of the default `SystemClock`.
        clock: A clock to use instead (e.g. `ManualClock()`); overrides *speed*.
        timing: Durations and rate of the batch lifecycle.
        storage_dir: Keep file contents in this directory instead of memory.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        seed: Seed for generated ids and random faults.
        latency: Seconds every request waits before it is handled, as over a network
            (concurrent requests wait side by side); settable later as ``emulator.latency``.
        webhook_url: POST a signed ``batch.completed`` (``failed``, ``expired``,
            ``cancelled``) event here whenever a batch reaches a final status; the
            attribute may also be set once the receiver's address is known.
        webhook_secret: The signing secret; default: a new random ``whsec_`` secret,
            readable as ``webhook_secret``.
        webhook_retry_delays: Real seconds to wait before each retry of a failed delivery.
        enqueued_token_limit: The enqueued-token limit per model (None: no limit); a
            batch over it fails at validation with ``token_limit_exceeded``.
        azure: Answer as Azure OpenAI does: the API under ``/openai`` (which requires a
            dated ``api-version`` query parameter) and ``/openai/v1`` (which does not),
            an ``api-key`` header (one of *api_keys*) or an Entra ID bearer token (one of
            *azure_ad_tokens*), and Azure's error bodies for a wrong credential, path or
            version; uploaded files are ``pending`` for `AZURE_FILE_PROCESSING` emulated
            seconds, and a batch on a pending file is refused; a batch endpoint and its
            lines' ``url`` may be spelled without ``/v1`` (``/chat/completions``).
        azure_ad_tokens: Accepted bearer tokens in Azure mode; None accepts any.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        speed: float = 1.0,
        clock: Clock | None = None,
        timing: Timing | None = None,
        storage_dir: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        latency: float = 0.0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
        enqueued_token_limit: int | None = None,
        azure: bool = False,
        azure_ad_tokens: Iterable[str] | None = None,
    ) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        if self.api_keys is not None and not self.api_keys:
            raise ValueError("api_keys must not be empty (use None to accept any key)")
        self.clock: Clock = clock if clock is not None else SystemClock(speed)
        self.timing = timing if timing is not None else Timing()
        self.faults = Faults(seed)
        self.store = Store(
            self.clock,
            BlobStorage(storage_dir),
            self.timing,
            seed,
            enqueued_token_limit=enqueued_token_limit,
            file_processing=AZURE_FILE_PROCESSING if azure else 0.0,
            azure=azure,
        )
        self.azure = azure
        self._state = EmulatorState(
            self.store,
            self.faults,
            self.api_keys,
            azure=azure,
            azure_ad_tokens=None if azure_ad_tokens is None else frozenset(azure_ad_tokens),
        )
        self.latency = latency
        self._webhooks = WebhookSender(
            self.store,
            url=webhook_url,
            secret=webhook_secret or new_secret(),
            retry_delays=tuple(webhook_retry_delays),
            seed=seed,
        )
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def api_key(self) -> str:
        """A key the emulator accepts."""
        return min(self.api_keys) if self.api_keys else DEFAULT_API_KEY

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is handled."""
        return self._state.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"latency must be a number of seconds, got {seconds!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"latency must be a finite number of seconds >= 0, got {seconds!r}")
        self._state.latency = float(seconds)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (clear it freely)."""
        return self._state.requests

    @property
    def webhook_url(self) -> str | None:
        """Where batch events are POSTed; None sends none."""
        return self._webhooks.url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self._webhooks.url = url

    @property
    def webhook_secret(self) -> str:
        """The secret the webhooks are signed with (give it to the receiving client)."""
        return self._webhooks.secret

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """What became of each event sent so far, oldest first."""
        return self._webhooks.deliveries

    async def deliver_webhooks(self) -> None:
        """Advance the batches to the clock's now and send every event that is due.

        Returns once each has been delivered or given up, so a test can move a
        `ManualClock` and then see its webhook arrive, without waiting for the ticker.
        """
        await self._webhooks.flush()

    @property
    def azure_endpoint(self) -> str:
        """The Azure resource endpoint, ``http://HOST:PORT`` (for ``Client.azure``)."""
        if self._runner is None:
            raise RuntimeError("the emulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL: ``http://HOST:PORT/v1``, or ``http://HOST:PORT/openai`` in
        Azure mode."""
        return self.azure_endpoint + ("/openai" if self.azure else "/v1")

    def app(self) -> web.Application:
        """Return a new aiohttp application serving this emulator's state."""
        return make_app(self._state)

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        await self._webhooks.start()

    async def close(self) -> None:
        """Stop serving, close connections and release stored blobs."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await self._webhooks.close()
            await runner.cleanup()
        self.store.close()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def client(self, **kwargs: Any) -> Client:
        """Return an `openai_batches.Client` bound to this emulator (close it when done).

        Its ``webhook_secret`` is this emulator's, unless given. Plain http is accepted even
        when the emulator listens on another interface: it is a test server, and its keys
        are not secrets. In Azure mode it is made by ``Client.azure`` with
        `AZURE_API_VERSION` and this emulator's key, unless other ``Client.azure``
        arguments say otherwise.
        """
        from openai_batches import Client

        kwargs.setdefault("webhook_secret", self.webhook_secret)
        kwargs.setdefault("allow_insecure_http", True)
        if self.azure:
            kwargs.setdefault("azure_endpoint", self.azure_endpoint)
            kwargs.setdefault("api_version", AZURE_API_VERSION)
            if "azure_ad_token" not in kwargs and "azure_ad_token_provider" not in kwargs:
                kwargs.setdefault("api_key", self.api_key)
            return Client.azure(**kwargs)
        return Client(api_key=self.api_key, base_url=self.url, **kwargs)

    def __repr__(self) -> str:
        where = self.url if self._runner is not None else "not running"
        return f"<Emulator {where} clock={self.clock!r}>"
