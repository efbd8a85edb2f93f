"""`Emulator`: the application served on a loopback port, as an async context manager.

    async with Emulator(clock=ManualClock()) as emu:
        client = openai.AsyncOpenAI(base_url=emu.url, api_key=emu.api_key)
        ...
        emu.clock.advance(60)

The server runs on the caller's event loop (no thread), binds 127.0.0.1 and a free port by
default, and on exit closes every connection and releases every stored blob.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from openai_batches import Client

__all__ = ["DEFAULT_API_KEY", "Emulator"]

#: The key `Emulator.api_key` returns when no keys are configured (any key is accepted then).
DEFAULT_API_KEY = "sk-emulator"


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
        enqueued_token_limit: The enqueued-token limit per model (None: no limit); a
            batch over it fails at validation with ``token_limit_exceeded``.
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
        enqueued_token_limit: int | None = None,
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
        )
        self._state = EmulatorState(self.store, self.faults, self.api_keys)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def api_key(self) -> str:
        """A key the emulator accepts."""
        return min(self.api_keys) if self.api_keys else DEFAULT_API_KEY

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (clear it freely)."""
        return self._state.requests

    @property
    def url(self) -> str:
        """The API base URL, ``http://HOST:PORT/v1``."""
        if self._runner is None:
            raise RuntimeError("the emulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

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

    async def close(self) -> None:
        """Stop serving, close connections and release stored blobs."""
        runner, self._runner = self._runner, None
        if runner is not None:
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
        """Return an `openai_batches.Client` bound to this emulator (close it when done)."""
        from openai_batches import Client

        return Client(api_key=self.api_key, base_url=self.url, **kwargs)

    def __repr__(self) -> str:
        where = self.url if self._runner is not None else "not running"
        return f"<Emulator {where} clock={self.clock!r}>"
