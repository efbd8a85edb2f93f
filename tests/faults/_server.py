"""A loopback HTTP/1.1 server on raw asyncio streams, able to answer in any broken way.

aiohttp's own server cannot send a bad status line, break its chunked encoding or reset a
connection half-way through a body, so this one writes the bytes itself. Every request is
parsed (``Content-Length`` or chunked bodies), recorded, and handed to a ``route`` that
returns a :class:`Reply`: a well-formed answer, raw bytes, a reset, a cut or a stall.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import attrs

__all__ = ["Answer", "CutShort", "Raw", "Reply", "Request", "Reset", "Server", "Stall"]

# A stalled answer waits for its cell to end, never longer than this.
STALL_LIMIT = 10.0


@attrs.frozen
class Request:
    """A request as the server received it."""

    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query))


class Reply:
    """What the server does with one request; ``send`` returns whether to keep the connection."""

    async def send(self, conn: Connection) -> bool:
        raise NotImplementedError


def head(status: int, headers: list[tuple[str, str]], reason: str | None = None) -> bytes:
    """A status line and headers, ready to send."""
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Whatever"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@attrs.frozen
class Answer(Reply):
    """A well-formed answer with a ``Content-Length`` (none for 1xx, 204 and 304)."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False
    #: Bytes sent before ``body`` as part of it, without copying either (a 50 MB padding).
    prefix: bytes = b""

    def head(self) -> bytes:
        headers = [("x-request-id", "req_fault_server"), *self.headers]
        if self.content_type is not None:
            headers.append(("Content-Type", self.content_type))
        if self.status != 204 and self.status >= 200:
            headers.append(("Content-Length", str(len(self.prefix) + len(self.body))))
        if self.close:
            headers.append(("Connection", "close"))
        return head(self.status, headers)

    def encode(self) -> bytes:
        return self.head() + self.prefix + self.body

    async def send(self, conn: Connection) -> bool:
        await conn.write(self.head())
        if self.prefix:
            await conn.write(self.prefix)
        await conn.write(self.body)
        return not self.close


@attrs.frozen
class Raw(Reply):
    """Arbitrary bytes, then the connection is closed."""

    data: bytes

    async def send(self, conn: Connection) -> bool:
        await conn.write(self.data)
        return False


@attrs.frozen
class Reset(Reply):
    """Abort the connection without a word."""

    async def send(self, conn: Connection) -> bool:
        conn.abort()
        return False


@attrs.frozen
class CutShort(Reply):
    """Announce the whole answer, send its first ``keep`` bytes of body, then abort."""

    answer: Answer
    keep: int

    async def send(self, conn: Connection) -> bool:
        data = self.answer.encode()
        await conn.write(data[: len(data) - len(self.answer.body) + self.keep])
        conn.abort()
        return False


@attrs.frozen
class Stall(Reply):
    """Send the first ``keep`` bytes of ``answer`` (none: not even headers), then stall.

    The stall ends when ``until`` is set (the cell is over) or after :data:`STALL_LIMIT`;
    the rest is sent only if the client is still there, and the connection is closed.
    """

    answer: Answer
    until: asyncio.Event
    keep: int | None = None
    #: Set once the stall has begun (what was to be sent before it is sent).
    started: asyncio.Event | None = None

    async def send(self, conn: Connection) -> bool:
        data = self.answer.encode()
        sent = 0
        if self.keep is not None:
            sent = len(data) - len(self.answer.body) + self.keep
            await conn.write(data[:sent])
        if self.started is not None:
            self.started.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.until.wait(), STALL_LIMIT)
        if not conn.gone():
            await conn.write(data[sent:])
        return False


class Connection:
    """One accepted connection: the reader and writer, with writes that never raise."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def gone(self) -> bool:
        return self.writer.transport.is_closing() or self.reader.at_eof()

    async def write(self, data: bytes) -> None:
        if self.writer.transport.is_closing():
            return
        self.writer.write(data)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def abort(self) -> None:
        self.writer.transport.abort()


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request, or ``None`` when the client closed the connection."""
    try:
        head_bytes = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head_bytes.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # no trailers from aiohttp
        body = b"".join(parts)
    else:
        body = b""
    return Request(method, target, headers, body)


Route = Callable[[Request], Awaitable[Reply]]


class Server:
    """Serve ``route`` on 127.0.0.1; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        conn = Connection(reader, writer)
        try:
            while (request := await read_request(reader)) is not None:
                reply = await self.route(request)
                if not await reply.send(conn):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels a connection, and asyncio's stream server reports a
            # cancelled connection task as an error: end it quietly instead.
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
