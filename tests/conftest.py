"""Shared fixtures: a clean environment, recorded samples and a real loopback server."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web

import openai_batches._retry
from openai_batches import Client, RetryPolicy

# pytester runs the test modules the documents show (tests/test_docs_code.py).
pytest_plugins = ["pytester"]

SAMPLES = Path(__file__).parent / "samples"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's OpenAI settings."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


def sample(name: str) -> Any:
    """A recorded response body from tests/samples."""
    return json.loads((SAMPLES / f"{name}.json").read_text())


@attrs.frozen
class Seen:
    """A request as the server received it."""

    method: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def reply(
    status: int = 200,
    json_body: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Handler:
    """A handler answering a fixed status and body."""

    async def handler(request: web.Request) -> web.Response:
        body = text if text is not None else json.dumps(json_body)
        return web.Response(status=status, text=body, headers=headers, content_type=content_type)

    return handler


async def reset(request: web.Request) -> web.Response:
    """Drop the connection without answering."""
    assert request.transport is not None
    request.transport.abort()
    return web.Response(status=500)  # never sent: the transport is gone


class LoopbackServer:
    """An aiohttp server on 127.0.0.1 whose answers each test scripts.

    ``add(method, path, *handlers)`` queues handlers for a route: each request takes the
    next one, and the last one repeats. Every request is recorded in ``seen``.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.routes: dict[tuple[str, str], list[Handler]] = {}
        self.url = ""

    def add(self, method: str, path: str, *handlers: Handler) -> None:
        self.routes[(method, path)] = list(handlers)

    def client(self, **kwargs: Any) -> Client:
        """A client for this server with zero retry backoff."""
        kwargs.setdefault("retry_policy", RetryPolicy(max_retries=2, initial_delay=0, max_delay=0))
        return Client("sk-test-secret", base_url=self.url, **kwargs)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                raw_path=request.raw_path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        queue = self.routes.get((request.method, request.path))
        if not queue:
            return web.json_response(
                {"error": {"message": "no route", "type": "test", "param": None, "code": None}},
                status=404,
            )
        handler = queue.pop(0) if len(queue) > 1 else queue[0]
        return await handler(request)


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[LoopbackServer]:
    """Run a :class:`LoopbackServer` on a free port of 127.0.0.1."""
    loopback = LoopbackServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", loopback._dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    loopback.url = f"http://{host}:{port}/v1"
    try:
        yield loopback
    finally:
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    """A running loopback server; its API base URL is ``server.url``."""
    async with serving() as loopback:
        yield loopback


@pytest.fixture
async def other_server() -> AsyncIterator[LoopbackServer]:
    """A second loopback server: another origin than ``server``."""
    async with serving() as loopback:
        yield loopback


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the transport's retry waits instead of sleeping through them."""
    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(openai_batches._retry, "_sleep", record)
    return waits
