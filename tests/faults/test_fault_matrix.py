"""Every public operation against every fault, transient and persistent (see ``_matrix``).

Each cell runs the operation against a scripted loopback server and asserts that it
recovered with the right data or raised the documented typed error (never an untyped
exception, never wrong data, never a hang); that no connection stayed checked out of the
pool; that the key appears in no error and no log; that nothing identifying reached
another origin and no POST was re-sent there; that a POST created at most one object;
and that the next call on the same client, with the fault gone, is right. The matrix
is printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
import traceback
from typing import Any

import aiohttp
import pytest

import openai_batches as ob

from ._cell import Cell, Cells
from ._matrix import FAULTS, FAULTS_BY_NAME, KNOWN_FAILURES, MODES, OK, SLOW, Expect, expect
from ._operations import OPERATIONS, OPERATIONS_BY_NAME, Operation, Run, check_partial
from ._report import short

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "sk-fault-matrix-0123456789abcdef"
ORGANIZATION = "org-fault-matrix"
PROJECT = "proj-fault-matrix"
IDENTIFYING = ("authorization", "openai-organization", "openai-project")
#: The safety net: a cell still running after this long has hung.
HANG = 10.0
#: Closing the client aborts what is in flight; a call still running this long after has hung.
CLOSE_BOUND = 0.3
#: A zero timeout's stalled answer comes after this long, so that waiting forever ends.
ZERO_STALL = 0.1


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _params() -> list[Any]:
    params = []
    for fault in FAULTS:
        for op in OPERATIONS:
            for mode in MODES:
                if expect(fault, op, mode) is None:
                    continue
                key = (fault.name, op.name, mode)
                marks = []
                if key in KNOWN_FAILURES:
                    marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[key]))
                params.append(
                    pytest.param(key, id=f"{_slug(fault.name)}-{op.name}-{mode}", marks=marks)
                )
    return params


def client_for(cell: Cell) -> ob.Client:
    """A client with zero backoff; the stall cells get timeouts of :data:`SLOW`, or of 0."""
    timeout: ob.Timeout | float
    if cell.fault.family == "timeout":
        timeout = ob.Timeout(total=SLOW, connect=SLOW, read=SLOW)
    elif cell.fault.family == "zero":
        timeout = 0
    else:
        timeout = ob.Timeout(total=30, connect=5)
    # A wait retries by polling again: its polls are not retried underneath as well.
    retries = 0 if cell.op.name == "wait" else 2
    policy = ob.RetryPolicy(
        max_retries=retries, initial_delay=0, max_delay=0, max_retry_after=0.02, jitter=0
    )
    return ob.Client(
        KEY,
        base_url=cell.base_url,
        organization=ORGANIZATION,
        project=PROJECT,
        timeout=timeout,
        retry_policy=policy,
    )


class Hung(Exception):
    """The call was still running when the safety net fired."""


async def attempt(op: Operation, client: ob.Client, run: Run) -> Any:
    """Run ``op``; return its result, or the exception it raised."""
    deadline = asyncio.timeout(HANG)
    try:
        async with deadline:
            return await op.run(client, run)
    except Exception as exc:
        if deadline.expired():
            return Hung(f"{op.label} did not end within {HANG} s")
        return exc


async def close_mid_call(op: Operation, client: ob.Client, cell: Cell, run: Run) -> Any:
    """Run ``op`` until its answer stalls, close the client, and return how ``op`` ended."""
    call = asyncio.create_task(op.run(client, run))
    stalled = asyncio.create_task(cell.stalled.wait())
    try:
        await asyncio.wait({call, stalled}, timeout=HANG, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stalled.cancel()
    if not call.done():
        await client.close()
        await asyncio.wait({call}, timeout=CLOSE_BOUND)
    if not call.done():
        call.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await call
        return Hung(f"{op.label} was still running {CLOSE_BOUND} s after the client was closed")
    return call.exception() or call.result()


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if any(current is other for other in seen):
            continue
        seen.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += list(getattr(current, "exceptions", ()))
    return seen


def assert_no_key(exc: BaseException) -> None:
    for link in _chain(exc):
        text = " ".join([repr(link), str(link), *getattr(link, "__notes__", ())])
        assert KEY not in text, f"the API key shows in {type(link).__name__}: {text[:300]}"


def assert_pools_empty(sessions: list[aiohttp.ClientSession]) -> None:
    for session in sessions:
        connector = session.connector
        acquired = 0 if connector is None else len(connector._acquired)
        assert acquired == 0, f"{acquired} connection(s) still checked out of the pool"


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-3000:]


def judge(outcome: Any, expectation: Expect, op: Operation, cell: Cell, run: Run) -> None:
    """The call ended as documented, with the right data, and the wire shows no harm."""
    if isinstance(outcome, BaseException):
        assert not isinstance(outcome, Hung), str(outcome)
        allowed = [o for o in expectation.outcomes if isinstance(o, type)]
        if not isinstance(outcome, (ob.OpenAIError, *allowed)):
            raise AssertionError(f"untyped {type(outcome).__name__} escaped:\n{_trace(outcome)}")
        if not isinstance(outcome, tuple(allowed)):
            raise AssertionError(
                f"raised {type(outcome).__name__} ({outcome}); expected one of "
                f"{sorted(short(o) for o in expectation.outcomes)}\n{_trace(outcome)}"
            )
        assert_no_key(outcome)
        check_partial(op, cell.api, run)
    else:
        assert OK in expectation.outcomes, (
            f"returned {outcome!r:.200}; expected {sorted(short(o) for o in expectation.outcomes)}"
        )
        op.check(outcome, cell.api, run)
    if expectation.hits is not None:
        assert cell.hits == expectation.hits, f"the refused request was sent {cell.hits} times"
    if op.post:
        assert len(cell.api.created) <= 1, f"a retried POST made duplicates: {cell.api.created}"
        assert not cell.elsewhere, "a POST was re-sent to another origin"
    for request in cell.elsewhere:
        leaked = [name for name in IDENTIFYING if name in request.headers]
        assert not leaked, f"{leaked} went to another origin with {request.method} {request.path}"


@pytest.mark.parametrize("key", _params())
async def test_cell(
    key: tuple[str, str, str],
    cells: Cells,
    sessions: list[aiohttp.ClientSession],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    try:
        await run_cell(key, cells, sessions, caplog, request)
        assert KEY not in caplog.text, "the API key shows in the logs"
    except AssertionError as exc:
        # The message says it all; rendering hundreds of tracebacks would cost seconds.
        pytest.fail(str(exc), pytrace=False)


async def run_cell(
    key: tuple[str, str, str],
    cells: Cells,
    sessions: list[aiohttp.ClientSession],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """Run one cell: the faulty call, its judgement, then the next call on the same client."""
    fault, op, mode = FAULTS_BY_NAME[key[0]], OPERATIONS_BY_NAME[key[1]], key[2]
    expectation = expect(fault, op, mode)
    assert expectation is not None
    caplog.set_level(logging.DEBUG)
    cell = cells.new(fault, op, mode)
    family = fault.family
    read_timeout = {"zero": 0.0, "timeout": SLOW}.get(family, 30.0)
    sessions.clear()
    client: ob.Client | None = None
    loop = asyncio.get_running_loop()
    releasing = loop.call_later(ZERO_STALL, cell.release.set) if family == "zero" else None
    try:
        # Only downloads write; making and removing folders costs milliseconds a cell.
        with (
            tempfile.TemporaryDirectory() if op.name == "download" else contextlib.nullcontext("")
        ) as directory:
            first = Run(os.path.join(directory, "1"), read_timeout)
            again = Run(os.path.join(directory, "2"), read_timeout)
            if directory:
                os.mkdir(first.directory)
                os.mkdir(again.directory)

            outcome: Any
            try:
                client = client_for(cell)
            except (ValueError, TypeError) as exc:
                outcome = exc
            else:
                if family == "closed":
                    outcome = await close_mid_call(op, client, cell, first)
                else:
                    outcome = await attempt(op, client, first)
            if isinstance(outcome, ob.OpenAIError | ValueError | TypeError):
                did = short(type(outcome))
            else:
                did = "?" if isinstance(outcome, BaseException) else OK
            request.node.user_properties.append(("did", did))
            judge(outcome, expectation, op, cell, first)
            assert_pools_empty(sessions)
            if client is None or family == "zero":
                return  # the settings are under test, not the next call

            # The fault is gone: the same call on the same client must now be right.
            cell.armed = False
            created = len(cell.api.created)
            result = await attempt(op, client, again)
            if family == "closed":
                assert isinstance(result, ob.ClientClosedError), (
                    f"a call after close() gave {result!r:.300}, not ClientClosedError"
                )
                return
            if isinstance(result, BaseException):
                raise AssertionError(f"the next call on the same client failed:\n{_trace(result)}")
            op.check(result, cell.api, again)
            if op.name in ("create", "upload"):
                assert len(cell.api.created) == created + 1
            assert_pools_empty(sessions)
    finally:
        if releasing is not None:
            releasing.cancel()
        cells.drop(cell)
        if client is not None:
            await client.close()
