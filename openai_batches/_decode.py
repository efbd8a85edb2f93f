"""From an answer to a model or an error: pure functions, tested without a server.

:class:`Response` is an answer as the transport read it: status, headers and the whole
body. Nothing here imports aiohttp.

Bodies are parsed with orjson, which takes half the time of ``json.loads`` and so pays
for building typed models instead of plain dicts. orjson and the converter (cattrs) are
imported on the first answer rather than with the package, which keeps ``import
openai_batches`` close to the cost of importing aiohttp alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from ._errors import APIResponseValidationError

__all__ = ["Response", "as_is", "decode", "decoder", "item_error", "parse_json", "structure_hook"]

T = TypeVar("T")

_SNIPPET = 200


@attrs.frozen
class Response:
    """A fully read answer.

    ``headers`` are case-insensitive when the transport made them.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    method: str
    url: str

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header."""
        return self.headers.get("x-request-id")


def parse_json(response: Response) -> Any:
    """Parse a 2xx answer's body as JSON.

    Raises:
        APIResponseValidationError: The body is not JSON (an HTML page from a proxy, say).
    """
    import orjson

    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError as exc:
        text = " ".join(response.body[:_SNIPPET].decode("utf-8", "replace").split())
        raise APIResponseValidationError(
            f"Expected a JSON body, got: {text!r}" if text else "Expected a JSON body, got nothing",
            status_code=response.status,
            request_id=response.request_id,
            method=response.method,
            url=response.url,
        ) from exc


def decode(response: Response, cl: type[T]) -> T:
    """Parse a 2xx answer and structure it into ``cl``.

    Raises:
        APIResponseValidationError: The body is not JSON, or does not fit ``cl``; the error
            says where, for example ``$.data[3].created_at``.
    """
    data = parse_json(response)
    hook: Callable[[Any, Any], T] = structure_hook(cl)
    try:
        return hook(data, cl)
    except Exception as exc:
        raise _validation_error(data, cl, response, "$") from exc


def as_is(response: Response) -> Response:
    """The answer itself, for callers that decode it later (such as the page walker)."""
    return response


def decoder(cl: type[T]) -> Callable[[Response], T]:
    """A function that decodes a 2xx answer into ``cl`` (see :func:`decode`)."""

    def decode_into(response: Response) -> T:
        return decode(response, cl)

    return decode_into


def structure_hook(cl: type[T]) -> Callable[[Any, Any], T]:
    """The converter's hook for ``cl``: call it as ``hook(data, cl)``."""
    from ._converter import structure_hook

    return structure_hook(cl)


def item_error(
    item: Any, cl: Any, data: list[Any], response: Response
) -> APIResponseValidationError:
    """The error for an item of a page's ``data`` that does not fit ``cl``."""
    index = next(i for i, other in enumerate(data) if other is item)
    return _validation_error(item, cl, response, f"$.data[{index}]")


def _validation_error(
    data: Any, cl: Any, response: Response, root: str
) -> APIResponseValidationError:
    from ._converter import locate_error

    path, reason = locate_error(data, cl)
    path = root + path[1:]
    return APIResponseValidationError(
        f"Unexpected response body at {path}: {reason}",
        path=path,
        status_code=response.status,
        request_id=response.request_id,
        method=response.method,
        url=response.url,
    )
