"""From an answer to a model or an error: pure functions, tested without a server.

:class:`Response` is an answer as the transport read it: status, headers and the whole
body. Nothing here imports aiohttp.

Bodies are parsed with orjson, which takes half the time of ``json.loads`` and so pays
for building typed models instead of plain dicts. orjson and the converter (cattrs) are
imported on the first answer rather than with the package, which keeps ``import
openai_batches`` close to the cost of importing aiohttp alone. A walk loads them while
its first request is on the way (:func:`load`), so the imports overlap with the wait for
the answer instead of holding the event loop in one go.

A large page (10,000 files are about 2 MB) is parsed a run of items at a time, the loop
running in between (:func:`decode_page`): :func:`split_page` finds the items when it can
read the envelope with certainty, :func:`parse_items` cuts them into runs that prove they
are whole items by parsing; otherwise the body is parsed in one go, as any other.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._errors import APIResponseValidationError

if TYPE_CHECKING:
    from ._models import Page

__all__ = [
    "PIECE",
    "Response",
    "as_is",
    "decode",
    "decode_page",
    "decoder",
    "item_error",
    "let_loop_run",
    "load",
    "parse_items",
    "parse_json",
    "split_page",
    "structure_hook",
    "while_loading",
]

T = TypeVar("T")

_SNIPPET = 200

_loaded = False


async def let_loop_run() -> None:
    """Give way to everything waiting on the event loop before this task goes on.

    ``sleep(0)`` is not enough: it puts this task first in the loop's next round, ahead
    of the tasks that round wakes (their timers fall due or their data comes in, and
    they run one round later), so the next slice of work would run before them. Waking
    on a timer that falls due now puts this task behind them.
    """
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    timer = loop.call_later(0, _wake, woken)
    try:
        await woken
    finally:
        timer.cancel()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def load() -> None:
    """Import orjson, cattrs and the converter, a module at a time.

    The event loop runs between two imports, which hold it for a few milliseconds at
    most (cattrs is the largest; ``benchmarks/bench_cold.py`` prints the time of each).
    """
    global _loaded
    if _loaded:
        return
    import orjson  # noqa: F401

    await let_loop_run()
    import cattrs  # noqa: F401

    await let_loop_run()
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
    return _structure(parse_json(response), cl, response)


async def decode_page(response: Response) -> Page[Any]:
    """Decode a page of a listing whose items stay JSON, a large body a piece at a time.

    Raises:
        APIResponseValidationError: As :func:`decode`.
    """
    global _page
    body = response.body
    data = parse_json(response) if len(body) <= 2 * PIECE else await _parse_page(response)
    if _page is None:
        from ._models import Page

        _page = (Page[Any], structure_hook(Page[Any]))
    cl, hook = _page
    try:
        return hook(data, cl)
    except Exception as exc:
        raise _validation_error(data, cl, response, "$") from exc


# Page[Any] and its hook, looked up on the first page rather than on every one.
_page: tuple[Any, Callable[[Any, Any], Page[Any]]] | None = None


def _structure(data: Any, cl: type[T], response: Response) -> T:
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


#: A page's body larger than two of these is parsed a piece of about this size at a time:
#: about a millisecond of orjson each.
PIECE = 1 << 18

_DATA = rb'"data"\s*:\s*\['
_BETWEEN_ITEMS = rb"\}\s*,\s*\{"


def split_page(body: bytes) -> tuple[bytes, int, int] | None:
    """Find the items of a page's body: ``(envelope, start, end)``, or ``None``.

    ``body[start:end]`` holds the items of ``data``; ``envelope`` is the body with
    ``"data": []`` in their place. ``None`` when the envelope cannot be read with
    certainty: when it has a backslash (quotes could no longer be counted) or names
    ``"data"`` more than once.
    """
    opening = re.search(_DATA, body)
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
    return prefix + b"[]" + suffix, start, end


def parse_items(body: bytes, start: int, end: int, piece: int) -> Iterator[list[Any]]:
    """Parse the items in ``body[start:end]`` a run of about ``piece`` bytes at a time.

    A run is cut where ``},{`` follows ``piece`` bytes, and proves itself: it starts
    between two items, and parses as a list of values only if it also ends between two
    items (a cut inside a string or within an item leaves something unclosed). A run
    that does not parse is lengthened to the next cut, and so on.

    Raises:
        orjson.JSONDecodeError: Not even the whole rest parses: these are not items.
    """
    import orjson

    between_items = re.compile(_BETWEEN_ITEMS)  # re caches it
    view = memoryview(body)
    position = start
    while position < end:
        cut = between_items.search(body, position + piece, end) if position + piece < end else None
        while True:
            stop = cut.start() + 1 if cut is not None else end
            try:
                items = orjson.loads(b"".join((b"[", view[position:stop], b"]")))
            except orjson.JSONDecodeError:
                if cut is None:
                    raise
                cut = between_items.search(body, cut.end() - 1, end)
                continue
            break
        yield items
        position = cut.end() - 1 if cut is not None else end


async def _parse_page(response: Response) -> Any:
    body = response.body
    split = split_page(body)
    if split is None:
        return parse_json(response)
    import orjson

    envelope_text, start, end = split
    try:
        envelope = orjson.loads(envelope_text)
        if envelope.__class__ is not dict or envelope.get("data") != []:
            return parse_json(response)
        items: list[Any] = []
        for run in parse_items(body, start, end, PIECE):
            items += run
            await let_loop_run()  # before the next piece is parsed
    except orjson.JSONDecodeError:
        return parse_json(response)  # not JSON, or not a list of items
    envelope["data"] = items
    return envelope


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
