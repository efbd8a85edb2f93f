"""Small configuration types shared by the client and its resources."""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, TypeAlias

import attrs

__all__ = ["USE_CLIENT_DEFAULT", "Timeout", "TimeoutTypes", "UseClientDefault", "check_seconds"]


class UseClientDefault(enum.Enum):
    """The type of :data:`USE_CLIENT_DEFAULT`: "whatever the client was configured with".

    It differs from ``None``, which means "no timeout at all".
    """

    USE_CLIENT_DEFAULT = enum.auto()

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT: Final = UseClientDefault.USE_CLIENT_DEFAULT


def check_seconds(name: str, value: object) -> float | None:
    """Check a time limit: a number of seconds above 0, or ``None`` for no limit.

    Zero is refused rather than taken at its word or for "no limit" (which is what
    aiohttp makes of it): a limit of 0 s could never be met.

    Raises:
        TypeError: It is not a number.
        ValueError: It is 0, negative or NaN.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be more than 0 seconds, or None for no limit; got {value!r}")
    return float(value)


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    check_seconds(f"Timeout.{attribute.name}", value)


@attrs.frozen
class Timeout:
    """How long a request may take, in seconds (more than 0); ``None`` means no limit.

    Args:
        total: The whole request, from connecting to the last byte of the body.
        connect: Getting a connection (from the pool or a new one).
        read: The gap between two reads from the socket. Streamed downloads rely on
            this rather than on ``total``, so a large file is never cut off by a
            deadline meant for metadata calls.
    """

    total: float | None = attrs.field(default=600.0, validator=_positive)
    connect: float | None = attrs.field(default=5.0, validator=_positive)
    read: float | None = attrs.field(default=None, validator=_positive)

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
        seconds = check_seconds("timeout", value)
        assert seconds is not None
        return cls(total=seconds, connect=min(5.0, seconds), read=None)


TimeoutTypes: TypeAlias = "float | Timeout | None"
Order: TypeAlias = Literal["asc", "desc"]
