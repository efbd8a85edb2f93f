"""The cattrs converter that turns the API's JSON into models, and back.

Everything is registered by :func:`configure`, which takes the converter, so that
differently configured copies get exactly the same hooks:

* the fast converter used on every response (no detailed validation);
* a detailed twin, run only after the fast one failed, to say *where* the body is wrong;
* a strict twin in the tests that also forbids unknown keys, to catch fixture drift.

Primitive hooks check types instead of coercing: ``"17"`` is not a timestamp and ``1.5``
is not a byte count, so a wrong body fails loudly rather than decoding into nonsense.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._models import OpenEnum

__all__ = [
    "configure",
    "group_of",
    "is_union",
    "locate_error",
    "make_converter",
    "structure_hook",
    "to_dict",
    "unstructure",
    "written",
]

_PACKAGE = __name__.rpartition(".")[0]

T = TypeVar("T")


def _wrong(value: object, expected: str) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {value!r:.60}")


def _structure_str(value: object, _: object) -> str:
    if value.__class__ is str:
        return value
    raise _wrong(value, "a string")


def _structure_int(value: object, _: object) -> int:
    if value.__class__ is int:
        return value
    raise _wrong(value, "an integer")


def _structure_bool(value: object, _: object) -> bool:
    if value.__class__ is bool:
        return value
    raise _wrong(value, "true or false")


def _structure_optional_str(value: object, _: object) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise _wrong(value, "a string or null")


def _structure_optional_int(value: object, _: object) -> int | None:
    if value is None or value.__class__ is int:
        return value
    raise _wrong(value, "an integer or null")


def _structure_optional_metadata(value: object, _: object) -> dict[str, str] | None:
    if value is None:
        return None
    try:
        return _structure_metadata(value, _)
    except TypeError:
        raise _wrong(value, "an object of strings or null") from None


def _structure_metadata(value: object, _: object) -> dict[str, str]:
    if value.__class__ is dict:
        for k, v in value.items():
            if k.__class__ is not str or v.__class__ is not str:
                break
        else:
            return dict(value)
    raise _wrong(value, "an object of strings")


def _structure_json_list(value: object, _: object) -> list[Any]:
    # The items of a walked page stay JSON until they are structured one by one.
    if value.__class__ is list:
        return value
    raise _wrong(value, "an array")


def _structure_open_enum(value: object, cl: type[OpenEnum]) -> OpenEnum:
    if value.__class__ is not str:
        raise _wrong(value, f"a string ({cl.__name__})")
    member: OpenEnum | None = cl._value2member_map_.get(value)  # type: ignore[assignment]
    return member if member is not None else cl(value)


def _is_model(cl: Any) -> bool:
    """Whether ``cl`` is one of this library's attrs models (any private module)."""
    origin = get_origin(cl) or cl
    module = getattr(origin, "__module__", "")
    return isinstance(origin, type) and attrs.has(origin) and module.startswith(_PACKAGE + "._")


