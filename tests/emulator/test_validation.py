"""Input-file validation (the batch fails with line numbers) and request validation (400s)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Api, chat

from openai_batches.emulator import ManualClock
from openai_batches.emulator._lifecycle import parse_input


def line(**overrides: Any) -> dict[str, Any]:
    base = chat("x", "hi")
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


BAD_FILES: dict[str, tuple[list[Any], list[tuple[str, int | None]]]] = {
    "invalid json": ([chat("a", "x"), b"{not json", chat("c", "x")], [("invalid_json_line", 2)]),
    "not an object": ([b"[1, 2]"], [("invalid_request", 1)]),
    "missing custom_id": ([line(custom_id=None)], [("missing_required_parameter", 1)]),
    "duplicate custom_id": (
        [chat("a", "x"), chat("b", "x"), chat("a", "y")],
        [("duplicate_custom_id", 3)],
    ),
    "wrong method": ([chat("a", "x"), line(method="GET")], [("invalid_method", 2)]),
    "wrong url": ([line(url="/v1/embeddings")], [("invalid_url", 1)]),
    "body not object": ([line(body="hello")], [("invalid_body", 1)]),
    "two models": (
        [chat("a", "x", "gpt-4o"), chat("b", "x", "gpt-4o"), chat("c", "x", "gpt-4.1")],
        [("mismatched_model", 3)],
    ),
    "several errors": (
        [b"oops", chat("a", "x"), line(custom_id="a"), line(custom_id="z", url="/v1/x")],
        [("invalid_json_line", 1), ("duplicate_custom_id", 3), ("invalid_url", 4)],
    ),
    "empty": ([], [("empty_file", None)]),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
async def test_invalid_input_fails_the_batch(api: Api, clock: ManualClock, name: str) -> None:
    lines, expected = BAD_FILES[name]
    batch = await api.batch(lines)
    assert batch["status"] == "validating"
    clock.advance(0.5)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "failed"
    assert batch["failed_at"] == batch["created_at"]
    assert batch["in_progress_at"] is None
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert batch["errors"]["object"] == "list"
    assert [(e["code"], e["line"]) for e in batch["errors"]["data"]] == expected
    for error in batch["errors"]["data"]:
        assert error["message"]
    assert batch["output_file_id"] is None
    assert batch["error_file_id"] is None
    clock.advance(3600)
    assert (await api.get(f"/batches/{batch['id']}"))["status"] == "failed"


async def test_blank_lines_are_ignored_but_counted(api: Api, clock: ManualClock) -> None:
    source = b"\n" + json.dumps(chat("a", "x")).encode() + b"\n\n{bad\n"
    uploaded = await api.upload(source)
    batch = await api.post(
        "/batches",
        json={
            "input_file_id": uploaded["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        },
    )
    clock.advance(1)
    batch = await api.get(f"/batches/{batch['id']}")
    assert [(e["code"], e["line"]) for e in batch["errors"]["data"]] == [("invalid_json_line", 4)]


def test_more_than_the_maximum_of_requests_fails() -> None:
    lines = iter([json.dumps(chat(f"r{i}", "x")).encode() for i in range(4)])
    parsed = parse_input(lines, "/v1/chat/completions", max_requests=3)
    assert [(e["code"], e["line"]) for e in parsed.errors] == [("too_many_requests", 4)]
    assert parsed.requests == []


def test_fifty_thousand_requests_are_accepted() -> None:
    raw = json.dumps(chat("r", "x")).encode()
    lines = (raw.replace(b'"r"', f'"r{i}"'.encode()) for i in range(50_000))
    parsed = parse_input(lines, "/v1/chat/completions")
    assert parsed.errors == []
    assert len(parsed.requests) == 50_000


async def test_model_missing_in_a_line_is_a_failed_request(api: Api, clock: ManualClock) -> None:
    no_model = line(custom_id="b", body={"messages": [{"role": "user", "content": "x"}]})
    no_messages = line(custom_id="c", body={"model": "gpt-4o-mini"})
    batch = await api.batch([chat("a", "x"), no_model, no_messages])
    clock.advance(10)
    batch = await api.get(f"/batches/{batch['id']}")
    assert batch["status"] == "completed"
    assert batch["request_counts"] == {"total": 3, "completed": 1, "failed": 2}
    errors = await api.jsonl(batch["error_file_id"])
    assert [e["response"]["status_code"] for e in errors] == [400, 400]
    assert errors[1]["response"]["body"]["error"]["param"] == "messages"


def create_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "input_file_id": "FILE",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


BAD_CREATES: dict[str, tuple[dict[str, Any], str | None]] = {
    "missing input_file_id": (create_body(input_file_id=None), "input_file_id"),
    "missing endpoint": (create_body(endpoint=None), "endpoint"),
    "missing completion_window": (create_body(completion_window=None), "completion_window"),
    "window 48h": (create_body(completion_window="48h"), "completion_window"),
    "unsupported endpoint": (create_body(endpoint="/v1/audio/speech"), "endpoint"),
    "unknown file": (create_body(input_file_id="file-nope"), "input_file_id"),
    "17 metadata pairs": (create_body(metadata={f"k{i}": "v" for i in range(17)}), "metadata"),
    "long metadata key": (create_body(metadata={"k" * 65: "v"}), "metadata"),
    "long metadata value": (create_body(metadata={"k": "v" * 513}), "metadata.k"),
    "non-string metadata": (create_body(metadata={"k": 1}), "metadata.k"),
    "expiry too short": (
        create_body(output_expires_after={"anchor": "created_at", "seconds": 3599}),
        "output_expires_after.seconds",
    ),
    "expiry too long": (
        create_body(output_expires_after={"anchor": "created_at", "seconds": 2592001}),
        "output_expires_after.seconds",
    ),
    "expiry bad anchor": (
        create_body(output_expires_after={"anchor": "now", "seconds": 3600}),
        "output_expires_after.anchor",
    ),
    "unknown argument": (create_body(priority="high"), "priority"),
}


@pytest.mark.parametrize("name", list(BAD_CREATES))
async def test_create_batch_rejects_bad_arguments(api: Api, name: str) -> None:
    source = await api.upload_lines([chat("a", "x")])
    body, param = BAD_CREATES[name]
    if body.get("input_file_id") == "FILE":
        body["input_file_id"] = source["id"]
    error = await api.post("/batches", json=body, expect=400)
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["param"] == param
    assert (await api.get("/batches"))["data"] == []


async def test_create_batch_accepts_the_limits(api: Api, clock: ManualClock) -> None:
    source = await api.upload_lines([chat("a", "x")])
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    batch = await api.post(
        "/batches",
        json=create_body(
            input_file_id=source["id"],
            metadata=metadata,
            output_expires_after={"anchor": "created_at", "seconds": 3600},
        ),
    )
    assert batch["metadata"] == metadata
    clock.advance(10)
    batch = await api.get(f"/batches/{batch['id']}")
    output = await api.get(f"/files/{batch['output_file_id']}")
    assert output["expires_at"] == output["created_at"] + 3600


async def test_input_file_must_have_purpose_batch(api: Api) -> None:
    other = await api.upload(b"{}\n", purpose="user_data", filename="x.jsonl")
    error = await api.post("/batches", json=create_body(input_file_id=other["id"]), expect=400)
    assert error["error"]["param"] == "input_file_id"
    assert "purpose" in error["error"]["message"]


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b""])
async def test_body_must_be_a_json_object(api: Api, payload: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    error = await api.post("/batches", data=payload, headers=headers, expect=400)
    assert error["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("after=batch_x", "after"),
    ],
)
async def test_list_batches_rejects_bad_queries(api: Api, query: str, param: str) -> None:
    error = await api.get(f"/batches?{query}", expect=400)
    assert error["error"]["param"] == param
