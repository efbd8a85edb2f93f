"""From a 2xx answer to a model: pure functions of the response, tested without a server.

Bodies are parsed with orjson, which takes half the time of ``json.loads`` and so pays
for building typed models instead of plain dicts. orjson and the converter (cattrs) are
imported on the first answer rather than with the package, which keeps ``import
openai_batches`` close to the cost of importing aiohttp alone. A walk loads them while
its first request is on the way (:func:`load`), so the imports overlap with the wait for
the answer instead of holding the event loop in one go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._errors import ResponseValidationError
from ._transport import Response

__all__ = ["decode", "item_error", "load", "parse_json", "structure_hook", "while_loading"]

T = TypeVar("T")

_SNIPPET = 200

_loaded = False


async def load() -> None:
    """Import orjson, cattrs and the converter, a module at a time.

    The event loop runs between two imports, which hold it for a few milliseconds at
    most (cattrs is the largest; ``benchmarks/bench_cold.py`` prints the time of each).
    """
    global _loaded
    if _loaded:
        return
    import orjson  # noqa: F401

    await asyncio.sleep(0)
    import cattrs  # noqa: F401

    await asyncio.sleep(0)
    from . import _converter
    from ._models import Page

    _converter.structure_hook(Page[Any])
    _loaded = True


async def while_loading(request: Awaitable[T]) -> T:
    """Await ``request``; in a process that has not decoded yet, :func:`load` meanwhile.

    The imports then run while the answer is on its way rather than after it. Both are
    done when this returns; if the request fails, the loading is cancelled and waited
    for, so no task outlives the call.
    """
    if _loaded:
        return await request
    loading = asyncio.ensure_future(load())
    try:
        result = await request
    except BaseException:
        loading.cancel()
        await asyncio.wait([loading])
        raise
    await loading
    return result


def parse_json(response: Response) -> Any:
    """Parse a 2xx answer's body as JSON.

    Raises:
        ResponseValidationError: The body is not JSON (an HTML page from a proxy, say).
    """
    import orjson

    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError as exc:
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
    hook: Callable[[Any, Any], T] = structure_hook(cl)
    try:
        return hook(data, cl)
    except Exception as exc:
        raise _validation_error(data, cl, response, "$") from exc


def structure_hook(cl: type[T]) -> Callable[[Any, Any], T]:
    """The converter's hook for ``cl``: call it as ``hook(data, cl)``."""
    from ._converter import structure_hook

    return structure_hook(cl)


def item_error(item: Any, cl: Any, data: list[Any], response: Response) -> ResponseValidationError:
    """The error for an item of a page's ``data`` that does not fit ``cl``."""
    index = next(i for i, other in enumerate(data) if other is item)
    return _validation_error(item, cl, response, f"$.data[{index}]")


def _validation_error(data: Any, cl: Any, response: Response, root: str) -> ResponseValidationError:
    from ._converter import locate_error

    path, reason = locate_error(data, cl)
    path = root + path[1:]
    return ResponseValidationError(
        f"Unexpected response body at {path}: {reason}",
        path=path,
        status_code=response.status,
        request_id=response.request_id,
        method=response.method,
        url=response.url,
    )
