"""check_batch_input: every problem of a batch input file, by line, in bounded memory."""

from __future__ import annotations

import asyncio
import inspect
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest

import openai_batches._check as check_module
from openai_batches import (
    BatchInputError,
    BatchInputSummary,
    OpenAIError,
    check_batch_input,
)
from openai_batches._jsonl import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS

URL = "/v1/chat/completions"


def line(custom_id: Any = "a", **changes: Any) -> bytes:
    """One request line, with keys changed (or removed, given ``...``)."""
    request: dict[str, Any] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": URL,
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    }
    request.update(changes)
    return orjson.dumps({k: v for k, v in request.items() if v is not ...})


def write(tmp_path: Path, *lines: bytes, end: bytes = b"\n") -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\n".join(lines) + end)
    return path


async def problems_of(path: Path, **options: Any) -> BatchInputError:
    with pytest.raises(BatchInputError) as caught:
        await check_batch_input(path, **options)
    return caught.value


def found(error: BatchInputError) -> list[tuple[str, int | None, str | None]]:
    return [(p.code, p.line, p.custom_id) for p in error.problems]


async def test_a_valid_file_is_summarised(tmp_path: Path) -> None:
    # A byte order mark, CRLF endings, blank lines and no final newline are all fine.
    data = b"\xef\xbb\xbf" + line("a") + b"\r\n\r\n   \n" + line("b") + b"\n\n" + line("c")
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)

    summary = await check_batch_input(path)

    assert summary == BatchInputSummary(requests=3, bytes=len(data), url=URL, model="gpt-4o-mini")


@pytest.mark.parametrize(
    ("bad", "code", "words"),
    [
        (b"not json", "invalid_json_line", "not JSON"),
        (b'{"custom_id": "x", "body": {}', "invalid_json_line", "not JSON"),
        (b'{"id": "caf\xe9"}', "invalid_json_line", "not UTF-8: byte 12 of the line is 0xe9"),
        (b"[1, 2]", "invalid_request", "expected a JSON object, got an array"),
        (b"null", "invalid_request", "got null"),
        (line("x", method=...), "missing_required_parameter", "missing method"),
        (line("x", url=..., body=...), "missing_required_parameter", "missing url, body"),
        (line(""), "invalid_request", "custom_id must be a non-empty string, got ''"),
        (line(7), "invalid_request", "custom_id must be a non-empty string, got 7"),
        (line("x", method="GET"), "invalid_request", "method must be 'POST'"),
        (line("x", url=""), "invalid_request", "url must be a non-empty string"),
        (line("x", body=["m"]), "invalid_request", "body must be a JSON object, got list"),
        (line("a"), "duplicate_custom_id", "duplicate custom_id 'a': lines 1 and 3 both use it"),
        (line("x", url="/v1/embeddings"), "mismatched_url",
         "url '/v1/embeddings' differs from '/v1/chat/completions' of line 1"),
        (line("x", body={"model": "gpt-4o"}), "mismatched_model",
         "model 'gpt-4o' differs from 'gpt-4o-mini' of line 1"),
        (line("x", body={}), "mismatched_model", "model None differs"),
    ],
)  # fmt: skip
async def test_each_rule_is_reported_with_its_line(
    tmp_path: Path, bad: bytes, code: str, words: str
) -> None:
    # The bad line is the third: the blank second line counts, as in an editor.
    path = write(tmp_path, line("a"), b"", bad, line("b"))

    error = await problems_of(path)

    [problem] = error.problems
    assert (problem.code, problem.line, problem.index) == (code, 3, 1)
    assert problem.source == str(path)
    assert str(problem).startswith("line 3: ")
    assert words in str(problem)
    assert error.code == "invalid_batch_input"
    assert error.problem_count == 1
    assert str(error).splitlines() == [
        f"{path} cannot be a batch's input: 1 problem",
        f"  {problem}",
    ]


async def test_every_problem_is_listed_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line("a"),
        b"{oops",
        line("a"),
        line("b", url="/v1/responses"),
        line("c"),
        line("c"),
        line("d", method=...),
    )

    error = await problems_of(path)

    assert found(error) == [
        ("invalid_json_line", 2, None),
        ("duplicate_custom_id", 3, "a"),
        ("mismatched_url", 4, "b"),
        ("duplicate_custom_id", 6, "c"),
        ("missing_required_parameter", 7, "d"),
    ]
    assert isinstance(error, ValueError)
    assert isinstance(error, OpenAIError)
    assert [text.split(":")[0] for text in str(error).splitlines()[1:]] == [
        "  line 2",
        "  line 3",
        "  line 4",
        "  line 6",
        "  line 7",
    ]


async def test_only_the_first_max_problems_are_listed_and_the_rest_counted(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, *[b"x"] * 10)

    error = await problems_of(path, max_problems=3)

    assert [p.line for p in error.problems] == [1, 2, 3]
    assert error.problem_count == 10
    assert str(error).splitlines()[0].endswith(": 10 problems")
    assert str(error).splitlines()[-1] == "  and 7 more"


async def test_too_many_requests_names_the_first_line_over_and_the_count(tmp_path: Path) -> None:
    path = write(tmp_path, line("a"), b"", line("b"), line("c"), line("d"), b"junk")

    error = await problems_of(path, max_requests=2)

    # The file's own problems come first, then the lines'.
    assert found(error) == [("too_many_requests", 4, None), ("invalid_json_line", 6, None)]
    assert str(error.problems[0]) == (
        "line 4: request 3 is one more than a batch takes (2); the file has 5 requests; split it"
    )


