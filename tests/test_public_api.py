"""The public namespace: everything exported, sorted, and nothing private leaking."""

from __future__ import annotations

import inspect

import openai_batches


def test_all_is_sorted_and_unique() -> None:
    names = openai_batches.__all__
    assert len(names) == len(set(names))
    # ruff's order (RUF022): CONSTANTS, then Classes, then everything else.
    constants = [n for n in names if n.isupper()]
    classes = [n for n in names if n[0].isupper() and not n.isupper()]
    rest = [n for n in names if not n[0].isupper()]
    assert names == sorted(constants) + sorted(classes) + sorted(rest)


def test_every_public_name_is_exported() -> None:
    defined = {
        name
        for name, value in vars(openai_batches).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith("openai_batches.")
    }
    assert defined <= set(openai_batches.__all__)


def test_every_exported_name_exists_and_comes_from_a_private_module() -> None:
    for name in openai_batches.__all__:
        value = getattr(openai_batches, name)
        module = getattr(value, "__module__", "openai_batches._x")
        if inspect.isclass(value):
            assert module.startswith("openai_batches._"), name


def test_errors_share_one_root() -> None:
    for name in openai_batches.__all__:
        value = getattr(openai_batches, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, openai_batches.OpenAIError), name
