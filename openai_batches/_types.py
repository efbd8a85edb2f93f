"""Small configuration types shared by the client and its resources."""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, TypeAlias

import attrs

__all__ = ["USE_CLIENT_DEFAULT", "Timeout", "TimeoutTypes", "UseClientDefault"]


class UseClientDefault(enum.Enum):
    """The type of :data:`USE_CLIENT_DEFAULT`: "whatever the client was configured with".

    It differs from ``None``, which means "no timeout at all".
    """

    USE_CLIENT_DEFAULT = enum.auto()

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT: Final = UseClientDefault.USE_CLIENT_DEFAULT


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"Timeout.{attribute.name} must be >= 0 or None, got {value!r}")


@attrs.frozen
class Timeout:
    """How long a request may take, in seconds; ``None`` means no limit.

    Args:
        total: The whole request, from connecting to the last byte of the body.
        connect: Getting a connection (from the pool or a new one).
        read: The gap between two reads from the socket. Streamed downloads rely on
            this rather than on ``total``, so a large file is never cut off by a
            deadline meant for metadata calls.
    """

    total: float | None = attrs.field(default=600.0, validator=_non_negative)
    connect: float | None = attrs.field(default=5.0, validator=_non_negative)
    read: float | None = attrs.field(default=None, validator=_non_negative)

    @classmethod
    def of(cls, value: TimeoutTypes) -> Timeout:
        """Turn a number of seconds, ``None`` or a :class:`Timeout` into a :class:`Timeout`."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(total=None, connect=None, read=None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                f"timeout must be a number of seconds, a Timeout or None, got {value!r}"
            )
        return cls(total=float(value), connect=min(5.0, float(value)), read=None)


TimeoutTypes: TypeAlias = "float | Timeout | None"
Order: TypeAlias = Literal["asc", "desc"]