async def test_a_file_over_max_bytes_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, line("a"), line("b"))
    size = path.stat().st_size

    error = await problems_of(path, max_bytes=size - 1)

    [problem] = error.problems
    assert (problem.code, problem.line, problem.index) == ("file_too_large", None, None)
    assert f"the file is {size:,} bytes, more than the {size - 1:,}" in str(problem)
    assert (await check_batch_input(path, max_bytes=size)).bytes == size


@pytest.mark.parametrize("data", [b"", b"\n", b"\n  \r\n\n"])
async def test_a_file_without_requests_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)

    error = await problems_of(path)

    assert found(error) == [("empty_file", None, None)]


async def test_a_line_too_long_to_read_ends_the_check_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, b"bad", line("a"), b"x" * 5000, line("a"))

    error = await problems_of(path, max_line_bytes=1000)

    assert found(error) == [("line_too_long", 3, None), ("invalid_json_line", 1, None)]
    assert "the lines after it were not checked" in str(error.problems[0])


async def test_long_custom_ids_are_compared_exactly_enough(tmp_path: Path) -> None:
    # Ids over 32 characters are kept as digests: equal ones still collide, and ids that
    # differ in their last character still do not.
    long = "x" * 500
    path = write(tmp_path, line(long + "1"), line(long + "2"), line(long + "1"), line("y" * 32))

    error = await problems_of(path)

    assert found(error) == [("duplicate_custom_id", 3, long + "1")]
    assert "lines 1 and 3" in str(error.problems[0])


def test_the_defaults_are_the_apis_limits() -> None:
    parameters = inspect.signature(check_batch_input).parameters
    assert parameters["max_requests"].default == MAX_BATCH_REQUESTS == 50_000
    assert parameters["max_bytes"].default == MAX_BATCH_BYTES == 200_000_000


@pytest.mark.parametrize("option", ["max_requests", "max_bytes", "max_line_bytes", "max_problems"])
async def test_limits_must_be_positive(tmp_path: Path, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        await check_batch_input(write(tmp_path, line()), **{option: 0})


async def test_a_file_that_cannot_be_read_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await check_batch_input(tmp_path / "missing.jsonl")
    with pytest.raises(IsADirectoryError):
        await check_batch_input(tmp_path)


async def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    # 16 MB of requests, each with a 1,000-character custom_id: holding the file, or
    # the ids as they are, would take 16 MB or 8 MB; the check holds a chunk, a line
    # and a 16-byte digest per id.
    count, id_size = 8_000, 1_000
    path = tmp_path / "large.jsonl"
    with path.open("wb") as out:
        for n in range(count):
            out.write(line(f"{n:0{id_size}d}", body={"model": "m", "text": "y" * 1_000}) + b"\n")
    assert path.stat().st_size > 16_000_000

    tracemalloc.start()
    try:
        summary = await check_batch_input(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert summary.requests == count
    assert peak < 5_000_000, f"peak {peak:,} bytes"


async def test_the_event_loop_gets_a_turn_every_few_hundred_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 5,000 short lines fit in one read from the file: only the check's own pauses let
    # another task run while they are checked.
    path = write(tmp_path, *[line(str(n)) for n in range(5_000)])
    turns = 0
    seen: list[int] = []
    check_line = check_module._Check.line

    def spy(self: Any, number: int, data: bytes) -> None:
        seen.append(turns)
        check_line(self, number, data)

    monkeypatch.setattr(check_module._Check, "line", spy)

    async def ticker() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    task = asyncio.create_task(ticker())
    try:
        await check_batch_input(path)
    finally:
        task.cancel()
    longest = max(seen.count(value) for value in set(seen))
    assert len(seen) == 5_000
    assert longest <= check_module._LINES_PER_TURN


async def test_unique_ids_false_keeps_no_ids(tmp_path: Path) -> None:
    path = write(tmp_path, line("a"), line("a"))
    with pytest.raises(BatchInputError, match="duplicate custom_id"):
        await check_batch_input(path)
    summary = await check_batch_input(path, unique_ids=False)
    assert summary.requests == 2


async def test_one_model_false_allows_several_models_and_checks_the_rest(tmp_path: Path) -> None:
    other = {"model": "gpt-4o", "messages": []}
    path = write(tmp_path, line("a"), line("b", body=other), line("c", body={}))
    with pytest.raises(BatchInputError, match="differs from 'gpt-4o-mini'"):
        await check_batch_input(path)
    summary = await check_batch_input(path, one_model=False)
    assert summary == BatchInputSummary(3, path.stat().st_size, URL, "gpt-4o-mini")  # the first

    # Every other rule still holds.
    path = write(
        tmp_path,
        line("a"),
        line("b", body=other),
        line("a", body=other),
        line("d", url="/v1/embeddings", body=other),
        line("e", method="GET"),
    )
    error = await problems_of(path, one_model=False)
    assert found(error) == [
        ("duplicate_custom_id", 3, "a"),
        ("mismatched_url", 4, "d"),
        ("invalid_request", 5, "e"),
    ]
