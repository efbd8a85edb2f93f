"""When a file the API stores expires: the one check for every ``expires_after`` argument.

``files.create(expires_after=...)``, ``uploads.create(expires_after=...)`` (and
``upload_file``) and ``batches.create(output_expires_after=...)`` all take a number of
seconds after the file's creation, or the API's own form
``{"anchor": "created_at", "seconds": N}``, as openai-python does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = [
    "MAX_EXPIRES_AFTER",
    "MIN_EXPIRES_AFTER",
    "ExpiresAfter",
    "check_expires_after",
    "expires_after_json",
]

#: The range the API accepts: one hour to 30 days.
MIN_EXPIRES_AFTER, MAX_EXPIRES_AFTER = 3600, 2_592_000

#: Seconds after the file's creation, or ``{"anchor": "created_at", "seconds": N}``.
ExpiresAfter: TypeAlias = "int | Mapping[str, Any]"


def check_expires_after(value: object, name: str = "expires_after") -> int | None:
    """Check an expiry policy and return its seconds, or ``None`` for the API's default.

    Args:
        value: Seconds, the API's ``{"anchor": "created_at", "seconds": N}``, or ``None``.
        name: The argument's name, for the error messages.

    Raises:
        TypeError: The seconds are not an integer, or ``value`` is neither a number nor
            a mapping.
        ValueError: The mapping has other keys or another anchor, or the seconds are
            outside 3600..2592000.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        if set(value) != {"anchor", "seconds"}:
            raise ValueError(f"{name} must have exactly the keys 'anchor' and 'seconds'")
        if value["anchor"] != "created_at":
            raise ValueError(f"{name}['anchor'] must be 'created_at', got {value['anchor']!r}")
        name, value = f"{name}['seconds']", value["seconds"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number of seconds, got {value!r}")
    if not MIN_EXPIRES_AFTER <= value <= MAX_EXPIRES_AFTER:
        raise ValueError(
            f"{name} must be between {MIN_EXPIRES_AFTER} and {MAX_EXPIRES_AFTER} seconds "
            f"(one hour to 30 days), got {value}"
        )
    return value


def expires_after_json(seconds: int) -> dict[str, Any]:
    """The API's JSON for an expiry ``seconds`` after the file's creation."""
    return {"anchor": "created_at", "seconds": seconds}
