"""Per-call options: the extra headers, query parameters and body fields of one call.

The public methods that map to an API operation take them as keyword arguments, typed once
here (:class:`Extra`) and carried as one :class:`RequestOptions` down the one request
path (``_api.py``), which merges them into each attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import attrs

__all__ = ["Extra", "RequestOptions", "check_headers", "options_of"]


class Extra(TypedDict, total=False):
    """The per-call extras of the methods that map to an API operation, as openai-python's.

    They go with the request the method makes, on top of the client's
    ``default_headers`` and ``default_query`` and the method's own parameters (the
    extras win on a clash); not with the look-ups some calls make to check a lost
    answer or a file's size.

    Attributes:
        extra_headers: More headers (CR/LF in a value is refused).
        extra_query: More query parameters.
        extra_body: More fields merged into the JSON body. A request without a body
            gets them as its JSON body if it is a POST; a GET or DELETE, which sends
            no body, and a multipart upload refuse them.
    """

    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str | int] | None
    extra_body: Mapping[str, Any] | None


def check_headers(name: str, headers: Mapping[str, str]) -> dict[str, str]:
    """Copy a mapping of headers, refusing a name or value that HTTP cannot carry.

    Raises:
        TypeError: A name or value is not a string.
        ValueError: A name or value has a line break or another control character.
    """
    from ._client import _header_value  # the one check, beside the identity headers

    checked: dict[str, str] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{name} must map strings to strings, got {key!r}: {value!r}")
        checked[_header_value(f"{name} name", key)] = _header_value(f"{name}[{key!r}]", value)
    return checked


@attrs.frozen
class RequestOptions:
    """The checked extras of one call; ``None`` for each one not given."""

    headers: Mapping[str, str] | None = None
    query: Mapping[str, str | int] | None = None
    body: Mapping[str, Any] | None = None


def _mapping(name: str, value: object) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    return value


def options_of(extra: Mapping[str, object], *, why: str | None = None) -> RequestOptions | None:
    """Check a method's ``**extra``; ``None`` when there is nothing extra to send.

    Args:
        extra: The method's keyword arguments.
        why: Why the call cannot take ``extra_body`` (such as ``"a listing sends GET
            requests"``), for a call that cannot; ``None`` leaves it to the request.

    Raises:
        TypeError: An unknown keyword, a value of the wrong type, or an ``extra_body``
            the call cannot send.
        ValueError: A header has a line break or another control character.
    """
    if not extra:
        return None
    unknown = extra.keys() - Extra.__annotations__.keys()
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {', '.join(sorted(unknown))}; the extras are "
            "extra_headers, extra_query and extra_body"
        )
    headers = _mapping("extra_headers", extra.get("extra_headers"))
    query = _mapping("extra_query", extra.get("extra_query"))
    body = _mapping("extra_body", extra.get("extra_body"))
    if body and why is not None:
        raise TypeError(f"extra_body cannot be sent: {why}")
    if not headers and not query and not body:
        return None
    return RequestOptions(
        headers=check_headers("extra_headers", headers) if headers else None,
        query=dict(query) if query else None,
        body=dict(body) if body else None,
    )
