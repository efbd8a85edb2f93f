"""Decoding recorded bodies into models: pure functions, no server."""

from __future__ import annotations

from typing import Any

import pytest
from cattrs.errors import ForbiddenExtraKeysError

from openai_batches import (
    Batch,
    BatchStatus,
    FileObject,
    FilePurpose,
    FileStatus,
    Page,
    ResponseValidationError,
    Upload,
    UploadStatus,
)
from openai_batches._converter import make_converter, structure_hook, unstructure
from openai_batches._decode import Response, decode
from tests.conftest import sample

STRICT = make_converter(strict=True)
SPEC_SAMPLES = [
    ("batch_object_example", Batch),
    ("batch_cancel_example", Batch),
    ("batch_required_only", Batch),
    ("batch_validating_nulls", Batch),
    ("batch_failed_errors", Batch),
    ("file_object_example", FileObject),
    ("list_batches_example", Page[Batch]),
    ("list_batches_no_cursors", Page[Batch]),
    ("list_files_example", Page[FileObject]),
]


def fast(data: Any, cl: Any) -> Any:
    return structure_hook(cl)(data, cl)


def response(body: bytes, status: int = 200) -> Response:
    from multidict import CIMultiDict, CIMultiDictProxy

    headers = CIMultiDictProxy(CIMultiDict({"x-request-id": "req_123"}))
    return Response(status=status, headers=headers, body=body, method="GET", url="http://t/v1/x")


@pytest.mark.parametrize(("name", "cl"), SPEC_SAMPLES)
def test_fast_and_strict_twin_agree_on_every_sample(name: str, cl: Any) -> None:
    """The fast hooks and cattrs' own (strict, forbidding unknown keys) build equal models.

    The strict twin also proves the fixtures hold no field the models do not know.
    """
    data = sample(name)
    assert fast(data, cl) == STRICT.structure(data, cl)


def test_spec_example_decodes_every_field() -> None:
    batch = fast(sample("batch_object_example"), Batch)
    assert batch.status == "completed"
    assert batch.status is BatchStatus.COMPLETED
    assert batch.model == "gpt-5-2025-08-07"
    assert batch.created_at == 1711471533
    assert batch.completed_at == 1711493163
    assert batch.failed_at is None
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.failed) == (100, 5)
    assert batch.usage is not None
    assert batch.usage.input_tokens_details.cached_tokens == 1024
    assert batch.usage.output_tokens_details.reasoning_tokens == 300
    assert batch.metadata == {
        "customer_id": "user_123456789",
        "batch_description": "Nightly eval job",
    }


def test_absent_and_null_optional_fields_are_none() -> None:
    absent = fast(sample("batch_required_only"), Batch)
    nulls = fast(sample("batch_validating_nulls"), Batch)
    for batch in (absent, nulls):
        assert batch.errors is None
        assert batch.output_file_id is None
        assert batch.usage is None
        assert batch.in_progress_at is None
        assert batch.metadata is None
    assert absent.request_counts is None


def test_failed_batch_keeps_line_errors() -> None:
    batch = fast(sample("batch_failed_errors"), Batch)
    assert batch.status == "failed"
    assert batch.errors is not None
    assert [(e.code, e.line, e.param) for e in batch.errors.data] == [
        ("invalid_json_line", 3, None),
        ("mismatched_model", 7, "body.model"),
    ]


def test_unknown_status_and_fields_decode_and_stay_available() -> None:
    data = sample("batch_future_fields")
    batch = fast(data, Batch)
    assert batch.status == "paused"
    assert isinstance(batch.status, BatchStatus)
    assert not batch.status.known
    assert not batch.status.is_final
    assert BatchStatus("paused") is batch.status
    assert batch.raw["priority"] == "low"
    assert batch.raw["request_counts"]["skipped"] == 1
    # ...while the strict twin flags exactly that drift.
    with pytest.raises(Exception, match=r"priority|skipped|audio_tokens|next"):
        STRICT.structure(data, Batch)


def test_raw_is_the_decoded_json_itself() -> None:
    data = sample("batch_object_example")
    assert fast(data, Batch).raw is data


def test_known_enum_values() -> None:
    assert BatchStatus.COMPLETED.known
    assert BatchStatus.COMPLETED.is_final
    assert not BatchStatus.FINALIZING.is_final
    assert FilePurpose("batch_output") is FilePurpose.BATCH_OUTPUT
    assert FilePurpose("evals") == "evals"


def test_files_with_new_purpose_deprecated_status_and_missing_fields() -> None:
    page = fast(sample("list_files_real"), Page[FileObject])
    out, inp, ev, new = page.data
    assert out.purpose is FilePurpose.BATCH_OUTPUT
    assert out.status is FileStatus.PROCESSED
    assert out.expires_at is None
    assert inp.expires_at == 1714063500
    assert ev.status is None  # deprecated: absent in real answers
    assert ev.purpose == "evals"
    assert new.purpose == "some_new_purpose"
    assert not new.purpose.known
    assert new.status == "quarantined"
    assert new.raw["size_class"] == "tiny"


def test_round_trip_keeps_timestamps_and_values() -> None:
    data = sample("batch_object_example")
    assert unstructure(fast(data, Batch)) == data
    file_data = sample("file_object_example")
    assert unstructure(fast(file_data, FileObject)) == {
        **file_data,
        "status": None,
        "status_details": None,
    }


