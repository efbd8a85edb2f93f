"""Deterministic answers and markers, tested as pure functions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from openai_batches.emulator import SUPPORTED_ENDPOINTS, count_tokens
from openai_batches.emulator._responses import find_markers, respond


def answer(endpoint: str, body: dict[str, Any]) -> Any:
    return respond(endpoint, body, seed="batch_x:req", created=1_700_000_000)


def test_count_tokens_is_words() -> None:
    assert count_tokens("  one two\tthree\nfour ") == 4
    assert count_tokens("") == 0


@pytest.mark.parametrize(
    ("text", "fail", "size", "error"),
    [
        ("plain", None, None, None),
        ("x [[fail:503]] y", 503, None, None),
        ("[[fail:200]]", None, None, None),  # not a failure status: ignored
        ("[[size:10k]]", None, 10240, None),
        ("[[size:2m]] and [[size:5]]", None, 2 * 1024**2, None),
        ("[[error:batch_expired]]", None, None, "batch_expired"),
    ],
)
def test_markers(text: str, fail: int | None, size: int | None, error: str | None) -> None:
    markers = find_markers({"deep": [{"content": text}]})
    assert (markers.fail, markers.size, markers.error) == (fail, size, error)


def test_chat_echoes_the_last_user_message() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second question"}]},
        ],
    }
    outcome = answer("/v1/chat/completions", body)
    assert outcome.status_code == 200
    assert outcome.body is not None
    assert outcome.body["choices"][0]["message"]["content"] == "echo: second question"
    assert outcome.body["model"] == "gpt-4o-mini"
    assert outcome.body["usage"]["prompt_tokens"] == 6
    assert outcome.body["usage"]["completion_tokens"] == 3
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (6, 3)
    assert outcome == answer("/v1/chat/completions", body)


def test_responses_endpoint() -> None:
    body = {"model": "gpt-5", "input": "hello there", "instructions": "be nice"}
    outcome = answer("/v1/responses", body)
    assert outcome.body is not None
    [message] = outcome.body["output"]
    assert message["content"][0]["text"] == "echo: hello there"
    assert outcome.body["usage"]["input_tokens"] == 4
    assert outcome.body["usage"]["output_tokens"] == 3
    assert outcome.body["object"] == "response"


def test_completions_one_choice_per_prompt() -> None:
    outcome = answer("/v1/completions", {"model": "m", "prompt": ["a b", "c"]})
    assert outcome.body is not None
    assert [c["text"] for c in outcome.body["choices"]] == ["echo: a b", "echo: c"]
    assert outcome.usage.input_tokens == 3


def test_embeddings_are_unit_vectors() -> None:
    outcome = answer("/v1/embeddings", {"model": "m", "input": ["a", "b"], "dimensions": 5})
    assert outcome.body is not None
    vectors = [item["embedding"] for item in outcome.body["data"]]
    assert [len(v) for v in vectors] == [5, 5]
    assert vectors[0] != vectors[1]
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, abs_tol=1e-4)
    default = answer("/v1/embeddings", {"model": "m", "input": "a"})
    assert default.body is not None
    assert len(default.body["data"][0]["embedding"]) == 16


def test_moderations_never_flag() -> None:
    outcome = answer("/v1/moderations", {"input": ["a", "b"]})
    assert outcome.body is not None
    assert [r["flagged"] for r in outcome.body["results"]] == [False, False]
    assert outcome.body["model"] == "omni-moderation-latest"


@pytest.mark.parametrize("endpoint", SUPPORTED_ENDPOINTS)
def test_fail_marker_on_every_endpoint(endpoint: str) -> None:
    body = {"model": "m", "input": "[[fail:418]]", "prompt": "x", "messages": []}
    outcome = answer(endpoint, body)
    assert outcome.status_code == 418
    assert outcome.body is not None
    assert set(outcome.body["error"]) == {"message", "type", "param", "code"}
    assert not outcome.succeeded


def test_size_marker_pads_the_text() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "[[size:100k]]"}]}
    outcome = answer("/v1/chat/completions", body)
    assert outcome.body is not None
    text = outcome.body["choices"][0]["message"]["content"]
    assert abs(len(text.encode()) - 100 * 1024) <= 16
    assert outcome.usage.output_tokens == count_tokens(text)
