"""``files.scan()``: every file present for the whole scan is yielded exactly once.

Two kinds of property tests against the emulator. One drives the meeting of the two walks
step by step on the emulator's store, with every interleaving of fetches, sifts, creates
and deletes open to hypothesis. The other runs ``client.files.scan()`` over HTTP, with
creates and deletes applied as each page request starts and the two walks' requests
reordered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openai_batches as ob
from openai_batches._scan import _AHEAD, Meeting
from openai_batches.emulator import Emulator, FaultRule, ManualClock, Store
from tests.conftest import LoopbackServer, sample
from tests.test_prefetch import library_tasks

T0 = 1_700_000_000
FILE = sample("file_object_example")

# Creation times are drawn from a few seconds, so ties in created_at are common.
created_ats = st.lists(st.integers(min_value=0, max_value=4), max_size=40)


def seed(store: Store, offsets: list[int]) -> list[str]:
    return [
        store.put_file(f"f{i}.jsonl", "batch", b"{}\n", created_at=T0 + offset)["id"]
        for i, offset in enumerate(offsets)
    ]


@attrs.define
class Outcome:
    """What a scan yielded, and which files it had to yield."""

    yielded: list[str]
    at_start: set[str]
    deleted: set[str] = attrs.Factory(set)
    created: set[str] = attrs.Factory(set)

    def check(self) -> None:
        assert len(self.yielded) == len(set(self.yielded)), "a file was yielded twice"
        assert set(self.yielded) <= self.at_start | self.created, "a file that never existed"
        missing = (self.at_start - self.deleted) - set(self.yielded)
        assert not missing, f"files present for the whole scan were not yielded: {missing}"


class Mutator:
    """Creates files at the newest end and deletes existing ones, as the API would."""

    def __init__(self, store: Store, outcome: Outcome) -> None:
        self.store = store
        self.outcome = outcome
        self.newest = max((store.file(i).created_at for i in outcome.at_start), default=T0 + 4)

    def create(self, later: bool) -> None:
        # A new file's created_at is "now": the newest second so far, or a later one.
        self.newest += 1 if later else 0
        record = self.store.put_file("new.jsonl", "batch", b"{}\n", created_at=self.newest)
        self.outcome.created.add(record["id"])

    def delete(self, pick: int) -> None:
        alive = sorted((self.outcome.at_start | self.outcome.created) - self.outcome.deleted)
        if alive:
            victim = alive[pick % len(alive)]
            self.store.delete_file(victim)
            self.outcome.deleted.add(victim)


@attrs.define
class Walker:
    """One side of the scan, stepped by hand: fetch pages ahead, let the meeting sift them."""

    order: str
    after: str | None = None
    ended: bool = False
    pending: list[dict[str, Any]] = attrs.Factory(list)


@settings(max_examples=300, deadline=None)
@given(offsets=created_ats, limit=st.integers(1, 7), data=st.data())
def test_meeting_yields_each_file_once_under_any_interleaving(
    offsets: list[int], limit: int, data: st.DataObject
) -> None:
    store = Store(ManualClock(), _storage(), _timing(), seed=1)
    outcome = Outcome([], set(seed(store, offsets)))
    mutator = Mutator(store, outcome)
    meeting = Meeting()
    walkers = [Walker("asc"), Walker("desc")]
    changes = 0
    while True:
        moves = []
        for index, walker in enumerate(walkers):
            # As in scan_pages: a walk fetches up to _AHEAD pages beyond those sifted.
            if not walker.ended and len(walker.pending) < _AHEAD:
                moves.append(("fetch", index))
            if walker.pending:
                moves.append(("sift", index))
        if changes < 8:
            moves += [("create", 0), ("delete", 0)]
        move, index = data.draw(st.sampled_from(moves))
        walker = walkers[index]
        if move == "fetch":
            page = store.list_files(limit=limit, order=walker.order, after=walker.after)
            walker.pending.append(page)
            walker.after, walker.ended = page["last_id"], not page["has_more"]
        elif move == "sift":
            page = walker.pending.pop(0)
            kept, crossed = meeting.sift(walker.order == "asc", page["data"])
            outcome.yielded += [item["id"] for item in kept]
            if crossed or not page["has_more"]:
                break
        elif move == "create":
            changes += 1
            mutator.create(later=data.draw(st.booleans()))
        else:
            changes += 1
            mutator.delete(data.draw(st.integers(0, 1000)))
    outcome.check()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offsets=created_ats,
    limit=st.integers(1, 6),
    changes=st.lists(
        st.tuples(
            st.sampled_from(["create", "create later", "delete", "none"]), st.integers(0, 99)
        ),
        max_size=12,
    ),
    yields=st.lists(st.integers(0, 3), max_size=12),
)
def test_scan_yields_each_file_once_while_files_come_and_go(
    offsets: list[int],
    limit: int,
    changes: list[tuple[str, int]],
    yields: list[int],
) -> None:
    async def scenario() -> Outcome:
        async with Emulator(clock=ManualClock(), seed=1) as emulator:
            outcome = Outcome([], set(seed(emulator.store, offsets)))
            mutator = Mutator(emulator.store, outcome)
            plan = list(changes)
            turns = list(yields)

            async def on_request_start(*_: Any) -> None:
                # As each page is asked for: a file comes or goes, and the two walks'
                # requests are reordered by letting the loop run a few callbacks first.
                if plan:
                    kind, pick = plan.pop(0)
                    if kind == "delete":
                        mutator.delete(pick)
                    elif kind != "none":
                        mutator.create(later=kind == "create later")
                for _ in range(turns.pop(0) if turns else 0):
                    await asyncio.sleep(0)

            trace = aiohttp.TraceConfig()
            trace.on_request_start.append(on_request_start)
            async with (
                aiohttp.ClientSession(trace_configs=[trace]) as session,
                emulator.client(session=session) as client,
            ):
                outcome.yielded = [f.id async for f in client.files.scan(limit=limit)]
            return outcome

    asyncio.run(scenario()).check()


def _storage() -> Any:
    from openai_batches.emulator._blobs import BlobStorage

    return BlobStorage(None)


def _timing() -> Any:
    from openai_batches.emulator import Timing

    return Timing()


# --------------------------------------------------------------------------- behaviour


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(clock=ManualClock(), seed=3) as emu:
        yield emu


def file_requests(emulator: Emulator) -> list[dict[str, str]]:
    return [dict(r.query) for r in emulator.requests if r.path == "/v1/files"]


async def test_both_ends_are_walked_at_once_and_meet_in_the_middle(emulator: Emulator) -> None:
    ids = seed(emulator.store, list(range(100)))
    in_flight = 0
    most = 0

    async def start(*_: Any) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)

    async def end(*_: Any) -> None:
        nonlocal in_flight
        in_flight -= 1

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        emulator.client(session=session) as client,
    ):
        got = [f.id async for f in client.files.scan(limit=10)]
    assert sorted(got) == sorted(ids)
    assert most == 2
    queries = file_requests(emulator)
    assert {q["order"] for q in queries} == {"asc", "desc"}
    # Each walk covers about half; each may ask for up to _AHEAD pages past the meeting.
    assert len(queries) <= 10 + 2 * _AHEAD
    assert all(q["limit"] == "10" for q in queries)


async def test_scan_takes_purpose_and_yields_file_objects(emulator: Emulator) -> None:
    batch_ids = seed(emulator.store, [0, 1, 2, 3])
    emulator.store.put_file("other.txt", "user_data", b"x", created_at=T0)
    async with emulator.client() as client:
        got = [f async for f in client.files.scan(purpose="batch", limit=2)]
        assert sorted(f.id for f in got) == sorted(batch_ids)
        assert all(isinstance(f, ob.FileObject) for f in got)
        assert [f async for f in client.files.scan()] != []
    assert {q.get("purpose") for q in file_requests(emulator)} == {"batch", None}


async def test_an_empty_listing(emulator: Emulator) -> None:
    async with emulator.client() as client:
        assert [f async for f in client.files.scan()] == []


async def test_breaking_out_leaves_nothing_running(emulator: Emulator) -> None:
    seed(emulator.store, list(range(50)))
    connector = aiohttp.TCPConnector()
    try:
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            emulator.client(session=session) as client,
        ):
            async with aclosing(client.files.scan(limit=5)) as scan:
                async for _ in scan:
                    break
            assert library_tasks() == set()
            assert len(connector._acquired) == 0
    finally:
        await connector.close()


async def test_a_failing_walk_fails_the_scan_and_leaves_nothing_running(
    emulator: Emulator,
) -> None:
    seed(emulator.store, list(range(50)))
    emulator.faults.add(FaultRule("status", "GET", "/v1/files", status=400, times=1))
    async with emulator.client() as client:
        with pytest.raises(ob.BadRequestError):
            async for _ in client.files.scan(limit=5):
                pass
        assert library_tasks() == set()


async def test_a_listing_out_of_order_is_refused(server: LoopbackServer) -> None:
    # The server gives the same newest-first page whatever order is asked for.
    data = [{**FILE, "id": f"file-{i}", "created_at": T0 - i} for i in range(3)]
    page = {"object": "list", "data": data, "has_more": True, "last_id": "file-2"}

    async def same(request: web.Request) -> web.Response:
        return web.json_response(page)

    server.add("GET", "/v1/files", same)
    async with server.client() as client:
        with pytest.raises(ob.PaginationError, match="oldest first"):
            async for _ in client.files.scan():
                pass


@pytest.mark.parametrize(
    ("limit", "error"), [(0, ValueError), (10_001, ValueError), ("10", TypeError)]
)
async def test_bad_arguments_fail_before_any_request(
    emulator: Emulator, limit: Any, error: type[Exception]
) -> None:
    async with emulator.client() as client:
        with pytest.raises(error):
            client.files.scan(limit=limit)
        with pytest.raises(ValueError, match="purpose"):
            client.files.scan(purpose="")
    assert emulator.requests == []


# --------------------------------------------------------------------------- memory


def items(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"created_at": created, "id": file_id} for created, file_id in pairs]


def test_frontiers_remember_only_the_ids_of_one_second() -> None:
    meeting = Meeting()
    kept, crossed = meeting.sift(True, items(*((t, f"a{t}") for t in range(1000))))
    assert (len(kept), crossed) == (1000, False)
    kept, crossed = meeting.sift(False, items(*((t, f"d{t}") for t in range(5000, 2000, -1))))
    assert (len(kept), crossed) == (3000, False)
    assert meeting.frontier_ids() == 2
    # A second shared by many files: its ids are kept while a frontier stands on it.
    meeting.sift(True, items(*((1500, f"tie{i}") for i in range(300))))
    assert meeting.frontier_ids() == 301
    meeting.sift(True, items((1501, "next")))
    assert meeting.frontier_ids() == 2


def test_ties_at_the_meeting_point_are_shared_out() -> None:
    """Whatever order each walk sees a group of ties in, each member is yielded once."""
    meeting = Meeting()
    ties = [(7, f"t{i}") for i in range(6)]
    up, _ = meeting.sift(True, items((5, "low"), *ties[:2]))
    # The newest-first walk sees the same group in another order entirely.
    down, crossed = meeting.sift(False, items((9, "high"), ties[1], ties[4], ties[0], ties[3]))
    assert not crossed
    more, crossed = meeting.sift(True, items(ties[2], ties[3], ties[4], ties[5], (8, "x")))
    assert crossed
    yielded = [i["id"] for i in up + down + more]
    assert sorted(yielded) == sorted(["low", "high", *(t[1] for t in ties)])


def test_ties_over_several_pages_of_one_walk_are_remembered_whole() -> None:
    meeting = Meeting()
    assert meeting.sift(True, items((3, "a"), (3, "b")))[0] != []
    assert meeting.sift(True, items((3, "c"), (3, "d")))[0] != []
    down, crossed = meeting.sift(False, items((3, "e"), (3, "d"), (3, "c"), (3, "b"), (3, "a")))
    assert ([i["id"] for i in down], crossed) == (["e"], False)


def test_unreadable_items_are_left_for_decoding() -> None:
    meeting = Meeting()
    odd: list[Any] = [{"id": "a", "created_at": "soon"}, ["not", "an", "object"]]
    assert meeting.sift(True, odd) == (odd, False)
