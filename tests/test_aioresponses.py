"""The client at the aiohttp level, with aioresponses standing in for the API.

Fast unit tests with no server at all: the seed calls (retrieve, cancel and list batches,
list files) and the requests they send, retries (zero backoff, counting the calls
aioresponses saw) and the mapping of statuses to errors. aioresponses builds each answer
as an :class:`openai_batches.testing.MockResponse`, which aiohttp 3.14 needs (aioresponses
0.7.9 leaves out ``stream_writer``, upstream #289). The same client against a real
loopback server is tested in test_client.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from aioresponses.core import RequestCall
from yarl import URL

import openai_batches as ob
from openai_batches import Client, RetryPolicy
from openai_batches.testing import MockResponse
from tests.conftest import LoopbackServer, reply, sample

BASE = "https://api.test/v1"
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0, max_delay=0)


class Mocked:
    """aioresponses with every answer built as a MockResponse, and the calls it saw."""

    def __init__(self, mocked: aioresponses) -> None:
        self.mocked = mocked

    def add(self, method: str, path: str, **answer: Any) -> None:
        """Answer the next ``method`` request to ``BASE + path`` (query included)."""
        self.mocked.add(BASE + path, method, response_class=MockResponse, **answer)

    def calls(self, method: str, path: str) -> list[RequestCall]:
        """The requests aioresponses saw for ``method`` and ``BASE + path``."""
        return self.mocked.requests.get((method, URL(BASE + path)), [])

    @property
    def total(self) -> int:
        return sum(len(calls) for calls in self.mocked.requests.values())


@pytest.fixture
def api() -> Iterator[Mocked]:
    with aioresponses() as mocked:
        yield Mocked(mocked)


def client(**kwargs: Any) -> Client:
    kwargs.setdefault("retry_policy", NO_WAIT)
    return Client("sk-test-key", base_url=BASE, **kwargs)


def error_body(message: str = "boom", **fields: Any) -> dict[str, Any]:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    return {"error": {**error, **fields}}


# The seed calls


async def test_retrieve_sends_the_key_and_decodes_the_batch(api: Mocked) -> None:
    api.add("GET", "/batches/batch_abc123", payload=sample("batch_object_example"))
    async with client() as c:
        batch = await c.batches.retrieve("batch_abc123")
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert batch.request_counts.total == 100
    [call] = api.calls("GET", "/batches/batch_abc123")
    headers = call.kwargs["headers"]
    assert headers["Authorization"] == "Bearer sk-test-key"
    assert headers["User-Agent"].startswith("openai-batches/")


async def test_cancel_is_one_post(api: Mocked) -> None:
    api.add("POST", "/batches/batch_abc123/cancel", payload=sample("batch_cancel_example"))
    async with client() as c:
        batch = await c.batches.cancel("batch_abc123")
    assert batch.status == "cancelling"
    assert api.total == 1


async def test_list_batches_follows_the_cursor(api: Mocked) -> None:
    first = sample("list_batches_no_cursors")
    first.update(has_more=True, last_id="batch_failed")
    second = {"object": "list", "data": [sample("batch_object_example")], "has_more": False}
    api.add("GET", "/batches?limit=2", payload=first)
    api.add("GET", "/batches?limit=2&after=batch_failed", payload=second)
    async with client() as c:
        ids = [b.id async for b in c.batches.list(limit=2)]
    assert ids == ["batch_new", "batch_failed", "batch_abc123"]
    assert api.total == 2


async def test_list_files_sends_its_filters(api: Mocked) -> None:
    listing = sample("list_files_example")
    api.add("GET", "/files?purpose=batch&order=asc&limit=1000", payload=listing)
    async with client() as c:
        files = [f async for f in c.files.list(purpose="batch", order="asc")]
    assert [f.id for f in files] == ["file-abc123", "file-abc456"]
    assert files[0].purpose == "assistants"


@pytest.mark.parametrize("cursor", [None, ""], ids=["null", "empty-string"])
async def test_an_empty_page_of_files_decodes_with_either_cursor(
    api: Mocked, cursor: str | None
) -> None:
    """The document requires strings on an empty page; the live API may send null."""
    empty = {"object": "list", "data": [], "first_id": cursor, "last_id": cursor}
    api.add("GET", "/files?limit=1000", payload={**empty, "has_more": False})
    api.add("GET", "/files?limit=1000", payload={**empty, "has_more": False})
    async with client() as c:
        assert [f async for f in c.files.list()] == []
        [page] = [p async for p in c.files.pages()]
    assert (page.data, page.first_id, page.last_id, page.next_after) == ([], cursor, cursor, None)


# Retries


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
async def test_a_retryable_status_is_retried(api: Mocked, status: int) -> None:
    api.add("GET", "/batches/b", status=status, payload=error_body())
    api.add("GET", "/batches/b", payload=sample("batch_object_example"))
    async with client() as c:
        assert (await c.batches.retrieve("b")).id == "batch_abc123"
    assert len(api.calls("GET", "/batches/b")) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_client_errors_are_not_retried(api: Mocked, status: int) -> None:
    api.add("GET", "/batches/b", status=status, payload=error_body())
    async with client() as c:
        with pytest.raises(ob.APIStatusError):
            await c.batches.retrieve("b")
    assert len(api.calls("GET", "/batches/b")) == 1


async def test_retries_stop_after_max_retries(api: Mocked) -> None:
    for _ in range(4):
        api.add("GET", "/batches/b", status=503, payload=error_body("down"))
    async with client() as c:
        with pytest.raises(ob.InternalServerError, match="down"):
            await c.batches.retrieve("b")
    assert len(api.calls("GET", "/batches/b")) == 3  # the first attempt and 2 retries


async def test_a_lost_connection_is_retried(api: Mocked) -> None:
    api.add("GET", "/batches/b", exception=aiohttp.ServerDisconnectedError())
    api.add("GET", "/batches/b", payload=sample("batch_object_example"))
    async with client() as c:
        assert (await c.batches.retrieve("b")).id == "batch_abc123"
    assert len(api.calls("GET", "/batches/b")) == 2


async def test_timeouts_become_api_timeout_error_after_the_retries(api: Mocked) -> None:
    for _ in range(3):
        api.add("GET", "/files/file-1", timeout=True)
    async with client() as c:
        with pytest.raises(ob.APITimeoutError):
            await c.files.retrieve("file-1")
    assert len(api.calls("GET", "/files/file-1")) == 3


@pytest.mark.parametrize(("status", "hint", "calls"), [(503, "false", 1), (400, "true", 2)])
async def test_x_should_retry_overrides_the_status(
    api: Mocked, status: int, hint: str, calls: int
) -> None:
    hinted = {"x-should-retry": hint}
    api.add("GET", "/batches/b", status=status, payload=error_body(), headers=hinted)
    api.add("GET", "/batches/b", status=status, payload=error_body())
    async with client(retry_policy=RetryPolicy(max_retries=1, initial_delay=0)) as c:
        with pytest.raises(ob.APIStatusError):
            await c.batches.retrieve("b")
    assert len(api.calls("GET", "/batches/b")) == calls


async def test_retry_after_ms_is_the_wait(api: Mocked, sleeps: list[float]) -> None:
    wait = {"retry-after-ms": "250"}
    api.add("GET", "/batches/b", status=429, payload=error_body(), headers=wait)
    api.add("GET", "/batches/b", payload=sample("batch_object_example"))
    async with client() as c:
        await c.batches.retrieve("b")
    assert sleeps == [0.25]


# Statuses and bodies -> errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ob.BadRequestError),
        (401, ob.AuthenticationError),
        (403, ob.PermissionDeniedError),
        (404, ob.NotFoundError),
        (409, ob.ConflictError),
        (422, ob.UnprocessableEntityError),
        (429, ob.RateLimitError),
        (500, ob.InternalServerError),
        (504, ob.InternalServerError),
        (418, ob.APIStatusError),
    ],
)
async def test_each_status_raises_its_error_with_the_body_fields(
    api: Mocked, status: int, cls: type[ob.APIStatusError]
) -> None:
    body = error_body("No batch found", param="batch_id", code="not_found")
    api.add("GET", "/batches/b", status=status, payload=body, headers={"x-request-id": "req_9"})
    async with client(retry_policy=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(ob.APIStatusError) as caught:
            await c.batches.retrieve("b")
    error = caught.value
    assert type(error) is cls
    assert (error.status_code, error.request_id) == (status, "req_9")
    assert (error.message, error.param, error.code) == ("No batch found", "batch_id", "not_found")
    assert error.type == "invalid_request_error"
    assert error.url == f"{BASE}/batches/b"
    assert str(error) == f"Error code: {status} - No batch found (request id req_9)"


async def test_a_proxy_page_is_quoted(api: Mocked) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    api.add("GET", "/batches/b", status=502, body=page, content_type="text/html")
    async with client(retry_policy=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(ob.InternalServerError, match="502 Bad Gateway") as caught:
            await c.batches.retrieve("b")
    assert caught.value.body == page


async def test_a_2xx_that_is_not_json_is_a_validation_error(api: Mocked) -> None:
    api.add("GET", "/batches/b", body="<html>maintenance</html>", content_type="text/html")
    async with client() as c:
        with pytest.raises(ob.APIResponseValidationError) as caught:
            await c.batches.retrieve("b")
    assert caught.value.path == "$"
    assert api.total == 1  # a 2xx is an answer: never retried


async def test_mock_response_uses_the_writer_it_is_given(server: LoopbackServer) -> None:
    """aiohttp itself passes a writer: MockResponse then behaves as ClientResponse does."""
    server.add("POST", "/v1/echo", reply(json_body={"ok": True}))
    async with (
        aiohttp.ClientSession(response_class=MockResponse) as session,
        session.post(f"{server.url}/echo", data=b"x" * 1000) as response,
    ):
        assert isinstance(response, MockResponse)
        assert await response.json() == {"ok": True}
        with pytest.warns(DeprecationWarning, match="output_size"):
            sent = response.output_size
    assert sent > 1000  # the request line, the headers and the body: the real writer's count
