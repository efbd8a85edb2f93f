"""The HTTP transport: the only module that touches aiohttp.

Resources call :meth:`Transport.request`, which returns a fully read :class:`Response`
or raises one of the library's errors, retrying on its own as the :class:`RetryPolicy`
says. Large bodies go through :meth:`Transport.stream` instead, which hands out the
body chunk by chunk and applies only a read timeout between chunks. File uploads go
through :meth:`Transport.request_form`, which takes a plain description of the form
(:class:`FilePart` and text fields) and builds a fresh ``aiohttp.FormData`` per attempt.

The aiohttp session is created lazily, inside the running loop, on the first request. A
session passed in by the caller is borrowed: used, never closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Mapping,
    Sequence,
)
from contextlib import ExitStack
from typing import Any, TypeAlias, TypeVar, overload
from urllib.parse import quote

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientClosedError,
    OpenAIError,
    status_error,
)
from ._retry import RetryPolicy
from ._types import USE_CLIENT_DEFAULT, Timeout, TimeoutTypes, UseClientDefault
from ._version import __version__

__all__ = [
    "FilePart",
    "FormField",
    "Response",
    "StopRetrying",
    "StreamContext",
    "StreamResponse",
    "Transport",
    "encode_path",
]

log = logging.getLogger("openai_batches")

_PYTHON = ".".join(map(str, sys.version_info[:3]))
USER_AGENT = f"openai-batches/{__version__} aiohttp/{aiohttp.__version__} python/{_PYTHON}"

T = TypeVar("T")

#: What a :class:`FilePart` sends: bytes, a path (streamed from disk), a zero-argument
#: factory returning a fresh async iterator of bytes (re-created for each attempt), or an
#: async iterable used once.
FileSource: TypeAlias = (
    "bytes | bytearray | memoryview | str | os.PathLike[str]"
    " | Callable[[], AsyncIterable[bytes]] | AsyncIterable[bytes]"
)

# Patched by the tests to record the waits instead of sleeping through them.
_sleep = asyncio.sleep


def encode_path(template: str, *ids: str) -> str:
    """Fill ``{}`` slots in a relative path with percent-encoded ids.

    Every character outside the unreserved set is encoded, ``/`` included, and the
    dot segments ``.`` and ``..`` are refused, so an id can never reach another endpoint.

    Raises:
        ValueError: An id is empty or a dot segment.
        TypeError: An id is not a string.
    """
    encoded = []
    for value in ids:
        if not isinstance(value, str):
            raise TypeError(f"an object id must be a string, got {type(value).__name__}")
        if not value.strip():
            raise ValueError("an object id must not be empty")
        if value in (".", ".."):
            raise ValueError(f"{value!r} is not a valid object id")
        encoded.append(quote(value, safe=""))
    return template.format(*encoded)


def normalize_base_url(base_url: str) -> str:
    """Check a base URL and return it without a trailing slash.

    Raises:
        ValueError: It is not an absolute http(s) URL, or it has a query or fragment.
    """
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must not have a query or a fragment, got {base_url!r}")
    return str(url).rstrip("/")


@attrs.frozen
class Response:
    """A fully read answer."""

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    method: str
    url: str

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header."""
        return self.headers.get("x-request-id")


