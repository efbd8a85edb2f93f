"""examples/fastapi/app.py against the emulator, through httpx's ASGI transport.

httpx's transport does not run the app's lifespan: each test enters it itself
(``app.router.lifespan_context``), as a server would around its requests. The jobs poll
on the emulator's manual clock, through a ``sleep`` the tests hold: a job moves on only
when a test lets it, or when a webhook wakes it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.util
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from openai_batches import Polling
from openai_batches.emulator import Emulator, ManualClock, Timing

APP = Path(__file__).resolve().parents[1] / "examples" / "fastapi" / "app.py"


@pytest.fixture(scope="module")
def example() -> Iterator[ModuleType]:
    # Loaded from its file: the folder is named after the package it shows, so it cannot
    # go on sys.path.
    spec = importlib.util.spec_from_file_location("fastapi_example_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def chat(custom_id: str, text: str) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


REQUESTS = [chat(f"q{n}", f"question {n}") for n in range(5)]
JSONL = b"".join(json.dumps(line).encode() + b"\n" for line in REQUESTS)


class Gate:
    """A job's polling: each pause says it started, then waits to be let through."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.paused = asyncio.Event()
        self.open = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.paused.set()
        await self.open.wait()
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    def polling(self) -> Polling:
        return Polling(interval=1.0, max_interval=5.0, sleep=self.sleep)


# One request a (manual) second: a batch of 5 is in progress at its first poll.
TIMING = Timing(validating=0, finalizing=0, requests_per_second=1)


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    async with Emulator(clock=ManualClock(), timing=TIMING) as emulator:
        monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emulator.url)
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", emulator.webhook_secret)
        yield emulator


@pytest.fixture
def gate(emu: Emulator) -> Gate:
    assert isinstance(emu.clock, ManualClock)
    return Gate(emu.clock)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as http,
    ):
        yield http


async def finished(app: FastAPI, job_id: str) -> None:
    """Wait for the job's task (bounded, so a job that never ends fails the test)."""
    await asyncio.wait_for(asyncio.shield(app.state.jobs.tasks[job_id]), timeout=20)


def signed(secret: str, body: bytes, *, msg_id: str = "msg_1") -> dict[str, str]:
    """Standard Webhooks headers, computed here rather than by the library."""
    timestamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }


def event(batch_id: str) -> bytes:
    body = {"id": "evt_1", "object": "event", "type": "batch.completed", "created_at": 1}
    return json.dumps({**body, "data": {"id": batch_id}}).encode()


async def test_submit_progress_results(
    example: ModuleType, emu: Emulator, gate: Gate, tmp_path: Path
) -> None:
    app = example.create_app(tmp_path / "jobs", polling=gate.polling())
    async with serve(app) as http:
        answer = await http.post(
            "/jobs", content=JSONL, headers={"content-type": "application/x-ndjson"}
        )
        assert answer.status_code == 202
        job_id = answer.json()["id"]
        assert (tmp_path / "jobs" / job_id / "input.jsonl").read_bytes() == JSONL

        await gate.paused.wait()  # the job's batch is in progress; the job waits for it
        status = (await http.get(f"/jobs/{job_id}")).json()
        assert status["state"] == "running"
        assert status["error"] is None
        assert status["report"]["requests"] == 5
        assert status["report"]["pending"] == 5
        assert status["progress"]["event"] == "batch"
        assert status["progress"]["batches"] == {"in_progress": 1}
        early = await http.get(f"/jobs/{job_id}/results")
        assert early.status_code == 409
        assert "running" in early.json()["detail"]

        gate.open.set()
        await finished(app, job_id)
        status = (await http.get(f"/jobs/{job_id}")).json()
        assert status["state"] == "finished"
        assert status["progress"]["event"] == "finished"
        report = status["report"]
        assert (report["succeeded"], report["failed"], report["pending"]) == (5, 0, 0)

        async with http.stream("GET", f"/jobs/{job_id}/results") as results:
            assert results.status_code == 200
            assert results.headers["content-type"] == "application/x-ndjson"
            body = b"".join([chunk async for chunk in results.aiter_bytes()])
        lines = [json.loads(line) for line in body.splitlines()]
        assert [line["custom_id"] for line in lines] == [r["custom_id"] for r in REQUESTS]
        assert lines[3]["response"]["body"]["choices"][0]["message"]["content"] == (
            "echo: question 3"
        )
        assert body == (tmp_path / "jobs" / job_id / "results.jsonl").read_bytes()

        # A batch through the client dependency, as the API's JSON.
        batches = [b async for b in app.state.client.batches.list()]
        assert len(batches) == 1
        answer = await http.get(f"/batches/{batches[0].id}")
        assert answer.json() == batches[0].to_dict()
        assert answer.json()["status"] == "completed"
        assert (await http.get("/batches/batch_nope")).status_code == 404


