"""From a 2xx answer to a model: pure functions of the response, tested without a server.

Bodies are parsed with orjson, which takes half the time of ``json.loads`` and so pays
for building typed models instead of plain dicts. orjson and the converter (cattrs) are
imported on the first answer rather than with the package, which keeps ``import
openai_batches`` close to the cost of importing aiohttp alone. A walk loads them in a
worker thread while its first request is on the way (:func:`load_soon`), so the imports
overlap with the wait for the answer instead of holding the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ._errors import ResponseValidationError
from ._transport import Response

__all__ = ["decode", "item_error", "load_soon", "loaded", "parse_json", "structure_hook"]

T = TypeVar("T")

_SNIPPET = 200

_loading: concurrent.futures.Future[None] | None = None
_loaded = False


def _load() -> None:
    """Import what decoding needs; the first lookups in the converter are made here too."""
    global _loaded
    from typing import Any

    import orjson  # noqa: F401

    from . import _converter
    from ._models import Page

    _converter.structure_hook(Page[Any])
    _loaded = True


def _run(future: concurrent.futures.Future[None]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        _load()
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(None)


def load_soon() -> None:
    """Start loading orjson, cattrs and the converter in a worker thread, once per process.

    A walk calls this as it sends its first request: the imports (several milliseconds,
    see ``benchmarks/bench_cold.py``) then run while the answer is on its way, and hold
    the event loop only as long as the interpreter lets a thread hold it at a time.
    Nothing here belongs to one walk: the thread ends when the modules are loaded.
    """
    global _loading
    if _loaded or _loading is not None:
        return
    future: concurrent.futures.Future[None] = concurrent.futures.Future()
    try:
        threading.Thread(
            target=_run, args=(future,), name="openai_batches-load", daemon=True
        ).start()
    except RuntimeError:
        return  # no threads here: loaded() loads in the loop
    _loading = future


async def loaded() -> None:
    """Return once decoding is loaded, letting the loop run while the worker thread works."""
    global _loading
    if _loaded:
        return
    load_soon()
    if _loading is None:
        _load()
        return
    try:
        await asyncio.wrap_future(_loading)
    except BaseException:
        if _loading.done() and _loading.exception() is not None:
            _loading = None  # the next walk tries again, and raises the same error
        raise


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
