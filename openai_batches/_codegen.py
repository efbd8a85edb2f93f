"""Write the structuring functions of the models as Python source: the converter's fast path.

cattrs' own generated functions call a hook per field and build each object through its
``__init__``. The functions written here read the fields with plain subscripts, check
primitive fields inline, build nested models inline and set the fields of plain classes
directly (``benchmarks/bench_walk.py`` prints both costs). They accept what cattrs' own
functions accept: absent and ``null`` optional fields become ``None``, unknown keys are
ignored, wrong types raise. On any failure the converter's detailed twin says where.

The functions for the models of ``_models`` are written once, when the models change, into
``_hooks.py`` (``python -m openai_batches._codegen``; a test checks the file is current), so
no process pays for writing and compiling them: loading them costs one module's bytecode.
Other classes (the result lines) are written and compiled on first use by
:func:`compile_hook`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any, get_args, get_origin, get_type_hints

import attrs

from ._converter import group_of, is_union

__all__ = [
    "compile_hook",
    "field_types",
    "function_name",
    "module_source",
    "plain",
    "precomputed",
]

_PRIMITIVES = (str, int, bool)

#: Shared constants, passed to every function as default arguments (read as locals).
_BUILTINS = {
    "__None": "None",
    "__type": "type",
    "__str": "str",
    "__int": "int",
    "__bool": "bool",
    "__list": "list",
    "__dict": "dict",
    "__new": "object.__new__",
}


def field_types(cl: Any) -> list[tuple[attrs.Attribute[Any], Any]]:
    """The fields of a model with their types resolved, type variables filled in."""
    origin = get_origin(cl) or cl
    hints = get_type_hints(origin)
    bindings = dict(zip(getattr(origin, "__parameters__", ()), get_args(cl), strict=False))
    result = []
    for field in attrs.fields(origin):
        tp = hints[field.name]
        if tp in bindings:
            tp = bindings[tp]
        params = getattr(tp, "__parameters__", ())
        if params and bindings:
            tp = tp[tuple(bindings[p] for p in params)]
        result.append((field, tp))
    return result


def plain(cl: type) -> bool:
    """Whether building ``cl`` is only setting its fields: its ``__init__`` runs nothing else.

    True for an attrs class whose fields have no validator or converter, are all set by
    ``__init__``, and that has no ``__attrs_pre_init__``, ``__attrs_post_init__`` or
    ``__setattr__`` of its own (frozen classes have one).
    """
    setattr_: object = cl.__setattr__
    return (
        setattr_ is object.__setattr__
        and not hasattr(cl, "__attrs_pre_init__")
        and not hasattr(cl, "__attrs_post_init__")
        and all(f.init and f.validator is None and f.converter is None for f in attrs.fields(cl))
    )


def _is_model(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    return isinstance(origin, type) and attrs.has(origin)


class _Writer:
    """Writes the body of one structuring function.

    ``bind(value, spelled)`` makes a value readable in the function and returns its local
    name; ``spelled`` is how a module that imports the models writes it. ``hook_for(tp)``
    names the structuring function of a type the writer does not inline (the items of a
    list of models, or anything else).
    """

    def __init__(self, bind: Callable[[object, str], str], hook_for: Callable[[Any], str]) -> None:
        self.bind = bind
        self.hook_for = hook_for
        self.lines: list[str] = []
        self.blocks = 0

    def model(self, cl: Any, src: str, out: str, ind: str) -> None:
        """Lines that read the JSON object in ``src`` and leave the model in ``out``."""
        origin = get_origin(cl) or cl
        block = self.blocks
        self.blocks += 1
        fields = field_types(cl)
        names = [f"v{block}_{n}" for n in range(len(fields))]
        lines = self.lines
        optional: list[tuple[str, str, str]] = []
        for var, (field, _) in zip(names, fields, strict=True):
            if field.name == "raw":
                lines.append(f"{ind}{var} = {src}")
            elif field.default is attrs.NOTHING:
                lines.append(f"{ind}{var} = {src}[{field.name!r}]")
            elif field.default is None or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                optional.append((var, field.name, ""))
            else:
                optional.append((var, field.name, f", {self.constant(field.default)}"))
        if optional:
            # The API sends every field, null when unset: read them all at once, and one
            # by one only when one is absent.
            lines.append(f"{ind}try:")
            lines += [f"{ind}    {var} = {src}[{key!r}]" for var, key, _ in optional]
            lines.append(f"{ind}except KeyError:")
            lines += [f"{ind}    {var} = {src}.get({key!r}{d})" for var, key, d in optional]
        checks: list[str] = []
        for var, (field, tp) in zip(names, fields, strict=True):
            if field.name == "raw":
                continue
            if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                factory = field.default.factory  # type: ignore[union-attr]
                lines.append(f"{ind}if {var} is __None:")
                lines.append(f"{ind}    {var} = {self.bind(factory, factory.__name__)}()")
                self.value(tp, var, ind, checks)
                continue
            nullable = is_union(tp) and type(None) in get_args(tp)
            inner = next(a for a in get_args(tp) if a is not type(None)) if nullable else tp
            if inner in _PRIMITIVES:
                guard = f"{var} is not __None and " if nullable else ""
                checks.append(f"({guard}__type({var}) is not __{inner.__name__})")
            elif nullable:
                lines.append(f"{ind}if {var} is not __None:")
                self.value(inner, var, ind + "    ", checks)
            else:
                self.value(inner, var, ind, checks)
        if checks:
            lines.append(f"{ind}if {' or '.join(checks)}:")
            message = f"a field of {origin.__name__} has the wrong type"
            lines.append(f"{ind}    raise TypeError({message!r})")
        cls = self.bind(origin, origin.__name__)
        if plain(origin):
            # What attrs' __init__ would do, without calling it as well.
            lines.append(f"{ind}{out} = __new({cls})")
            for var, (field, _) in zip(names, fields, strict=True):
                lines.append(f"{ind}{out}.{field.name} = {var}")
        else:
            lines.append(f"{ind}{out} = {cls}({', '.join(names)})")

    def value(self, tp: Any, var: str, ind: str, checks: list[str]) -> None:
        """Lines that turn the JSON value in ``var`` into a ``tp``, in place."""
        lines = self.lines
        if tp in _PRIMITIVES:
            checks.append(f"(__type({var}) is not __{tp.__name__})")
        elif tp is Any:
            pass
        elif isinstance(tp, type) and issubclass(tp, str) and issubclass(tp, enum.Enum):
            # An open enum: known values by a dict lookup; a new string makes a new member.
            enum_class = self.bind(tp, tp.__name__)
            members = self.bind(tp._value2member_map_, f"{tp.__name__}._value2member_map_")
            expected = f"expected a string ({tp.__name__})"
            lines += [
                f"{ind}try:",
                f"{ind}    {var} = {members}[{var}]",
                f"{ind}except (KeyError, TypeError):",
                f"{ind}    if __type({var}) is not __str:",
                f"{ind}        raise TypeError({expected!r}) from None",
                f"{ind}    {var} = {enum_class}({var})",
            ]
        elif _is_model(tp):
            self.model(tp, var, var, ind)
        elif get_origin(tp) is list:
            (item,) = get_args(tp)
            lines.append(f"{ind}if __type({var}) is not __list:")
            lines.append(f"{ind}    raise TypeError('expected an array')")
            if item is not Any:
                hook, item_type = self.hook_for(item), self.bind(item, _spelled(item))
                lines.append(f"{ind}{var} = [{hook}(x, {item_type}) for x in {var}]")
        elif tp == dict[str, str]:
            lines += [
                f"{ind}if __type({var}) is not __dict:",
                f"{ind}    raise TypeError('expected an object of strings')",
                f"{ind}for k, v in {var}.items():",
                f"{ind}    if __type(k) is not __str or __type(v) is not __str:",
                f"{ind}        raise TypeError('expected an object of strings')",
                f"{ind}{var} = __dict({var})",
            ]
        else:
            hook, target = self.hook_for(tp), self.bind(tp, _spelled(tp))
            lines.append(f"{ind}{var} = {hook}({var}, {target})")

    def constant(self, value: object) -> str:
        if value is None or isinstance(value, str | int | bool):
            return repr(value)
        return self.bind(value, repr(value))


def _spelled(tp: Any) -> str:
    """``Batch``; ``Page[Any]``."""
    origin = get_origin(tp) or tp
    args = ", ".join(_spelled(a) for a in get_args(tp))
    name = getattr(origin, "__name__", None) or str(origin).rpartition(".")[2]
    return f"{name}[{args}]" if args else name


def function_name(cl: Any) -> str:
    """``structure_Batch``; ``structure_Page_Any`` for ``Page[Any]``."""
    return "structure_" + re.sub(r"\W+", "_", _spelled(cl)).strip("_")


def _function(cl: Any, writer: _Writer, defaults: dict[str, str]) -> str:
    writer.model(cl, "o", "result", "    ")
    body = "\n".join(writer.lines)
    used = {k: v for k, v in defaults.items() if k not in _BUILTINS or re.search(rf"\b{k}\b", body)}
    params = ", ".join(f"{k}={v}" for k, v in used.items())
    return f"def {function_name(cl)}(o, _=None, {params}):\n{body}\n    return result\n"


def compile_hook(cl: Any, hook: Callable[[Any], Callable[[Any, Any], Any]]) -> Any:
    """Write and compile the structuring function of ``cl`` now.

    ``hook(tp)`` gives the structuring function of a type that is not written inline.
    """
    namespace: dict[str, Any] = {}
    defaults = dict(_BUILTINS)

    def bind(value: object, spelled: str) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        defaults[name] = name
        return name

    source = _function(cl, _Writer(bind, lambda tp: bind(hook(tp), "")), defaults)
    exec(compile(source, f"<openai_batches {function_name(cl)}>", "exec"), namespace)
    return namespace[function_name(cl)]


_HEAD = '''"""The models' structuring functions, written by ``python -m openai_batches._codegen``.

