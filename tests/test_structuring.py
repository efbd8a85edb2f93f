"""The fast structuring functions build exactly what cattrs builds, on any API object.

The objects are generated from the API's documented shapes (written out here, not read
from the models): optional fields absent, ``null`` or set, enum values old and new, keys
this version does not know. The reference is a plain ``cattrs.Converter`` running cattrs'
own hooks, and the strict twin where the object has no unknown keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cattrs
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_batches import Batch, BatchEvent, FileObject, Page, Upload, WebhookEvent
from openai_batches._codegen import compile_hook, function_name, module_source, precomputed
from openai_batches._converter import make_converter, structure_hook, written
from openai_batches._hooks import GROUPS

PLAIN = cattrs.Converter()
STRICT = make_converter(strict=True)

texts = st.text(max_size=12)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | ints | st.floats(allow_nan=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=6,
)


def open_enum(*known: str) -> st.SearchStrategy[str]:
    return st.sampled_from(known) | texts


def api_object(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
    *,
    nullable: bool = True,
    extra: bool,
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with every required key; each optional one absent, null or set."""
    maybe = {k: (st.none() | v) if nullable else v for k, v in optional.items()}
    base = st.fixed_dictionaries(required, optional=maybe)
    if not extra:
        return base
    known = {*required, *optional, "raw"}
    unknown = st.dictionaries(texts.filter(lambda k: k not in known), json_values, max_size=3)
    return st.builds(lambda obj, more: {**more, **obj}, base, unknown)


def batch(extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    timestamps = dict.fromkeys(
        [f"{event}_at" for event in ("in_progress", "expires", "finalizing", "completed")]
        + [f"{event}_at" for event in ("failed", "expired", "cancelling", "cancelled")],
        ints,
    )
    line_error = api_object(
        {}, {"code": texts, "message": texts, "param": texts, "line": ints}, extra=extra
    )
    errors = api_object(
        {},
        {"object": st.none() | texts, "data": st.lists(line_error, max_size=2)},
        nullable=False,
        extra=extra,
    )
    counts = api_object({"total": ints, "completed": ints, "failed": ints}, {}, extra=extra)
    usage = api_object(
        {
            "input_tokens": ints,
            "input_tokens_details": api_object({"cached_tokens": ints}, {}, extra=extra),
            "output_tokens": ints,
            "output_tokens_details": api_object({"reasoning_tokens": ints}, {}, extra=extra),
            "total_tokens": ints,
        },
        {},
        extra=extra,
    )
    return api_object(
        {
            "id": texts,
            "object": st.just("batch"),
            "endpoint": texts,
            "input_file_id": texts,
            "completion_window": texts,
            "status": open_enum(
                "validating",
                "failed",
                "in_progress",
                "finalizing",
                "completed",
                "expired",
                "cancelling",
                "cancelled",
            ),
            "created_at": ints,
        },
        {
            "model": texts,
            "errors": errors,
            "output_file_id": texts,
            "error_file_id": texts,
            **timestamps,
            "request_counts": counts,
            "usage": usage,
            "metadata": st.dictionaries(texts, texts, max_size=3),
        },
        extra=extra,
    )


def file(extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    return api_object(
        {
            "id": texts,
            "object": st.just("file"),
            "bytes": ints,
            "created_at": ints,
            "filename": texts,
            "purpose": open_enum("batch", "batch_output", "fine-tune", "user_data", "evals"),
        },
        {
            "expires_at": ints,
            "status": open_enum("uploaded", "processed", "error"),
            "status_details": texts,
        },
        extra=extra,
    )


def upload(extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    return api_object(
        {
            "id": texts,
            "bytes": ints,
            "created_at": ints,
            "filename": texts,
            "purpose": open_enum("batch", "fine-tune"),
            "status": open_enum("pending", "completed", "cancelled", "expired"),
            "expires_at": ints,
        },
        {"object": st.just("upload"), "file": file(extra)},
        extra=extra,
    )


EVENT_TYPES = ("batch.cancelled", "batch.completed", "batch.expired", "batch.failed")


def batch_event(extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    return api_object(
        {
            "id": texts,
            "type": open_enum(*EVENT_TYPES),
            "created_at": ints,
            "data": api_object({"id": texts}, {}, extra=extra),
        },
        {"object": st.just("event")},
        extra=extra,
    )


def webhook_event(extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    return api_object(
        {"id": texts, "type": open_enum("response.completed", *EVENT_TYPES)},
        {"created_at": ints, "data": json_values, "object": st.just("event")},
        extra=extra,
    )


def page(items: st.SearchStrategy[dict[str, Any]], extra: bool) -> st.SearchStrategy[Any]:
    return api_object(
        {"data": st.lists(items, max_size=3), "has_more": st.booleans()},
        {"object": texts, "first_id": st.none() | texts, "last_id": st.none() | texts},
        nullable=False,
        extra=extra,
    )


WITH_RAW = (Batch, FileObject, Upload, BatchEvent, WebhookEvent)
CASES = [
    (Batch, batch),
    (FileObject, file),
    (Upload, upload),
    (BatchEvent, batch_event),
    (WebhookEvent, webhook_event),
    (Page[Batch], lambda extra: page(batch(extra), extra)),
    (Page[FileObject], lambda extra: page(file(extra), extra)),
]
GENERATED = {cl: compile_hook(cl, make_converter().get_structure_hook) for cl, _ in CASES}


def check(cl: Any, data: Any, extra: bool) -> None:
    fast = structure_hook(cl)(data, cl)
    assert fast == PLAIN.structure(data, cl)
    assert GENERATED[cl](data, cl) == fast  # written now or written at build time: the same
    if not extra:
        assert fast == STRICT.structure(data, cl)
    for model, raw in [(fast, data)] if cl in WITH_RAW else []:
        assert model.raw is raw


@settings(max_examples=60, deadline=None)
@given(st.data(), st.booleans())
def test_fast_functions_build_what_cattrs_builds(data: st.DataObject, extra: bool) -> None:
    for cl, strategy in CASES:
        check(cl, data.draw(strategy(extra), label=repr(cl)), extra)


def test_every_model_has_a_function_written_at_build_time() -> None:
    """``_hooks.py`` is what the writer writes now: run ``python -m openai_batches._codegen``."""
    import openai_batches._hooks

    source = Path(openai_batches._hooks.__file__).read_text()
    assert source == module_source(precomputed())
    assert {cl for make in GROUPS.values() for cl in make()} == set(precomputed())


def test_the_converter_hands_out_the_functions_written_at_build_time() -> None:
    for cl in precomputed():
        function = written(cl)
        assert function is not None
        assert function.__name__ == function_name(cl)
        assert structure_hook(cl) is function


def test_metadata_has_the_librarys_hook_not_cattrs_generic_one() -> None:
    from openai_batches._converter import _FAST, _structure_metadata

    assert _FAST.get_structure_hook(dict[str, str]) is _structure_metadata
