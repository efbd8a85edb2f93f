"""From a 2xx answer to a model: pure functions of the response, tested without a server.

Bodies are parsed with orjson, which takes half the time of ``json.loads`` and so pays
for building typed models instead of plain dicts. orjson and the converter (cattrs) are
imported on the first answer rather than with the package, which keeps ``import
openai_batches`` close to the cost of importing aiohttp alone. A walk loads them while
its first request is on the way (:func:`load`), so the imports overlap with the wait for
the answer instead of holding the event loop in one go.

A large page (10,000 files are about 2 MB) is parsed a run of items at a time, the loop
running in between (:func:`decode_page`): :func:`split_page` cuts the body between two
items of ``data``, and only where it can prove the cut is between two items; otherwise
the body is parsed in one go, as any other.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import ResponseValidationError
from ._transport import Response

if TYPE_CHECKING:
    from ._models import Page

__all__ = [
    "PIECE",
    "decode",
    "decode_page",
    "item_error",
    "load",
    "parse_json",
    "split_page",
    "structure_hook",
    "while_loading",
]

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
    return _structure(parse_json(response), cl, response)


async def decode_page(response: Response) -> Page[Any]:
    """Decode a page of a listing whose items stay JSON, a large body a piece at a time.

    Raises:
        ResponseValidationError: As :func:`decode`.
    """
    from ._models import Page

    return _structure(await _parse_page(response), Page[Any], response)


def _structure(data: Any, cl: type[T], response: Response) -> T:
    hook: Callable[[Any, Any], T] = structure_hook(cl)
    try:
        return hook(data, cl)
    except Exception as exc:
        raise _validation_error(data, cl, response, "$") from exc


#: A page's body larger than two of these is parsed a piece of about this size at a time:
#: about a millisecond of orjson each.
PIECE = 1 << 18

_DATA = re.compile(rb'"data"\s*:\s*\[')
_BETWEEN_ITEMS = re.compile(rb"\}\s*,\s*\{")


def split_page(body: bytes, piece: int) -> tuple[bytes, list[tuple[int, int]]] | None:
    """Cut a page's body into its envelope and runs of whole items of ``data``.

    Returns the envelope with ``"data": []`` in place of the items, and ``(start, end)``
    of each run of items in ``body``, about ``piece`` bytes each: parsing ``[`` + a run
    + ``]`` gives its items, and the runs together give all of them. Returns ``None`` for
    a small body, and for an envelope that cannot be read with certainty: one with a
    backslash (quotes could no longer be counted) or with ``"data"`` more than once.

    A run proves itself: it starts between two items, and parsing it as a list of values
    succeeds only if it also ends between two items, at the same depth. So a cut in the
    wrong place (``},{`` inside a string or within an item) makes its run fail to parse,
    and the caller then parses the body in one go. Counting quotes keeps the cuts out of
    strings when the items hold no backslash, so that this does not happen.
    """
    if len(body) <= 2 * piece:
        return None
    opening = _DATA.search(body)
    end = body.rfind(b"]")
    if opening is None or end < opening.end():
        return None
    start = opening.end()
    prefix, suffix = body[: start - 1], body[end + 1 :]
    # With no backslash, a position is outside every string when the quotes before it
    # (or after it) are even in number.
    if b"\\" in prefix or b"\\" in suffix or prefix.count(b'"') % 2 or suffix.count(b'"') % 2:
        return None
    if prefix.count(b'"data"') != 1 or b'"data"' in suffix:
        return None
    runs = []
    position = start
    while position + piece < end:
        cut = _BETWEEN_ITEMS.search(body, position + piece, end)
        while cut is not None and body.count(b'"', position, cut.start()) % 2:
            cut = _BETWEEN_ITEMS.search(body, cut.start() + 1, end)
        if cut is None:
            break
        runs.append((position, cut.start() + 1))
        position = cut.end() - 1
    runs.append((position, end))
    return prefix + b"[]" + suffix, runs


async def _parse_page(response: Response) -> Any:
    body = response.body
    split = split_page(body, PIECE)
    if split is None:
        return parse_json(response)
    import orjson

    envelope_text, runs = split
    try:
        envelope = orjson.loads(envelope_text)
        if envelope.__class__ is not dict or envelope.get("data") != []:
            return parse_json(response)
        items: list[Any] = []
        for n, (start, end) in enumerate(runs):
            if n:
                await asyncio.sleep(0)  # let the loop run between pieces
            items += orjson.loads(b"[" + body[start:end] + b"]")
    except orjson.JSONDecodeError:
        return parse_json(response)  # a cut not between two items, or not JSON at all
    envelope["data"] = items
    return envelope


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
