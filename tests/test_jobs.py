"""Batch jobs against the emulator, on its manual clock: sharding, the queue's limits,
retries, the results file, the status report and resuming."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from openai_batches import (
    Batch,
    BatchInputError,
    Client,
    JobLimits,
    JobProgress,
    JobStateError,
    Polling,
    RetryPolicy,
    job_status,
)
from openai_batches.emulator import Emulator, ManualClock, Timing

MODEL = "gpt-4o-mini"


def line(custom_id: str, text: str, model: str = MODEL) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}]},
    }


def write_input(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(json.dumps(item).encode() + b"\n" for item in lines))
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


def polling(emu: Emulator) -> Polling:
    """Polls that move the emulator's clock instead of sleeping."""
    clock = emu.clock
    assert isinstance(clock, ManualClock)

    async def sleep(seconds: float) -> None:
        # A second at a time, giving the other tasks a turn in between: a long sleep can
        # be cut short by what they do, as a real one can.
        while seconds > 0:
            clock.advance(min(seconds, 1.0))
            seconds -= 1.0
            await asyncio.sleep(0)

    return Polling(interval=1.0, max_interval=5.0, sleep=sleep)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # 400 words of input at most in the queue per model; one request a (manual) second,
    # so a batch lasts many polls: the clock moves on at every poll of every batch, also
    # while other shards are still being uploaded.
    timing = Timing(requests_per_second=1)
    async with Emulator(
        clock=ManualClock(), timing=timing, seed=1, enqueued_token_limit=400
    ) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[Client]:
    async with emu.client(retry_policy=RetryPolicy(initial_delay=0, max_delay=0)) as client:
        yield client


def five_words(n: int) -> str:
    """Five words (the emulator's tokens) and 29 bytes (8 tokens by the bytes/4 estimate)."""
    return f"alpha bravo charl delta {n:05d}"


