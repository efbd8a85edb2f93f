"""client.batches.cancel: a cancel that may have worked is looked at, never reported wrongly."""

from __future__ import annotations

from typing import Any

import pytest

import openai_batches as ob
from tests.conftest import LoopbackServer, reply, reset, sample

pytestmark = pytest.mark.usefixtures("sleeps")

PATH = "/v1/batches/batch_abc123"
CANCEL = PATH + "/cancel"


def batch(status: str) -> dict[str, Any]:
    return {**sample("batch_object_example"), "status": status}


def conflict(status: str = "completed") -> Any:
    return reply(
        409,
        {
            "error": {
                "message": f"Cannot cancel a batch with status '{status}'.",
                "type": "invalid_request_error",
                "param": None,
                "code": "batch_not_cancellable",
            }
        },
    )


def calls(server: LoopbackServer) -> list[str]:
    return [f"{s.method} {s.raw_path}" for s in server.seen]


async def test_cancel_posts_once_and_returns_the_batch(server: LoopbackServer) -> None:
    server.add("POST", CANCEL, reply(json_body=batch("cancelling")))
    async with server.client() as client:
        result = await client.batches.cancel("batch_abc123")
    assert result.status is ob.BatchStatus.CANCELLING
    assert calls(server) == [f"POST {CANCEL}"]


@pytest.mark.parametrize("status", ["completed", "failed", "expired", "finalizing"])
async def test_a_conflict_on_a_batch_past_cancelling_is_raised_at_once(
    server: LoopbackServer, sleeps: list[float], status: str
) -> None:
    server.add("POST", CANCEL, conflict(status))
    server.add("GET", PATH, reply(json_body=batch(status)))
    async with server.client() as client:
        with pytest.raises(ob.ConflictError) as caught:
            await client.batches.cancel("batch_abc123")
    assert caught.value.code == "batch_not_cancellable"
    assert f"The batch is {status}; it can no longer be cancelled." in caught.value.__notes__
    assert calls(server) == [f"POST {CANCEL}", f"GET {PATH}"]
    assert sleeps == []


@pytest.mark.parametrize("status", ["cancelling", "cancelled"])
async def test_a_conflict_on_a_batch_already_cancelling_returns_it(
    server: LoopbackServer, status: str
) -> None:
    server.add("POST", CANCEL, conflict(status))
    server.add("GET", PATH, reply(json_body=batch(status)))
    async with server.client(retry_policy=ob.RetryPolicy(max_retries=0)) as client:
        result = await client.batches.cancel("batch_abc123")
    assert result.status == status
    assert calls(server) == [f"POST {CANCEL}", f"GET {PATH}"]


async def test_a_conflict_while_the_batch_runs_is_retried(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("POST", CANCEL, conflict("in_progress"), reply(json_body=batch("cancelling")))
    server.add("GET", PATH, reply(json_body=batch("in_progress")))
    async with server.client() as client:
        result = await client.batches.cancel("batch_abc123")
    assert result.status == "cancelling"
    assert calls(server) == [f"POST {CANCEL}", f"GET {PATH}", f"POST {CANCEL}"]
    assert len(sleeps) == 1


async def test_conflicts_that_persist_end_after_the_retries(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("POST", CANCEL, conflict("in_progress"))
    server.add("GET", PATH, reply(json_body=batch("in_progress")))
    async with server.client() as client:
        with pytest.raises(ob.ConflictError):
            await client.batches.cancel("batch_abc123")
    assert calls(server).count(f"POST {CANCEL}") == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("lost", [reset, reply(502, text="Bad Gateway", content_type="text/html")])
async def test_a_lost_answer_to_a_cancel_that_worked_is_not_sent_again(
    server: LoopbackServer, lost: Any
) -> None:
    server.add("POST", CANCEL, lost)
    server.add("GET", PATH, reply(json_body=batch("cancelling")))
    async with server.client() as client:
        result = await client.batches.cancel("batch_abc123")
    assert result.status == "cancelling"
    assert calls(server) == [f"POST {CANCEL}", f"GET {PATH}"]


async def test_a_lost_answer_to_a_cancel_that_did_not_arrive_is_sent_again(
    server: LoopbackServer,
) -> None:
    server.add("POST", CANCEL, reset, reply(json_body=batch("cancelling")))
    server.add("GET", PATH, reply(json_body=batch("in_progress")))
    async with server.client() as client:
        result = await client.batches.cancel("batch_abc123")
    assert result.status == "cancelling"
    assert calls(server) == [f"POST {CANCEL}", f"GET {PATH}", f"POST {CANCEL}"]


async def test_a_failed_look_raises_the_cancel_error_saying_so(server: LoopbackServer) -> None:
    server.add("POST", CANCEL, conflict())
    server.add("GET", PATH, reply(500, {"error": {"message": "down", "type": "server_error"}}))
    async with server.client(retry_policy=ob.RetryPolicy(max_retries=0)) as client:
        with pytest.raises(ob.ConflictError) as caught:
            await client.batches.cancel("batch_abc123")
    assert isinstance(caught.value.__context__, ob.InternalServerError)
    assert "may or may not have taken effect" in " ".join(caught.value.__notes__)
    assert calls(server) == [f"POST {CANCEL}", f"GET {PATH}"]


async def test_a_missing_batch_is_not_found_without_a_look(server: LoopbackServer) -> None:
    server.add(
        "POST",
        CANCEL,
        reply(404, {"error": {"message": "No batch found", "type": "invalid_request_error"}}),
    )
    async with server.client() as client:
        with pytest.raises(ob.NotFoundError):
            await client.batches.cancel("batch_abc123")
    assert calls(server) == [f"POST {CANCEL}"]


async def test_cancel_and_wait_on_a_finished_batch_returns_it_without_retrying(
    server: LoopbackServer, sleeps: list[float]
) -> None:
    server.add("POST", CANCEL, conflict("completed"))
    server.add("GET", PATH, reply(json_body=batch("completed")))
    async with server.client() as client:
        result = await client.batches.cancel_and_wait("batch_abc123")
    assert result.status == "completed"
    assert calls(server).count(f"POST {CANCEL}") == 1
    assert sleeps == []
