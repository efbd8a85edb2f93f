"""Bearer authentication, unknown routes and ``x-request-id`` on every answer."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from conftest import SPEC
from multidict import CIMultiDict

from openai_batches.emulator import Emulator, ManualClock


async def answer(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, CIMultiDict[str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers) as response,
    ):
        return response.status, response.headers.copy(), await response.json()


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer  ", "Basic abc", "sk-test"])
async def test_missing_key_is_401(emu: Emulator, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    status, response_headers, body = await answer(emu.url + "/batches", headers)
    assert status == 401
    SPEC.check("ErrorResponse", body)
    assert body["error"]["type"] == "invalid_request_error"
    assert "didn't provide an API key" in body["error"]["message"]
    assert response_headers["x-request-id"].startswith("req_")


async def test_any_key_is_accepted_by_default(emu: Emulator) -> None:
    status, _, _ = await answer(emu.url + "/files", {"Authorization": "Bearer whatever"})
    assert status == 200


async def test_configured_keys() -> None:
    async with Emulator(api_keys=["sk-one", "sk-two"], clock=ManualClock()) as emu:
        assert emu.api_key == "sk-one"
        for key in ("sk-one", "sk-two"):
            status, _, _ = await answer(emu.url + "/files", {"Authorization": f"Bearer {key}"})
            assert status == 200
        status, headers, body = await answer(
            emu.url + "/files", {"Authorization": "Bearer sk-wrong-key-123"}
        )
    assert status == 401
    SPEC.check("ErrorResponse", body)
    assert body["error"]["code"] == "invalid_api_key"
    assert "sk-wrong-key-123" not in body["error"]["message"]
    assert body["error"]["message"].startswith("Incorrect API key provided: sk-*")
    assert headers["x-request-id"].startswith("req_")


def test_empty_key_set_is_refused() -> None:
    with pytest.raises(ValueError, match="api_keys"):
        Emulator(api_keys=[])


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("GET", "/v1/models"), ("PUT", "/v1/batches"), ("GET", "/v1/files/x/y/z")],
)
async def test_unknown_routes_are_404_invalid_url(emu: Emulator, method: str, path: str) -> None:
    url = emu.url.removesuffix("/v1") + path
    status, headers, body = await answer(url, {"Authorization": "Bearer k"}, method)
    assert status == 404
    assert body == {
        "error": {
            "message": f"Invalid URL ({method} {path})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert headers["x-request-id"].startswith("req_")


async def test_request_ids_are_unique_and_recorded(emu: Emulator) -> None:
    seen = []
    for _ in range(3):
        _, headers, _ = await answer(emu.url + "/files?limit=2", {"Authorization": "Bearer k"})
        seen.append(headers["x-request-id"])
    assert len(set(seen)) == 3
    assert [r.request_id for r in emu.requests] == seen
    assert emu.requests[0].method == "GET"
    assert emu.requests[0].path == "/v1/files"
    assert emu.requests[0].query == {"limit": "2"}
    assert emu.requests[0].headers["Authorization"] == "Bearer k"
