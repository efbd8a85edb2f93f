"""The public namespace of ``openai_batches.emulator``."""

from __future__ import annotations

import openai_batches.emulator as emulator


def test_all_is_sorted_and_complete() -> None:
    assert emulator.__all__ == sorted(emulator.__all__, key=lambda n: (not n.isupper(), n))
    public = {
        name
        for name, value in vars(emulator).items()
        if not name.startswith(("_", "@"))
        and not getattr(value, "__name__", "").startswith("openai_batches.emulator._")
    }
    assert public - {"annotations"} == set(emulator.__all__)
    for name in emulator.__all__:
        value = getattr(emulator, name)
        if callable(value) and not name.endswith("Kind"):
            assert value.__doc__, name
