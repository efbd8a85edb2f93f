"""The architecture, checked: only the transport touches aiohttp, and what builds on it.

Reads each module's imports with ``ast`` (those under ``if TYPE_CHECKING:`` excepted),
without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "openai_batches"


def runtime_imports(module: str) -> set[str]:
    """The modules ``openai_batches/<module>.py`` imports when it runs, as written."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.add("." * node.level + (node.module or ""))
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit([n for n in inner if isinstance(n, ast.stmt | ast.excepthandler)])  # type: ignore[misc]

    visit(tree.body)
    return found


MODULES = sorted(path.stem for path in PACKAGE.glob("_*.py") if path.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_only_the_transport_imports_aiohttp(module: str) -> None:
    uses_aiohttp = {name for name in runtime_imports(module) if name.split(".")[0] == "aiohttp"}
    assert bool(uses_aiohttp) == (module == "_transport"), uses_aiohttp


@pytest.mark.parametrize(
    "module",
    ["_batches", "_files", "_uploads", "_pagination", "_wait", "_decode", "_retry", "_sources"],
)
def test_resources_and_pure_modules_never_reach_the_transport(module: str) -> None:
    assert "._transport" not in runtime_imports(module)