def test_page_cursor_falls_back_to_last_item() -> None:
    page = fast(sample("list_batches_no_cursors"), Page[Batch])
    assert page.last_id is None
    assert page.next_after == "batch_failed"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["data"][1].__setitem__("created_at", "1711471533"), "$.data[1].created_at"),
        (lambda d: d["data"][0].pop("status"), "$.data[0].status"),
        (
            lambda d: d["data"][1].__setitem__("request_counts", {"total": 1}),
            "$.data[1].request_counts",
        ),
        (lambda d: d["data"][0].__setitem__("metadata", {"k": 1}), "$.data[0].metadata"),
        (lambda d: d["data"][0].__setitem__("id", None), "$.data[0].id"),
        (lambda d: d.__setitem__("has_more", "yes"), "$.has_more"),
        (lambda d: d.__setitem__("data", {"not": "a list"}), "$.data"),
        (lambda d: d["data"][0].__setitem__("errors", "boom"), "$.data[0].errors"),
        (lambda d: d["data"][1].__setitem__("usage", []), "$.data[1].usage"),
    ],
)
def test_wrong_shapes_raise_with_their_path(mutate: Any, path: str) -> None:
    import json

    data = sample("list_batches_example")
    mutate(data)
    with pytest.raises(ResponseValidationError) as info:
        decode(response(json.dumps(data).encode()), Page[Batch])
    assert info.value.path.startswith(path)
    assert path in str(info.value)
    assert info.value.request_id == "req_123"


def test_no_coercion_of_wrong_primitive_types() -> None:
    data = sample("file_object_example")
    wrong: list[tuple[str, object]] = [
        ("bytes", 1.5),
        ("bytes", True),
        ("filename", 7),
        ("purpose", 3),
        ("purpose", ["batch"]),
        ("purpose", {"batch": 1}),
        ("status", True),
        ("status", ["processed"]),
    ]
    for field, value in wrong:
        with pytest.raises(TypeError):
            fast({**data, field: value}, FileObject)


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b"", b"{"])
def test_non_json_2xx_is_a_validation_error(body: bytes) -> None:
    with pytest.raises(ResponseValidationError) as info:
        decode(response(body), Batch)
    assert info.value.path == "$"
    assert "JSON" in info.value.message
    if body:
        assert body[:10].decode() in info.value.message


def test_strict_twin_forbids_unknown_keys_on_files() -> None:
    data = {**sample("file_object_example"), "new_field": 1}
    with pytest.raises(ForbiddenExtraKeysError):
        STRICT.structure(data, FileObject)
    assert fast(data, FileObject).raw["new_field"] == 1


def test_models_are_built_without_init_only_when_init_does_nothing_else() -> None:
    import attrs

    from openai_batches._codegen import plain as _plain
    from openai_batches._models import Batch, BatchUsage

    @attrs.define
    class Checked:
        n: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Frozen:
        n: int

    @attrs.define
    class Hooked:
        n: int

        def __attrs_post_init__(self) -> None:
            pass

    assert all(_plain(cl) for cl in (FileObject, Batch, BatchUsage))
    assert not any(_plain(cl) for cl in (Checked, Frozen, Hooked))


def upload_example() -> dict[str, Any]:
    """The Upload object example of the OpenAPI document in tests/spec."""
    from pathlib import Path

    import yaml

    spec = Path(__file__).parent / "spec" / "openai-batches-files.openapi.yaml"
    schema = yaml.safe_load(spec.read_text())["components"]["schemas"]["Upload"]
    # YAML, not JSON: the example has a trailing comma, which YAML's flow style allows.
    example: dict[str, Any] = yaml.safe_load(schema["x-oaiMeta"]["example"])
    return example


@pytest.mark.parametrize("object_", ["upload", None, "absent"])
def test_upload_object_is_optional(object_: str | None) -> None:
    """The document requires every Upload field but ``object``."""
    data = upload_example()
    if object_ == "absent":
        del data["object"]
    else:
        data["object"] = object_
    upload = fast(data, Upload)
    assert upload == STRICT.structure(data, Upload)
    assert upload.object == (None if object_ == "absent" else object_)
    assert upload.status is UploadStatus.COMPLETED
    assert upload.file is not None
    assert upload.file.id == "file-xyz321"


def test_a_value_differing_only_in_case_is_an_unknown_value() -> None:
    # The API's values are case-sensitive: "COMPLETED" is not "completed".
    status = BatchStatus("COMPLETED")
    assert not status.known
    assert not status.is_final
    assert status == "COMPLETED"
    assert status != "completed"
    assert status is not BatchStatus.COMPLETED
    decoded = fast({**sample("batch_object_example"), "status": "COMPLETED"}, Batch)
    assert not decoded.status.known
    assert BatchStatus.COMPLETED.known
    assert BatchStatus("completed") is BatchStatus.COMPLETED


def test_unknown_enum_values_are_not_kept_forever() -> None:
    import tracemalloc

    BatchStatus("warm-up")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            status = BatchStatus(f"status-{i}")
            assert not status.known
            assert status == f"status-{i}"
        del status
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000  # 20,000 members kept for good would hold about 12 MB
    assert "status-19999" not in BatchStatus._value2member_map_
    assert len(BatchStatus) == 8
