"""From a 2xx answer to a model: pure functions of the response, tested without a server.

Bodies are parsed with orjson, which takes half the time of ``json.loads`` and so pays
for building typed models instead of plain dicts. orjson and the converter (cattrs) are
imported on the first answer rather than with the package, which keeps ``import
openai_batches`` close to the cost of importing aiohttp alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._errors import APIResponseValidationError
from ._transport import Response

__all__ = ["decode", "item_error", "parse_json", "structure_hook"]

T = TypeVar("T")

_SNIPPET = 200


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
