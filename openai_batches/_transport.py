"""The HTTP transport: one attempt at a time, and the only module that touches aiohttp.

:meth:`Transport.send` makes one request and reads the whole answer, whatever its
status; :meth:`Transport.open` makes one request and hands back its body unread, for
large downloads. Neither retries nor looks at the status: that is the caller's
(``_api.py``, through the one retry loop in ``_retry.py``). A failure to get an answer
becomes :class:`APIConnectionError` (or :class:`APITimeoutError`) with aiohttp's
exception chained as its cause.

The aiohttp session is created lazily, inside the running loop, on the first request. A
session passed in by the caller is borrowed: used, never closed. A transport made with
``parent`` (``Client.with_options``) uses its parent's session: closing it leaves the
session open, and closing the parent closes the session and its children.

Closing aborts what is in flight. Every await on the network (and the retry loop's waits)
runs inside :meth:`Transport.abortable`, which notes the task; :meth:`Transport.close`
cancels the noted tasks, and the cancellation comes out of the block as
:class:`ClientClosedError`, unless the task was being cancelled for another reason too.
Closing the session alone would not do: it does not wake a reader blocked on a body, and
a borrowed session is not closed at all.
"""

from __future__ import annotations

import asyncio
import os
import sys
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._decode import Response
from ._errors import APIConnectionError, APITimeoutError, ClientClosedError, OpenAIError
from ._sources import FilePart, FormField
from ._types import Timeout
from ._urls import normalize_base_url
from ._version import __version__

__all__ = ["USER_AGENT", "Stream", "Transport"]

_PYTHON = ".".join(map(str, sys.version_info[:3]))
USER_AGENT = f"openai-batches/{__version__} aiohttp/{aiohttp.__version__} python/{_PYTHON}"


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=timeout.total, connect=timeout.connect, sock_read=timeout.read
    )


#: Headers whose values are secret: never left in an exception chained to ours.
_SECRET_HEADERS = frozenset({"authorization", "api-key"})
_REDACTED = "<redacted>"


def _scrub(error: BaseException) -> BaseException:
    """Remove the key from ``error`` and every exception chained to it; return ``error``.

    aiohttp keeps the request's headers, ``Authorization`` included, in the
    ``request_info`` of a ``ClientResponseError`` (a malformed answer), and earlier
    answers with theirs in its ``history``; both would show in a traceback or a log.
    """
    todo: list[BaseException | None] = [error]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        info = getattr(current, "request_info", None)
        if isinstance(info, aiohttp.RequestInfo) and any(
            name.lower() in _SECRET_HEADERS for name in info.headers
        ):
            headers = CIMultiDict(
                (name, _REDACTED if name.lower() in _SECRET_HEADERS else value)
                for name, value in info.headers.items()
            )
            current.request_info = info._replace(  # type: ignore[attr-defined]
                headers=CIMultiDictProxy(headers)
            )
        if isinstance(current, aiohttp.ClientResponseError):
            current.history = ()
        todo += [current.__cause__, current.__context__]
    return error


def _host(url: URL) -> str:
    """``host:port`` as the user wrote it in the base URL."""
    host = f"[{url.host}]" if url.host and ":" in url.host else str(url.host)
    return host if url.explicit_port is None else f"{host}:{url.explicit_port}"


def _limit(name: str, seconds: float | None) -> str:
    return f"the {name} of {seconds:g} s" if seconds is not None else f"the {name}"


