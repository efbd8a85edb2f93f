"""Support for testing code that uses this library with a mocked aiohttp.

The client sends every request through :class:`aiohttp.ClientSession`, so libraries that
intercept it, such as aioresponses, can stand in for the API. aiohttp 3.14 added a required
``stream_writer`` argument to :class:`aiohttp.ClientResponse`, which aioresponses 0.7.9 does
not pass when it builds a mocked answer. Name :class:`MockResponse` as the answer's
``response_class`` and it works::

    from aioresponses import aioresponses
    from openai_batches.testing import MockResponse

    with aioresponses() as mocked:
        mocked.get(url, payload=batch_json, response_class=MockResponse)

For tests that need the API's behaviour rather than fixed answers (batches that move through
their states, uploads, faults), use the emulator in :mod:`openai_batches.emulator`.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict
from yarl import URL

__all__ = ["MockResponse"]


class _NothingToWrite(AbstractStreamWriter):
    """The writer of a request that was never sent: a mocked answer has nothing to write.

    aiohttp only reads its ``output_size`` (0: no body was sent).
    """

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("a mocked response has no request to write")

    async def write_eof(self, chunk: bytes = b"") -> None:
        raise RuntimeError("a mocked response has no request to write")

    async def drain(self) -> None:
        return None

    def enable_compression(self, encoding: str = "deflate", strategy: int | None = None) -> None:
        raise RuntimeError("a mocked response has no request to write")

    def enable_chunking(self) -> None:
        raise RuntimeError("a mocked response has no request to write")

    async def write_headers(self, status_line: str, headers: CIMultiDict[str]) -> None:
        raise RuntimeError("a mocked response has no request to write")


class MockResponse(aiohttp.ClientResponse):
    """An :class:`aiohttp.ClientResponse` that a mocking library can build on aiohttp 3.14.

    Pass it as aioresponses' ``response_class=`` (on ``add()``, ``get()``, ``post()``, ...
    or a ``CallbackResult``). A ``stream_writer`` given by the mocking library is used as
    it is, so it keeps working once aioresponses passes one itself.
    """

    def __init__(
        self,
        method: str,
        url: URL,
        *,
        stream_writer: AbstractStreamWriter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            method,
            url,
            stream_writer=_NothingToWrite() if stream_writer is None else stream_writer,
            **kwargs,
        )
