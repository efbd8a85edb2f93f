"""HTTP plumbing shared by the routes and the middlewares.

* `BlobPayload` streams a stored file as a response body with its Content-Length, reading one
  chunk at a time, never the whole file.
* `json_response` and `error_response` build the API's JSON answers; `encoded_response`
  answers an object encoded beforehand, and `list_response` a page of a listing of them.
* `send_manipulated` re-sends an answer slowly or truncated, for fault injection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from ._blobs import Blob
from ._errors import ApiError

__all__ = [
    "BlobPayload",
    "body_chunks",
    "encoded_response",
    "error_response",
    "json_response",
    "list_response",
    "send_manipulated",
]


class BlobPayload(Payload):
    """A response body streamed from a `Blob`."""

    def __init__(self, blob: Blob, content_type: str = "application/octet-stream") -> None:
        super().__init__(blob, content_type=content_type)
        self.blob = blob
        self._size = blob.size

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.blob.read().decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        remaining = content_length
        for chunk in self.blob.iter_chunks():
            if remaining is not None:
                chunk = chunk[:remaining]
                remaining -= len(chunk)
            await writer.write(chunk)
            if remaining == 0:
                return


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_response(data: Any, status: int = 200) -> web.Response:
    """Answer *data* as JSON."""
    return web.json_response(data, status=status, dumps=_dumps)


def encoded_response(body: bytes) -> web.Response:
    """Answer an object already encoded as JSON, with the headers `json_response` sends."""
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def list_response(
    encoded: list[bytes], first_id: str | None, last_id: str | None, has_more: bool
) -> web.Response:
    """Answer a page of a listing whose objects are already JSON, without decoding them again."""
    body = b"".join(
        (
            b'{"object": "list", "data": [',
            b", ".join(encoded),
            b'], "first_id": ',
            _dumps(first_id).encode(),
            b', "last_id": ',
            _dumps(last_id).encode(),
            b', "has_more": ',
            b"true" if has_more else b"false",
            b"}",
        )
    )
    return encoded_response(body)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    """Answer an API error body with its status."""
    response = web.json_response(error.body(), status=error.status, dumps=_dumps)
    if headers:
        response.headers.update(headers)
    return response


def body_chunks(response: web.StreamResponse) -> tuple[Iterator[bytes], int]:
    """Return an iterator over an unsent response's body and its length."""
    if isinstance(response, web.Response):
        body = response.body
        if isinstance(body, BlobPayload):
            return body.blob.iter_chunks(), body.blob.size
        if isinstance(body, bytes | bytearray):
            return iter([bytes(body)]), len(body)
    return iter([]), 0


def _split(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    for chunk in chunks:
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


async def _limited(chunks: Iterator[bytes], keep: int) -> AsyncIterator[bytes]:
    for chunk in chunks:
        if keep <= 0:
            return
        yield chunk[:keep]
        keep -= len(chunk)


async def send_manipulated(
    request: web.Request,
    response: web.StreamResponse,
    *,
    chunk_size: int | None = None,
    delay: float = 0.0,
    truncate: bool = False,
    keep: int | None = None,
) -> web.StreamResponse:
    """Send *response* in delayed chunks, or (*truncate*) only part of it before closing.

    A truncated answer announces the full Content-Length but sends *keep* bytes (default:
    half, always at least one byte short).
    """
    chunks, length = body_chunks(response)
    stream = web.StreamResponse(status=response.status, reason=response.reason)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding"):
            stream.headers.add(name, value)
    if response.content_type:
        stream.content_type = response.content_type
    stream.content_length = length
    await stream.prepare(request)
    if truncate:
        keep = length // 2 if keep is None else keep
        async for chunk in _limited(chunks, min(keep, max(length - 1, 0))):
            await stream.write(chunk)
        if request.transport is not None:
            request.transport.close()
        return stream
    first = True
    for chunk in _split(chunks, chunk_size or 64):
        if not first:
            await asyncio.sleep(delay)
        first = False
        await stream.write(chunk)
    await stream.write_eof()
    return stream
