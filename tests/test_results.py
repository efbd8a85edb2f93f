"""A batch's results: streamed from both files, joined to the requests, failures rebuilt.

First over a fake file source, then end to end against the emulator with the client's
``files`` as the source.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import orjson
import pytest

from openai_batches import Batch, Client
from openai_batches._converter import structure_hook
from openai_batches._jsonl import RequestWriter, iter_requests
from openai_batches._lines import BatchInputError, BatchRequest, BatchResult, JSONLError
from openai_batches._results import (
    ContentSource,
    JoinSummary,
    ResultJoin,
    iter_result_files,
    iter_results,
    join_results,
    rebuild_failed,
)
from openai_batches.emulator import Emulator, ManualClock, Timing

URL = "/v1/chat/completions"


def req(custom_id: str, text: str = "hello") -> BatchRequest:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    return BatchRequest(custom_id, URL, body)


def ok(custom_id: str) -> dict[str, Any]:
    body = {"choices": [{"message": {"content": f"echo {custom_id}"}}]}
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": f"r-{custom_id}", "body": body},
        "error": None,
    }


def failed(custom_id: str, status: int = 400) -> dict[str, Any]:
    error = {"message": "bad", "type": "invalid_request_error", "param": None, "code": "x"}
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": "r", "body": {"error": error}},
        "error": None,
    }


def expired(custom_id: str) -> dict[str, Any]:
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": None,
        "error": {"code": "batch_expired", "message": "not run"},
    }


def jsonl(*lines: object) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


class FakeFiles:
    """A content source over bytes in memory, served in small chunks; records closing."""

    def __init__(self, contents: dict[str, bytes], chunk_size: int = 7) -> None:
        self.contents = contents
        self.chunk_size = chunk_size
        self.opened: list[str] = []
        self.closed: list[str] = []

    def content(self, file_id: str) -> AsyncIterator[bytes]:
        self.opened.append(file_id)
        return self._chunks(file_id)

    async def _chunks(self, file_id: str) -> AsyncIterator[bytes]:
        data = self.contents[file_id]
        try:
            for start in range(0, len(data), self.chunk_size):
                yield data[start : start + self.chunk_size]
        finally:
            self.closed.append(file_id)


def batch(status: str = "completed", **fields: Any) -> Batch:
    data = {
        "id": "batch_1",
        "object": "batch",
        "endpoint": URL,
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": status,
        "created_at": 1,
        **fields,
    }
    return structure_hook(Batch)(data, Batch)


async def collect(results: AsyncIterator[BatchResult]) -> list[str]:
    return [r.custom_id async for r in results]


# --- streaming -----------------------------------------------------------------------------


async def test_results_come_from_the_output_then_the_error_file() -> None:
    files = FakeFiles({"out": jsonl(ok("a"), ok("b")), "err": jsonl(failed("c"), expired("d"))})
    results = [r async for r in iter_result_files(files, "out", "err")]
    assert [r.custom_id for r in results] == ["a", "b", "c", "d"]
    assert [r.succeeded for r in results] == [True, True, False, False]
    assert files.closed == ["out", "err"]


@pytest.mark.parametrize(("output", "error"), [(None, "err"), ("", "err"), ("out", None)])
async def test_a_missing_file_is_skipped(output: str | None, error: str | None) -> None:
    files = FakeFiles({"out": jsonl(ok("a")), "err": jsonl(expired("b"))})
    expected = ["a"] if output else ["b"]
    assert await collect(iter_result_files(files, output, error)) == expected
    assert files.opened == [output or error]


@pytest.mark.parametrize("status", ["completed", "expired", "cancelled", "failed"])
async def test_every_final_status_streams(status: str) -> None:
    files = FakeFiles({"out": jsonl(ok("a")), "err": jsonl(expired("b"))})
    ids = {"output_file_id": "out", "error_file_id": "err"} if status != "failed" else {}
    expected = ["a", "b"] if status != "failed" else []
    assert await collect(iter_results(files, batch(status, **ids))) == expected


@pytest.mark.parametrize("status", ["validating", "in_progress", "finalizing", "cancelling"])
def test_a_running_batch_has_no_results_yet(status: str) -> None:
    with pytest.raises(ValueError, match=f"batch_1 is {status}"):
        iter_results(FakeFiles({}), batch(status))


async def test_a_malformed_line_names_the_file_and_line() -> None:
    files = FakeFiles({"out": jsonl(ok("a")), "err": jsonl(expired("b")) + b"\n{oops}\n"})
    results = iter_result_files(files, "out", "err")
    assert await collect_until_error(results) == ["a", "b"]


async def collect_until_error(results: AsyncIterator[BatchResult]) -> list[str]:
    seen = []
    with pytest.raises(JSONLError, match="err line 3: not JSON") as caught:
        async for result in results:
            seen.append(result.custom_id)
    assert (caught.value.source, caught.value.line) == ("err", 3)
    return seen


async def test_stopping_early_closes_the_download() -> None:
    files = FakeFiles({"out": jsonl(*(ok(str(n)) for n in range(50)))})
    results = iter_result_files(files, "out", None)
    async for _ in results:
        break
    await results.aclose()
    assert files.closed == ["out"]


async def test_results_stream_one_chunk_at_a_time() -> None:
    # The source below never ends: the first result arrives anyway.
    class Endless:
        def content(self, file_id: str) -> AsyncIterator[bytes]:
            return self._forever()

        async def _forever(self) -> AsyncIterator[bytes]:
            n = 0
            while True:
                n += 1
                yield jsonl(ok(str(n)))

    source: ContentSource = Endless()
    results = iter_result_files(source, "out", None)
    assert [(await anext(results)).custom_id for _ in range(3)] == ["1", "2", "3"]
    await results.aclose()


# --- joining -------------------------------------------------------------------------------


async def lines_of(*lines: dict[str, Any]) -> AsyncIterator[BatchResult]:
    for line in lines:
        yield structure_hook(BatchResult)(line, BatchResult)


def requests_iter(*ids: str) -> Iterator[BatchRequest]:
    return (req(i, f"text of {i}") for i in ids)


async def requests_async(*ids: str) -> AsyncIterator[BatchRequest]:
    for i in ids:
        yield req(i, f"text of {i}")


@pytest.mark.parametrize("form", ["list", "iterator", "async"])
async def test_join_pairs_each_result_with_its_request(form: str) -> None:
    ids = ("a", "b", "c", "d")
    inputs: Any = {
        "list": [req(i, f"text of {i}") for i in ids],
        "iterator": requests_iter(*ids),
        "async": requests_async(*ids),
    }[form]
    join = ResultJoin(lines_of(failed("c"), ok("a"), expired("d"), ok("b")), inputs)
    pairs = [(request, result) async for request, result in join]
    assert [(p.custom_id, r.custom_id) for p, r in pairs] == [
        ("c", "c"),
        ("a", "a"),
        ("d", "d"),
        ("b", "b"),
    ]
    assert pairs[0][0] == req("c", "text of c")
    assert join.summary == JoinSummary(matched=4, succeeded=2, failed=2)
    assert join.summary.complete


@pytest.mark.parametrize("form", ["list", "async"])
async def test_join_reports_missing_unmatched_and_duplicates(form: str) -> None:
    ids = ("a", "b", "a", "c", "d")
    inputs: Any = [req(i) for i in ids] if form == "list" else requests_async(*ids)
    results = lines_of(ok("a"), ok("zz"), failed("b"), ok("a"), failed("b"), ok("yy"))
    join = ResultJoin(results, inputs)
    pairs = [(p.custom_id, r.custom_id) async for p, r in join]
    assert pairs == [("a", "a"), ("b", "b")]
    assert join.summary == JoinSummary(
        matched=2,
        succeeded=1,
        failed=1,
        missing=("c", "d"),
        unmatched=("zz", "yy"),
        duplicate_results=("a", "b"),
        duplicate_inputs=("a",),
    )
    assert not join.summary.complete


async def test_the_summary_exists_only_after_the_join_ran() -> None:
    join = ResultJoin(lines_of(ok("a")), [req("a")])
    with pytest.raises(RuntimeError, match="iterate it first"):
        _ = join.summary
    assert [p async for p in join] != []
    with pytest.raises(RuntimeError, match="only once"):
        [p async for p in join]


async def test_join_results_reads_the_requests_from_the_input_file() -> None:
    inputs = jsonl(*(req(i).to_json() for i in "abc"))
    files = FakeFiles({"file-in": inputs, "out": jsonl(ok("b")), "err": jsonl(expired("a"))})
    join = join_results(files, batch(output_file_id="out", error_file_id="err"))
    assert [(p.custom_id, r.succeeded) async for p, r in join] == [("b", True), ("a", False)]
    assert join.summary.missing == ("c",)


async def test_rebuild_writes_the_failed_and_missing_requests() -> None:
    inputs = [req(i, f"text {i}") for i in "abcdef"]
    files = FakeFiles(
        {"out": jsonl(ok("a"), ok("c")), "err": jsonl(failed("b", 500), expired("e"))}
    )
    with RequestWriter() as writer:
        summary = await rebuild_failed(
            files, batch("expired", output_file_id="out", error_file_id="err"), writer, inputs
        )
    [shard] = writer.shards
    assert shard.data is not None
    rebuilt = [r async for r in iter_requests(one_chunk(shard.data))]
    assert rebuilt == [inputs[1], inputs[4], inputs[3], inputs[5]]
    assert summary.missing == ("d", "f")


async def test_rebuild_can_leave_out_missing_and_chosen_failures() -> None:
    inputs = [req(i) for i in "abcd"]
    results = lines_of(failed("a", 400), failed("b", 500), expired("c"))
    with RequestWriter() as writer:
        await ResultJoin(results, inputs).write_failed(
            writer,
            include_missing=False,
            select=lambda _, result: (
                result.failure is not None and result.failure.status_code != 400
            ),
        )
    assert [r.custom_id for r in await read_back(writer)] == ["b", "c"]


async def test_rebuild_shows_every_matched_result_as_it_passes() -> None:
    inputs = [req(i) for i in "abc"]
    results = lines_of(ok("a"), failed("b", 500), ok("zzz"))
    seen: list[tuple[str, bool]] = []
    with RequestWriter() as writer:
        summary = await ResultJoin(results, inputs).write_failed(
            writer, on_result=lambda r: seen.append((r.custom_id, r.succeeded))
        )
    assert seen == [("a", True), ("b", False)]  # "zzz" matches no request
    assert summary.unmatched == ("zzz",)
    assert [r.custom_id for r in await read_back(writer)] == ["b", "c"]


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read_back(writer: RequestWriter) -> list[BatchRequest]:
    out = []
    for shard in writer.shards:
        assert shard.data is not None
        out += [r async for r in iter_requests(one_chunk(shard.data))]
    return out


# --- end to end, against the emulator -------------------------------------------------------


def line(custom_id: str, text: str) -> dict[str, Any]:
    return req(custom_id, text).to_json()


async def finished(client: Client, emulator: Emulator, batch_id: str, seconds: float) -> Batch:
    emulator.clock.advance(seconds)
    result = await client.batches.retrieve(batch_id)
    assert result.status.is_final, result.status
    return result


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_emulator_completed_batch_with_some_failures(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    texts = {"a": "one", "b": "two [[fail:400]]", "c": "three", "d": "four [[fail:500]]"}
    created = openai_emulator.store.put_batch([line(k, v) for k, v in texts.items()])
    done = await finished(openai_client, openai_emulator, created["id"], 3600)
    assert done.status == "completed"

    results = {r.custom_id: r async for r in iter_results(openai_client.files, done)}
    assert sorted(results) == ["a", "b", "c", "d"]
    assert {k for k, r in results.items() if r.succeeded} == {"a", "c"}
    assert results["a"].response is not None
    assert results["a"].response.body["choices"][0]["message"]["content"] == "echo: one"
    failure = results["b"].failure
    assert failure is not None
    assert failure.status_code == 400
    assert failure.message
    assert results["d"].failure is not None
    assert results["d"].failure.status_code == 500

    join = join_results(openai_client.files, done)  # the requests from the input file
    assert {p.custom_id: p.body for p, _ in [x async for x in join]}["b"] == req(
        "b", texts["b"]
    ).body
    assert join.summary == JoinSummary(matched=4, succeeded=2, failed=2)


@pytest.mark.openai_emulator(clock=ManualClock())
async def test_emulator_all_failed_batch_has_only_an_error_file(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    created = openai_emulator.store.put_batch([line(k, f"x [[fail:429]] {k}") for k in "abc"])
    done = await finished(openai_client, openai_emulator, created["id"], 3600)
    assert (done.status, done.output_file_id) == ("completed", None)
    results = [r async for r in iter_results(openai_client.files, done)]
    assert sorted(r.custom_id for r in results) == ["a", "b", "c"]
    assert not any(r.succeeded for r in results)
    assert {r.failure.status_code for r in results if r.failure} == {429}


@pytest.mark.openai_emulator(
    clock=ManualClock(), timing=Timing(requests_per_second=8 / 86_400 + 1e-9)
)
async def test_emulator_expired_batch_rebuilds_what_did_not_run(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    # Eight requests run in the 24 h window, one of them failing; four never run.
    texts = [f"t{n}" + (" [[fail:400]]" if n == 2 else "") for n in range(12)]
    inputs = [req(f"r{n}", t) for n, t in enumerate(texts)]
    created = openai_emulator.store.put_batch([r.to_json() for r in inputs])
    done = await finished(openai_client, openai_emulator, created["id"], 24 * 3600 + 60)
    assert done.status == "expired"

    results = [r async for r in iter_results(openai_client.files, done)]
    codes = sorted((r.failure.code or "") if r.failure else "ok" for r in results)
    assert codes.count("ok") == 7
    assert codes.count("batch_expired") == 4
    assert len(results) == 12

    with RequestWriter() as writer:
        summary = await rebuild_failed(openai_client.files, done, writer, inputs)
    assert summary.complete
    rebuilt = await read_back(writer)
    assert sorted(r.custom_id for r in rebuilt) == sorted(["r2", "r8", "r9", "r10", "r11"])
    assert all(r == inputs[int(r.custom_id[1:])] for r in rebuilt)

    # Re-submitted, the rebuilt requests form a valid batch of exactly those ids.
    [shard] = writer.shards
    assert shard.data is not None
    again = openai_emulator.store.put_batch(json.loads(x) for x in shard.data.splitlines())
    rerun = await finished(openai_client, openai_emulator, again["id"], 24 * 3600)
    assert rerun.status == "completed"
    rerun_ids = sorted([r.custom_id async for r in iter_results(openai_client.files, rerun)])
    assert rerun_ids == sorted(r.custom_id for r in rebuilt)


@pytest.mark.openai_emulator(clock=ManualClock(), timing=Timing(requests_per_second=1))
async def test_emulator_cancelled_batch_has_partial_output(
    openai_emulator: Emulator, openai_client: Client
) -> None:
    inputs = [req(f"r{n}", f"text {n}") for n in range(10)]
    created = openai_emulator.store.put_batch([r.to_json() for r in inputs])
    openai_emulator.clock.advance(0.5 + 3.5)  # validated, then three requests run
    await openai_client.batches.cancel(created["id"])
    done = await finished(openai_client, openai_emulator, created["id"], 1)
    assert done.status == "cancelled"

    join = join_results(openai_client.files, done, inputs)
    pairs = [(p.custom_id, r) async for p, r in join]
    ran = sorted(cid for cid, r in pairs if r.succeeded)
    assert ran == ["r0", "r1", "r2"]
    cancelled = [r.failure.code for _, r in pairs if r.failure]
    assert cancelled == ["batch_cancelled"] * 7
    assert join.summary == JoinSummary(matched=10, succeeded=3, failed=7)

    with RequestWriter() as writer:
        await rebuild_failed(openai_client.files, done, writer)  # inputs from the file
    assert [r.custom_id for r in await read_back(writer)] == [f"r{n}" for n in range(3, 10)]


def track_spools(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record each temporary file the join spools requests to."""
    spools: list[Any] = []
    real = tempfile.TemporaryFile

    def tracked() -> Any:
        spools.append(real())
        return spools[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", tracked)
    return spools


async def test_a_refused_rebuild_write_closes_the_spool(monkeypatch: pytest.MonkeyPatch) -> None:
    spools = track_spools(monkeypatch)
    results = lines_of(failed("a"), failed("b"))
    with RequestWriter(max_bytes=10) as writer, pytest.raises(BatchInputError):
        await ResultJoin(results, requests_async("a", "b")).write_failed(writer)
    [spool] = spools
    assert spool.closed


async def test_stopping_a_join_early_closes_the_spool(monkeypatch: pytest.MonkeyPatch) -> None:
    spools = track_spools(monkeypatch)
    join = ResultJoin(lines_of(ok("a"), ok("b")), requests_async("a", "b"))
    async with aclosing(aiter(join)) as pairs:
        async for _ in pairs:
            break
    assert spools[0].closed