Do not edit: change the models or the writer, then run it again (a test checks that this
file is what it writes). The functions come in groups, one per module of models, made
when the converter first needs one of them (see ``group_of``), so that structuring a
batch does not load the models of the files.
"""

# mypy: ignore-errors

from typing import Any
'''


def module_source(classes: list[Any]) -> str:
    """The source of ``_hooks.py``: a function per class, in groups (see ``group_of``).

    ``GROUPS`` maps a module of models to a function that makes its group, a dict from
    each class to its function.
    """
    groups: dict[str, list[Any]] = {}
    for cl in classes:
        groups.setdefault(group_of(cl), []).append(cl)
    parts = [_HEAD]
    table = ""
    for module, members in groups.items():
        imported: set[type] = set()
        functions = []
        for cl in members:
            defaults = dict(_BUILTINS)

            def bind(
                value: object,
                spelled: str,
                defaults: dict[str, str] = defaults,
                imported: set[type] = imported,
            ) -> str:
                if isinstance(value, type) and value.__module__ != "builtins":
                    imported.add(value)
                local = "_" + re.sub(r"\W+", "_", spelled)
                defaults[local] = spelled
                return local

            def hook_for(tp: Any, members: list[Any] = members) -> str:
                if tp not in members:
                    raise TypeError(f"{tp!r} has no function in its group")
                return function_name(tp)

            functions.append(_function(cl, _Writer(bind, hook_for), defaults))
        by_module: dict[str, list[str]] = {}
        for c in imported:
            by_module.setdefault(c.__module__, []).append(c.__name__)
        imports = [
            f"from .{m.rpartition('.')[2]} import {', '.join(sorted(names))}\n"
            for m, names in sorted(by_module.items())
        ]
        group = "group" + module.rpartition(".")[2]
        entries = "".join(f"        {_spelled(cl)}: {function_name(cl)},\n" for cl in members)
        body = "".join(imports) + "\n" + "\n".join(functions) + f"\nreturn {{\n{entries}}}\n"
        indented = "".join(
            f"    {line}" if line.strip() else line for line in body.splitlines(True)
        )
        parts.append(f"def {group}():\n{indented}")
        table += f"    {module!r}: {group},\n"
    parts.append(f"GROUPS: dict[str, Any] = {{\n{table}}}\n")
    return "\n\n".join(parts)


def precomputed() -> list[Any]:
    """The classes ``_hooks.py`` has functions for: the models, and the pages walks use."""
    from . import _models

    models = [getattr(_models, name) for name in sorted(_models.__all__)]
    classes: list[Any] = [
        m for m in models if attrs.has(m) and not getattr(m, "__parameters__", ())
    ]
    page = _models.Page
    return [*classes, page[Any], page[_models.Batch], page[_models.FileObject]]


def main() -> None:
    """Write ``_hooks.py`` beside this module."""
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_hooks.py")
    with open(path, "w") as f:
        f.write(module_source(precomputed()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
