"""Input-token estimates for jobs: tiktoken when it can be loaded, else bytes / 4."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from openai_batches import _tokens


@pytest.fixture(autouse=True)
def fresh_encodings() -> Iterator[None]:
    _tokens._encoding.cache_clear()
    yield
    _tokens._encoding.cache_clear()


def chat(*texts: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text} for text in texts]}


def test_the_heuristic_counts_four_bytes_a_token_of_each_text() -> None:
    assert _tokens.heuristic_tokens(chat("abcd", "abcde")) == 1 + 2
    assert _tokens.heuristic_tokens(chat("é" * 4)) == 2  # 8 bytes of UTF-8
    parts = [{"type": "text", "text": "abcdefgh"}, {"type": "image_url", "image_url": {}}]
    assert _tokens.heuristic_tokens(chat(parts)) == 2
    assert _tokens.heuristic_tokens({"input": ["abcd", "abcd"], "instructions": "abcd"}) == 3
    assert _tokens.heuristic_tokens({"model": "a very long model name"}) == 1  # at least 1


def test_without_tiktoken_the_heuristic_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import fails
    count, name = _tokens.token_counter("gpt-4o-mini")
    assert name == "bytes/4"
    assert count(chat("abcdefgh")) == 2


def test_with_tiktoken_its_encoding_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    class Encoding:
        def encode_ordinary(self, text: str) -> list[int]:
            return [0] * len(text.split())

    def encoding_for_model(model: str) -> Encoding:
        raise KeyError(model)  # a model it does not know

    def get_encoding(name: str) -> Encoding:
        asked.append(name)
        return Encoding()

    fake = types.ModuleType("tiktoken")
    fake.encoding_for_model = encoding_for_model  # type: ignore[attr-defined]
    fake.get_encoding = get_encoding  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    count, name = _tokens.token_counter("my-model")
    assert name == "tiktoken"
    assert asked == ["o200k_base"]
    assert count(chat("one two three", "four")) == 4 + 2 * 4  # words, and 4 per message


def test_tiktoken_that_cannot_load_its_tables_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = types.ModuleType("tiktoken")

    def offline(model: str) -> None:
        raise OSError("no network")

    fake.encoding_for_model = offline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    assert _tokens.token_counter("gpt-4o")[1] == "bytes/4"
