"""The batch lifecycle, stepped with the manual clock."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Api, chat

from openai_batches.emulator import Emulator, ManualClock, Timing

T0 = 1_700_000_000
TIMESTAMPS = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def stamps(batch: dict[str, Any]) -> dict[str, int]:
    """The timestamps that are set."""
    return {name: batch[name] for name in TIMESTAMPS if batch[name] is not None}


async def test_batch_walks_through_every_state(api: Api, clock: ManualClock) -> None:
    # Default timing: validating 0.5 s, 200 requests/s, finalizing 0.5 s.
    lines = [chat(f"r{i}", f"hello number {i}") for i in range(400)]
    lines[3] = chat("r3", "please [[fail:500]]")
    batch = await api.batch(lines, metadata={"job": "nightly"})
    assert batch["status"] == "validating"
    assert batch["created_at"] == T0
    assert batch["expires_at"] == T0 + 86400
    assert stamps(batch) == {}
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert batch["metadata"] == {"job": "nightly"}
    assert batch["output_file_id"] is None
    assert batch["error_file_id"] is None

    clock.advance(0.4)
    assert (await api.get(f"/batches/{batch['id']}"))["status"] == "validating"

    clock.advance(0.1)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "in_progress"
    assert stamps(batch) == {"in_progress_at": T0}
    assert batch["request_counts"] == {"total": 400, "completed": 0, "failed": 0}
    assert batch["model"] == "gpt-4o-mini"

    clock.advance(0.5)  # 100 requests done, one of them failed
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "in_progress"
    assert batch["request_counts"] == {"total": 400, "completed": 99, "failed": 1}
    assert batch["usage"]["input_tokens"] == 99 * 3
    assert batch["usage"]["output_tokens"] == 99 * 4

    clock.advance(1.5)  # all 400 done at T0 + 2.5
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "finalizing"
    assert stamps(batch) == {"in_progress_at": T0, "finalizing_at": T0 + 2}
    assert batch["output_file_id"] is None

    clock.advance(0.5)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "completed"
    assert stamps(batch) == {"in_progress_at": T0, "finalizing_at": T0 + 2, "completed_at": T0 + 3}
    assert batch["request_counts"] == {"total": 400, "completed": 399, "failed": 1}
    usage = batch["usage"]
    assert usage["input_tokens"] == 399 * 3
    assert usage["output_tokens"] == 399 * 4
    assert usage["total_tokens"] == 399 * 7
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert batch["errors"] is None

    output = await api.jsonl(batch["output_file_id"])
    errors = await api.jsonl(batch["error_file_id"])
    assert len(output) == 399
    assert [line["custom_id"] for line in errors] == ["r3"]
    for name in ("output_file_id", "error_file_id"):
        info = await api.get(f"/files/{batch[name]}")
        assert info["purpose"] == "batch_output"
        assert info["created_at"] == T0 + 3


async def test_output_lines_are_shaped_like_the_api(api: Api, clock: ManualClock) -> None:
    lines = [chat("ok", "What is two plus two"), chat("bad", "nope [[fail:429]]")]
    lines.append(chat("lost", "gone [[error:server_error]]"))
    batch = await api.batch(lines)
    clock.advance(10)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "completed"
    [ok] = await api.jsonl(batch["output_file_id"])
    assert ok["id"].startswith("batch_req_")
    assert ok["custom_id"] == "ok"
    assert ok["error"] is None
    assert ok["response"]["status_code"] == 200
    assert ok["response"]["request_id"]
    body = ok["response"]["body"]
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "echo: What is two plus two",
        "refusal": None,
        "annotations": [],
    }
    assert body["usage"]["prompt_tokens"] == 5
    assert body["usage"]["completion_tokens"] == 6
    bad, lost = await api.jsonl(batch["error_file_id"])
    assert bad["response"]["status_code"] == 429
    assert set(bad["response"]["body"]["error"]) == {"message", "type", "param", "code"}
    assert bad["error"] is None
    assert lost["response"] is None
    assert lost["error"]["code"] == "server_error"
    assert batch["request_counts"] == {"total": 3, "completed": 1, "failed": 2}


async def test_output_is_deterministic(clock: ManualClock) -> None:
    async def run() -> bytes:
        async with Emulator(clock=ManualClock(), seed=3) as emu:
            emu.store.put_batch([chat("a", "same"), chat("b", "text")])
            emu.clock.advance(10)
            emu.store.advance()
            [batch] = emu.store.list_batches()["data"]
            return emu.store.file(batch["output_file_id"]).blob.read()

    assert await run() == await run()


async def test_empty_output_gives_null_file_id(api: Api, clock: ManualClock) -> None:
    batch = await api.batch([chat("a", "x [[fail:400]]")])
    clock.advance(10)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "completed"
    assert batch["output_file_id"] is None
    assert batch["error_file_id"] is not None


async def test_cancel_keeps_finished_part(api: Api, clock: ManualClock) -> None:
    batch = await api.batch([chat(f"r{i}", f"line {i}") for i in range(5)])
    clock.advance(0.5 + 2 / 200)  # two requests done
    cancelling = await api.post(f"/batches/{batch['id']}/cancel")
    assert cancelling["status"] == "cancelling"
    assert cancelling["cancelling_at"] == T0
    assert cancelling["request_counts"] == {"total": 5, "completed": 2, "failed": 0}
    again = await api.post(f"/batches/{batch['id']}/cancel")
    assert again["status"] == "cancelling"

    clock.advance(0.49)
    assert (await api.get(f"/batches/{batch['id']}"))["status"] == "cancelling"
    clock.advance(0.01)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "cancelled"
    assert stamps(batch) == {"in_progress_at": T0, "cancelling_at": T0, "cancelled_at": T0 + 1}
    assert batch["request_counts"] == {"total": 5, "completed": 2, "failed": 0}
    output = await api.jsonl(batch["output_file_id"])
    assert [line["custom_id"] for line in output] == ["r0", "r1"]
    errors = await api.jsonl(batch["error_file_id"])
    assert [line["custom_id"] for line in errors] == ["r2", "r3", "r4"]
    for line in errors:
        assert line["response"] is None
        assert line["error"]["code"] == "batch_cancelled"


async def test_cancel_while_validating_produces_no_files(api: Api, clock: ManualClock) -> None:
    batch = await api.batch([chat("a", "x")])
    await api.post(f"/batches/{batch['id']}/cancel")
    clock.advance(5)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "cancelled"
    assert batch["in_progress_at"] is None
    assert batch["output_file_id"] is None
    assert batch["error_file_id"] is None


@pytest.mark.parametrize("steps", [[10], [0.5, 10]])
async def test_cancelling_a_finished_batch_is_a_conflict(
    api: Api, clock: ManualClock, steps: list[float]
) -> None:
    batch = await api.batch([chat("a", "x")])
    for step in steps:
        clock.advance(step)
    error = await api.post(f"/batches/{batch['id']}/cancel", expect=409)
    assert error["error"]["message"] == "Cannot cancel a batch with status 'completed'."
    assert error["error"]["type"] == "invalid_request_error"


async def test_cancelling_unknown_batch_is_404(api: Api) -> None:
    error = await api.post("/batches/batch_nope/cancel", expect=404)
    assert "batch_nope" in error["error"]["message"]
    await api.get("/batches/batch_nope", expect=404)


async def test_batch_past_its_window_expires_with_partial_output() -> None:
    timing = Timing(requests_per_second=1 / 3600)  # one request per emulated hour
    clock = ManualClock()
    async with Emulator(clock=clock, timing=timing) as emu:
        batch = emu.store.put_batch([chat(f"r{i}", "hi") for i in range(30)])
        clock.advance(23 * 3600 + 1)  # 23 requests done, the 24th would end at 24 h + 0.5 s
        emu.store.advance()
        assert emu.store.batch(batch["id"]).to_json()["request_counts"]["completed"] == 23
        clock.advance(3600)
        emu.store.advance()
        expired = emu.store.batch(batch["id"]).to_json()
    assert expired["status"] == "expired"
    assert expired["expired_at"] == expired["expires_at"] == T0 + 86400
    assert stamps(expired) == {"in_progress_at": T0, "expired_at": T0 + 86400}
    # Request i finishes at 0.5 s + (i + 1) h: 23 of them fit before the window closes.
    assert expired["request_counts"] == {"total": 30, "completed": 23, "failed": 0}
    output = emu.store.file(expired["output_file_id"]).blob.read().splitlines()
    errors = emu.store.file(expired["error_file_id"]).blob.read().splitlines()
    assert len(output) == 23
    assert len(errors) == 7
    assert all(b'"code": "batch_expired"' in line for line in errors)


async def test_a_manual_day_passes_in_one_step(api: Api, clock: ManualClock) -> None:
    batch = await api.batch([chat("a", "x")])
    clock.advance(86400 * 2)
    batch = await api.get(f"/batches/{batch['id']}")
    # Finished long before expiry: completed, with the schedule's timestamps.
    assert batch["status"] == "completed"
    assert batch["completed_at"] == T0 + 1


async def test_a_batch_created_late_in_a_second_still_validates_for_the_whole_time(
    api: Api, clock: ManualClock
) -> None:
    clock.advance(0.9)
    batch = await api.batch([chat("r0", "hello")])
    assert batch["created_at"] == T0  # whole seconds on the wire

    clock.advance(0.4)  # 1.3: the schedule runs from 0.9, not from the whole second
    assert (await api.get(f"/batches/{batch['id']}"))["status"] == "validating"

    clock.advance(0.1)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "in_progress"
    assert batch["in_progress_at"] == T0 + 1


async def answers(api: Api, emu: Emulator, batch_id: str) -> dict[str, Any]:
    """The batch as every route shows it, asked twice each; assert they all agree."""
    seen = []
    for _ in range(2):  # the second time, from whatever the first left encoded
        seen.append(await api.get(f"/batches/{batch_id}"))
        page = await api.get("/batches", params={"limit": "100"})
        seen += [item for item in page["data"] if item["id"] == batch_id]
    current = emu.store.batch(batch_id).to_json()
    assert seen == [current] * 4
    return current


async def test_every_answer_shows_the_batch_as_it_is_now(
    api: Api, emu: Emulator, clock: ManualClock
) -> None:
    batch = await api.batch([chat(f"r{i}", f"line {i}") for i in range(100)])
    other = await api.batch([chat("a", "x")])  # runs to the end meanwhile
    steps = [
        (0.0, "validating"),
        (0.5, "in_progress"),
        (0.1, "in_progress"),  # 20 more requests done: new counts
        (0.4, "finalizing"),
        (0.5, "completed"),
        (86400 * 3, "completed"),
    ]
    counts = []
    for seconds, status in steps:
        clock.advance(seconds)
        shown = await answers(api, emu, batch["id"])
        assert shown["status"] == status
        counts.append(shown["request_counts"]["completed"])
    assert counts == [0, 0, 20, 100, 100, 100]
    assert (await answers(api, emu, other["id"]))["status"] == "completed"


async def test_every_answer_shows_a_cancelled_batch_as_it_is_now(
    api: Api, emu: Emulator, clock: ManualClock
) -> None:
    batch = await api.batch([chat(f"r{i}", f"line {i}") for i in range(100)])
    clock.advance(0.5 + 10 / 200)
    assert (await answers(api, emu, batch["id"]))["request_counts"]["completed"] == 10
    await api.post(f"/batches/{batch['id']}/cancel")
    assert (await answers(api, emu, batch["id"]))["status"] == "cancelling"
    clock.advance(0.5)
    cancelled = await answers(api, emu, batch["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["error_file_id"] is not None
    await api.post(f"/batches/{batch['id']}/cancel", expect=409)
    assert await answers(api, emu, batch["id"]) == cancelled


async def test_a_finished_batch_is_encoded_once(emu: Emulator, clock: ManualClock) -> None:
    batch = emu.store.batch(emu.store.put_batch([chat("a", "x")])["id"])
    clock.advance(0.5)
    emu.store.advance()
    assert batch.status == "in_progress"
    assert batch.encoded() is not batch.encoded()  # it may change: encoded anew
    clock.advance(1)
    emu.store.advance()
    assert batch.status == "completed"
    first = batch.encoded()
    assert json.loads(first) == batch.to_json()
    assert batch.encoded() is first


async def test_json_answers_say_their_charset(api: Api, emu: Emulator) -> None:
    await api.batch([chat("a", "x")])
    batch_id = (await api.get("/batches"))["data"][0]["id"]
    for path in ("/batches", f"/batches/{batch_id}", "/files", "/batches/batch_nope"):
        async with api.session.get(api.base + path) as response:
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