def _fast_model_hook(cl: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """The fast path for a model: its function from ``_hooks``, else one written now.

    The functions (see ``_codegen``) accept exactly what the cattrs functions of the
    detailed twin accept; on any failure the caller asks the twin where it was.
    """
    hook = written(cl)
    if hook is None:
        from ._codegen import compile_hook

        hook = compile_hook(cl, converter.get_structure_hook)
    return hook


_WRITTEN: dict[str, dict[Any, Callable[[Any, Any], Any]]] = {}


def written(cl: Any) -> Callable[[Any, Any], Any] | None:
    """The function ``_hooks.py`` has for ``cl``, if any; its group is made on first use."""
    from ._hooks import GROUPS

    module = group_of(cl)
    group = _WRITTEN.get(module)
    if group is None:
        make = GROUPS.get(module)
        if make is None:
            return None
        group = _WRITTEN[module] = make()
    return group.get(cl)


def _model_hook(cl: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """cattrs' own generated function, plus ``raw``: used by the detailed and strict twins."""
    origin = get_origin(cl) or cl
    has_raw = "raw" in attrs.fields_dict(origin)
    build = (
        make_dict_structure_fn(cl, converter, raw=override(omit=True))
        if has_raw
        else make_dict_structure_fn(cl, converter)
    )

    def structure(value: Any, _: object) -> Any:
        # cattrs tests keys with `in`, which a string passes: "boom" would become an
        # object whose optional fields are all missing.
        if value.__class__ is not dict:
            raise _wrong(value, "an object")
        obj = build(value, cl)
        if has_raw:
            obj.raw = value
        return obj

    return structure


def group_of(cl: Any) -> str:
    """The module whose models ``cl`` needs last: ``Page[Batch]`` is with ``Batch``."""
    args = [a for a in get_args(cl) if isinstance(a, type) and a is not Any]
    return str((args[-1] if args else get_origin(cl) or cl).__module__)


def is_union(tp: Any) -> bool:
    """Whether ``tp`` is a union (``X | Y`` or ``Optional[X]``)."""
    return isinstance(tp, types.UnionType) or getattr(tp, "__origin__", None) is typing.Union


def _is_union_of(*members: type) -> Callable[[Any], bool]:
    wanted = frozenset(members)

    def predicate(tp: Any) -> bool:
        return frozenset(getattr(tp, "__args__", ())) == wanted and is_union(tp)

    return predicate


def configure(converter: cattrs.Converter) -> None:
    """Register every hook the models need on ``converter``."""
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook_func(_is_union_of(str, type(None)), _structure_optional_str)
    converter.register_structure_hook_func(_is_union_of(int, type(None)), _structure_optional_int)
    converter.register_structure_hook(dict[str, str] | None, _structure_optional_metadata)
    converter.register_structure_hook_func(lambda tp: tp == dict[str, str], _structure_metadata)
    converter.register_structure_hook_func(lambda tp: tp == list[Any], _structure_json_list)
    # Registered for the base class, which comes before `str` in every open enum's MRO:
    # the hook for `str` would win otherwise, and the values come out as plain strings.
    converter.register_structure_hook(OpenEnum, _structure_open_enum)
    fast = not converter.detailed_validation and not converter.forbid_extra_keys
    converter.register_structure_hook_factory(_is_model, _fast_model_hook if fast else _model_hook)
    converter.register_unstructure_hook_factory(_has_raw, _raw_omitting_unstructure)
    # The hook for `str` (pass through) would give the enum instance itself: dispatched
    # by class, this one is the more specific.
    converter.register_unstructure_hook(OpenEnum, _enum_value)


def _enum_value(value: OpenEnum | str) -> str:
    # str() of a StrEnum is its value as a plain str (and a plain str set by hand stays).
    return str(value)


def _has_raw(cl: Any) -> bool:
    return isinstance(cl, type) and attrs.has(cl) and "raw" in attrs.fields_dict(cl)


def _raw_omitting_unstructure(cl: type[Any], converter: cattrs.Converter) -> Any:
    from cattrs.gen import make_dict_unstructure_fn

    return make_dict_unstructure_fn(cl, converter, raw=override(omit=True))


def make_converter(*, detailed: bool = False, strict: bool = False) -> cattrs.Converter:
    """Build a configured converter.

    Args:
        detailed: Collect where each error is (slower; used only after a failure).
        strict: Refuse keys the models do not know (for tests; the client never does).
    """
    converter = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=strict)
    configure(converter)
    return converter


_FAST = make_converter()
_DETAILED: cattrs.Converter | None = None


def structure_hook(cl: type[T]) -> Callable[[Any, Any], T]:
    """The fast converter's hook for ``cl``; call it as ``hook(data, cl)``."""
    return _FAST.get_structure_hook(cl)


def locate_error(data: Any, cl: Any) -> tuple[str, str]:
    """Say where and why ``data`` does not fit ``cl``, as ``(path, reason)``."""
    global _DETAILED
    if _DETAILED is None:
        # Built on first use: a healthy process never needs it.
        _DETAILED = make_converter(detailed=True)
    try:
        _DETAILED.structure(data, cl)
    except Exception as exc:
        messages = cattrs.transform_error(exc, path="$")
        first = messages[0] if messages else str(exc)
        reason, _, path = first.rpartition(" @ ")
        return (path or "$", reason or first)
    return ("$", "the body does not fit the expected shape")


def unstructure(obj: object) -> Mapping[str, Any]:
    """Turn a model back into JSON-ready data (the ``raw`` copies are left out)."""
    result: Mapping[str, Any] = _FAST.unstructure(obj)
    return result


def to_dict(obj: object) -> dict[str, Any]:
    """Turn a model into the API's JSON shape, with what ``raw`` holds that it does not know.

    Every field is there (``None`` as ``null``), enums as their strings, nested models as
    objects; the keys of ``raw`` that the models have no field for are added back at
    every depth, so a body decoded and turned back loses nothing. Free-form fields
    (``metadata``, a webhook event's ``data``) are taken as they are, never merged.
    """
    data = dict(unstructure(obj))
    _add_unknown(obj, data, _NO_RAW)
    return data


_NO_RAW: Mapping[str, Any] = {}


def _add_unknown(obj: Any, data: dict[str, Any], raw: Mapping[str, Any]) -> None:
    """Copy into ``data`` the keys of the JSON ``raw`` that the model ``obj`` has no field for.

    ``raw`` is the part of the enclosing model's ``raw`` that ``obj`` was decoded from; a
    model with a ``raw`` of its own uses that. Only fields that are models (or lists of
    them) are walked into: a mapping field such as ``metadata`` is the user's to change,
    and merging the received one into it would put back keys they removed.
    """
    own = getattr(obj, "raw", None)
    if own:
        raw = own
    fields = attrs.fields_dict(type(obj))
    for key, value in raw.items():
        if key not in fields:
            data.setdefault(key, value)
    for name in fields:
        child, mine, sub = getattr(obj, name), data.get(name), raw.get(name)
        if attrs.has(type(child)) and isinstance(mine, dict):
            _add_unknown(child, mine, sub if isinstance(sub, Mapping) else _NO_RAW)
        elif isinstance(child, list) and isinstance(mine, list) and len(child) == len(mine):
            subs = sub if isinstance(sub, list) and len(sub) == len(child) else [None] * len(child)
            for item, item_data, item_raw in zip(child, mine, subs, strict=True):
                if attrs.has(type(item)) and isinstance(item_data, dict):
                    _add_unknown(
                        item, item_data, item_raw if isinstance(item_raw, Mapping) else _NO_RAW
                    )
