"""client.batches.create: argument checks, and creates that never start a second batch."""

from __future__ import annotations

import re
from typing import Any

import pytest

import openai_batches as ob
from openai_batches._batches import IDEMPOTENCY_METADATA_KEY
from openai_batches.emulator import Emulator, FaultRule, ManualClock

pytestmark = [pytest.mark.openai_emulator(clock=ManualClock()), pytest.mark.usefixtures("sleeps")]

LINE = {
    "custom_id": "a",
    "method": "POST",
    "url": "/v1/chat/completions",
    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
}
KEY = IDEMPOTENCY_METADATA_KEY


def input_file(emulator: Emulator) -> str:
    file_id: str = emulator.store.put_jsonl([LINE])["id"]
    return file_id


def calls(emulator: Emulator) -> list[str]:
    """The batch requests the emulator received, as ``METHOD /path``."""
    return [f"{r.method} {r.path}" for r in emulator.requests if r.path.startswith("/v1/batches")]


async def all_batches(client: ob.Client) -> list[ob.Batch]:
    return [batch async for batch in client.batches.list()]


async def test_create_starts_a_batch_tagged_with_a_fresh_key(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    batch = await openai_client.batches.create(
        input_file_id=input_file(openai_emulator),
        endpoint="/v1/chat/completions",
        metadata={"job": "nightly"},
        output_expires_after=7200,
    )

    assert batch.status == "validating"
    assert batch.endpoint == "/v1/chat/completions"
    assert batch.completion_window == "24h"
    assert batch.metadata is not None
    assert batch.metadata["job"] == "nightly"
    assert re.fullmatch(r"[0-9a-f]{32}", batch.metadata[KEY])
    assert openai_emulator.store.batch(batch.id).output_expires_after == 7200
    assert calls(openai_emulator) == ["POST /v1/batches"]
    other = await openai_client.batches.create(
        input_file_id=batch.input_file_id, endpoint="/v1/chat/completions"
    )
    assert other.metadata is not None
    assert other.metadata[KEY] != batch.metadata[KEY]


async def test_own_key_and_no_key(openai_emulator: Emulator, openai_client: ob.Client) -> None:
    file_id = input_file(openai_emulator)
    mine = await openai_client.batches.create(
        input_file_id=file_id, endpoint="/v1/embeddings", idempotency_key="job-42"
    )
    assert mine.metadata == {KEY: "job-42"}

    sixteen = {f"k{i}": "v" for i in range(16)}
    bare = await openai_client.batches.create(
        input_file_id=file_id, endpoint="/v1/embeddings", metadata=sixteen, idempotency_key=None
    )
    assert bare.metadata == sixteen


async def test_output_expiry_as_the_api_mapping(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    batch = await openai_client.batches.create(
        input_file_id=input_file(openai_emulator),
        endpoint="/v1/chat/completions",
        output_expires_after={"anchor": "created_at", "seconds": 2_592_000},
    )
    assert openai_emulator.store.batch(batch.id).output_expires_after == 2_592_000


def pairs(n: int) -> dict[str, str]:
    return {f"key{i}": "value" for i in range(n)}


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"metadata": pairs(15)}, id="15-pairs-with-key"),
        pytest.param({"metadata": pairs(16), "idempotency_key": None}, id="16-pairs-no-key"),
        pytest.param({"metadata": {"k" * 64: "v"}}, id="64-char-key"),
        pytest.param({"metadata": {"k": "v" * 512}}, id="512-char-value"),
        pytest.param({"idempotency_key": "k" * 512}, id="512-char-idempotency-key"),
        pytest.param({"output_expires_after": 3600}, id="ttl-3600"),
        pytest.param({"output_expires_after": 2_592_000}, id="ttl-30-days"),
    ],
)
async def test_exactly_at_each_limit_passes(
    openai_emulator: Emulator, openai_client: ob.Client, arguments: dict[str, Any]
) -> None:
    batch = await openai_client.batches.create(
        input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions", **arguments
    )
    assert batch.status == "validating"


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"input_file_id": ""}, ValueError, "input_file_id"),
        ({"input_file_id": 7}, TypeError, "input_file_id"),
        ({"endpoint": "chat/completions"}, ValueError, "endpoint"),
        ({"endpoint": "/v1/chat/completions?x=1"}, ValueError, "endpoint"),
        ({"endpoint": "https://api.openai.com/v1/embeddings"}, ValueError, "endpoint"),
        ({"endpoint": None}, TypeError, "endpoint"),
        ({"completion_window": ""}, ValueError, "completion_window"),
        ({"metadata": pairs(16)}, ValueError, "at most 15"),
        ({"metadata": pairs(17), "idempotency_key": None}, ValueError, "at most 16"),
        ({"metadata": {"k" * 65: "v"}}, ValueError, "65 characters"),
        ({"metadata": {"job": "v" * 513}}, ValueError, r"metadata\['job'\] is 513"),
        ({"metadata": {"job": 3}}, TypeError, r"metadata\['job'\] must be a string"),
        ({"metadata": {1: "v"}}, TypeError, "keys must be strings"),
        ({"metadata": [("k", "v")]}, TypeError, "metadata must be a mapping"),
        ({"metadata": {KEY: "mine"}}, ValueError, "pass idempotency_key"),
        ({"idempotency_key": ""}, ValueError, "idempotency_key"),
        ({"idempotency_key": "k" * 513}, ValueError, "idempotency_key"),
        ({"output_expires_after": 3599}, ValueError, "between 3600 and 2592000"),
        ({"output_expires_after": 2_592_001}, ValueError, "between 3600 and 2592000"),
        ({"output_expires_after": True}, TypeError, "output_expires_after"),
        ({"output_expires_after": "3600"}, TypeError, "output_expires_after"),
        (
            {"output_expires_after": {"anchor": "now", "seconds": 3600}},
            ValueError,
            r"\['anchor'\]",
        ),
        (
            {"output_expires_after": {"anchor": "created_at", "seconds": 60}},
            ValueError,
            r"output_expires_after\['seconds'\] must be between",
        ),
        ({"output_expires_after": {"seconds": 3600}}, ValueError, "exactly the keys"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    openai_emulator: Emulator,
    openai_client: ob.Client,
    arguments: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    base: dict[str, Any] = {"input_file_id": "file-abc", "endpoint": "/v1/chat/completions"}
    with pytest.raises(error, match=match):
        await openai_client.batches.create(**(base | arguments))
    assert openai_emulator.requests == []


async def test_an_unknown_v1_endpoint_is_left_to_the_api_and_its_400_is_not_retried(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    with pytest.raises(ob.BadRequestError) as caught:
        await openai_client.batches.create(
            input_file_id=input_file(openai_emulator), endpoint="/v1/audio/speech"
        )
    assert caught.value.param == "endpoint"
    assert calls(openai_emulator) == ["POST /v1/batches"]


async def test_a_definite_400_is_raised_at_once(
    openai_emulator: Emulator, openai_client: ob.Client, sleeps: list[float]
) -> None:
    with pytest.raises(ob.BadRequestError, match="no such file"):
        await openai_client.batches.create(input_file_id="file-nope", endpoint="/v1/embeddings")
    assert calls(openai_emulator) == ["POST /v1/batches"]
    assert sleeps == []


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(FaultRule("reset", "POST", "/v1/batches", after=True, times=1), id="reset"),
        pytest.param(
            FaultRule("status", "POST", "/v1/batches", status=500, after=True, times=1), id="500"
        ),
        pytest.param(
            FaultRule("status", "POST", "/v1/batches", status=503, after=True, times=2),
            id="503-twice",
        ),
    ],
)
async def test_a_create_lost_after_the_api_made_the_batch_returns_that_batch(
    openai_emulator: Emulator, openai_client: ob.Client, fault: FaultRule
) -> None:
    openai_emulator.store.put_batch([LINE], metadata={"other": "batch"})
    openai_emulator.faults.add(fault)

    batch = await openai_client.batches.create(
        input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions"
    )

    assert fault.hits == 1
    mine = [b for b in await all_batches(openai_client) if b.metadata and KEY in b.metadata]
    assert [b.id for b in mine] == [batch.id]
    assert calls(openai_emulator)[:2] == ["POST /v1/batches", "GET /v1/batches"]
    assert calls(openai_emulator).count("POST /v1/batches") == 1