@attrs.define
class StreamResponse:
    """An answer whose body is read chunk by chunk."""

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    method: str
    url: str
    _response: aiohttp.ClientResponse = attrs.field(repr=False, alias="response")

    async def iter_chunks(self, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes.

        Raises:
            APIConnectionError: The body was cut short or the connection failed.
            APITimeoutError: No data came within the read timeout.
        """
        try:
            async for chunk in self._response.content.iter_chunked(chunk_size):
                yield chunk
        except TimeoutError as exc:
            raise APITimeoutError(
                "Timed out reading the response body", method=self.method, url=self.url
            ) from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"The response body was cut short: {exc}", method=self.method, url=self.url
            ) from exc


@attrs.frozen
class FilePart:
    """A file field of a multipart form, described without aiohttp.

    Args:
        name: The form field's name, such as ``"file"``.
        filename: The file name sent in the part's headers.
        source: The content; see :data:`FileSource`. A plain async iterable cannot be
            replayed, so a request carrying one is not retried once it has been read from.
        content_type: The part's content type.
    """

    name: str
    filename: str
    source: FileSource = attrs.field(repr=False)
    content_type: str = "application/octet-stream"


#: One field of a multipart form: ``(name, text)`` or a :class:`FilePart`.
FormField: TypeAlias = "tuple[str, str] | FilePart"


class _OneShot:
    """Wrap a one-shot async iterable and note whether anything was taken from it."""

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._source = source
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self._source:
            yield chunk


def _build_form(
    fields: Sequence[FormField], one_shots: Mapping[int, _OneShot], stack: ExitStack
) -> aiohttp.FormData:
    """Build this attempt's form; files opened for it are closed by ``stack``."""
    form = aiohttp.FormData(default_to_multipart=True)
    for index, field in enumerate(fields):
        if isinstance(field, tuple):
            form.add_field(field[0], field[1])
            continue
        source = field.source
        value: Any
        if index in one_shots:
            value = one_shots[index].__aiter__()
        elif isinstance(source, bytes | bytearray | memoryview):
            value = source
        elif isinstance(source, str | os.PathLike):
            # aiohttp streams an open file from a worker thread, in 256 KiB reads.
            value = stack.enter_context(open(source, "rb"))  # noqa: SIM115
        else:
            value = source().__aiter__()  # type: ignore[operator]
        form.add_field(field.name, value, filename=field.filename, content_type=field.content_type)
    return form


class StopRetrying(Exception):
    """Raised by a ``reconcile`` that found the request cannot succeed by sending it again.

    The request's own error is raised at once, with this exception's message as a note.
    """


def outcome_unknown(error: APIError) -> bool:
    """Whether the server may have acted on a request that failed with ``error``.

    True when no answer came, or it was 408 or 5xx; false for other statuses (429
    included: the request was turned away).
    """
    status: int | None = getattr(error, "status_code", None)
    return status is None or status == 408 or status >= 500


def _per_call_timeout(timeout: TimeoutTypes | UseClientDefault) -> aiohttp.ClientTimeout | None:
    return None if timeout is USE_CLIENT_DEFAULT else _client_timeout(Timeout.of(timeout))


class StreamContext:
    """The ``async with`` of :meth:`Transport.stream`.

    A class rather than an ``asynccontextmanager`` generator: when a loop shuts down with a
    download still open, it finalizes async generators in no particular order, and an
    inner generator closed before its owner would break the owner's cleanup.
    """

    def __init__(self, opening: Callable[[], Awaitable[StreamResponse]]) -> None:
        self._opening = opening
        self._stream: StreamResponse | None = None

    async def __aenter__(self) -> StreamResponse:
        self._stream = await self._opening()
        return self._stream

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._stream is not None
        response = self._stream._response
        if exc_type is None and response.content.at_eof():
            response.release()
        else:
            # A half-read connection must never go back to the pool.
            response.close()


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=timeout.total, connect=timeout.connect, sock_read=timeout.read
    )


