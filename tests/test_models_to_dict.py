"""`to_dict()`: models back to the API's JSON shape, nothing known or unknown lost."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_batches import (
    Batch,
    BatchEvent,
    BatchStatus,
    FileObject,
    JobProgress,
    JobReport,
    Page,
    Upload,
    WebhookEvent,
)
from openai_batches._converter import make_converter, structure_hook
from openai_batches._webhooks import parse_event
from tests.conftest import sample
from tests.test_models import upload_example

PLAIN = make_converter()


def fast(data: Any, cl: Any) -> Any:
    return structure_hook(cl)(data, cl)


def event_body(type_: str = "batch.completed") -> dict[str, Any]:
    return {
        "id": "evt_1",
        "object": "event",
        "type": type_,
        "created_at": 1719168000,
        "data": {"id": "batch_1", "extra": [1, 2]},
        "future": {"x": 1},
    }


BODIES: list[tuple[str, Any, Any]] = [
    ("batch_object_example", sample("batch_object_example"), Batch),
    ("batch_required_only", sample("batch_required_only"), Batch),
    ("batch_failed_errors", sample("batch_failed_errors"), Batch),
    ("batch_future_fields", sample("batch_future_fields"), Batch),
    ("file_object_example", sample("file_object_example"), FileObject),
    ("list_files_real", sample("list_files_real"), Page[FileObject]),
    ("list_batches_example", sample("list_batches_example"), Page[Batch]),
    ("upload", upload_example(), Upload),
]


def only_nulls_added(out: Any, body: Any) -> bool:
    """Whether ``out`` is ``body`` plus keys whose value is ``None``, at every depth."""
    if isinstance(body, dict):
        return (
            isinstance(out, dict)
            and all(k in out and only_nulls_added(out[k], v) for k, v in body.items())
            and all(out[k] is None for k in out.keys() - body.keys())
        )
    if isinstance(body, list):
        return (
            isinstance(out, list)
            and len(out) == len(body)
            and all(map(only_nulls_added, out, body))
        )
    return type(out) is type(body) and out == body


@pytest.mark.parametrize(("name", "body", "cl"), BODIES, ids=[b[0] for b in BODIES])
def test_to_dict_gives_back_the_body_and_round_trips(name: str, body: Any, cl: Any) -> None:
    model = fast(body, cl)
    out = model.to_dict()
    # The body as received, unknown fields included at every depth; fields the API left
    # out come back as null.
    assert only_nulls_added(out, body), out
    assert json.loads(json.dumps(out)) == out  # plain JSON types only
    assert fast(out, cl) == model
    assert PLAIN.structure(out, cl) == model


def test_the_future_fields_come_back_exactly() -> None:
    body = sample("batch_future_fields")
    out = fast(body, Batch).to_dict()
    assert out == body
    assert out["request_counts"]["skipped"] == 1  # unknown, inside a known object
    assert out["usage"]["audio_tokens"] == 7
    assert out["status"] == "paused"
    assert type(out["status"]) is str


def test_enums_are_plain_strings() -> None:
    batch = fast(sample("batch_object_example"), Batch)
    assert isinstance(batch.status, BatchStatus)
    assert type(batch.to_dict()["status"]) is str
    page = fast(sample("list_files_real"), Page[FileObject])
    for item in page.to_dict()["data"]:
        assert type(item["purpose"]) is str


def test_the_fields_win_over_raw() -> None:
    batch = fast(sample("batch_future_fields"), Batch)
    batch.status = BatchStatus.CANCELLED
    batch.metadata = {"only": "this"}  # a free-form map is taken as it is, not merged
    batch.request_counts = None
    out = batch.to_dict()
    assert out["status"] == "cancelled"
    assert out["metadata"] == {"only": "this"}
    assert out["request_counts"] is None
    assert out["priority"] == "low"


def test_a_model_built_by_hand_has_every_field() -> None:
    file = FileObject(
        id="file-1", object="file", bytes=3, created_at=1, filename="a", purpose="batch"
    )
    assert file.to_dict() == {
        "id": "file-1",
        "object": "file",
        "bytes": 3,
        "created_at": 1,
        "filename": "a",
        "purpose": "batch",
        "expires_at": None,
        "status": None,
        "status_details": None,
    }


@pytest.mark.parametrize("type_", ["batch.completed", "batch.paused", "response.completed"])
def test_webhook_events(type_: str) -> None:
    body = event_body(type_)
    event = parse_event(json.dumps(body))
    assert isinstance(event, BatchEvent if type_.startswith("batch.") else WebhookEvent)
    out = event.to_dict()
    assert out == body
    assert type(out["type"]) is str
    assert fast(out, type(event)) == event


_OPTIONAL = [f.name for f in attrs.fields(Batch) if f.default is None]
_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)


@settings(max_examples=60, deadline=None)
@given(
    dropped=st.sets(st.sampled_from(_OPTIONAL)),
    status=st.sampled_from([s.value for s in BatchStatus]) | st.text(min_size=1, max_size=8),
    extra=st.dictionaries(
        st.text(min_size=1, max_size=6).filter(lambda k: k not in attrs.fields_dict(Batch)),
        _json_scalars | st.lists(_json_scalars, max_size=2),
        max_size=3,
    ),
    counts_extra=st.dictionaries(st.sampled_from(["skipped", "x"]), st.integers(), max_size=2),
)
def test_any_batch_body_round_trips(
    dropped: set[str], status: str, extra: dict[str, Any], counts_extra: dict[str, int]
) -> None:
    body = {k: v for k, v in sample("batch_object_example").items() if k not in dropped}
    body["status"] = status
    body.update(extra)
    if "request_counts" in body:
        body["request_counts"] = {**body["request_counts"], **counts_extra}
    batch = fast(body, Batch)
    out = batch.to_dict()
    assert only_nulls_added(out, body)
    assert fast(out, Batch) == batch
    assert fast(out, Batch).to_dict() == out


def test_job_report_and_progress() -> None:
    report = JobReport(
        state="a.job",
        input="in.jsonl",
        endpoint="/v1/chat/completions",
        models=("", "gpt-4o-mini"),
        requests=3,
        succeeded=2,
        failed=1,
        pending=0,
        shards={"done": 1},
        batches={},
        tokens_enqueued=0,
        tokens_by_model={"": 0, "gpt-4o-mini": 0},
        token_counter="bytes/4",
    )
    out = report.to_dict()
    # The models stay a tuple, which JSON writes as an array.
    assert json.loads(json.dumps(out)) == {**out, "models": ["", "gpt-4o-mini"]}
    assert JobReport(**out) == report
    progress = JobProgress(
        event="batch",
        requests=3,
        succeeded=0,
        failed=0,
        pending=3,
        batches={"in_progress": 1},
        tokens_enqueued=12,
        tokens_by_model={"gpt-4o-mini": 12},
        elapsed=1.5,
        remaining=None,
        shard=1,
        batch_id="batch_1",
    )
    assert progress.to_dict()["batches"] == {"in_progress": 1}
    assert JobProgress(**progress.to_dict()) == progress
