"""The JSONL reader over byte chunks, and the sharding request writer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_batches._jsonl import (
    MAX_BATCH_REQUESTS,
    RequestWriter,
    Shard,
    encode_requests,
    iter_jsonl,
    iter_lines,
    iter_numbered_lines,
    iter_requests,
    write_requests,
)
from openai_batches._lines import BatchInputError, BatchRequest, JSONLError

# --- reading -------------------------------------------------------------------------------

# CRLF and LF endings, a blank and a whitespace-only line, two- three- and four-byte
# characters, and no newline at the end.
SAMPLE = '{"a": "é"}\r\n\n{"b": "日本"}\n  \r\n{"c": "🙂"}\r\n{"d": 1}'.encode()
SAMPLE_LINES = [b'{"a": "\xc3\xa9"}', '{"b": "日本"}'.encode(), '{"c": "🙂"}'.encode(), b'{"d": 1}']


async def pieces(data: bytes, cuts: Iterable[int]) -> AsyncIterator[bytes]:
    """Yield ``data`` cut at each position in ``cuts``."""
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        yield data[start:cut]
        start = cut


async def read(data: bytes, cuts: Iterable[int] = (), **kwargs: Any) -> list[bytes]:
    return [line async for line in iter_lines(pieces(data, cuts), **kwargs)]


@pytest.mark.parametrize("cut", range(len(SAMPLE) + 1))
async def test_lines_survive_a_cut_at_any_position(cut: int) -> None:
    assert await read(SAMPLE, [cut]) == SAMPLE_LINES


async def test_lines_survive_one_byte_chunks() -> None:
    assert await read(SAMPLE, range(len(SAMPLE))) == SAMPLE_LINES


async def test_lines_survive_every_pair_of_cuts() -> None:
    for first in range(len(SAMPLE)):
        for second in range(first, len(SAMPLE)):
            assert await read(SAMPLE, [first, second]) == SAMPLE_LINES, (first, second)


async def test_a_multibyte_character_split_across_chunks_is_rejoined() -> None:
    data = '{"x": "🙂"}\n'.encode()
    emoji = data.index("🙂".encode())
    for cut in range(emoji + 1, emoji + 4):  # inside the four bytes
        [line] = await read(data, [cut])
        assert orjson.loads(line) == {"x": "🙂"}


async def test_line_numbers_count_blank_lines() -> None:
    numbered = [n async for n, _ in iter_numbered_lines(pieces(SAMPLE, [5]))]
    assert numbered == [1, 3, 5, 6]


async def test_a_byte_order_mark_is_dropped() -> None:
    assert await read(b'\xef\xbb\xbf{"a": 1}\n', [1]) == [b'{"a": 1}']


async def test_an_empty_stream_and_blank_streams_have_no_lines() -> None:
    assert await read(b"") == []
    assert await read(b"\n\r\n \n", [2]) == []


async def test_a_line_at_the_limit_passes_and_one_byte_more_fails() -> None:
    line = b'"' + b"x" * 8 + b'"'  # 10 bytes
    assert await read(line + b"\r\n" + line, [11], max_line_bytes=10) == [line, line]
    with pytest.raises(JSONLError, match="line 2: the line is longer than the limit of 10") as e:
        await read(line + b"\n" + line + b"y\n", max_line_bytes=10)
    assert e.value.line == 2


async def test_a_crlf_split_after_the_cr_at_the_limit_passes() -> None:
    line = b"x" * 10
    assert await read(line + b"\r\n", [11], max_line_bytes=10) == [line]


async def test_an_endless_line_fails_without_reading_on() -> None:
    reads = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal reads
        while True:
            reads += 1
            yield b"y" * 1000

    with pytest.raises(JSONLError, match="file-1 line 1"):
        async for _ in iter_lines(endless(), max_line_bytes=10_000, source="file-1"):
            pass
    assert reads == 11  # the buffer never held more than the limit and one chunk


async def test_the_line_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_line_bytes"):
        await read(b"{}", max_line_bytes=0)


async def test_typed_lines_name_the_source_and_line_of_a_bad_one() -> None:
    data = b'{"custom_id": "a", "url": "/v1/x", "body": {}}\n\n{"custom_id": "b"}\n'
    requests = iter_requests(pieces(data, [7]), source="file-in")
    assert (await anext(requests)).custom_id == "a"
    with pytest.raises(JSONLError, match=r"file-in line 3 at \$\.url: required field missing"):
        await anext(requests)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    objects=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=5), max_size=8),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_any_jsonl_cut_anywhere_reads_back_identical(
    objects: list[dict[str, Any]], crlf: bool, final_newline: bool, cuts: list[int]
) -> None:
    ending = "\r\n" if crlf else "\n"
    text = ending.join(json.dumps(o, ensure_ascii=False) for o in objects)
    data = (text + (ending if final_newline and objects else "")).encode()
    positions = [cut % (len(data) + 1) for cut in cuts]

    async def roundtrip() -> list[Any]:
        return [orjson.loads(line) for line in await read(data, positions)]

    assert asyncio.run(roundtrip()) == objects


# --- writing -------------------------------------------------------------------------------

URL = "/v1/chat/completions"


def request(n: int, *, model: str = "gpt-4o-mini", url: str = URL, text: str = "") -> BatchRequest:
    body = {"model": model, "messages": [{"role": "user", "content": text or f"q{n:06d}"}]}
    return BatchRequest(f"req-{n:06d}", url, body)


def line_size(req: BatchRequest) -> int:
    return len(orjson.dumps(req.to_json())) + 1


async def read_shards(shards: Sequence[Shard]) -> list[BatchRequest]:
    result = []
    for shard in shards:
        data = shard.data if shard.path is None else shard.path.read_bytes()
        assert data is not None
        assert len(data) == shard.size
        async for req in iter_requests(pieces(data, [])):
            result.append(req)
    return result


async def test_a_small_job_encodes_to_one_shard_that_reads_back() -> None:
    requests = [request(n) for n in range(5)]
    [data] = encode_requests(requests)
    assert data.count(b"\n") == 5
    assert [r async for r in iter_requests(pieces(data, [3]))] == requests


def test_a_duplicate_custom_id_names_it_and_both_positions() -> None:
    writer = RequestWriter()
    for n in range(4):
        writer.write(request(n))
    with pytest.raises(BatchInputError) as caught:
        writer.write(request(1))
    error = caught.value
    assert (error.code, error.custom_id, error.index) == ("duplicate_custom_id", "req-000001", 4)
    assert "'req-000001'" in str(error)
    assert "requests 2 and 5" in str(error)
    # The writer is unchanged: the job can go on without the duplicate.
    writer.write(request(4))
    assert writer.count == 5
    assert [s.requests for s in writer.close()] == [5]


def test_long_custom_ids_are_told_apart_and_their_duplicates_caught() -> None:
    # Ids over 32 characters are remembered by a digest, not as they are.
    long = "x" * 1000
    writer = RequestWriter()
    for custom_id in (long + "a", long + "b"):
        writer.write(BatchRequest(custom_id, URL, {"model": "m"}))
    with pytest.raises(BatchInputError, match="requests 1 and 3 both use it") as caught:
        writer.write(BatchRequest(long + "a", URL, {"model": "m"}))
    assert caught.value.custom_id == long + "a"
    assert writer.count == 2


def test_mixed_endpoints_are_refused() -> None:
    writer = RequestWriter()
    writer.write(request(0))
    with pytest.raises(BatchInputError, match=r"'/v1/responses'.*'/v1/chat/completions'") as e:
        writer.write(request(1, url="/v1/responses"))
    assert e.value.code == "mismatched_url"


def test_mixed_models_are_refused() -> None:
    writer = RequestWriter()
    writer.write(request(0))
    with pytest.raises(BatchInputError, match=r"'gpt-4o'.*'gpt-4o-mini'") as e:
        writer.write(request(1, model="gpt-4o"))
    assert (e.value.code, e.value.custom_id) == ("mismatched_model", "req-000001")
    no_model = BatchRequest("x", URL, {"messages": []})
    with pytest.raises(BatchInputError, match="None"):
        writer.write(no_model)


@pytest.mark.parametrize(
    "bad",
    [
        BatchRequest("", URL, {"model": "m"}),
        BatchRequest("a", URL, [1]),  # type: ignore[arg-type]
        BatchRequest("a", URL, {"model": "m", "when": {1, 2}}),
        {"custom_id": "a", "url": URL, "body": {}},
        BatchRequest("a", URL, {"model": "m"}, method="GET"),
        BatchRequest("a", "", {"model": "m"}),
    ],
)
def test_invalid_requests_are_refused_before_anything_is_written(bad: Any) -> None:
    writer = RequestWriter()
    with pytest.raises(BatchInputError, match="Request 1: ") as e:
        writer.write(bad)
    assert e.value.code == "invalid_request"
    assert writer.close() == []


@pytest.mark.parametrize(("count", "shards"), [(9, [3, 3, 3]), (10, [3, 3, 3, 1]), (3, [3])])
async def test_shards_hold_at_most_max_requests(count: int, shards: list[int]) -> None:
    requests = [request(n) for n in range(count)]
    with RequestWriter(max_requests=3) as writer:
        writer.write_all(requests)
    assert [s.requests for s in writer.shards] == shards
    assert [s.index for s in writer.shards] == list(range(len(shards)))
    assert await read_shards(writer.shards) == requests


@pytest.mark.parametrize(("slack", "shards"), [(0, [3, 3, 1]), (-1, [2, 2, 2, 1]), (1, [3, 3, 1])])
async def test_shards_hold_at_most_max_bytes(slack: int, shards: list[int]) -> None:
    requests = [request(n) for n in range(7)]
    size = line_size(requests[0])
    assert all(line_size(r) == size for r in requests)
    limit = 3 * size + slack
    with RequestWriter(max_bytes=limit) as writer:
        writer.write_all(requests)
    assert all(s.size <= limit for s in writer.shards)
    assert [s.requests for s in writer.shards] == shards
    assert await read_shards(writer.shards) == requests


def test_a_request_larger_than_a_shard_is_refused() -> None:
    fits = request(0, text="x" * 100)
    with RequestWriter(max_bytes=line_size(fits)) as writer:
        writer.write(fits)
        with pytest.raises(BatchInputError, match=r"more than a whole shard") as e:
            writer.write(request(1, text="x" * 101))
    assert e.value.code == "request_too_large"
    assert [s.requests for s in writer.shards] == [1]


def test_the_real_request_limit_shards_at_50000() -> None:
    assert MAX_BATCH_REQUESTS == 50_000
    with RequestWriter() as writer:
        for n in range(50_001):
            writer.write(BatchRequest(str(n), URL, {"model": "m"}))
    assert [s.requests for s in writer.shards] == [50_000, 1]


async def test_shards_stream_to_disk_as_the_job_goes(tmp_path: Path) -> None:
    writer = RequestWriter(tmp_path / "job", max_requests=2, prefix="part-")
    for n in range(3):
        writer.write(request(n))
    # The first shard is finished, on disk, and not kept in memory.
    [first] = writer.shards
    assert first.path == tmp_path / "job" / "part-00000.jsonl"
    assert first.data is None
    assert first.path.read_bytes().count(b"\n") == 2
    shards = writer.close()
    assert [s.path.name for s in shards if s.path] == ["part-00000.jsonl", "part-00001.jsonl"]
    assert await read_shards(shards) == [request(n) for n in range(3)]


def test_shards_never_overwrite_files(tmp_path: Path) -> None:
    (tmp_path / "requests-00000.jsonl").write_bytes(b"earlier job\n")
    with pytest.raises(FileExistsError), RequestWriter(tmp_path) as writer:
        writer.write(request(0))
    assert (tmp_path / "requests-00000.jsonl").read_bytes() == b"earlier job\n"


def test_a_failed_job_leaves_no_shards_behind(tmp_path: Path) -> None:
    with pytest.raises(BatchInputError), RequestWriter(tmp_path, max_requests=2) as writer:
        for n in [0, 1, 2, 1]:
            writer.write(request(n))
    assert list(tmp_path.iterdir()) == []
    assert writer.shards == []


def test_a_closed_writer_refuses_writes() -> None:
    writer = RequestWriter()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(request(0))


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_limits_must_be_positive_integers(limit: Any) -> None:
    with pytest.raises(ValueError, match="max_requests"):
        RequestWriter(max_requests=limit)
    with pytest.raises(ValueError, match="max_bytes"):
        RequestWriter(max_bytes=limit)


async def test_write_requests_takes_an_async_iterable(tmp_path: Path) -> None:
    async def generate() -> AsyncIterator[BatchRequest]:
        for n in range(5):
            yield request(n)

    shards = await write_requests(generate(), tmp_path, max_requests=2)
    assert [s.requests for s in shards] == [2, 2, 1]
    assert await read_shards(shards) == [request(n) for n in range(5)]
    assert await write_requests([request(0)]) == [
        Shard(0, None, orjson.dumps(request(0).to_json()) + b"\n", 1, line_size(request(0)))
    ]


async def test_iter_jsonl_reads_plain_dicts_too() -> None:
    data = b'{"custom_id": "a", "url": "/v1/x", "body": {}}\n'
    assert [r.custom_id async for r in iter_jsonl(pieces(data, []), BatchRequest)] == ["a"]