def _failure(
    exc: BaseException,
    method: str,
    url: URL,
    timeout: aiohttp.ClientTimeout,
    *,
    read_limit: str = "read timeout",
) -> APIConnectionError:
    """The library's error for a request that got no usable answer, naming what to fix.

    A timeout says which host and which limit ran out; a refused connection says which
    host and why, in words (not aiohttp's ``ssl:default``, which means nothing for a
    plain http URL). ``exc`` is scrubbed of the key and chained by the caller.
    """
    host = _host(url)
    kwargs = {"method": method, "url": str(url)}
    _scrub(exc)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(
            f"Could not connect to {host} within {_limit('connect timeout', timeout.connect)}",
            **kwargs,
        )
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return APITimeoutError(
            f"{host} sent nothing for {_limit(read_limit, timeout.sock_read)}", **kwargs
        )
    if isinstance(exc, TimeoutError):
        return APITimeoutError(
            f"No complete answer from {host} within {_limit('total timeout', timeout.total)}",
            **kwargs,
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return APIConnectionError(
            f"The TLS certificate of {host} is not trusted: {exc.certificate_error}", **kwargs
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 else error.strerror
        return APIConnectionError(f"Cannot connect to {host}: {reason or error}", **kwargs)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError(f"{host} closed the connection without answering", **kwargs)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(f"The answer from {host} was cut short: {exc}", **kwargs)
    if isinstance(exc, aiohttp.ClientResponseError):
        return APIConnectionError(
            f"{host} answered with something that is not valid HTTP: {exc.message}", **kwargs
        )
    return APIConnectionError(
        f"Connection error with {host}: {exc or type(exc).__name__}", **kwargs
    )


def _form(fields: Sequence[FormField], stack: ExitStack) -> aiohttp.FormData:
    """Build one attempt's form; files opened for it are closed by ``stack``."""
    form = aiohttp.FormData(default_to_multipart=True)
    for field in fields:
        if isinstance(field, FilePart):
            body = field.source.open(stack)
            form.add_field(
                field.name, body, filename=field.filename, content_type=field.content_type
            )
        else:
            form.add_field(field[0], field[1])
    return form


class _Abortable:
    """The block of :meth:`Transport.abortable` (a class: it runs for every request)."""

    __slots__ = ("_cancelling", "_task", "_transport")

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0

    def __enter__(self) -> None:
        transport = self._transport
        if transport._closed:
            raise ClientClosedError("This client has been closed; create a new one.")
        task = asyncio.current_task()
        if task is not None:
            self._task = task
            self._cancelling = task.cancelling()
            transport._active[task] = transport._active.get(task, 0) + 1

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        task = self._task
        if task is None:
            return
        transport = self._transport
        depth = transport._active[task] - 1
        if depth:
            transport._active[task] = depth
        else:
            del transport._active[task]
        if not isinstance(exc, asyncio.CancelledError) or task not in transport._aborted:
            if not depth:
                transport._aborted.discard(task)
            return
        transport._aborted.discard(task)
        # Only a cancellation close() asked for, and nothing else, becomes the error.
        if task.uncancel() <= self._cancelling:
            raise ClientClosedError(
                "The client was closed while this request was in flight."
            ) from None


class Stream:
    """An answer whose body is still to be read, chunk by chunk.

    Close it with :meth:`close` when done; :meth:`read_error_body` reads and closes.
    """

    def __init__(
        self,
        transport: Transport,
        response: aiohttp.ClientResponse,
        method: str,
        url: URL,
        timeout: aiohttp.ClientTimeout,
    ) -> None:
        self._transport = transport
        self._response = response
        self._url = url
        self._timeout = timeout
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.method = method
        self.url = str(url)

    @property
    def content_length(self) -> int | None:
        """The body's length as announced, when it is the length of what will be read.

        ``None`` without a ``Content-Length``, or when the body is compressed (the header
        then counts the compressed bytes).
        """
        if self.headers.get("Content-Encoding", "identity").lower() != "identity":
            return None
        return self._response.content_length

    async def iter_chunks(self, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes.

        Raises:
            APIConnectionError: The body was cut short or the connection failed.
            APITimeoutError: No data came within the read timeout.
            ClientClosedError: The client was closed.
        """
        content = self._response.content
        while True:
            # Each read on its own: the block must not stay open while the caller holds
            # a chunk, since closing would then cancel the caller's own work.
            with self._transport.abortable():
                try:
                    chunk = await content.read(chunk_size)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise _failure(
                        exc, self.method, self._url, self._timeout, read_limit="read_timeout"
                    ) from exc
            if not chunk:
                return
            yield chunk

    async def read_error_body(self) -> bytes:
        """Read what can be read of an error answer's body, then close it."""
        try:
            with self._transport.abortable():
                return await self._response.read()
        except (aiohttp.ClientError, TimeoutError):
            return b""
        finally:
            self.close(complete=False)

    def close(self, *, complete: bool) -> None:
        """Let the connection go: back to the pool only if the body was read to its end."""
        self._transport._streams.discard(self._response)
        if complete and self._response.content.at_eof():
            self._response.release()
        else:
            # A half-read connection must never go back to the pool.
            self._response.close()


class Transport:
    """Sends requests to one API base URL over one aiohttp session, one attempt at a time.

    Args:
        base_url: The API's base URL.
        headers: Sent with every request (the key, the organization, the project, the
            client's default headers).
        timeout: The client's timeout, used when a call gives none.
        session: An aiohttp session to borrow instead of creating one.
        allow_insecure_http: Accept a plain ``http://`` base URL to another machine.
        query: Query parameters sent with every request (Azure's ``api-version``, a
            client's ``default_query``), under each request's own.
        parent: A transport whose session (created or borrowed) this one uses.
    """

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: Timeout,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
        query: Mapping[str, str | int] | None = None,
        parent: Transport | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        self._query = dict(query) if query else None
        self._parent = parent
        # Copies made by Client.with_options: closed with this transport, not kept alive.
        self._children: weakref.WeakSet[Transport] = weakref.WeakSet()
        if parent is not None:
            parent._children.add(self)
        self.timeout = timeout
        self._timeout = _client_timeout(timeout)
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed: bool = parent is not None and parent.closed
        # Tasks inside abortable() blocks (with their depth), the ones close() cancelled,
        # and the streams whose bodies are open.
        self._active: dict[asyncio.Task[Any], int] = {}
        self._aborted: set[asyncio.Task[Any]] = set()
        self._streams: set[aiohttp.ClientResponse] = set()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def url(self, path: str) -> URL:
        """The URL of a path relative to the base URL (ids already encoded)."""
        return URL(f"{self.base_url}/{path}", encoded=True)

    def _params(self, params: Mapping[str, str | int] | None) -> Mapping[str, str | int] | None:
        if self._query is None:
            return params
        return self._query if not params else {**self._query, **params}

    def abortable(self) -> AbstractContextManager[None]:
        """Wrap an await that closing the client must interrupt.

        Raises:
            ClientClosedError: On entry once closed; from the await when close() is called.
        """
        return _Abortable(self)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("This client has been closed; create a new one.")
        if self._parent is not None:
            return self._parent._get_session()
        loop = asyncio.get_running_loop()
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._loop = loop
        elif self._owns_session and self._loop is not loop:
            raise OpenAIError(
                "This client was first used in another event loop; create one client per loop."
            )
        if self._session.closed:
            raise ClientClosedError("The aiohttp session given to this client is closed.")
        return self._session

    async def close(self) -> None:
        """Abort what is in flight, and close the session if this transport created it.

        Safe to call twice, and from any task (a task closing its own client is not
        cancelled: its next request raises ClientClosedError). Closes the transports made
        with this one as their parent too.
        """
        self._closed = True
        for child in list(self._children):
            await child.close()
        current = asyncio.current_task()
        for task in list(self._active):
            if task is not current and not task.done():
                self._aborted.add(task)
                task.cancel()
        for response in list(self._streams):
            response.close()
        self._streams.clear()
        session, self._session = self._session, None
        if session is not None and self._owns_session and self._parent is None:
            await session.close()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        form: Sequence[FormField] | None = None,
        timeout: Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Make one request and read its whole answer, whatever the status.

        Redirects are not followed: a 3xx is an answer like any other.

        Args:
            method: The HTTP method.
            path: A path relative to the base URL, ids already encoded.
            params: Query parameters.
            json: A JSON body.
            form: A multipart form: text fields and files; each call opens the files anew.
            timeout: This request's timeout, instead of the client's.
            headers: This request's headers, on top of the transport's.

        Raises:
            APIConnectionError: No answer, or the body was cut short.
            APITimeoutError: No answer in time.
            ClientClosedError: The client (or a borrowed session) is closed.
        """
        url = self.url(path)
        session = self._get_session()
        client_timeout = self._timeout if timeout is None else _client_timeout(timeout)
        with self.abortable(), ExitStack() as stack:
            kwargs: dict[str, Any] = {"params": self._params(params), "json": json}
            if form is not None:
                kwargs["data"] = _form(form, stack)
            try:
                # Headers go with each request, not on the session: a borrowed session has
                # its own; so does the timeout.
                response = await session.request(
                    method,
                    url,
                    headers=self._headers if headers is None else {**self._headers, **headers},
                    timeout=client_timeout,
                    allow_redirects=False,  # see RedirectError
                    **kwargs,
                )
                try:
                    body = await response.read()
                except BaseException:
                    # A half-read connection must never go back to the pool.
                    response.close()
                    raise
                response.release()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise _failure(exc, method, url, client_timeout) from exc
            except RuntimeError as exc:
                if session.closed:
                    raise ClientClosedError(
                        "The aiohttp session was closed during the request."
                    ) from exc
                raise
        return Response(
            status=response.status,
            headers=response.headers,
            body=body,
            method=method,
            url=str(url),
        )

    async def open(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        read_timeout: float | None,
        headers: Mapping[str, str] | None = None,
    ) -> Stream:
        """Make one request and return its answer with the body unread.

        Only connecting and the gap between reads are timed, never the whole transfer.

        Raises:
            APIConnectionError: No answer.
            APITimeoutError: No answer in time.
            ClientClosedError: The client (or a borrowed session) is closed.
        """
        url = self.url(path)
        session = self._get_session()
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.timeout.connect, sock_read=read_timeout
        )
        try:
            with self.abortable():
                response = await session.request(
                    method,
                    url,
                    params=self._params(params),
                    headers=self._headers if headers is None else {**self._headers, **headers},
                    timeout=timeout,
                    allow_redirects=False,  # see RedirectError
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _failure(exc, method, url, timeout, read_limit="read_timeout") from exc
        self._streams.add(response)
        return Stream(self, response, method, url, timeout)
