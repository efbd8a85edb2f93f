"""client.webhooks: Standard Webhooks signatures and batch events.

The signatures here come from outside the code under test: the Standard Webhooks
specification's own test vector, HMACs computed in this file with the standard library,
and the official ``openai`` SDK, which must agree with this library on every webhook.
These tests are synchronous on purpose: verifying a webhook needs no event loop and no
session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import MappingProxyType
from typing import Any

import openai
import pytest
from multidict import CIMultiDict
from openai.types.webhooks import BatchCompletedWebhookEvent

import openai_batches as ob
import openai_batches._errors
from openai_batches import (
    APIResponseValidationError,
    BatchEvent,
    Client,
    InvalidWebhookSignatureError,
    OpenAIError,
    WebhookEvent,
    WebhookEventType,
)
from openai_batches._webhooks import verify_signature

# The Standard Webhooks test vector (libraries/python/tests/test_webhooks.py,
# test_sign_function): this secret, id, time and body sign to this signature.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + base64.b64encode(b"a test secret of 32 bytes length").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret, 32 bytes long!!!").decode()

EVENT = {
    "id": "evt_abc123",
    "object": "event",
    "type": "batch.completed",
    "created_at": 1719168000,
    "data": {"id": "batch_abc123"},
}


def spec_headers() -> dict[str, str]:
    return {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def hmac_signature(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The signature as the scheme defines it, with nothing but the standard library."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def signed(
    body: bytes,
    *,
    secret: str = SECRET,
    webhook_id: str = "wh_1",
    timestamp: int | None = None,
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": hmac_signature(secret, webhook_id, stamp, body),
    }


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


@pytest.fixture
def client() -> Client:
    return Client("sk-test", webhook_secret=SECRET)


def openai_accepts(body: bytes | str, headers: dict[str, str], secret: str = SECRET) -> bool:
    sdk = openai.OpenAI(api_key="sk-test", webhook_secret=secret)
    try:
        sdk.webhooks.verify_signature(body, headers)
    except ValueError:  # its InvalidWebhookSignatureError, or a missing header
        return False
    return True


def we_accept(body: bytes | str, headers: dict[str, str], secret: str = SECRET) -> bool:
    try:
        Client("sk-test", webhook_secret=secret).webhooks.verify_signature(body, headers)
    except InvalidWebhookSignatureError:
        return False
    return True


# Known answers


def test_the_specs_vector_verifies_at_its_time() -> None:
    verify_signature(SPEC_BODY, spec_headers(), secret=SPEC_SECRET, now=SPEC_TIMESTAMP)
    verify_signature(
        SPEC_BODY.encode(), spec_headers(), secret=SPEC_SECRET, now=SPEC_TIMESTAMP + 300
    )


def test_the_specs_vector_fails_with_one_bit_changed() -> None:
    wrong = spec_headers() | {"webhook-signature": SPEC_SIGNATURE[:-2] + "A="}
    with pytest.raises(InvalidWebhookSignatureError, match=r"No signature .* matches"):
        verify_signature(SPEC_BODY, wrong, secret=SPEC_SECRET, now=SPEC_TIMESTAMP)
    with pytest.raises(InvalidWebhookSignatureError, match=r"No signature .* matches"):
        verify_signature(
            SPEC_BODY.replace("2", "3"), spec_headers(), secret=SPEC_SECRET, now=SPEC_TIMESTAMP
        )
    other_id = spec_headers() | {"webhook-id": SPEC_ID + "x"}
    with pytest.raises(InvalidWebhookSignatureError):
        verify_signature(SPEC_BODY, other_id, secret=SPEC_SECRET, now=SPEC_TIMESTAMP)


def test_the_specs_vector_is_refused_outside_the_tolerance_either_way() -> None:
    with pytest.raises(InvalidWebhookSignatureError, match="301 s old"):
        verify_signature(SPEC_BODY, spec_headers(), secret=SPEC_SECRET, now=SPEC_TIMESTAMP + 301)
    with pytest.raises(InvalidWebhookSignatureError, match="301 s in the future"):
        verify_signature(SPEC_BODY, spec_headers(), secret=SPEC_SECRET, now=SPEC_TIMESTAMP - 301)
    verify_signature(SPEC_BODY, spec_headers(), secret=SPEC_SECRET, now=SPEC_TIMESTAMP - 300)
    verify_signature(
        SPEC_BODY, spec_headers(), secret=SPEC_SECRET, tolerance=10_000, now=SPEC_TIMESTAMP + 9999
    )


def test_a_signature_made_here_verifies_with_both_libraries(client: Client) -> None:
    body = body_of(EVENT)
    headers = signed(body)
    client.webhooks.verify_signature(body, headers)
    assert openai_accepts(body, headers)


def test_the_official_sdk_decodes_what_we_decode(client: Client) -> None:
    body = body_of(EVENT)
    headers = signed(body)
    ours = client.webhooks.unwrap(body, headers)
    theirs = openai.OpenAI(api_key="x", webhook_secret=SECRET).webhooks.unwrap(body, headers)
    assert isinstance(ours, BatchEvent)
    assert isinstance(theirs, BatchCompletedWebhookEvent)
    assert (ours.id, ours.type, ours.created_at, ours.data.id, ours.object) == (
        theirs.id,
        theirs.type,
        theirs.created_at,
        theirs.data.id,
        theirs.object,
    )


def _cases() -> dict[str, tuple[bytes | str, dict[str, str]]]:
    body = body_of(EVENT)
    good = signed(body)
    now = int(time.time())
    wrong_secret = hmac_signature(OTHER_SECRET, "wh_1", good["webhook-timestamp"], body)
    return {
        "valid": (body, good),
        "valid, body as text": (body.decode(), good),
        "valid, header names capitalised": (
            body,
            {key.title(): value for key, value in good.items()},
        ),
        "wrong secret": (body, good | {"webhook-signature": wrong_secret}),
        "tampered body": (body.replace(b"completed", b"failed"), good),
        "tampered id": (body, good | {"webhook-id": "wh_2"}),
        "old": (body, signed(body, timestamp=now - 400)),
        "from the future": (body, signed(body, timestamp=now + 400)),
        "several, one valid": (
            body,
            good
            | {"webhook-signature": f"{wrong_secret} {good['webhook-signature']} {wrong_secret}"},
        ),
        "several, none valid": (body, good | {"webhook-signature": f"{wrong_secret} v1,AAAA"}),
        "no webhook-id": (body, {k: v for k, v in good.items() if k != "webhook-id"}),
        "no webhook-timestamp": (body, {k: v for k, v in good.items() if k != "webhook-timestamp"}),
        "no webhook-signature": (body, {k: v for k, v in good.items() if k != "webhook-signature"}),
        "timestamp not a number": (body, good | {"webhook-timestamp": "yesterday"}),
        "timestamp in milliseconds": (body, signed(body, timestamp=now * 1000)),
        "timestamp of 5000 digits": (body, good | {"webhook-timestamp": "9" * 5000}),
        "timestamp negative": (body, good | {"webhook-timestamp": "-1"}),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_we_agree_with_the_official_sdk(case: str) -> None:
    body, headers = _cases()[case]
    assert we_accept(body, headers) == openai_accepts(body, headers)
    assert we_accept(body, headers) == (case.startswith("valid") or case == "several, one valid")


# Headers and bodies in every form a server hands them over


def test_headers_from_a_multidict_or_any_case(client: Client) -> None:
    body = body_of(EVENT)
    headers = signed(body)
    client.webhooks.verify_signature(body, CIMultiDict(headers))
    client.webhooks.verify_signature(body, MappingProxyType(headers))
    client.webhooks.verify_signature(body, {k.upper(): v for k, v in headers.items()})
    client.webhooks.verify_signature(bytearray(body), headers)
    client.webhooks.verify_signature(memoryview(body), headers)


def test_a_header_sent_twice_with_different_values_is_refused(client: Client) -> None:
    body = body_of(EVENT)
    headers = CIMultiDict(signed(body))
    headers.add("Webhook-Id", "wh_other")
    with pytest.raises(InvalidWebhookSignatureError, match="several webhook-id headers"):
        client.webhooks.verify_signature(body, headers)


@pytest.mark.parametrize(
    "header",
    [
        "v1",  # no comma
        "v1,",  # nothing after it
        "v1,not base64!",
        "v2,{signature}",  # another version with the right bytes
        "v1a,{signature}",  # the asymmetric scheme
        "{signature}",  # no version at all
        ",v1,{signature}",
    ],
)
def test_malformed_entries_never_match_and_never_crash(client: Client, header: str) -> None:
    body = body_of(EVENT)
    headers = signed(body)
    bare = headers["webhook-signature"].removeprefix("v1,")
    headers["webhook-signature"] = header.format(signature=bare)
    with pytest.raises(InvalidWebhookSignatureError):
        client.webhooks.verify_signature(body, headers)
    # Beside a valid entry, a malformed one is skipped.
    headers["webhook-signature"] = f"{header.format(signature=bare)} v1,{bare}"
    client.webhooks.verify_signature(body, headers)


def test_a_bare_signature_without_version_is_refused_unlike_the_sdk(client: Client) -> None:
    # openai-python accepts an entry without "v1,"; the scheme says every entry is
    # versioned, and this library follows the scheme.
    body = body_of(EVENT)
    headers = signed(body)
    headers["webhook-signature"] = headers["webhook-signature"].removeprefix("v1,")
    assert openai_accepts(body, headers)
    with pytest.raises(InvalidWebhookSignatureError, match="no v1,<base64> signature"):
        client.webhooks.verify_signature(body, headers)


def test_a_non_whsec_secret_is_used_as_its_bytes_like_the_sdk() -> None:
    body = body_of(EVENT)
    headers = signed(body, secret="plain-secret")
    assert we_accept(body, headers, secret="plain-secret")
    assert openai_accepts(body, headers, secret="plain-secret")
    assert not we_accept(body, headers, secret=SECRET)


def test_a_whsec_secret_without_padding_works() -> None:
    secret = "whsec_" + base64.b64encode(b"thirty-one bytes of a secret!!!").decode()
    assert secret.endswith("=")
    body = body_of(EVENT)
    headers = signed(body, secret=secret)
    assert we_accept(body, headers, secret=secret.rstrip("="))


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("whsec_", "empty after its 'whsec_' prefix"),
        ("whsec_not*base64", "not base64"),
        ("", "non-empty string"),
    ],
)
def test_an_unusable_secret_says_so(client: Client, secret: str, message: str) -> None:
    body = body_of(EVENT)
    with pytest.raises(ValueError, match=message) as caught:
        client.webhooks.verify_signature(body, signed(body), secret=secret)
    assert not isinstance(caught.value, InvalidWebhookSignatureError)


def test_a_bad_tolerance_or_body_is_a_usage_error(client: Client) -> None:
    body = body_of(EVENT)
    for tolerance in (-1, float("nan"), "300", True):
        with pytest.raises(ValueError, match="tolerance"):
            client.webhooks.verify_signature(body, signed(body), tolerance=tolerance)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes or str"):
        client.webhooks.verify_signature(EVENT, signed(body))  # type: ignore[arg-type]


# Where the secret comes from


def test_the_secret_comes_from_the_call_the_client_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = body_of(EVENT)
    headers = signed(body, secret=OTHER_SECRET)
    Client("sk-test").webhooks.verify_signature(body, headers, secret=OTHER_SECRET)
    Client("sk-test", webhook_secret=OTHER_SECRET).webhooks.verify_signature(body, headers)
    with pytest.raises(InvalidWebhookSignatureError):
        Client("sk-test", webhook_secret=OTHER_SECRET).webhooks.verify_signature(
            body, headers, secret=SECRET
        )
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", OTHER_SECRET)
    client = Client("sk-test")
    assert client.webhook_secret == OTHER_SECRET
    assert client.webhooks.unwrap(body, headers).id == "evt_abc123"
    assert OTHER_SECRET not in repr(client)


def test_no_secret_anywhere_names_the_variable() -> None:
    body = body_of(EVENT)
    with pytest.raises(OpenAIError, match="OPENAI_WEBHOOK_SECRET") as caught:
        Client("sk-test").webhooks.unwrap(body, signed(body))
    assert not isinstance(caught.value, InvalidWebhookSignatureError)


def test_webhooks_need_no_session_and_are_built_once(client: Client) -> None:
    assert client.webhooks is client.webhooks
    body = body_of(EVENT)
    client.webhooks.unwrap(body, signed(body))
    assert client._transport._session is None


# Events


@pytest.mark.parametrize("kind", ["completed", "failed", "expired", "cancelled"])
def test_each_batch_event_decodes(client: Client, kind: str) -> None:
    body = body_of(EVENT | {"type": f"batch.{kind}"})
    event = client.webhooks.unwrap(body, signed(body))
    assert isinstance(event, BatchEvent)
    assert event.type == f"batch.{kind}"
    assert event.type is WebhookEventType(f"batch.{kind}")
    assert event.type.known
    assert event.data.id == "batch_abc123"
    assert event.created_at == 1719168000
    assert event.raw["data"] == {"id": "batch_abc123"}


def test_the_specs_examples_decode(client: Client) -> None:
    # x-oaiMeta examples of the OpenAPI document, which have no "object".
    body = (
        b'{"id": "evt_abc123", "type": "batch.failed", "created_at": 1719168000, '
        b'"data": {"id": "batch_abc123"}}'
    )
    event = client.webhooks.unwrap(body, signed(body))
    assert isinstance(event, BatchEvent)
    assert event.object is None


def test_a_new_batch_event_type_decodes_as_a_batch_event(client: Client) -> None:
    body = body_of(EVENT | {"type": "batch.in_progress", "extra": 1})
    event = client.webhooks.unwrap(body, signed(body))
    assert isinstance(event, BatchEvent)
    assert event.type == "batch.in_progress"
    assert not event.type.known
    assert event.raw["extra"] == 1


def test_other_event_types_decode_too(client: Client) -> None:
    raw = {
        "id": "evt_x",
        "object": "event",
        "type": "realtime.call.incoming",
        "created_at": 1,
        "data": {"call_id": "call_1", "sip_headers": []},
    }
    body = body_of(raw)
    event = client.webhooks.unwrap(body, signed(body))
    assert isinstance(event, WebhookEvent)
    assert event.type == "realtime.call.incoming"
    assert event.data == {"call_id": "call_1", "sip_headers": []}
    assert event.raw == raw


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({**EVENT, "data": {}}, "$.data.id"),
        ({**EVENT, "created_at": "1719168000"}, "$.created_at"),
        ({k: v for k, v in EVENT.items() if k != "id"}, "$.id"),
        ([EVENT], "$"),
    ],
)
def test_a_signed_body_that_is_not_an_event_says_where(
    client: Client, event: Any, path: str
) -> None:
    body = body_of(event)
    with pytest.raises(APIResponseValidationError) as caught:
        client.webhooks.unwrap(body, signed(body))
    assert caught.value.path == path


def test_a_signed_body_that_is_not_json(client: Client) -> None:
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        client.webhooks.unwrap(b"<html>", signed(b"<html>"))


def test_unwrap_verifies_before_decoding(client: Client) -> None:
    with pytest.raises(InvalidWebhookSignatureError):
        client.webhooks.unwrap(b"<html>", signed(b"<html>", secret=OTHER_SECRET))


def test_the_error_is_in_the_tree_and_a_value_error_as_in_openai_python() -> None:
    assert issubclass(ob.InvalidWebhookSignatureError, ob.OpenAIError)
    assert issubclass(ob.InvalidWebhookSignatureError, ValueError)
    assert issubclass(openai.InvalidWebhookSignatureError, ValueError)
    assert "InvalidWebhookSignatureError" in (openai_batches._errors.__doc__ or "")