async def test_a_job_over_the_token_limit_runs_in_turns(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    requests = [line(f"q{n}", five_words(n)) for n in range(120)]  # 600 emulator tokens
    source = write_input(tmp_path / "in.jsonl", requests)
    out = tmp_path / "out.jsonl"
    events: list[JobProgress] = []
    report = await client.jobs.run(
        source,
        out,
        limits=JobLimits(max_enqueued_tokens=280, shard_requests=25, max_batches=3),
        polling=polling(emu),
        on_progress=events.append,
    )
    assert (report.requests, report.succeeded, report.failed, report.pending) == (120, 120, 0, 0)
    assert report.finished
    results = read_results(out)
    assert [item["custom_id"] for item in results] == [f"q{n}" for n in range(120)]
    assert all(item["response"]["status_code"] == 200 for item in results)
    assert results[7]["response"]["body"]["choices"][0]["message"]["content"] == (
        "echo: " + five_words(7)
    )
    # 25 requests x 8 estimated tokens = 200 a shard: one shard in flight at a time.
    assert max(event.tokens_enqueued for event in events) <= 280
    final = {"completed", "failed", "expired", "cancelled"}  # still shown while harvested
    running = [sum(n for s, n in event.batches.items() if s not in final) for event in events]
    assert max(running) == 1
    batches = [b async for b in client.batches.list()]
    assert len(batches) == 5
    assert all(b.status == "completed" for b in batches)
    assert events[-1].event == "finished"
    assert events[-1].pending == 0


async def test_token_limit_refusals_are_submitted_again(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    # Another batch of the model holds 300 of the 400 tokens the emulator lets wait, for
    # 11 emulated seconds; each shard has 125, so shards are refused until it ends.
    emu.store.put_batch([line(f"other{n}", " ".join(["w"] * 30)) for n in range(10)])
    requests = [line(f"q{n}", five_words(n)) for n in range(100)]
    source = write_input(tmp_path / "in.jsonl", requests)
    out = tmp_path / "out.jsonl"
    events: list[JobProgress] = []
    report = await client.jobs.run(
        source,
        out,
        limits=JobLimits(max_enqueued_tokens=10_000, shard_requests=25, max_batches=4),
        polling=polling(emu),
        on_progress=events.append,
        limit_backoff=2.0,
    )
    assert (report.succeeded, report.failed) == (100, 0)
    refused = [b async for b in client.batches.list() if b.status == "failed"]
    assert refused
    assert all(b.errors and b.errors.data[0].code == "token_limit_exceeded" for b in refused)
    assert any(event.event == "limited" for event in events)
    completed = [b async for b in client.batches.list() if b.status == "completed"]
    totals = sorted(b.request_counts.total for b in completed if b.request_counts)
    assert totals == [10, 25, 25, 25, 25]  # the other batch, and the job's four
    assert [item["custom_id"] for item in read_results(out)] == [f"q{n}" for n in range(100)]
    # A refused shard is created again on the file already uploaded.
    uploads = [f async for f in client.files.list(purpose="batch")]
    assert len(uploads) == 1 + 4


async def test_retryable_failures_are_retried_up_to_the_limit(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    requests = [
        line("ok", "fine"),
        line("once", "flaky once [[flaky:500:1]]"),
        line("twice", "flaky twice [[flaky:429:2]]"),
        line("always", "always down [[flaky:503:99]]"),
        line("bad", "a bad request [[fail:400]]"),
        line("gone", "expired [[error:batch_expired]]"),
        line("odd", "an odd failure [[error:invalid_prompt]]"),
    ]
    source = write_input(tmp_path / "in.jsonl", requests)
    out = tmp_path / "out.jsonl"
    report = await client.jobs.run(
        source, out, limits=JobLimits(max_attempts=3), polling=polling(emu)
    )
    results = {item["custom_id"]: item for item in read_results(out)}
    assert list(results) == ["ok", "once", "twice", "always", "bad", "gone", "odd"]
    assert (report.succeeded, report.failed) == (3, 4)

    def status(custom_id: str) -> int | None:
        response = results[custom_id]["response"]
        return None if response is None else response["status_code"]

    assert [status(c) for c in ("ok", "once", "twice")] == [200, 200, 200]
    assert status("always") == 503  # three attempts, all failed: the last one's line
    assert status("bad") == 400  # not retried
    assert results["gone"]["error"]["code"] == "batch_expired"  # retried, failed 3 times
    assert results["odd"]["error"]["code"] == "invalid_prompt"  # not retried
    batches = [b async for b in client.batches.list()]
    totals = sorted((b.request_counts.total for b in batches if b.request_counts), reverse=True)
    # 7 requests; then once, twice, always, gone; then twice, always, gone.
    assert totals == [7, 4, 3]


async def test_a_single_attempt_never_retries(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", [line("once", "x [[flaky:500:1]]")])
    report = await client.jobs.run(
        source, tmp_path / "out.jsonl", limits=JobLimits(max_attempts=1), polling=polling(emu)
    )
    assert (report.succeeded, report.failed) == (0, 1)


async def test_status_reports_without_changing_anything(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", [line(f"q{n}", f"n {n}") for n in range(10)])
    out = tmp_path / "out.jsonl"
    state = tmp_path / "job.state"
    await client.jobs.run(
        source, out, state=state, limits=JobLimits(shard_requests=4), polling=polling(emu)
    )
    before = state.read_bytes()
    report = await job_status(state)
    assert state.read_bytes() == before
    assert (report.requests, report.succeeded, report.failed, report.pending) == (10, 10, 0, 0)
    assert report.shards == {"done": 3}
    assert report.batches == {}
    assert report.endpoint == "/v1/chat/completions"
    assert report.models == (MODEL,)
    assert report.token_counter == "bytes/4"
    assert report.input == str(source)
    assert not (tmp_path / "job.state.shards").exists()  # every shard file was uploaded


async def test_status_of_no_job(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await job_status(tmp_path / "none")


async def test_resume_after_an_interruption(emu: Emulator, client: Client, tmp_path: Path) -> None:
    requests = [line(f"q{n}", five_words(n)) for n in range(60)]
    source = write_input(tmp_path / "in.jsonl", requests)
    out = tmp_path / "out.jsonl"
    state = tmp_path / "job.state"
    limits = JobLimits(shard_requests=20, max_batches=1)
    submitted = asyncio.Event()

    def stop_at_the_first(progress: JobProgress) -> None:
        if progress.event == "submitted" and progress.shard == 1:
            submitted.set()

    run = asyncio.create_task(
        client.jobs.run(
            source, out, state=state, limits=limits, polling=polling(emu),
            on_progress=stop_at_the_first,
        )
    )  # fmt: skip
    await submitted.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not out.exists()
    middle = await job_status(state)
    assert middle.shards == {"submitted": 1}
    assert middle.pending == 60
    assert middle.tokens_enqueued == 20 * 8

    report = await client.jobs.run(source, out, state=state, limits=limits, polling=polling(emu))
    assert report.succeeded == 60
    assert [item["custom_id"] for item in read_results(out)] == [f"q{n}" for n in range(60)]
    batches = [b async for b in client.batches.list()]
    assert len(batches) == 3  # the one from before, and two more
    files = [f async for f in client.files.list(purpose="batch")]
    assert len(files) == 3


async def test_a_finished_job_runs_again_without_requests(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", [line("a", "one"), line("b", "two")])
    out = tmp_path / "out.jsonl"
    await client.jobs.run(source, out, polling=polling(emu))
    first = out.read_bytes()
    out.unlink()
    emu.requests.clear()
    report = await client.jobs.run(source, out, polling=polling(emu))
    assert report.succeeded == 2
    assert out.read_bytes() == first
    assert emu.requests == []


async def test_a_state_file_of_another_input_is_refused(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", [line("a", "one")])
    out = tmp_path / "out.jsonl"
    await client.jobs.run(source, out, polling=polling(emu))
    write_input(source, [line("a", "one"), line("b", "two")])
    with pytest.raises(JobStateError, match="another input"):
        await client.jobs.run(source, out, polling=polling(emu))


async def test_bad_input_is_refused_before_any_request(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    lines = [line("a", "one"), line("b", "two"), {**line("c", "three"), "method": "GET"}]
    source = write_input(tmp_path / "in.jsonl", lines)
    with pytest.raises(BatchInputError, match="line 3: method must be 'POST'"):
        await client.jobs.run(source, tmp_path / "out.jsonl", polling=polling(emu))
    assert emu.requests == []


async def test_a_duplicate_custom_id_is_refused_with_its_lines(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    # Found by the state file's unique index, not by an in-memory set of every id.
    source = tmp_path / "in.jsonl"
    write_input(source, [line("a", "one"), line("b", "two"), line("a", "three")])
    source.write_bytes(b"\n" + source.read_bytes())  # a blank line counts as a line
    state = tmp_path / "state"
    with pytest.raises(BatchInputError) as caught:
        await client.jobs.run(source, tmp_path / "out.jsonl", state=state, polling=polling(emu))
    [problem] = caught.value.problems
    assert (problem.code, problem.custom_id, problem.line, problem.index) == (
        "duplicate_custom_id",
        "a",
        4,
        2,
    )
    assert "lines 2 and 4 both use it" in str(caught.value)
    assert emu.requests == []
    with pytest.raises(JobStateError, match="holds no job"):
        await job_status(state)  # nothing was recorded


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batches"):
        JobLimits(max_batches=0)
    with pytest.raises(ValueError, match="max_enqueued_tokens"):
        JobLimits(max_enqueued_tokens=0)
    assert JobLimits(max_enqueued_tokens=None).max_enqueued_tokens is None


async def test_a_second_runner_of_the_same_job_stops_at_once(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", [line(f"q{n}", f"n {n}") for n in range(4)])
    out = tmp_path / "out.jsonl"
    submitted = asyncio.Event()

    def on_progress(progress: JobProgress) -> None:
        if progress.event == "submitted":
            submitted.set()

    first = asyncio.create_task(
        client.jobs.run(source, out, polling=polling(emu), on_progress=on_progress)
    )
    await submitted.wait()
    emu.requests.clear()
    with pytest.raises(JobStateError, match="another process is running this job"):
        await client.jobs.run(source, out, polling=polling(emu))
    assert [r for r in emu.requests if r.method == "POST"] == []  # the first one polls on
    report = await first
    assert report.succeeded == 4
    assert (await client.jobs.run(source, out, polling=polling(emu))).succeeded == 4  # free


async def test_requests_of_a_batch_that_expired_part_way_are_retried(tmp_path: Path) -> None:
    # One request a second and a 10 s window: a batch runs about 9 requests, then expires.
    timing = Timing(requests_per_second=1, window=10)
    async with (
        Emulator(clock=ManualClock(), timing=timing, seed=2) as emu,
        emu.client(retry_policy=RetryPolicy(initial_delay=0, max_delay=0)) as client,
    ):
        requests = [line(f"q{n}", f"n {n}") for n in range(20)]
        source = write_input(tmp_path / "in.jsonl", requests)
        out = tmp_path / "out.jsonl"
        report = await client.jobs.run(
            source, out, limits=JobLimits(max_attempts=3), polling=polling(emu)
        )
        assert (report.succeeded, report.failed) == (20, 0)
        batches = [b async for b in client.batches.list()]
        assert [b.status for b in reversed(batches)] == ["expired", "expired", "completed"]
        results = read_results(out)
        assert [r["custom_id"] for r in results] == [f"q{n}" for n in range(20)]
        assert all(r["response"]["status_code"] == 200 for r in results)


async def test_requests_of_a_batch_cancelled_part_way_are_retried(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    requests = [line(f"q{n}", f"n {n}") for n in range(20)]
    source = write_input(tmp_path / "in.jsonl", requests)
    cancelled: list[str] = []

    async def cancel_the_first(progress: JobProgress) -> None:
        # Someone cancels the first batch from the dashboard once it has started.
        if progress.event != "batch" or progress.batch_id is None or cancelled:
            return
        batch = await client.batches.retrieve(progress.batch_id)
        if batch.request_counts and batch.request_counts.completed:
            cancelled.append(batch.id)
            await client.batches.cancel(batch.id)

    report = await client.jobs.run(
        source, tmp_path / "out.jsonl", polling=polling(emu), on_progress=cancel_the_first
    )
    assert (report.succeeded, report.failed) == (20, 0)
    first = await client.batches.retrieve(cancelled[0])
    assert first.status == "cancelled"
    assert first.request_counts is not None
    assert 0 < first.request_counts.completed < 20  # part of it ran
    totals = [b.request_counts.total for b in [b async for b in client.batches.list()]]
    assert totals[-1] == 20
    assert sum(totals[:-1]) == 20 - first.request_counts.completed  # the rest, once more


async def test_a_refused_shard_goes_again_when_one_of_the_jobs_batches_ends(
    tmp_path: Path,
) -> None:
    # Three shards of 150 tokens against a limit of 400: the third is refused while the
    # first two run (for 300 emulated seconds each). Its backoff is far longer than that;
    # it goes again as soon as one of the two ends.
    timing = Timing(requests_per_second=0.1)
    async with (
        Emulator(clock=ManualClock(), timing=timing, seed=4, enqueued_token_limit=400) as emu,
        emu.client(retry_policy=RetryPolicy(initial_delay=0, max_delay=0)) as client,
    ):
        source = write_input(
            tmp_path / "in.jsonl", [line(f"q{n}", five_words(n)) for n in range(90)]
        )
        report = await client.jobs.run(
            source,
            tmp_path / "out.jsonl",
            limits=JobLimits(shard_requests=30, max_batches=3),
            polling=polling(emu),
            limit_backoff=100_000.0,
        )
        assert report.succeeded == 90
        batches = sorted([b async for b in client.batches.list()], key=lambda b: b.created_at)
        refused = [b for b in batches if b.status == "failed"]
        assert refused
        first_end = min(b.completed_at or 0 for b in batches if b.status == "completed")
        # The refused shard's batch that ran (not found by its place in creation order:
        # batches created in the same second tie).
        shard = (refused[-1].metadata or {})["openai_batches_shard"]
        [again] = [
            b
            for b in batches
            if b.status == "completed" and (b.metadata or {})["openai_batches_shard"] == shard
        ]
        assert first_end <= again.created_at < first_end + 60  # not 100,000 s later


async def test_a_webhook_event_wakes_the_jobs_wait(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    from openai_batches import BatchEvents

    source = write_input(tmp_path / "in.jsonl", [line(f"q{n}", five_words(n)) for n in range(3)])
    events = BatchEvents()
    polled: list[str] = []
    forever = asyncio.Event()  # never set: only an event can end a pause

    async def sleep(_: float) -> None:
        await forever.wait()

    def on_progress(progress: JobProgress) -> None:
        if progress.event == "batch" and progress.batch_id:
            polled.append(progress.batch_id)
            # The batch is done on the emulator's clock; only a webhook tells the job.
            assert isinstance(emu.clock, ManualClock)
            emu.clock.advance(60)
            events.notify(progress.batch_id)

    report = await asyncio.wait_for(
        client.jobs.run(
            source,
            tmp_path / "out.jsonl",
            polling=Polling(interval=1.0, sleep=sleep),
            on_progress=on_progress,
            events=events,
        ),
        timeout=10,
    )
    assert report.succeeded == 3
    assert len(set(polled)) == 1


async def models_of(client: Client, batch: Batch) -> set[str]:
    """The models a batch's input file names."""
    async with aclosing(client.files.lines(batch.input_file_id)) as lines:
        return {json.loads(raw)["body"]["model"] async for raw in lines}


async def test_a_job_of_two_models_keeps_each_under_the_limit(tmp_path: Path) -> None:
    # 48 requests of each model, interleaved in the input; 12 to a shard (96 estimated
    # tokens). The limit of 200 counts per model: two shards of each model in flight at
    # once (four batches, the most allowed), the other shards of a model waiting. A
    # request takes 20 emulated seconds, so a batch lasts many polls.
    timing = Timing(requests_per_second=0.05)
    async with (
        Emulator(clock=ManualClock(), timing=timing, seed=5, enqueued_token_limit=400) as emu,
        emu.client(retry_policy=RetryPolicy(initial_delay=0, max_delay=0)) as client,
    ):
        models = ("gpt-4o", MODEL)
        requests = [line(f"q{n}", five_words(n), models[n % 2]) for n in range(96)]
        source = write_input(tmp_path / "in.jsonl", requests)
        out = tmp_path / "out.jsonl"
        events: list[JobProgress] = []
        report = await client.jobs.run(
            source,
            out,
            limits=JobLimits(max_enqueued_tokens=200, shard_requests=12, max_batches=4),
            polling=polling(emu),
            on_progress=events.append,
        )
        assert (report.succeeded, report.failed) == (96, 0)
        assert report.models == models
        assert report.tokens_by_model == {"gpt-4o": 0, MODEL: 0}
        results = read_results(out)
        assert [item["custom_id"] for item in results] == [f"q{n}" for n in range(96)]
        assert [item["response"]["body"]["model"] for item in results] == [
            models[n % 2] for n in range(96)
        ]
        for model in models:
            assert max(event.tokens_by_model[model] for event in events) <= 2 * 96
        # Two shards of each model at once: the limit held each model, not their sum.
        assert max(event.tokens_enqueued for event in events) == 4 * 96
        batches = [b async for b in client.batches.list()]
        assert [b.status for b in batches] == ["completed"] * 8
        each = [await models_of(client, b) for b in batches]
        assert sorted(each, key=sorted) == [{m} for m in models for _ in range(4)]  # one each


async def test_one_models_refused_shard_waits_while_the_others_run(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    # Another batch holds 320 of the 400 tokens the emulator lets wait for gpt-4o, for
    # 160 emulated seconds: the job's shard of that model (100 tokens) is refused until it
    # ends (trying again after 50 s, then 100 s, ...), while the three shards of
    # gpt-4o-mini, whose queue is empty, run.
    other = emu.store.put_batch([line(f"other{n}", "w w", "gpt-4o") for n in range(160)])
    requests = [line(f"a{n}", five_words(n), "gpt-4o") for n in range(20)]
    requests += [line(f"b{n}", five_words(n)) for n in range(60)]
    source = write_input(tmp_path / "in.jsonl", requests)
    out = tmp_path / "out.jsonl"
    events: list[JobProgress] = []
    report = await client.jobs.run(
        source,
        out,
        limits=JobLimits(shard_requests=20, max_batches=2),
        polling=polling(emu),
        on_progress=events.append,
        limit_backoff=50.0,
    )
    assert (report.succeeded, report.failed) == (80, 0)
    assert [item["custom_id"] for item in read_results(out)] == [r["custom_id"] for r in requests]
    batches = [b async for b in client.batches.list() if b.id != other["id"]]
    refused = [b for b in batches if b.status == "failed"]
    assert refused
    assert all(b.errors and b.errors.data[0].code == "token_limit_exceeded" for b in refused)
    assert [await models_of(client, b) for b in refused] == [{"gpt-4o"}] * len(refused)
    ran = {b.id: await models_of(client, b) for b in batches if b.status == "completed"}
    [waited] = [b for b in batches if ran.get(b.id) == {"gpt-4o"}]
    others = [b for b in batches if ran.get(b.id) == {MODEL}]
    assert len(others) == 3
    ended = (await client.batches.retrieve(other["id"])).completed_at
    assert ended is not None
    assert waited.created_at >= ended  # it waited for the other batch of its model
    limited = [event for event in events if event.event == "limited"]
    assert limited
    assert all(event.tokens_by_model["gpt-4o"] == 0 for event in limited)  # given back


async def test_tokens_are_counted_with_each_models_counter(
    emu: Emulator, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tiktoken's encodings differ by model: each model's requests get that model's counter.
    asked: list[str | None] = []

    def token_counter(model: str | None) -> tuple[Any, str]:
        asked.append(model)
        per_request = {MODEL: 1, "gpt-4o": 7}[model or ""]
        return (lambda body: per_request), "fake"

    monkeypatch.setattr("openai_batches._jobs.token_counter", token_counter)
    models = (MODEL, "gpt-4o")
    requests = [line(f"q{n}", f"n {n}", models[n % 2]) for n in range(6)]
    source = write_input(tmp_path / "in.jsonl", requests)
    events: list[JobProgress] = []
    report = await client.jobs.run(
        source, tmp_path / "out.jsonl", polling=polling(emu), on_progress=events.append
    )
    assert report.succeeded == 6
    assert asked == list(models)  # once per model, as it first appears
    assert report.token_counter == "fake"
    submitted = [dict(event.tokens_by_model) for event in events if event.event == "submitted"]
    assert {"gpt-4o": 21, MODEL: 3} in submitted  # both shards in flight: 3 x 7 and 3 x 1


async def test_a_state_file_of_an_older_schema_is_refused(
    emu: Emulator, client: Client, tmp_path: Path
) -> None:
    # The first schema had no model per request; such a file is refused, not misread.
    state = tmp_path / "old.state"
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('id', 'x'), ('schema', '1')")
        db.commit()
    before = state.read_bytes()
    with pytest.raises(JobStateError, match=r"old.state is a job state file of schema 1, which"):
        await job_status(state)
    source = write_input(tmp_path / "in.jsonl", [line("a", "one")])
    with pytest.raises(JobStateError, match="finish that job with the version that started it"):
        await client.jobs.run(source, tmp_path / "out.jsonl", state=state, polling=polling(emu))
    assert state.read_bytes() == before
    assert emu.requests == []


def test_a_model_whose_shard_waits_for_room_does_not_hold_up_the_others(tmp_path: Path) -> None:
    # The coordinator plans the next shard of a model none of whose shards waits for
    # room; one waiting at its model's token limit leaves the other models' turn.
    from openai_batches._jobs import _Runner
    from openai_batches._jobstore import RequestState, Store

    runner = _Runner(
        None,  # type: ignore[arg-type]  # planning needs no client
        Store(tmp_path / "state"),
        "in.jsonl",
        "out.jsonl",
        JobLimits(max_batches=3),
        "24h",
        None,
        Polling(),
        60.0,
    )
    waiting = {**dict.fromkeys(RequestState, 0), RequestState.NEW: 5}
    runner.by_model = {"gpt-4o": dict(waiting), MODEL: dict(waiting)}
    assert runner._next_model() == "gpt-4o"
    assert runner._ready()
    runner.queued["gpt-4o"] = 1  # a shard of gpt-4o waits for room
    assert runner._next_model() == MODEL
    assert runner._ready()
    runner.queued[MODEL] = 1
    assert runner._next_model() is None
    assert not runner._ready()  # until one of them goes
    runner.capacity.batches = 3
    runner.queued["gpt-4o"] = 0
    assert not runner._ready()  # no slot free
