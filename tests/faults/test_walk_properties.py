"""Walks under random page sizes, object counts and fault schedules.

Each example serves ``count`` objects in pages whose sizes the server chooses (never more
than the walk's ``limit``), answers each request with the next fault of a random schedule,
and predicts from the schedule alone what the walk must do: yield every object exactly
once, in order, or raise the typed error of the fault that stopped it after yielding
exactly the objects before it. The server also checks that the walk sent exactly the
requests the prediction needs: no retry too many, no page fetched twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import attrs
import orjson
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openai_batches as ob

from ._api import batch, file
from ._server import Answer, CutShort, Reply, Request, Server

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Faults that a retry may clear, and the error each ends in when retries run out.
RETRYABLE: dict[str, type[ob.OpenAIError]] = {
    "500": ob.InternalServerError,
    "503": ob.InternalServerError,
    "429": ob.RateLimitError,
    "cut": ob.APIConnectionError,
}
#: Faults that end a walk at once.
FATAL: dict[str, type[ob.OpenAIError]] = {
    "truncated": ob.ResponseValidationError,  # a page that is not JSON
    "bad item": ob.ResponseValidationError,  # an item whose created_at is a string
    "repeat": ob.PaginationError,  # the previous page again: its cursor comes back
    "empty": ob.PaginationError,  # no items, yet has_more
}
FAULTS = ["none"] * 6 + [*RETRYABLE, *FATAL]
WALKS = ("batches.list", "batches.pages", "files.list", "files.pages")


@attrs.define
class Example:
    """One drawn listing: its objects, how the server pages them, and its faults.

    The server's pages are fixed by the listing alone: page ``k`` holds at most the
    walk's ``limit`` and at most ``caps[k]`` objects (an API may send fewer than asked).
    """

    kind: str
    objects: list[dict[str, Any]]
    limit: int
    caps: list[int]
    bare: list[bool]  # pages answered without first_id and last_id
    schedule: list[str]
    requests: int = 0
    previous: bytes | None = None

    def page(self, number: int, start: int) -> int:
        """The size of page ``number``, which starts at ``start``."""
        cap = self.caps[number] if number < len(self.caps) else self.limit
        return min(self.limit, cap, len(self.objects) - start)

    def starts(self) -> list[int]:
        starts, position = [0], 0
        while position < len(self.objects):
            position += self.page(len(starts) - 1, position)
            starts.append(position)
        return starts

    def answer(self, request: Request) -> Reply:
        fault = self.schedule[self.requests] if self.requests < len(self.schedule) else "none"
        self.requests += 1
        if fault == "repeat" and self.previous is None:
            fault = "none"  # the first page has no page before it to repeat
        if fault in ("500", "503"):
            return Answer(int(fault), b'{"error": {"message": "fault"}}')
        if fault == "429":
            headers = (("retry-after-ms", "0"),)
            return Answer(429, b'{"error": {"message": "slow down"}}', headers=headers)
        if fault == "empty":
            page = {"object": "list", "data": [], "first_id": None, "last_id": None}
            return Answer(200, orjson.dumps({**page, "has_more": True}))
        if fault == "repeat":
            assert self.previous is not None
            return Answer(200, self.previous)
        ids = [obj["id"] for obj in self.objects]
        start = ids.index(request.query["after"]) + 1 if "after" in request.query else 0
        number = self.starts().index(start)
        size = self.page(number, start)
        data = [dict(obj) for obj in self.objects[start : start + size]]
        if fault == "bad item" and data:
            data[len(data) // 2]["created_at"] = "yesterday"
        page: dict[str, Any] = {"object": "list", "data": data}
        if not (number < len(self.bare) and self.bare[number]):
            page["first_id"] = data[0]["id"] if data else None
            page["last_id"] = data[-1]["id"] if data else None
        body = orjson.dumps({**page, "has_more": start + size < len(ids)})
        if fault == "truncated":
            return Answer(200, body[: len(body) // 2])
        if fault == "cut":
            return CutShort(Answer(200, body), len(body) // 2)
        if fault == "none":
            self.previous = orjson.dumps({**page, "has_more": True})
        return Answer(200, body)


@attrs.frozen
class Prediction:
    """What the walk must yield (ids, one list per page), how it ends, and what it sends."""

    pages: list[list[str]]
    error: type[ob.OpenAIError] | None
    requests: int


def predict(example: Example, retries: int, walk: str) -> Prediction:
    """Replay the schedule against the listing, as the documented walk must."""
    ids = [obj["id"] for obj in example.objects]
    pages: list[list[str]] = []
    schedule = iter(example.schedule)
    requests = 0
    position = 0
    while True:
        retry = 0
        while True:
            fault = next(schedule, "none")
            requests += 1
            if fault == "repeat" and not pages:
                fault = "none"
            if fault not in RETRYABLE:
                break
            if retry >= retries:
                return Prediction(pages, RETRYABLE[fault], requests)
            retry += 1
        size = example.page(len(pages), position)
        page = ids[position : position + size]
        if fault == "bad item" and page:
            if walk.endswith(".list"):
                pages.append(page[: len(page) // 2])
            return Prediction(pages, ob.ResponseValidationError, requests)
        if fault in FATAL and fault != "bad item":
            return Prediction(pages, FATAL[fault], requests)
        pages.append(page)
        position += size
        if position >= len(ids):
            return Prediction(pages, None, requests)


class Walks:
    """One loopback server for the module; each example plugs its listing in."""

    def __init__(self) -> None:
        self.server = Server(self._route)
        self.example: Example | None = None

    async def _route(self, request: Request) -> Reply:
        assert self.example is not None
        return self.example.answer(request)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def walks() -> AsyncIterator[Walks]:
    served = Walks()
    await served.server.start()
    try:
        yield served
    finally:
        await served.server.close()


def _objects(kind: str, count: int) -> list[dict[str, Any]]:
    if kind == "batches":
        return [batch(f"batch_{i:03d}", "completed", 1_700_000_000 - i) for i in range(count)]
    return [
        file(f"file_{i:03d}", f"f{i}.jsonl", i, 1_700_000_000 - i, "batch") for i in range(count)
    ]


async def _walk(client: ob.Client, walk: str, example: Example, pages: list[list[str]]) -> None:
    """Walk, noting the ids yielded (one list per page; one list in all for ``list()``)."""
    served = {obj["id"]: obj for obj in example.objects}
    resource = client.batches if walk.startswith("batches") else client.files
    if walk.endswith(".list"):
        pages.append([])
        async with aclosing(resource.list(limit=example.limit)) as items:
            async for item in items:
                assert dict(item.raw) == served[item.id]
                pages[0].append(item.id)
    else:
        async with aclosing(resource.pages(limit=example.limit)) as walked:
            async for page in walked:
                assert all(dict(item.raw) == served[item.id] for item in page.data)
                pages.append([item.id for item in page.data])


@pytest.mark.parametrize("walk", WALKS)
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(0, 20),
    limit=st.integers(1, 8),
    caps=st.lists(st.integers(1, 8), max_size=20),
    bare=st.lists(st.booleans(), max_size=20),
    schedule=st.lists(st.sampled_from(FAULTS), max_size=16),
    retries=st.integers(0, 3),
)
async def test_a_walk_yields_each_object_once_in_order_or_raises_typed(
    walks: Walks,
    walk: str,
    count: int,
    limit: int,
    caps: list[int],
    bare: list[bool],
    schedule: list[str],
    retries: int,
) -> None:
    kind = walk.split(".")[0]
    example = Example(kind, _objects(kind, count), limit, caps, bare, schedule)
    walks.example = example
    expected = predict(example, retries, walk)
    policy = ob.RetryPolicy(max_retries=retries, initial_delay=0, max_delay=0, jitter=0)
    seen: list[list[str]] = []
    error: Exception | None = None
    async with ob.Client(
        "sk-walk", base_url=f"{walks.server.url}/v1", retry_policy=policy
    ) as client:
        try:
            await _walk(client, walk, example, seen)
        except Exception as exc:
            error = exc
    if walk.endswith(".list"):
        flat = [object_id for page in expected.pages for object_id in page]
        assert seen == [flat], (seen, flat)
    else:
        assert seen == expected.pages
    if expected.error is None:
        assert error is None, repr(error)
    else:
        assert isinstance(error, expected.error), repr(error)
    assert example.requests == expected.requests
