"""A large page is parsed a run of items at a time, and gives exactly what one parse gives."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from openai_batches import _decode
from openai_batches._decode import decode_page, parse_items, split_page
from openai_batches._transport import Response
from tests.conftest import sample


def response(body: bytes) -> Response:
    return Response(200, CIMultiDictProxy(CIMultiDict()), body, "GET", "http://t/v1/files")


def files(n: int) -> list[dict[str, Any]]:
    return [{**sample("file_object_example"), "id": f"file-{i:05d}"} for i in range(n)]


async def test_a_large_page_is_cut_between_items_and_gives_what_one_parse_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = json.dumps({"object": "list", "data": files(200), "has_more": True}).encode()
    split = split_page(body)
    assert split is not None
    envelope, start, end = split
    assert orjson.loads(envelope) == {"object": "list", "data": [], "has_more": True}
    runs = list(parse_items(body, start, end, 1000))
    assert len(runs) > 20
    assert [item for run in runs for item in run] == files(200)
    monkeypatch.setattr(_decode, "PIECE", 1000)
    page = await decode_page(response(body))
    assert page.data == orjson.loads(body)["data"]
    assert (page.has_more, page.object) == (True, "list")


def test_a_cut_inside_a_string_or_an_item_moves_to_the_next_one() -> None:
    data = [
        {"id": f"file-{i}", "filename": "a},{b", "errors": {"data": [{"a": 1}, {"b": 2}]}}
        for i in range(60)
    ]
    body = json.dumps({"data": data, "has_more": False}).encode()
    split = split_page(body)
    assert split is not None
    runs = list(parse_items(body, split[1], split[2], 100))
    assert len(runs) > 10
    assert [item for run in runs for item in run] == data


def test_an_envelope_with_a_backslash_is_not_cut() -> None:
    """An escaped quote would throw the count of quotes off."""
    data = [{"id": 'a\\"},{"'}] * 60
    assert split_page(json.dumps({"data": data, "has_more": False}).encode()) is not None
    body = {"object": 'li\\"st', "data": data, "has_more": False}
    assert split_page(json.dumps(body).encode()) is None


async def test_items_that_are_not_items_fall_back_to_one_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {"data": [], "meta": {"data": [{"id": "x"}]}, "more": [{"id": "y"}] * 60}
    text = json.dumps({**body, "has_more": False}).encode()
    split = split_page(text)
    assert split is not None  # but what it takes for the items is not a list of items
    with pytest.raises(orjson.JSONDecodeError):
        list(parse_items(text, split[1], split[2], 100))
    monkeypatch.setattr(_decode, "PIECE", 100)
    assert (await decode_page(response(text))).data == []


def test_a_small_page_is_parsed_in_one_go() -> None:
    body = json.dumps({"data": files(3), "has_more": False}).encode()
    split = split_page(body)
    assert split is not None
    assert len(list(parse_items(body, split[1], split[2], len(body)))) == 1


# Strings full of the characters a cut looks at; items with lists of objects inside.
tricky = st.text(alphabet=st.sampled_from(list('ab{}[],:" \\\n\u00e9data')), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | tricky,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky, children, max_size=3),
    max_leaves=8,
)
items = st.dictionaries(tricky, json_values, max_size=4) | st.builds(
    lambda id_, errors: {"id": id_, "errors": {"data": errors}},
    tricky,
    st.lists(st.dictionaries(tricky, json_values, max_size=2), max_size=3),
)
envelopes = st.fixed_dictionaries(
    {"data": st.lists(items, max_size=12), "has_more": st.booleans()},
    optional={"object": tricky, "first_id": tricky, "last_id": tricky | st.just("]")},
)


@settings(max_examples=150, deadline=None)
@given(
    envelopes,
    st.sampled_from([None, 1, 2]),
    st.booleans(),
    st.integers(min_value=1, max_value=64),
    st.permutations(["object", "data", "has_more", "first_id", "last_id"]),
)
async def test_any_page_parses_as_one_parse_would(
    page: dict[str, Any], indent: int | None, ascii_only: bool, piece: int, order: list[str]
) -> None:
    ordered = {k: page[k] for k in order if k in page}
    body = json.dumps(ordered, indent=indent, ensure_ascii=ascii_only).encode()
    whole = orjson.loads(body)
    split = split_page(body)
    if split is not None:
        envelope, start, end = split
        assert orjson.loads(envelope)["data"] == []
        runs = list(parse_items(body, start, end, piece))
        assert [item for run in runs for item in run] == whole["data"]
    saved = _decode.PIECE
    _decode.PIECE = piece
    try:
        decoded = await decode_page(response(body))
    finally:
        _decode.PIECE = saved
    assert decoded.data == whole["data"]
    assert decoded.has_more == whole["has_more"]
    assert (decoded.first_id, decoded.last_id) == (whole.get("first_id"), whole.get("last_id"))
