"""Fault injection, observed with a raw aiohttp session (one connection per request, so aiohttp
never silently retries a dropped keep-alive connection)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from conftest import SPEC, chat

from openai_batches.emulator import Emulator, FaultRule, ManualClock


@pytest.fixture
async def raw(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(force_close=True)
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url + "/", headers=headers, connector=connector) as s:
        yield s


@pytest.fixture
def batch_body(emu: Emulator) -> dict[str, Any]:
    source = emu.store.put_jsonl([chat("a", "hello")])
    return {
        "input_file_id": source["id"],
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }


def batch_count(emu: Emulator) -> int:
    return len(emu.store.list_batches(limit=100)["data"])


async def test_429_with_retry_headers(
    emu: Emulator, raw: aiohttp.ClientSession, batch_body: dict[str, Any]
) -> None:
    emu.faults.add(
        FaultRule("status", "POST", "/v1/batches", status=429, retry_after=2, retry_after_ms=1500)
    )
    async with raw.post("batches", json=batch_body) as response:
        assert response.status == 429
        assert response.headers["retry-after"] == "2"
        assert response.headers["retry-after-ms"] == "1500"
        assert response.headers["x-request-id"].startswith("req_")
        body = await response.json()
    SPEC.check("ErrorResponse", body)
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert batch_count(emu) == 0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors(emu: Emulator, raw: aiohttp.ClientSession, status: int) -> None:
    emu.faults.add(FaultRule("status", status=status, message="boom"))
    async with raw.get("files") as response:
        assert response.status == status
        assert "retry-after" not in response.headers
        body = await response.json()
    assert body == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None}
    }


async def test_times_limits_a_rule(emu: Emulator, raw: aiohttp.ClientSession) -> None:
    rule = emu.faults.add(FaultRule("status", "GET", "/v1/files", status=503, times=2))
    statuses = []
    for _ in range(4):
        async with raw.get("files") as response:
            statuses.append(response.status)
    assert statuses == [503, 503, 200, 200]
    assert rule.hits == 2
    assert rule.exhausted


async def test_rules_match_method_and_path_pattern(
    emu: Emulator, raw: aiohttp.ClientSession
) -> None:
    file = emu.store.put_file("a.txt", "user_data", b"abc")
    emu.faults.add(FaultRule("status", "GET", "/v1/files/*/content", status=500))
    async with raw.get(f"files/{file['id']}") as response:
        assert response.status == 200
    async with raw.delete(f"files/{file['id']}/content") as response:
        assert response.status == 404  # no DELETE route; the GET-only rule does not apply
    async with raw.get(f"files/{file['id']}/content") as response:
        assert response.status == 500
    emu.faults.clear()
    async with raw.get(f"files/{file['id']}/content") as response:
        assert response.status == 200


async def test_reset_before_the_handler(
    emu: Emulator, raw: aiohttp.ClientSession, batch_body: dict[str, Any]
) -> None:
    emu.faults.add(FaultRule("reset", "POST", "/v1/batches", times=1))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with raw.post("batches", json=batch_body):
            pass
    assert batch_count(emu) == 0
    assert [r.path for r in emu.requests] == ["/v1/batches"]


async def test_reset_after_the_handler_keeps_the_side_effect(
    emu: Emulator, raw: aiohttp.ClientSession, batch_body: dict[str, Any]
) -> None:
    emu.faults.add(FaultRule("reset", "POST", "/v1/batches", after=True, times=1))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with raw.post("batches", json=batch_body):
            pass
    assert batch_count(emu) == 1
    async with raw.post("batches", json=batch_body) as response:  # the retry
        assert response.status == 200
    assert batch_count(emu) == 2


async def test_status_after_the_handler_keeps_the_side_effect(
    emu: Emulator, raw: aiohttp.ClientSession, batch_body: dict[str, Any]
) -> None:
    emu.faults.add(FaultRule("status", "POST", "/v1/batches", status=500, after=True))
    async with raw.post("batches", json=batch_body) as response:
        assert response.status == 500
        assert (await response.json())["error"]["type"] == "server_error"
    assert batch_count(emu) == 1


async def test_delay_after_the_handler_outlasts_a_client_timeout(
    emu: Emulator, raw: aiohttp.ClientSession, batch_body: dict[str, Any]
) -> None:
    emu.faults.add(FaultRule("delay", "POST", "/v1/batches", delay=0.3, after=True))
    with pytest.raises(TimeoutError):
        async with raw.post("batches", json=batch_body, timeout=aiohttp.ClientTimeout(total=0.05)):
            pass
    assert batch_count(emu) == 1


async def test_delay_before_answering(emu: Emulator, raw: aiohttp.ClientSession) -> None:
    emu.faults.add(FaultRule("delay", delay=0.05))
    started = time.monotonic()
    async with raw.get("files") as response:
        assert response.status == 200
    assert time.monotonic() - started >= 0.05


@pytest.mark.parametrize("path", ["files", "content"])
async def test_slow_body_arrives_whole(
    emu: Emulator, raw: aiohttp.ClientSession, path: str
) -> None:
    data = b"0123456789" * 50
    file = emu.store.put_file("a.txt", "user_data", data)
    if path == "content":
        path = f"files/{file['id']}/content"
    emu.faults.add(FaultRule("slow_body", delay=0.005, chunk_size=100))
    started = time.monotonic()
    async with raw.get(path) as response:
        assert response.status == 200
        assert response.headers["x-request-id"].startswith("req_")
        length = int(response.headers["Content-Length"])
        body = await response.read()
    assert len(body) == length
    assert time.monotonic() - started >= (length // 100 - 1) * 0.005
    if path == "files":
        SPEC.check("ListFilesResponse", json.loads(body))
    else:
        assert body == data


async def test_truncated_body(emu: Emulator, raw: aiohttp.ClientSession) -> None:
    data = bytes(range(256)) * 40
    file = emu.store.put_file("a.bin", "user_data", data)
    emu.faults.add(FaultRule("truncate", "GET", "/v1/files/*/content", keep=1000))
    async with raw.get(f"files/{file['id']}/content") as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == str(len(data))
        assert response.headers["x-request-id"].startswith("req_")
        assert await response.content.readexactly(1000) == data[:1000]
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_truncated_json_defaults_to_half(emu: Emulator, raw: aiohttp.ClientSession) -> None:
    emu.store.put_file("a.txt", "user_data", b"x")
    emu.faults.add(FaultRule("truncate", path="/v1/files"))
    async with raw.get("files") as response:
        length = int(response.headers["Content-Length"])
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert length > 0


async def statuses_with_seed(seed: int) -> list[int]:
    async with Emulator(clock=ManualClock(), seed=seed) as emu:
        emu.faults.add(FaultRule("status", status=503, probability=0.5))
        connector = aiohttp.TCPConnector(force_close=True)
        headers = {"Authorization": "Bearer k"}
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            statuses = []
            for _ in range(20):
                async with session.get(emu.url + "/files") as response:
                    statuses.append(response.status)
        return statuses


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    first = await statuses_with_seed(11)
    assert first == await statuses_with_seed(11)
    assert set(first) == {200, 503}


def test_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        FaultRule("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probability"):
        FaultRule("reset", probability=2)
