"""The API's URLs: checking a base URL, and putting object ids into paths safely.

Pure functions; the transport joins the paths built here to the checked base URL.
"""

from __future__ import annotations

from urllib.parse import quote

from yarl import URL

__all__ = ["encode_path", "normalize_base_url"]


def encode_path(template: str, *ids: str) -> str:
    """Fill ``{}`` slots in a relative path with percent-encoded ids.

    Every character outside the unreserved set is encoded, ``/`` included, and the
    dot segments ``.`` and ``..`` are refused, so an id can never reach another endpoint.

    Raises:
        ValueError: An id is empty or a dot segment.
        TypeError: An id is not a string.
    """
    encoded = []
    for value in ids:
        if not isinstance(value, str):
            raise TypeError(f"an object id must be a string, got {type(value).__name__}")
        if not value.strip():
            raise ValueError("an object id must not be empty")
        if value in (".", ".."):
            raise ValueError(f"{value!r} is not a valid object id")
        encoded.append(quote(value, safe=""))
    return template.format(*encoded)


def normalize_base_url(base_url: str) -> str:
    """Check a base URL and return it without a trailing slash.

    Raises:
        ValueError: It is not an absolute http(s) URL, or it has a query or fragment.
    """
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must not have a query or a fragment, got {base_url!r}")
    return str(url).rstrip("/")