class Transport:
    """Sends requests to one API base URL with retries, over one aiohttp session."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: Timeout,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.headers = dict(headers)
        self.timeout = timeout
        self.retry = retry
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("This client has been closed; create a new one.")
        loop = asyncio.get_running_loop()
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_client_timeout(self.timeout))
            self._loop = loop
        elif self._owns_session and self._loop is not loop:
            raise OpenAIError(
                "This client was first used in another event loop; create one client per loop."
            )
        if self._session.closed:
            raise ClientClosedError("The aiohttp session given to this client is closed.")
        return self._session

    async def close(self) -> None:
        """Close the session if this transport created it; safe to call twice."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def _url(self, path: str) -> URL:
        return URL(f"{self.base_url}/{path}", encoded=True)

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = ...,
        json: Any = ...,
        timeout: TimeoutTypes | UseClientDefault = ...,
        max_retries: int | None = ...,
        reconcile: None = ...,
        reconcile_statuses: Collection[int] = ...,
        resend_unknown: bool = ...,
    ) -> Response: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = ...,
        json: Any = ...,
        timeout: TimeoutTypes | UseClientDefault = ...,
        max_retries: int | None = ...,
        reconcile: Callable[[], Awaitable[T | None]],
        reconcile_statuses: Collection[int] = ...,
        resend_unknown: bool = ...,
    ) -> Response | T: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        max_retries: int | None = None,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
        reconcile_statuses: Collection[int] = (),
        resend_unknown: bool = True,
    ) -> Response | T:
        """Send a request, retrying as the policy says, and read the whole answer.

        Args:
            method: The HTTP method.
            path: A path relative to the base URL, ids already encoded with
                :func:`encode_path`.
            params: Query parameters.
            json: A JSON body.
            timeout: This call's timeout, instead of the client's.
            max_retries: This call's retries, instead of the client's.
            reconcile: For requests that create or change something: called after an
                attempt whose outcome is unknown (see :meth:`_retrying`).
            reconcile_statuses: Error statuses after which ``reconcile`` is called too.
            resend_unknown: Whether an attempt whose outcome is unknown may be sent
                again when there is no ``reconcile``.

        Returns:
            A 2xx answer, or what ``reconcile`` found.

        Raises:
            APIStatusError: A 4xx or 5xx answer, after any retries.
            APIConnectionError: No answer, after any retries.
        """
        url = self._url(path)
        client_timeout = _per_call_timeout(timeout)
        return await self._retrying(
            method,
            url,
            lambda: self._send(method, url, params, json, client_timeout),
            max_retries=max_retries,
            reconcile=reconcile,
            reconcile_statuses=reconcile_statuses,
            resend_unknown=resend_unknown,
        )

    async def _retrying(
        self,
        method: str,
        url: URL,
        send: Callable[[], Awaitable[Response]],
        *,
        max_retries: int | None,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
        reconcile_statuses: Collection[int] = (),
        resend_unknown: bool = True,
        may_resend: Callable[[], bool] = lambda: True,
    ) -> Response | T:
        """Call ``send`` until it gives a 2xx answer or the retry policy says stop.

        The one retry loop of the library. An attempt's outcome is *unknown* when no
        answer came or the answer was 408 or 5xx: the server may have acted on it. Then
        ``reconcile``, if given, is awaited before any retry and before the final error;
        a value it returns is returned instead and nothing is sent again, so a request
        that creates something never creates it twice; if the look itself fails, the
        request's error is raised with a note, never sent again blind. ``reconcile`` is
        also called after an answer whose status is in ``reconcile_statuses``, and may
        raise :class:`StopRetrying` to end the retries at once. Without ``reconcile``,
        ``resend_unknown=False`` raises an unknown outcome at once.
        ``may_resend`` says whether the body can be sent again at all (a one-shot
        stream cannot).
        """
        retries = self.retry.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            headers: CIMultiDictProxy[str] | None = None
            try:
                response = await send()
            except APIConnectionError as exc:
                error: APIError = exc
                retryable = True
            else:
                if response.status < 400:
                    return response
                headers = response.headers
                error = status_error(
                    response.status, headers, response.body, method=method, url=str(url)
                )
                retryable = self.retry.should_retry(response.status, headers)
            unknown = outcome_unknown(error)
            if reconcile is not None and (
                unknown or getattr(error, "status_code", None) in reconcile_statuses
            ):
                found = await self.look_for_outcome(reconcile, error, method, url)
                if found is not None:
                    return found
            elif unknown and not resend_unknown:
                raise error
            if attempt >= retries or not retryable:
                raise error
            if not may_resend():
                log.info("%s %s failed after its one-shot body was read; not retrying", method, url)
                raise error
            delay = self.retry.delay(attempt, headers)
            log.info("%s %s failed (%s); retrying in %.2fs", method, url, error, delay)
            attempt += 1
            await _sleep(delay)

    async def _send(
        self,
        method: str,
        url: URL,
        params: Mapping[str, str | int] | None,
        json: Any,
        timeout: aiohttp.ClientTimeout | None,
        data: aiohttp.FormData | None = None,
    ) -> Response:
        session = self._get_session()
        # Headers go with each request, not on the session: a borrowed session has its own.
        kwargs: dict[str, Any] = {"params": params, "json": json, "headers": self.headers}
        if data is not None:
            kwargs["data"] = data
        # A borrowed session has its own default timeout; this client's applies instead.
        if timeout is None and not self._owns_session:
            timeout = _client_timeout(self.timeout)
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            response = await session.request(method, url, **kwargs)
            try:
                body = await response.read()
            except BaseException:
                # A half-read connection must never go back to the pool.
                response.close()
                raise
            response.release()
        except TimeoutError as exc:
            raise APITimeoutError(method=method, url=str(url)) from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"Connection error: {exc or type(exc).__name__}", method=method, url=str(url)
            ) from exc
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

    async def request_form(
        self,
        method: str,
        path: str,
        fields: Sequence[FormField],
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        max_retries: int | None = None,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> Response | T:
        """Send a multipart form, retrying as the policy says, and read the whole answer.

        Each attempt builds its own form: paths are opened again, factories called again.
        A plain async iterable is read once, so a failure after it was started is raised.

        Args:
            method: The HTTP method.
            path: A path relative to the base URL, ids already encoded.
            fields: Text fields and :class:`FilePart` files, in order.
            timeout: This call's timeout, instead of the client's.
            max_retries: This call's retries, instead of the client's.
            reconcile: Called after an attempt whose outcome is unknown (no answer, or a
                5xx answer), before any retry or final error; when it returns a value,
                that value is returned instead, and nothing is sent again. It lets the
                caller find what the lost attempt created rather than create it twice.

        Returns:
            A 2xx answer, or what ``reconcile`` returned.

        Raises:
            APIStatusError: A 4xx or 5xx answer, after any retries.
            APIConnectionError: No answer, after any retries.
        """
        url = self._url(path)
        client_timeout = _per_call_timeout(timeout)
        one_shots = {
            index: _OneShot(field.source)
            for index, field in enumerate(fields)
            if isinstance(field, FilePart)
            and isinstance(field.source, AsyncIterable)
            and not callable(field.source)
        }

        async def send() -> Response:
            with ExitStack() as stack:
                form = _build_form(fields, one_shots, stack)
                return await self._send(method, url, None, None, client_timeout, form)

        return await self._retrying(
            method,
            url,
            send,
            max_retries=max_retries,
            reconcile=reconcile,
            may_resend=lambda: not any(one_shot.started for one_shot in one_shots.values()),
        )

    async def look_for_outcome(
        self,
        reconcile: Callable[[], Awaitable[T | None]],
        error: APIError,
        method: str,
        url: URL | str,
    ) -> T | None:
        """Await ``reconcile`` after ``error`` left a request's outcome unknown.

        Raises:
            APIError: ``error`` itself, with a note, when the look fails too or raises
                :class:`StopRetrying`.
        """
        try:
            return await reconcile()
        except StopRetrying as stop:
            error.add_note(str(stop))
        except APIError as lookup_error:
            # Sending again could make a second copy; better to say we do not know.
            error.add_note(
                f"Checking whether {method} {url} took effect failed too ({lookup_error}); "
                "it may or may not have taken effect."
            )
            raise error  # noqa: B904 - the request's error, with the look as context
        raise error

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        read_timeout: float | None = 300.0,
        max_retries: int | None = None,
    ) -> StreamContext:
        """Open a request whose body is read in chunks, for large downloads.

        Use it as ``async with transport.stream(...) as response``. Only connecting and
        the gap between reads are timed, never the whole transfer. The answer's status is
        checked (and retried) before the body is handed out; once the body has started, a
        failure is raised, not retried. Leaving the block early closes the connection
        rather than returning a half-read one to the pool.
        """
        return StreamContext(
            lambda: self._open_stream(method, path, params, read_timeout, max_retries)
        )

    async def _open_stream(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        read_timeout: float | None,
        max_retries: int | None,
    ) -> StreamResponse:
        url = self._url(path)
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.timeout.connect, sock_read=read_timeout
        )
        retries = self.retry.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            session = self._get_session()
            try:
                response = await session.request(
                    method, url, params=params, headers=self.headers, timeout=timeout
                )
            except TimeoutError as exc:
                error: APIConnectionError = APITimeoutError(method=method, url=str(url))
                error.__cause__ = exc
            except aiohttp.ClientError as exc:
                error = APIConnectionError(f"Connection error: {exc}", method=method, url=str(url))
                error.__cause__ = exc
            else:
                if response.status < 400:
                    break
                body = await self._read_error_body(response)
                if attempt >= retries or not self.retry.should_retry(
                    response.status, response.headers
                ):
                    raise status_error(
                        response.status, response.headers, body, method=method, url=str(url)
                    )
                delay = self.retry.delay(attempt, response.headers)
                attempt += 1
                await _sleep(delay)
                continue
            if attempt >= retries:
                raise error
            delay = self.retry.delay(attempt)
            attempt += 1
            await _sleep(delay)
        return StreamResponse(
            status=response.status,
            headers=response.headers,
            method=method,
            url=str(url),
            response=response,
        )

    async def _read_error_body(self, response: aiohttp.ClientResponse) -> bytes:
        try:
            return await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return b""
        finally:
            response.close()


def default_headers(api_key: str, organization: str | None, project: str | None) -> dict[str, str]:
    """The headers sent with every request."""
    headers = {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    return headers
