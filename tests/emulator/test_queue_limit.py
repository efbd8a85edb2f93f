"""The enqueued-token limit per model, and lines that fail only their first runs."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import aiohttp
import pytest
from conftest import Api, chat

from openai_batches.emulator import Emulator, ManualClock, add_arguments


@pytest.fixture
async def limited(clock: ManualClock) -> AsyncIterator[Api]:
    async with Emulator(clock=clock, seed=3, enqueued_token_limit=10) as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            yield Api(session, emulator.url)


def words(custom_id: str, n: int, model: str = "gpt-4o-mini") -> dict[str, object]:
    """A chat line of *n* input tokens, as the emulator counts them (words)."""
    return chat(custom_id, " ".join(["w"] * n), model)


async def test_a_batch_over_the_limit_fails_at_validation(limited: Api, clock: ManualClock) -> None:
    first = await limited.batch([words("a", 4), words("b", 4)])  # 8 of 10 tokens
    second = await limited.batch([words("c", 3)])  # 8 + 3 > 10
    other_model = await limited.batch([words("d", 9, model="gpt-4o")])  # its own limit
    assert second["status"] == "validating"  # the verdict comes when validation ends
    clock.advance(0.5)
    first = await limited.get(f"/batches/{first['id']}")
    second = await limited.get(f"/batches/{second['id']}")
    other_model = await limited.get(f"/batches/{other_model['id']}")
    assert first["status"] == "in_progress"
    assert other_model["status"] == "in_progress"
    assert second["status"] == "failed"
    assert second["output_file_id"] is None
    assert second["error_file_id"] is None
    [error] = second["errors"]["data"]
    assert error["code"] == "token_limit_exceeded"
    assert error["line"] is None
    assert error["message"] == (
        "Enqueued token limit reached for gpt-4o-mini in organization org-emulator. "
        "Limit: 10 enqueued tokens. Please try again once some in_progress batches have "
        "been completed."
    )


async def test_tokens_free_up_when_a_batch_finishes(limited: Api, clock: ManualClock) -> None:
    first = await limited.batch([words("a", 6)])
    clock.advance(0.5 + 0.005 + 0.5)  # validated, the one request run, finalized
    assert (await limited.get(f"/batches/{first['id']}"))["status"] == "completed"
    second = await limited.batch([words("b", 10)])  # the whole limit, now free
    clock.advance(60)
    assert (await limited.get(f"/batches/{second['id']}"))["status"] == "completed"


async def test_a_failed_or_refused_batch_holds_no_tokens(limited: Api, clock: ManualClock) -> None:
    refused = await limited.batch([words("a", 11)])  # alone over the limit
    broken = await limited.batch([words("b", 5), words("b", 5)])  # duplicate custom_id
    fits = await limited.batch([words("c", 10)])
    clock.advance(0.5)
    refused = await limited.get(f"/batches/{refused['id']}")
    broken = await limited.get(f"/batches/{broken['id']}")
    assert refused["errors"]["data"][0]["code"] == "token_limit_exceeded"
    assert broken["errors"]["data"][0]["code"] == "duplicate_custom_id"
    assert (await limited.get(f"/batches/{fits['id']}"))["status"] == "in_progress"


async def test_no_limit_by_default(api: Api, clock: ManualClock) -> None:
    batch = await api.batch([words("a", 10_000)])
    clock.advance(0.5)
    assert (await api.get(f"/batches/{batch['id']}"))["status"] == "in_progress"


def test_the_limit_is_an_option_of_the_command() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).enqueued_token_limit is None
    assert parser.parse_args(["--enqueued-token-limit", "5000"]).enqueued_token_limit == 5000


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="enqueued_token_limit"):
        Emulator(enqueued_token_limit=0)


async def test_a_flaky_line_fails_its_first_runs_only(api: Api, clock: ManualClock) -> None:
    lines = [chat("steady", "hello"), chat("flaky", "hi [[flaky:503:2]]")]
    outcomes = []
    for _ in range(3):  # the same custom_ids in three batches: runs 1, 2 and 3
        batch = await api.batch(lines)
        clock.advance(60)
        batch = await api.get(f"/batches/{batch['id']}")
        assert batch["status"] == "completed"
        errors = await api.jsonl(batch["error_file_id"]) if batch["error_file_id"] else []
        outcomes.append([(line["custom_id"], line["response"]["status_code"]) for line in errors])
        if not errors:
            output = await api.jsonl(batch["output_file_id"])
            assert sorted(line["custom_id"] for line in output) == ["flaky", "steady"]
    assert outcomes == [[("flaky", 503)], [("flaky", 503)], []]


async def test_flaky_runs_are_counted_per_custom_id(api: Api, clock: ManualClock) -> None:
    batch = await api.batch([chat("x", "[[flaky:429:1]]"), chat("y", "[[flaky:429:1]]")])
    clock.advance(60)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["request_counts"] == {"total": 2, "completed": 0, "failed": 2}
    [error] = [line for line in await api.jsonl(batch["error_file_id"]) if line["custom_id"] == "x"]
    assert error["response"]["body"]["error"]["type"] == "rate_limit_error"
    batch = await api.batch([chat("x", "[[flaky:429:1]]"), chat("z", "[[flaky:429:1]]")])
    clock.advance(60)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["request_counts"] == {"total": 2, "completed": 1, "failed": 1}  # z's first run


@pytest.mark.openai_emulator(enqueued_token_limit=5)
async def test_the_pytest_plugin_takes_the_limit(openai_emulator: Emulator) -> None:
    assert openai_emulator.store.enqueued_token_limit == 5
