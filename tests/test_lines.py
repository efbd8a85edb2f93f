"""Request and result lines: decoding the real shapes, typed failures, line-numbered errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openai_batches._converter import make_converter
from openai_batches._lines import (
    BatchRequest,
    BatchResult,
    JSONLError,
    ResultError,
    ResultFailure,
    ResultResponse,
    decode_line,
)

OK_LINE: dict[str, Any] = {
    "id": "batch_req_123",
    "custom_id": "request-1",
    "response": {
        "status_code": 200,
        "request_id": "req_abc",
        "body": {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        },
    },
    "error": None,
}
BAD_REQUEST_LINE: dict[str, Any] = {
    "id": "batch_req_456",
    "custom_id": "request-2",
    "response": {
        "status_code": 400,
        "request_id": "req_def",
        "body": {
            "error": {
                "message": "Invalid value for 'temperature'.",
                "type": "invalid_request_error",
                "param": "temperature",
                "code": "invalid_value",
            }
        },
    },
    "error": None,
}
EXPIRED_LINE: dict[str, Any] = {
    "id": "batch_req_789",
    "custom_id": "request-3",
    "response": None,
    "error": {
        "code": "batch_expired",
        "message": "This request could not be executed before the completion window expired.",
    },
}


def decode(data: object, number: int = 1) -> BatchResult:
    return decode_line(json.dumps(data).encode(), BatchResult, source="file-out", number=number)


def test_a_2xx_line_succeeded() -> None:
    result = decode(OK_LINE)
    assert result.succeeded
    assert result.failure is None
    assert result.response == ResultResponse(200, "req_abc", OK_LINE["response"]["body"])
    assert result.raw == OK_LINE


def test_a_4xx_line_fails_with_the_error_of_its_body() -> None:
    result = decode(BAD_REQUEST_LINE)
    assert not result.succeeded
    assert result.failure == ResultFailure(
        code="invalid_value",
        message="Invalid value for 'temperature'.",
        type="invalid_request_error",
        param="temperature",
        status_code=400,
    )


def test_an_error_only_line_fails_with_its_error() -> None:
    result = decode(EXPIRED_LINE)
    assert result.response is None
    assert result.error == ResultError("batch_expired", EXPIRED_LINE["error"]["message"])
    assert not result.succeeded
    assert result.failure == ResultFailure("batch_expired", EXPIRED_LINE["error"]["message"])


def test_an_error_beside_a_2xx_response_still_fails() -> None:
    line = {**OK_LINE, "error": {"code": "server_error", "message": "late failure"}}
    result = decode(line)
    assert not result.succeeded
    assert result.failure == ResultFailure("server_error", "late failure", status_code=200)


def test_a_5xx_line_without_an_error_object_says_the_status() -> None:
    line = {**OK_LINE, "response": {"status_code": 502, "request_id": None, "body": "Bad gateway"}}
    assert decode(line).failure == ResultFailure(None, "Bad gateway", status_code=502)
    line["response"]["body"] = None
    assert decode(line).failure == ResultFailure(None, "HTTP 502", status_code=502)


def test_a_line_with_neither_response_nor_error_is_a_failure() -> None:
    result = decode({"id": "x", "custom_id": "c", "response": None, "error": None})
    assert not result.succeeded
    failure = result.failure
    assert failure is not None
    assert failure.message is not None
    assert "neither" in failure.message


def test_absent_optional_fields_decode_as_none() -> None:
    result = decode({"id": "x", "custom_id": "c", "response": {"status_code": 204}})
    assert result.response == ResultResponse(204, None, None)
    assert result.error is None
    assert result.succeeded


def test_unknown_fields_are_ignored_and_kept_in_raw() -> None:
    line = {
        **OK_LINE,
        "new_top_level": [1, 2],
        "response": {**OK_LINE["response"], "headers": {"x": "y"}},
        "error": None,
    }
    result = decode(line)
    assert result.succeeded
    assert result.raw["new_top_level"] == [1, 2]
    assert result.raw["response"]["headers"] == {"x": "y"}


@pytest.mark.parametrize("line", [OK_LINE, BAD_REQUEST_LINE, EXPIRED_LINE])
def test_the_models_know_every_key_of_the_real_shapes(line: dict[str, Any]) -> None:
    # The strict twin refuses unknown keys: a field the models lack would fail here.
    strict = make_converter(strict=True)
    assert strict.structure(line, BatchResult) == decode(line)


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        (b"{not json", "$", "not JSON"),
        (b"[1, 2]", "$", "expected a JSON object, got list"),
        (b'"text"', "$", "expected a JSON object, got str"),
        (b'{"id": "x", "response": null}', "$.custom_id", "required field missing"),
        (b'{"id": "x", "custom_id": 7}', "$.custom_id", "expected str"),
        (
            b'{"id": "x", "custom_id": "c", "response": {"status_code": "200"}}',
            "$.response.status_code",
            "expected int",
        ),
        (b'{"id": "x", "custom_id": "c", "error": "boom"}', "$.error", "ResultError"),
    ],
)
def test_a_malformed_line_names_file_line_and_place(data: bytes, path: str, reason: str) -> None:
    with pytest.raises(JSONLError) as caught:
        decode_line(data, BatchResult, source="file-err", number=42)
    error = caught.value
    assert (error.source, error.line, error.path) == ("file-err", 42, path)
    assert reason in error.reason
    assert str(error).startswith("file-err line 42")
    assert isinstance(error, ValueError)


def test_a_request_line_decodes_with_post_as_the_default_method() -> None:
    request = decode_line(
        b'{"custom_id": "a", "url": "/v1/embeddings", "body": {"model": "m", "input": "x"}}',
        BatchRequest,
    )
    assert request == BatchRequest("a", "/v1/embeddings", {"model": "m", "input": "x"})
    assert request.method == "POST"
    assert request.model == "m"


def test_a_request_body_must_be_an_object() -> None:
    with pytest.raises(JSONLError, match=r"line 3 at \$\.body"):
        decode_line(b'{"custom_id": "a", "url": "/v1/x", "body": [1]}', BatchRequest, number=3)


def test_a_request_serialises_in_the_apis_key_order() -> None:
    request = BatchRequest("a", "/v1/chat/completions", {"model": "m"}, method="POST")
    assert list(request.to_json()) == ["custom_id", "method", "url", "body"]
    assert BatchRequest("a", "/v1/x", {"model": 3}).model is None