async def test_a_create_that_failed_before_the_api_made_the_batch_is_sent_again(
    openai_emulator: Emulator, openai_client: ob.Client, sleeps: list[float]
) -> None:
    openai_emulator.faults.add(FaultRule("status", "POST", "/v1/batches", status=502, times=1))

    batch = await openai_client.batches.create(
        input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions"
    )

    assert [b.id for b in await all_batches(openai_client)] == [batch.id]
    assert calls(openai_emulator)[:3] == ["POST /v1/batches", "GET /v1/batches", "POST /v1/batches"]
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [409, 429])
async def test_a_409_or_429_is_retried_after_the_asked_wait_without_a_search(
    openai_emulator: Emulator, openai_client: ob.Client, sleeps: list[float], status: int
) -> None:
    """The API turned the create away: nothing to look for (as the docstring says)."""
    openai_emulator.faults.add(
        FaultRule("status", "POST", "/v1/batches", status=status, retry_after=7, times=1)
    )

    await openai_client.batches.create(
        input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions"
    )

    assert calls(openai_emulator) == ["POST /v1/batches", "POST /v1/batches"]
    assert sleeps == [7.0]


async def test_a_create_that_keeps_failing_raises_after_the_client_retries(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    openai_emulator.faults.add(FaultRule("status", "POST", "/v1/batches", status=500))

    with pytest.raises(ob.InternalServerError):
        await openai_client.batches.create(
            input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions"
        )

    # The client's policy allows 2 retries; each failure is followed by a search.
    assert calls(openai_emulator) == ["POST /v1/batches", "GET /v1/batches"] * 3
    assert await all_batches(openai_client) == []


async def test_an_earlier_batch_with_the_same_key_is_returned(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    earlier = openai_emulator.store.put_batch([LINE], metadata={KEY: "job-42"})
    openai_emulator.faults.add(FaultRule("reset", "POST", "/v1/batches", times=1))

    batch = await openai_client.batches.create(
        input_file_id=input_file(openai_emulator),
        endpoint="/v1/chat/completions",
        idempotency_key="job-42",
    )

    assert batch.id == earlier["id"]
    assert calls(openai_emulator) == ["POST /v1/batches", "GET /v1/batches"]


async def test_without_a_key_an_unknown_outcome_is_raised_not_retried(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    openai_emulator.faults.add(FaultRule("reset", "POST", "/v1/batches", after=True, times=1))

    with pytest.raises(ob.APIConnectionError):
        await openai_client.batches.create(
            input_file_id=input_file(openai_emulator),
            endpoint="/v1/chat/completions",
            idempotency_key=None,
        )

    assert calls(openai_emulator) == ["POST /v1/batches"]
    assert len(await all_batches(openai_client)) == 1


async def test_a_failed_search_raises_the_create_error_saying_so(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    openai_emulator.faults.add(FaultRule("reset", "POST", "/v1/batches", after=True, times=1))
    openai_emulator.faults.add(FaultRule("status", "GET", "/v1/batches", status=500, times=3))

    with pytest.raises(ob.APIConnectionError) as caught:
        await openai_client.batches.create(
            input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions"
        )

    assert isinstance(caught.value.__context__, ob.InternalServerError)
    assert "may or may not have taken effect" in " ".join(caught.value.__notes__)
    assert calls(openai_emulator).count("POST /v1/batches") == 1


async def test_the_search_stops_at_batches_older_than_the_first_attempt(
    openai_emulator: Emulator, openai_client: ob.Client
) -> None:
    # The manual clock starts in 2023: every seeded batch is far older than this run.
    for _ in range(101):
        openai_emulator.store.put_batch([LINE])
    openai_emulator.faults.add(FaultRule("status", "POST", "/v1/batches", status=500, times=1))

    await openai_client.batches.create(
        input_file_id=input_file(openai_emulator), endpoint="/v1/chat/completions"
    )

    # One search before sending again, one for duplicates after: a page each.
    searches = [r for r in openai_emulator.requests if r.method == "GET"]
    assert [s.query for s in searches] == [{"limit": "100"}, {"limit": "100"}]
