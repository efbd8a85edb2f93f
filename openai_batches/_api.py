"""The API as the resources see it: a request goes in, the caller's value comes out.

Each call is an attempt (the transport's :meth:`~Transport.send` or
:meth:`~Transport.open`, the status checked, the body decoded by the caller's function)
run through :func:`~openai_batches._retry.retrying`, the one retry loop, so requests,
uploads and streams retry, and recover from lost answers, the same way.

Each attempt asks for its headers anew (an API key from a function is fetched per
attempt) and adds the call's extras (:class:`~openai_batches._options.RequestOptions`);
each answer is noted for :func:`~openai_batches.capture_responses`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ._capture import note_response
from ._decode import Response
from ._errors import APIConnectionError, APIError, APIStatusError, status_error
from ._events import Emit, RequestEvent, RetryEvent
from ._options import RequestOptions
from ._retry import RetryPolicy, retrying
from ._sources import FilePart, FormField
from ._transport import Stream, Transport
from ._types import USE_CLIENT_DEFAULT, Timeout, TimeoutTypes, UseClientDefault
from ._urls import missing_v1

__all__ = ["API", "StreamContext"]

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A", bound="_Answer")

Params = Mapping[str, str | int]
#: Makes the headers of one attempt, such as ``Authorization`` from a key function.
Auth = Callable[[], Awaitable[Mapping[str, str]]]


def _merged(
    options: RequestOptions | None, method: str, params: Params | None, json: Any, form: object
) -> tuple[Params | None, Any]:
    """The query and JSON body of a call with its extras (which win on a clash).

    Raises:
        TypeError: ``extra_body`` for a request that cannot carry it.
    """
    if options is None:
        return params, json
    if options.query:
        params = {**(params or {}), **options.query}
    if options.body:
        if form is not None:
            raise TypeError(
                "extra_body cannot be sent with a multipart upload; "
                "use extra_query or extra_headers"
            )
        if json is None and method != "POST":
            raise TypeError(f"extra_body cannot be sent with a {method} request, which has no body")
        if json is not None and not isinstance(json, Mapping):
            raise TypeError("extra_body can only be merged into a JSON object body")
        json = {**(json or {}), **options.body}
    return params, json


def _timeout(timeout: TimeoutTypes | UseClientDefault) -> Timeout | None:
    return None if timeout is USE_CLIENT_DEFAULT else Timeout.of(timeout)


def _error(
    base_url: str, status: int, headers: Mapping[str, str], body: bytes, method: str, url: str
) -> APIStatusError:
    """The error for an answer whose status is not a success, with a hint where one helps."""
    error = status_error(status, headers, body, method=method, url=url)
    if status == 404 and error.message.startswith("Invalid URL"):
        # The API's answer to a path it does not serve: most often a base URL without /v1.
        suggestion = missing_v1(base_url)
        if suggestion is not None:
            error.message += f"; base_url {base_url} does not end with /v1: try {suggestion}"
            error.args = (error.message,)
    return error


class _Answer(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


class _Observer:
    """Times a call's attempts for a DEBUG record and a :class:`RequestEvent` each.

    Built only when someone listens (an ``on_event``, or DEBUG enabled on this module's
    logger), so an unobserved request pays one test and nothing else.
    """

    __slots__ = ("attempt", "emit", "method", "url")

    def __init__(self, method: str, url: str, emit: Emit | None) -> None:
        self.method = method
        self.url = url
        self.emit = emit
        self.attempt = 0

    async def around(self, sending: Awaitable[A]) -> A:
        """Await one attempt, then report it: its answer, or the failure that left none."""
        self.attempt += 1
        started = time.perf_counter()
        try:
            answer = await sending
        except APIConnectionError as error:
            await self._report(None, None, started, error)
            raise
        await self._report(answer.status, answer.headers.get("x-request-id"), started)
        return answer

    async def _report(
        self,
        status: int | None,
        request_id: str | None,
        started: float,
        error: APIError | None = None,
    ) -> None:
        elapsed = time.perf_counter() - started
        log.debug(
            "%s %s -> %s in %.3fs (attempt %d, request id %s)",
            self.method,
            self.url,
            status if error is None else error,
            elapsed,
            self.attempt,
            request_id,
            extra={
                "method": self.method,
                "url": self.url,
                "status": status,
                "request_id": request_id,
                "attempt": self.attempt,
            },
        )
        if self.emit is not None:
            await self.emit(
                RequestEvent(
                    self.method, self.url, self.attempt, status, request_id, elapsed, error
                )
            )

    async def retried(self, error: APIError, attempt: int, delay: float) -> None:
        """Emit a :class:`RetryEvent` (the retry loop logs the retry itself)."""
        if self.emit is not None:
            await self.emit(
                RetryEvent(
                    self.method,
                    self.url,
                    attempt,
                    delay,
                    getattr(error, "status_code", None),
                    getattr(error, "request_id", None),
                    error,
                )
            )


class API:
    """Requests to the API with the client's retry policy.

    Args:
        transport: Makes each attempt.
        retry: The client's retry policy.
        emit: Hands events to the client's ``on_event``; ``None`` when there is none.
        auth: Awaited before each attempt for headers to add (a key from a function, an
            Entra ID token); ``None`` when the transport's own headers say it all.
    """

    def __init__(
        self,
        transport: Transport,
        retry: RetryPolicy,
        emit: Emit | None = None,
        auth: Auth | None = None,
    ) -> None:
        self.transport = transport
        self.retry = retry
        self.emit = emit
        self.auth = auth

    def _observer(self, method: str, path: str) -> _Observer | None:
        if self.emit is None and not log.isEnabledFor(logging.DEBUG):
            return None
        return _Observer(method, f"{self.transport.base_url}/{path}", self.emit)

    async def _headers(self, options: RequestOptions | None) -> Mapping[str, str] | None:
        """One attempt's headers on top of the transport's: the key's, then the call's."""
        extra = None if options is None else options.headers
        if self.auth is None:
            return extra
        with self.transport.abortable():  # a slow key function must not outlive close()
            headers = await self.auth()
        return headers if extra is None else {**headers, **extra}

    async def request(
        self,
        method: str,
        path: str,
        parse: Callable[[Response], T],
        *,
        params: Params | None = None,
        json: Any = None,
        form: Sequence[FormField] | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        max_retries: int | None = None,
        recover: Callable[[], Awaitable[T | None]] | None = None,
        recover_statuses: Collection[int] = (),
        resend_unknown: bool = True,
        options: RequestOptions | None = None,
    ) -> T:
        """Send a request, retrying as the policy says, and decode its 2xx answer.

        Args:
            method: The HTTP method.
            path: A path relative to the base URL, ids already encoded with ``encode_path``.
            parse: Turns the 2xx answer into the caller's value, such as ``decoder(Batch)``.
            params: Query parameters.
            json: A JSON body.
            form: A multipart form; each attempt builds it anew (paths are opened again).
                A one-shot iterable is read once: a failure after it started is raised.
            timeout: This call's timeout, instead of the client's.
            max_retries: This call's retries, instead of the client's.
            recover: See :func:`~openai_batches._retry.retrying`.
            recover_statuses: See :func:`~openai_batches._retry.retrying`.
            resend_unknown: See :func:`~openai_batches._retry.retrying`.
            options: The call's extra headers, query and body.

        Raises:
            TypeError: ``extra_body`` for a request that cannot carry it (before sending).
            APIStatusError: A 3xx (RedirectError), 4xx or 5xx answer, after any retries.
            APIConnectionError: No answer, after any retries.
            ResponseValidationError: A 2xx answer that ``parse`` cannot read.
        """
        transport = self.transport
        per_call = _timeout(timeout)
        sources = [field.source for field in form or () if isinstance(field, FilePart)]
        params, json = _merged(options, method, params, json, form)
        observer = self._observer(method, path)

        async def attempt() -> T:
            headers = await self._headers(options)
            sending = transport.send(
                method, path, params=params, json=json, form=form, timeout=per_call, headers=headers
            )
            response = await (sending if observer is None else observer.around(sending))
            note_response(response.status, response.headers, method, response.url)
            if response.status >= 300:
                raise _error(
                    transport.base_url,
                    response.status,
                    response.headers,
                    response.body,
                    method,
                    response.url,
                )
            return parse(response)

        return await retrying(
            attempt,
            self.retry,
            what=f"{method} {transport.base_url}/{path}",
            max_retries=max_retries,
            recover=recover,
            recover_statuses=recover_statuses,
            resend_unknown=resend_unknown,
            may_resend=lambda: all(source.may_resend for source in sources),
            guard=transport.abortable,
            on_retry=None if observer is None else observer.retried,
        )

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        read_timeout: float | None = 300.0,
        max_retries: int | None = None,
        options: RequestOptions | None = None,
    ) -> StreamContext:
        """Open a request whose body is read in chunks, for large downloads.

        Use it as ``async with api.stream(...) as stream``. The status is checked (and
        the request retried) before the body is handed out; once the body has started,
        a failure is raised, not retried. Leaving the block early closes the connection
        rather than returning a half-read one to the pool.
        """
        transport = self.transport
        params, _ = _merged(options, method, params, None, None)
        observer = self._observer(method, path)

        async def attempt() -> Stream:
            headers = await self._headers(options)
            opening = transport.open(
                method, path, params=params, read_timeout=read_timeout, headers=headers
            )
            stream = await (opening if observer is None else observer.around(opening))
            note_response(stream.status, stream.headers, method, stream.url)
            if stream.status >= 300:
                body = await stream.read_error_body()
                raise _error(
                    transport.base_url, stream.status, stream.headers, body, method, stream.url
                )
            return stream

        def opening() -> Awaitable[Stream]:
            return retrying(
                attempt,
                self.retry,
                what=f"{method} {transport.base_url}/{path}",
                max_retries=max_retries,
                guard=transport.abortable,
                on_retry=None if observer is None else observer.retried,
            )

        return StreamContext(opening)


class StreamContext:
    """The ``async with`` of :meth:`API.stream`.

    A class rather than an ``asynccontextmanager`` generator: when a loop shuts down with a
    download still open, it finalizes async generators in no particular order, and an
    inner generator closed before its owner would break the owner's cleanup.
    """

    def __init__(self, opening: Callable[[], Awaitable[Stream]]) -> None:
        self._opening = opening
        self._stream: Stream | None = None

    async def __aenter__(self) -> Stream:
        self._stream = await self._opening()
        return self._stream

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._stream is not None
        self._stream.close(complete=exc_type is None)
