"""The webhook endpoint in docs/index.md runs, and wakes a wait, as the docs say."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from openai_batches import Batch, Polling
from openai_batches.emulator import Emulator, ManualClock

DOC = Path(__file__).resolve().parents[1] / "docs" / "index.md"
MARKER = "<!-- webhook-endpoint: run by tests/test_docs_webhooks.py -->"


def endpoint_source() -> str:
    text = DOC.read_text()
    after = text.split(MARKER, 1)[1]
    match = re.match(r"\s*```python\n(.*?)```", after, re.DOTALL)
    assert match is not None, "the marker is not followed by a python block"
    return match.group(1)


async def never_wake(seconds: float) -> None:
    await asyncio.Event().wait()


async def test_the_documented_endpoint_wakes_a_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock()
    async with Emulator(clock=clock, webhook_retry_delays=()) as emu:
        monkeypatch.setenv("OPENAI_API_KEY", emu.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emu.url)
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", emu.webhook_secret)
        namespace: dict[str, Any] = {"__name__": "webhook_endpoint"}
        exec(compile(endpoint_source(), str(DOC), "exec"), namespace)
        runner = web.AppRunner(namespace["app"], access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/openai/webhooks"
            emu.webhook_url = url
            client = namespace["client"]
            request = {
                "custom_id": "a",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            }
            batch_id = emu.store.put_batch([request])["id"]
            polled = asyncio.Event()

            def on_progress(batch: Batch) -> None:
                polled.set()

            wait = asyncio.create_task(
                client.batches.wait(
                    batch_id,
                    events=namespace["events"],
                    on_progress=on_progress,
                    polling=Polling(interval=3600, max_interval=3600, sleep=never_wake),
                )
            )
            await polled.wait()
            clock.advance(60)
            await emu.deliver_webhooks()
            batch = await asyncio.wait_for(wait, 10)  # a guard: only the webhook ends it

            assert batch.status == "completed"
            assert [d.status for d in emu.webhook_deliveries] == [200]
            # A forged webhook is refused.
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    url,
                    data=b'{"type": "batch.completed"}',
                    headers={
                        "webhook-id": "x",
                        "webhook-timestamp": "1",
                        "webhook-signature": "v1,AAAA",
                    },
                ) as response,
            ):
                assert response.status == 400
        finally:
            await runner.cleanup()
        assert client.closed  # by the app's on_cleanup
