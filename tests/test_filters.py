"""Filters while walking: what is yielded, where the walk stops, and bad values refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

import openai_batches as ob
from openai_batches import BatchStatus, Client
from openai_batches._filters import batch_filter
from tests.conftest import LoopbackServer, sample
from tests.test_pagination import lister

TEMPLATE = sample("batch_object_example")
FILE = sample("file_object_example")
T0 = 1_700_000_000
STATUSES = ["completed", "validating", "failed", "in_progress", "validating"]


def batches(n: int) -> list[dict[str, Any]]:
    """``n`` batches newest first, one second apart, with varied fields."""
    return [
        {
            **copy.deepcopy(TEMPLATE),
            "id": f"batch_{i:04d}",
            "created_at": T0 - i,
            "status": STATUSES[i % len(STATUSES)],
            "endpoint": "/v1/embeddings" if i % 3 == 0 else "/v1/chat/completions",
            "metadata": {"job": "nightly" if i % 2 == 0 else "adhoc", "n": str(i)},
        }
        for i in range(n)
    ]


def files(n: int, *, newest_first: bool) -> list[dict[str, Any]]:
    order = range(n - 1, -1, -1) if newest_first else range(n)
    return [{**FILE, "id": f"file-{i:04d}", "created_at": T0 + i} for i in order]


async def batch_ids(server: LoopbackServer, **kwargs: Any) -> list[str]:
    async with server.client() as client:
        return [b.id async for b in client.batches.list(**kwargs)]


def requested_after(server: LoopbackServer) -> list[str | None]:
    return [s.query.get("after") for s in server.seen]


# --------------------------------------------------------------------------- batches


async def test_created_after_ends_the_walk_at_the_first_older_batch(
    server: LoopbackServer,
) -> None:
    server.add("GET", "/v1/batches", lister(batches(12)))
    got = await batch_ids(server, limit=3, created_after=T0 - 4)
    assert got == [f"batch_{i:04d}" for i in range(5)]  # created_after is inclusive
    # The second page holds the first older batch: no third page is asked for.
    assert requested_after(server) == [None, "batch_0002"]


async def test_created_before_skips_the_newer_batches(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(8)))
    got = await batch_ids(server, limit=3, created_before=T0 - 5)
    assert got == ["batch_0006", "batch_0007"]  # created_before is exclusive
    assert len(server.seen) == 3


async def test_a_window_of_datetimes(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(12)))
    start = datetime.fromtimestamp(T0 - 7, UTC).astimezone(timezone(timedelta(hours=-5)))
    end = datetime.fromtimestamp(T0 - 2, UTC)
    got = await batch_ids(server, limit=4, created_after=start, created_before=end)
    assert got == [f"batch_{i:04d}" for i in range(3, 8)]
    # The second page ends at created_after exactly; more batches of that second may
    # follow, so the third page is asked for, and ends the walk.
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("validating", [1, 4, 6, 9]),
        (BatchStatus.FAILED, [2, 7]),
        (["completed", BatchStatus.IN_PROGRESS], [0, 3, 5, 8]),
        (frozenset({"failed"}), [2, 7]),
        (BatchStatus("paused"), []),
    ],
)
async def test_status(server: LoopbackServer, status: Any, expected: list[int]) -> None:
    server.add("GET", "/v1/batches", lister(batches(10)))
    assert await batch_ids(server, limit=4, status=status) == [f"batch_{i:04d}" for i in expected]
    assert len(server.seen) == 3  # a status says nothing about where the walk may end


async def test_endpoint_and_metadata(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(10)))
    got = await batch_ids(server, endpoint="/v1/embeddings", metadata={"job": "nightly"})
    assert got == ["batch_0000", "batch_0006"]
    got = await batch_ids(server, endpoint=["/v1/embeddings", "/v1/chat/completions"])
    assert len(got) == 10
    got = await batch_ids(server, metadata={"job": "adhoc", "n": "3"})
    assert got == ["batch_0003"]


async def test_batches_without_metadata_match_no_pairs(server: LoopbackServer) -> None:
    items = batches(3)
    items[1]["metadata"] = None
    server.add("GET", "/v1/batches", lister(items))
    assert await batch_ids(server, metadata={"job": "nightly"}) == ["batch_0000", "batch_0002"]
    assert len(await batch_ids(server, metadata={})) == 3


@pytest.mark.parametrize(("max_items", "requests"), [(3, 1), (4, 2), (1, 1), (30, 4)])
async def test_max_items_ends_the_walk_at_once(
    server: LoopbackServer, max_items: int, requests: int
) -> None:
    server.add("GET", "/v1/batches", lister(batches(10)))
    got = await batch_ids(server, limit=3, max_items=max_items)
    assert got == [f"batch_{i:04d}" for i in range(min(max_items, 10))]
    assert len(server.seen) == requests


async def test_max_items_counts_what_the_other_filters_let_through(
    server: LoopbackServer,
) -> None:
    server.add("GET", "/v1/batches", lister(batches(10)))
    got = await batch_ids(server, limit=2, status="validating", max_items=2)
    assert got == ["batch_0001", "batch_0004"]
    assert len(server.seen) == 3


async def test_max_items_zero_sends_nothing(server: LoopbackServer) -> None:
    server.add("GET", "/v1/batches", lister(batches(3)))
    assert await batch_ids(server, max_items=0) == []
    assert server.seen == []


@pytest.mark.parametrize("prefetch", [0, 1, 3])
async def test_the_stop_holds_with_look_ahead(server: LoopbackServer, prefetch: int) -> None:
    """The page that ends the walk is the last one requested, even when fetching ahead."""
    server.add("GET", "/v1/batches", lister(batches(30)))
    got = await batch_ids(server, limit=3, created_after=T0 - 7, prefetch=prefetch)
    assert got == [f"batch_{i:04d}" for i in range(8)]
    assert requested_after(server) == [None, "batch_0002", "batch_0005"]


async def test_an_unreadable_item_is_left_for_decoding_to_report(
    server: LoopbackServer,
) -> None:
    items = batches(5)
    items[2]["created_at"] = "yesterday"
    server.add("GET", "/v1/batches", lister(items))
    got: list[str] = []
    async with server.client() as client:
        with pytest.raises(ob.ResponseValidationError, match="created_at"):
            async for batch in client.batches.list(created_after=T0 - 3, status="failed"):
                got.append(batch.id)
    assert got == []


# --------------------------------------------------------------------------- files


async def test_files_newest_first_stop_at_the_first_older_file(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(20, newest_first=True), default=10_000))
    async with server.client() as client:
        got = [f.id async for f in client.files.list(limit=4, created_after=T0 + 13)]
    assert got == [f"file-{i:04d}" for i in range(19, 12, -1)]
    assert len(server.seen) == 2


async def test_files_oldest_first_stop_at_created_before(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(20, newest_first=False), default=10_000))
    async with server.client() as client:
        got = [
            f.id
            async for f in client.files.list(
                order="asc", limit=4, created_after=T0 + 2, created_before=T0 + 6
            )
        ]
    assert got == [f"file-{i:04d}" for i in range(2, 6)]
    assert len(server.seen) == 2
    assert all(s.query["order"] == "asc" for s in server.seen)


async def test_files_max_items(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(20, newest_first=True), default=10_000))
    async with server.client() as client:
        got = [f.id async for f in client.files.list(limit=5, max_items=5)]
    assert got == [f"file-{i:04d}" for i in range(19, 14, -1)]
    assert len(server.seen) == 1


async def test_filters_change_nothing_that_is_requested(server: LoopbackServer) -> None:
    server.add("GET", "/v1/files", lister(files(3, newest_first=True), default=10_000))
    async with server.client() as client:
        async for _ in client.files.list(purpose="batch", created_before=T0 + 1, max_items=9):
            pass
    assert [s.query for s in server.seen] == [{"purpose": "batch", "limit": "1000"}]


# --------------------------------------------------------------------------- bad values


def batch_calls(client: Client) -> dict[str, Any]:
    return {"batches": client.batches.list, "files": client.files.list}


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"status": "validatng"}, ValueError, "status 'validatng'"),
        ({"status": []}, ValueError, "status"),
        ({"status": 3}, TypeError, "status"),
        ({"status": ["completed", None]}, TypeError, "status"),
        ({"endpoint": "chat/completions"}, ValueError, "endpoint"),
        ({"endpoint": ["/v1/embeddings", b"/v1/x"]}, TypeError, "endpoint"),
        ({"metadata": [("job", "x")]}, TypeError, "metadata"),
        ({"metadata": {"job": 1}}, TypeError, r"metadata\['job'\]"),
        ({"created_after": datetime(2024, 1, 1)}, ValueError, "created_after is a naive"),
        ({"created_before": "2024-01-01"}, TypeError, "created_before"),
        ({"created_after": True}, TypeError, "created_after"),
        ({"created_after": float("nan")}, ValueError, "created_after"),
        ({"created_after": 10, "created_before": 10}, ValueError, "window is empty"),
        ({"max_items": -1}, ValueError, "max_items"),
        ({"max_items": 2.0}, TypeError, "max_items"),
    ],
)
async def test_bad_batch_filters_fail_before_any_request(
    server: LoopbackServer, kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    async with server.client() as client:
        with pytest.raises(error, match=names):
            client.batches.list(**kwargs)
    assert server.seen == []


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"created_after": datetime(2024, 1, 1)}, ValueError, "created_after"),
        ({"created_before": "now"}, TypeError, "created_before"),
        ({"max_items": "5"}, TypeError, "max_items"),
        ({"created_after": 5, "created_before": 1}, ValueError, "created_after"),
    ],
)
async def test_bad_file_filters_fail_before_any_request(
    server: LoopbackServer, kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    async with server.client() as client:
        with pytest.raises(error, match=names):
            client.files.list(**kwargs)
    assert server.seen == []


def test_no_filters_means_no_filtering_stage() -> None:
    assert batch_filter() is None
    assert batch_filter(max_items=None, metadata=None) is None
    assert batch_filter(max_items=0) is not None
