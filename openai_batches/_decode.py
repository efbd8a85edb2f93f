"""From a 2xx answer to a model: pure functions of the response, tested without a server."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from ._converter import locate_error, structure
from ._errors import ResponseValidationError
from ._transport import Response

__all__ = ["decode", "parse_json"]

T = TypeVar("T")

_SNIPPET = 200


def parse_json(response: Response) -> Any:
    """Parse a 2xx answer's body as JSON.

    Raises:
        ResponseValidationError: The body is not JSON (an HTML page from a proxy, say).
    """
    try:
        return json.loads(response.body)
    except ValueError as exc:
        text = " ".join(response.body[:_SNIPPET].decode("utf-8", "replace").split())
        raise ResponseValidationError(
            f"Expected a JSON body, got: {text!r}" if text else "Expected a JSON body, got nothing",
            status_code=response.status,
            request_id=response.request_id,
            method=response.method,
            url=response.url,
        ) from exc


def decode(response: Response, cl: type[T]) -> T:
    """Parse a 2xx answer and structure it into ``cl``.

    Raises:
        ResponseValidationError: The body is not JSON, or does not fit ``cl``; the error
            says where, for example ``$.data[3].created_at``.
    """
    data = parse_json(response)
    return structure_response(data, cl, response)


def structure_response(data: Any, cl: type[T], response: Response) -> T:
    """Structure already parsed JSON, turning any failure into ResponseValidationError."""
    try:
        return structure(data, cl)
    except Exception as exc:
        path, reason = locate_error(data, cl)
        raise ResponseValidationError(
            f"Unexpected response body at {path}: {reason}",
            path=path,
            status_code=response.status,
            request_id=response.request_id,
            method=response.method,
            url=response.url,
        ) from exc