async def test_unknown_and_malformed_job_ids(
    example: ModuleType, emu: Emulator, tmp_path: Path
) -> None:
    app = example.create_app(tmp_path / "jobs")
    async with serve(app) as http:
        assert (await http.get(f"/jobs/{'0' * 32}")).status_code == 404
        assert (await http.get(f"/jobs/{'0' * 32}/results")).status_code == 404
        assert (await http.get("/jobs/..%2f..%2fetc")).status_code in (404, 422)
        assert (await http.get("/jobs/NOT-AN-ID")).status_code == 422


async def test_a_signed_webhook_wakes_the_job_and_a_forged_one_is_refused(
    example: ModuleType, emu: Emulator, gate: Gate, tmp_path: Path
) -> None:
    # The gate never opens: only a webhook can tell the job its batch has ended.
    app = example.create_app(tmp_path / "jobs", polling=gate.polling())
    async with serve(app) as http:
        job_id = (await http.post("/jobs", content=JSONL)).json()["id"]
        await gate.paused.wait()
        batch_id = (await http.get(f"/jobs/{job_id}")).json()["progress"]["batch_id"]
        assert batch_id.startswith("batch_")
        gate.clock.advance(60)  # the batch completes, but nobody polls it

        body = event(batch_id)
        forged = signed("whsec_" + base64.b64encode(b"not the secret").decode(), body)
        refused = await http.post("/webhooks/openai", content=body, headers=forged)
        assert refused.status_code == 400
        assert "signature" in refused.json()["detail"]
        unsigned = await http.post("/webhooks/openai", content=body)
        assert unsigned.status_code == 400
        tampered = await http.post(
            "/webhooks/openai",
            content=body.replace(b"evt_1", b"evt_2"),
            headers=signed(emu.webhook_secret, body),
        )
        assert tampered.status_code == 400
        assert not app.state.jobs.tasks[job_id].done()

        accepted = await http.post(
            "/webhooks/openai", content=body, headers=signed(emu.webhook_secret, body)
        )
        assert accepted.status_code == 204
        await finished(app, job_id)
        status = (await http.get(f"/jobs/{job_id}")).json()
        assert status["state"] == "finished"
        assert status["report"]["succeeded"] == 5


async def test_a_job_cut_short_by_a_shutdown_resumes_at_the_next_start(
    example: ModuleType, emu: Emulator, gate: Gate, tmp_path: Path
) -> None:
    app = example.create_app(tmp_path / "jobs", polling=gate.polling())
    async with serve(app) as http:
        job_id = (await http.post("/jobs", content=JSONL)).json()["id"]
        await gate.paused.wait()
    task = app.state.jobs.tasks[job_id]
    assert task.cancelled()

    gate.open.set()
    again = example.create_app(tmp_path / "jobs", polling=gate.polling())
    async with serve(again) as http:
        await finished(again, job_id)
        status = (await http.get(f"/jobs/{job_id}")).json()
        assert status["state"] == "finished"
        assert status["report"]["succeeded"] == 5
    # The batch of the first start was waited for, not created again.
    async with emu.client() as client:
        assert len([b async for b in client.batches.list()]) == 1


async def test_a_bad_input_fails_its_job_only(
    example: ModuleType, emu: Emulator, tmp_path: Path
) -> None:
    app = example.create_app(tmp_path / "jobs")
    async with serve(app) as http:
        job_id = (await http.post("/jobs", content=b"not json\n")).json()["id"]
        await finished(app, job_id)
        status = (await http.get(f"/jobs/{job_id}")).json()
        assert status["state"] == "failed"
        assert status["error"].startswith("BatchInputError")
        assert (await http.get(f"/jobs/{job_id}/results")).status_code == 409
