"""``openai-batches demo``: the whole batch workflow against the built-in emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._app import Subparsers

__all__ = ["register"]


def register(commands: Subparsers) -> None:
    """Add ``demo``."""
