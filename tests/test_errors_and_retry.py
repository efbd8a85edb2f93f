"""Status -> exception mapping and the retry policy: pure functions of an answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

import openai_batches as ob
from openai_batches._errors import status_error
from openai_batches._retry import RetryPolicy, retry_after


def body(message: str = "boom", **fields: object) -> bytes:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    error.update(fields)
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ob.BadRequestError),
        (401, ob.AuthenticationError),
        (403, ob.PermissionDeniedError),
        (404, ob.NotFoundError),
        (409, ob.ConflictError),
        (422, ob.UnprocessableEntityError),
        (429, ob.RateLimitError),
        (500, ob.InternalServerError),
        (502, ob.InternalServerError),
        (503, ob.InternalServerError),
        (418, ob.APIStatusError),
    ],
)
def test_each_status_maps_to_its_class(status: int, cls: type[ob.APIStatusError]) -> None:
    error = status_error(status, {"x-request-id": "req_1"}, body(), method="GET", url="u")
    assert type(error) is cls
    assert isinstance(error, ob.APIStatusError | ob.APIError | ob.OpenAIError)
    assert error.status_code == status
    assert error.request_id == "req_1"


def test_error_fields_come_from_the_body() -> None:
    error = status_error(
        400,
        {},
        body("Invalid 'limit'", param="limit", code="integer_below_min_value"),
        method="GET",
        url="http://x/v1/batches",
    )
    assert error.message == "Invalid 'limit'"
    assert (error.type, error.param, error.code) == (
        "invalid_request_error",
        "limit",
        "integer_below_min_value",
    )
    assert error.body == json.loads(
        body("Invalid 'limit'", param="limit", code="integer_below_min_value")
    )
    assert (error.method, error.url) == ("GET", "http://x/v1/batches")
    assert "400" in str(error)
    assert "Invalid 'limit'" in str(error)


def test_html_error_page_from_a_proxy_keeps_a_snippet() -> None:
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    error = status_error(502, {}, page)
    assert isinstance(error, ob.InternalServerError)
    assert "502 Bad Gateway" in error.message
    assert "\n" not in error.message
    assert len(status_error(502, {}, b"x" * 10_000).message) <= 200


def test_empty_and_odd_bodies_still_give_a_message() -> None:
    assert status_error(503, {}, b"").message == "HTTP 503 with an empty body"
    assert status_error(400, {}, b'{"error": "plain string"}').message == "plain string"
    assert "detail" in status_error(400, {}, b'{"detail": "x"}').message


# ---------------------------------------------------------------- retry policy


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (408, {}, True),
        (409, {}, True),
        (429, {}, True),
        (500, {}, True),
        (503, {}, True),
        (400, {}, False),
        (401, {}, False),
        (404, {}, False),
        (400, {"x-should-retry": "true"}, True),
        (503, {"x-should-retry": "false"}, False),
    ],
)
def test_should_retry(status: int, headers: dict[str, str], expected: bool) -> None:
    assert RetryPolicy().should_retry(status, headers) is expected


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after({"retry-after": "3"}) == 3.0
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 7, tz=UTC), usegmt=True)
    assert retry_after({"retry-after": date}, now=now) == pytest.approx(7.0)
    past = format_datetime(datetime.fromtimestamp(now - 7, tz=UTC), usegmt=True)
    assert retry_after({"retry-after": past}, now=now) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "-1"])
def test_unusable_retry_after_is_ignored(value: str) -> None:
    assert retry_after({"retry-after": value}) is None
    assert retry_after({"retry-after-ms": value}) is None


def test_server_waits_are_capped() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay(0, {"retry-after": "3600"}) == 60
    assert policy.delay(0, {"retry-after-ms": "250"}) == 0.25


def test_backoff_doubles_to_a_cap_with_jitter() -> None:
    policy = RetryPolicy()
    for retry, full in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        for _ in range(50):
            assert full * 0.75 <= policy.delay(retry) <= full


def test_zero_backoff_policy_never_waits() -> None:
    policy = RetryPolicy(initial_delay=0, max_delay=0)
    assert {policy.delay(n) for n in range(5)} == {0.0}


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_max_retries_must_be_a_whole_number(bad: object) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "nested",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"error": ' * 50_000 + b"1" + b"}" * 50_000,
        b'{"error": {"message": ' + b"[" * 1000 + b"]" * 1000 + b"}}",
        b'{"detail": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"error": {"message": "m", "code": ' + b"[" * 1000 + b"]" * 1000 + b"}}",
    ],
    ids=["array", "objects", "message", "other-key", "code"],
)
def test_a_deeply_nested_error_body_still_maps_to_its_class(nested: bytes) -> None:
    error = status_error(400, {"x-request-id": "req_9"}, nested)
    assert type(error) is ob.BadRequestError
    assert error.request_id == "req_9"
    assert 0 < len(error.message) <= 200


def test_insufficient_quota_is_a_rate_limit_error_of_its_own() -> None:
    quota = body("You exceeded your current quota", type="insufficient_quota")
    error = status_error(429, {}, body("Quota exceeded", code="insufficient_quota"))
    assert type(error) is ob.InsufficientQuotaError
    assert isinstance(error, ob.RateLimitError)
    assert type(status_error(429, {}, quota)) is ob.InsufficientQuotaError
    assert type(status_error(429, {}, body("slow down", code="rate_limit_exceeded"))) is (
        ob.RateLimitError
    )


def test_insufficient_quota_is_never_retried() -> None:
    policy = RetryPolicy()
    assert policy.should_retry(429, {}, code="insufficient_quota") is False
    assert policy.should_retry(429, {"x-should-retry": "true"}, code="insufficient_quota") is False
    assert policy.should_retry(429, {}, code="rate_limit_exceeded") is True
