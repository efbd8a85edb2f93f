"""The API's URLs: checking a base URL, and putting object ids into paths safely.

Pure functions; the transport joins the paths built here to the checked base URL.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from yarl import URL

__all__ = ["encode_path", "missing_v1", "normalize_base_url"]


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


def normalize_base_url(base_url: str, *, allow_insecure_http: bool = False) -> str:
    """Check a base URL and return it without a trailing slash.

    Plain ``http://`` would send the key unencrypted, so it is refused unless the host is
    this machine (``localhost``, ``127.0.0.0/8``, ``::1``) or ``allow_insecure_http``.

    Raises:
        ValueError: It is not an absolute http(s) URL, has a query or fragment, or is
            plain http to another machine without ``allow_insecure_http``.
    """
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must not have a query or a fragment, got {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ValueError(
            f"base_url {base_url!r} is plain http to another machine: the API key would "
            "cross the network unencrypted. Use https, or, if the network in between is "
            "trusted, pass allow_insecure_http=True to Client() (--allow-insecure-http on "
            "the command line)."
        )
    return str(url).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, ``127.0.0.0/8`` or ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def missing_v1(base_url: str) -> str | None:
    """The base URL with the API's ``/v1`` added, when its path does not end with it."""
    if URL(base_url).path.rstrip("/").endswith("/v1"):
        return None
    return f"{base_url.rstrip('/')}/v1"
