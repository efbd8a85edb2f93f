"""A griffe extension for the API reference: the ``__init__`` that attrs generates.

griffe reads the source and cannot see the ``__init__`` that ``@attrs.frozen`` and
``@attrs.define`` write, so an attrs class would show no signature, and its ``Args:``
no types or defaults. This gives each such class the ``__init__`` attrs makes: one
parameter per annotated field, in order, with its default (``attrs.field(default=...)``,
``factory=``, ``attrs.Factory(...)``), leaving out ``init=False`` fields and naming a
private field without its underscore, as attrs does.
"""

from __future__ import annotations

from typing import Any

import griffe

_DECORATORS = {"attrs.define", "attrs.frozen", "attrs.mutable", "attr.s", "attr.attrs"}


def _call(value: object) -> tuple[str, dict[str, Any]] | None:
    """A call's function path and keyword arguments, or None if it is not a call."""
    if not isinstance(value, griffe.ExprCall):
        return None
    keywords = {
        arg.name: arg.value for arg in value.arguments if isinstance(arg, griffe.ExprKeyword)
    }
    return value.function.canonical_path, keywords


def _attrs_options(class_: griffe.Class) -> dict[str, Any] | None:
    for decorator in class_.decorators:
        value = decorator.value
        if isinstance(value, griffe.Expr) and value.canonical_path in _DECORATORS:
            return {}
        call = _call(value)
        if call is not None and call[0] in _DECORATORS:
            return call[1]
    return None


def _parameter(member: griffe.Attribute, kind: griffe.ParameterKind) -> griffe.Parameter | None:
    default: Any = member.value
    call = _call(member.value)
    if call is not None and call[0] in {"attrs.field", "attr.ib"}:
        keywords = call[1]
        if str(keywords.get("init")) == "False":
            return None
        default = f"{keywords['factory']}()" if "factory" in keywords else keywords.get("default")
        if str(keywords.get("kw_only")) == "True":
            kind = griffe.ParameterKind.keyword_only
    elif call is not None and call[0] == "attrs.Factory":
        default = f"{member.value.arguments[0]}()"  # type: ignore[union-attr]
    return griffe.Parameter(
        member.name.lstrip("_"),
        annotation=member.annotation,
        kind=kind,
        default=default,
        docstring=member.docstring,
    )


class AttrsInit(griffe.Extension):
    """Give attrs classes the ``__init__`` attrs generates."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._visit(pkg)

    def _visit(self, parent: griffe.Module | griffe.Class) -> None:
        for member in parent.members.values():
            if member.is_alias:
                continue
            if isinstance(member, griffe.Module | griffe.Class):
                self._visit(member)
            if isinstance(member, griffe.Class):
                self._add_init(member)

    def _add_init(self, class_: griffe.Class) -> None:
        options = _attrs_options(class_)
        if options is None or "__init__" in class_.members:
            return
        kind = (
            griffe.ParameterKind.keyword_only
            if str(options.get("kw_only")) == "True"
            else griffe.ParameterKind.positional_or_keyword
        )
        parameters = []
        for member in class_.members.values():
            if (
                isinstance(member, griffe.Attribute)
                and member.annotation is not None
                and "instance-attribute" in member.labels
                and (parameter := _parameter(member, kind)) is not None
            ):
                parameters.append(parameter)
        self_ = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
        init = griffe.Function(
            "__init__",
            lineno=0,
            endlineno=0,
            parent=class_,
            parameters=griffe.Parameters(self_, *parameters),
            returns="None",
        )
        class_.set_member("__init__", init)
