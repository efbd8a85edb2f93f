"""Exceptions raised by the client.

The names follow openai-python, so code can move between the two::

    OpenAIError
     ├── ClientClosedError            a call on a closed client, or in flight when it closed
     ├── APIError                     something went wrong talking to the API
     │    ├── APIStatusError          the API answered 3xx, 4xx or 5xx
     │    │    ├── RedirectError              3xx: never followed (.location)
     │    │    ├── BadRequestError            400
     │    │    ├── AuthenticationError        401
     │    │    ├── PermissionDeniedError      403
     │    │    ├── NotFoundError              404
     │    │    ├── ConflictError              409
     │    │    ├── UnprocessableEntityError   422
     │    │    ├── RateLimitError             429
     │    │    │    └── InsufficientQuotaError  429 insufficient_quota: never retried
     │    │    └── InternalServerError        >= 500
     │    ├── APIConnectionError      no answer: refused, reset, cut short
     │    │    └── APITimeoutError    no answer in time
     │    ├── APIResponseValidationError  a 2xx answer that is not the expected JSON (or an
     │    │                           HTML page for a file's content; also importable as
     │    │                           ResponseValidationError)
     │    ├── PaginationError         a listing whose cursors do not advance
     │    └── DownloadSizeError       content or a download whose size is not the file's
     ├── WaitTimeoutError             a batch not final by a wait's deadline (also TimeoutError)
     ├── JSONLError                   a JSONL line that is not JSON or not the expected shape
     ├── BatchInputError              requests that would break a batch's rules (duplicate ids...)
     ├── InvalidWebhookSignatureError a webhook whose signature, headers or timestamp do not verify
     │                                (also a ValueError, as in openai-python)
     ├── JobStateError                a job's state file that does not fit the job run on it
     └── (ValueError / TypeError for bad arguments, raised before any request)

Nothing else escapes: aiohttp, JSON and cattrs exceptions are chained as ``__cause__``,
with the key taken out of them. An error given up on after retries says how many attempts
were made (``APIError.attempts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Batch

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchInputError",
    "ClientClosedError",
    "ConflictError",
    "DownloadSizeError",
    "InsufficientQuotaError",
    "InternalServerError",
    "InvalidWebhookSignatureError",
    "JSONLError",
    "JobStateError",
    "NotFoundError",
    "OpenAIError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
]

_SNIPPET = 200


class OpenAIError(Exception):
    """The root of every error this library raises."""


class ClientClosedError(OpenAIError, RuntimeError):
    """A call was made on a closed client, or was in flight when the client closed."""


class APIError(OpenAIError):
    """A request failed.

    Attributes:
        message: What went wrong, in words.
        method: The HTTP method of the failed request.
        url: The URL of the failed request.
        attempts: How many times the request was sent before giving up.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.attempts = 1

    def _gave_up_after(self, attempts: int) -> None:
        """Record that the request was sent ``attempts`` times; the message says so."""
        if attempts > 1 and self.attempts == 1:
            self.message = f"{self.message}; gave up after {attempts} attempts"
            self.args = (self.message, *self.args[1:])
        self.attempts = attempts


class APIStatusError(APIError):
    """The API answered with a status other than success: 4xx, 5xx, or a 3xx redirect.

    Attributes:
        status_code: The HTTP status.
        request_id: The ``x-request-id`` header, to quote to OpenAI support.
        type: ``error.type`` from the body, when it has one.
        code: ``error.code`` from the body, when it has one.
        param: ``error.param`` from the body, when it has one.
        body: The decoded JSON body, or the text when it is not JSON.
        headers: The response headers.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.request_id = request_id
        self.type = type
        self.code = code
        self.param = param
        self.body = body
        self.headers: Mapping[str, str] = headers if headers is not None else {}

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"Error code: {self.status_code} - {self.message}{rid}"


class RedirectError(APIStatusError):
    """3xx: the answer points elsewhere, and this client follows no redirect.

    Following one could send a create's body, or the key, to another server, or turn a
    POST into a GET that returns some other object as the result. The API itself does not
    redirect: a redirect usually means a proxy or a base URL to correct.

    Attributes:
        location: The ``Location`` the answer points to, if it gave one.
    """

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class BadRequestError(APIStatusError):
    """400: the request was malformed or had invalid parameters."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such object (or not visible to this key)."""


class ConflictError(APIStatusError):
    """409: the object is in a state that does not allow this."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests, or a quota was reached."""


class InsufficientQuotaError(RateLimitError):
    """429 with ``insufficient_quota``: the account's quota or credit is used up.

    Waiting does not clear it, so it is never retried; raise the limit or add credit.
    """


class InternalServerError(APIStatusError):
    """5xx: the API failed."""


class APIConnectionError(APIError):
    """No usable answer: the connection failed, was reset or was cut short."""

    def __init__(
        self, message: str = "Connection error.", *, method: str = "", url: str = ""
    ) -> None:
        super().__init__(message, method=method, url=url)


class APITimeoutError(APIConnectionError):
    """No answer came within the timeout."""

    def __init__(
        self, message: str = "Request timed out.", *, method: str = "", url: str = ""
    ) -> None:
        super().__init__(message, method=method, url=url)


class APIResponseValidationError(APIError):
    """A 2xx answer was not JSON, or not the shape this library expects.

    openai-python's name; ``ResponseValidationError`` is the same class.

    Attributes:
        path: Where in the body the problem is, as a JSON path such as
            ``$.data[3].created_at`` (``$`` when the body is not JSON at all).
        status_code: The HTTP status of the answer.
        request_id: The ``x-request-id`` header.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "$",
        status_code: int = 200,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.path = path
        self.status_code = status_code
        self.request_id = request_id


#: The name this class had first; the same class, kept for existing code.
ResponseValidationError = APIResponseValidationError


class PaginationError(APIError):
    """A listing cannot continue safely: a cursor repeated, or a page was inconsistent.

    Raised instead of looping forever or silently ending a listing early.
    """


class DownloadSizeError(APIError):
    """Content whose byte count differs from the file's ``bytes``; a download writes nothing.

    Attributes:
        expected: The file's size according to the API.
        received: The bytes received before the download was stopped.
    """

    def __init__(self, message: str, *, expected: int, received: int, url: str = "") -> None:
        super().__init__(message, method="GET", url=url)
        self.expected = expected
        self.received = received


class WaitTimeoutError(OpenAIError, TimeoutError):
    """The deadline of a wait passed before the batch reached a final status.

    Attributes:
        batch: The batch as last seen (``cancelling`` if the wait cancelled it), or
            ``None`` if every poll failed.
        batch_id: The id of the batch.
        deadline: The deadline that passed, in seconds.
    """

    def __init__(self, batch_id: str, batch: Batch | None, deadline: float) -> None:
        state = "unknown" if batch is None else f"still {batch.status.value}"
        super().__init__(f"Batch {batch_id} is {state} after the {deadline:g} s deadline")
        self.batch_id = batch_id
        self.batch = batch
        self.deadline = deadline


class JSONLError(OpenAIError, ValueError):
    """A line of a JSONL file is not JSON, does not fit its model, or is far too long.

    Attributes:
        source: The file id or path the line came from, when known.
        line: The 1-based line number (blank lines count).
        path: Where in the line the problem is, such as ``$.response.status_code``.
        reason: What was wrong, without the position.
    """

    def __init__(
        self, reason: str, *, source: str | None = None, line: int | None = None, path: str = "$"
    ) -> None:
        where = f"{source or 'JSONL'} line {line}" if line is not None else (source or "JSONL")
        at = "" if path == "$" else f" at {path}"
        super().__init__(f"{where}{at}: {reason}")
        self.source = source
        self.line = line
        self.path = path
        self.reason = reason


class BatchInputError(OpenAIError, ValueError):
    """Request lines that cannot be written into one batch, or a file that cannot be its input.

    Raised by the request writer for one request, and by ``check_batch_input`` for a
    whole file, listing every problem it found in ``problems``.

    Attributes:
        code: ``duplicate_custom_id``, ``mismatched_url``, ``mismatched_model``,
            ``request_too_large`` or ``invalid_request`` (the first three are the
            API's own codes for the same problems); a file's check adds
            ``invalid_json_line``, ``missing_required_parameter``, ``too_many_requests``,
            ``file_too_large``, ``line_too_long`` and ``empty_file``, and the error for
            the whole file is ``invalid_batch_input``.
        custom_id: The offending request's ``custom_id``, when it has one.
        index: The offending request's 0-based position in the job or the file; ``None``
            for a problem of the whole file.
        line: The 1-based line of the file (blank lines count), for a problem found in
            a file.
        source: The file checked, for a problem found in a file.
        problems: For the whole file's error, the problems found, in order (at most
            ``max_problems`` of them; the file's own problems first); else empty.
        problem_count: How many problems were found in all, listed or not.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        custom_id: str | None,
        index: int | None,
        line: int | None = None,
        source: str | None = None,
        problems: tuple[BatchInputError, ...] = (),
        problem_count: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.custom_id = custom_id
        self.index = index
        self.line = line
        self.source = source
        self.problems = problems
        self.problem_count = len(problems) if problem_count is None else problem_count


class InvalidWebhookSignatureError(OpenAIError, ValueError):
    """A webhook did not verify, so its body must not be trusted.

    Raised when a ``webhook-*`` header is missing or malformed, the timestamp is outside
    the tolerance, or no signature matches the body and the secret. Answer such a
    request with 400 and do not act on it.
    """


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str = "",
    url: str = "",
) -> APIStatusError:
    """Build the exception for an error answer; a pure function of the response.

    The API sends ``{"error": {"message", "type", "param", "code"}}``; a proxy may send
    an HTML page or plain text instead, which is kept as a snippet in the message. A body
    nested too deeply to parse is kept as text, and nothing in it is ever turned back
    into text by recursion, so no body can make this raise.
    """
    import orjson  # loaded with the first answer, not with the package

    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    decoded: object
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:  # not JSON, or nested beyond orjson's depth limit
        decoded = body.decode("utf-8", "replace")
    error: Any = decoded.get("error") if isinstance(decoded, dict) else None
    fields: dict[str, str | None] = {"type": None, "code": None, "param": None}
    if isinstance(error, dict):
        message = error.get("message") or ""
        for name in fields:
            fields[name] = _text(error.get(name), body)
    elif isinstance(decoded, str):
        message = _snippet(decoded)
    elif isinstance(error, str):
        message = error
    else:
        message = _text(decoded, body) or ""
    if not isinstance(message, str):
        message = _text(message, body) or ""
    if not message:
        message = f"HTTP {status} with an empty body"
    if 300 <= status < 400:
        location = headers.get("location")
        where = f"to {location}" if location else "with no Location"
        return RedirectError(
            f"The API answered {status}, a redirect {where}; this client does not follow "
            "redirects, so that no request or key goes anywhere but base_url. If the API "
            "has moved, set base_url to its new address.",
            location=location,
            status_code=status,
            request_id=headers.get("x-request-id"),
            body=decoded,
            headers=headers,
            method=method,
            url=url,
            **fields,
        )
    if cls is RateLimitError and "insufficient_quota" in (fields["code"], fields["type"]):
        cls = InsufficientQuotaError
    return cls(
        message,
        status_code=status,
        request_id=headers.get("x-request-id"),
        body=decoded,
        headers=headers,
        method=method,
        url=url,
        **fields,
    )


def _snippet(text: str) -> str:
    return " ".join(text.split())[:_SNIPPET]


def _text(value: object, body: bytes) -> str | None:
    """A field of an error body as short text; ``None`` stays ``None``."""
    import orjson

    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    try:
        return orjson.dumps(value).decode()[:_SNIPPET]
    except TypeError:  # nested deeper than orjson writes: quote the body as it came
        return _snippet(body.decode("utf-8", "replace"))


class JobStateError(OpenAIError):
    """A job's state file holds no job, or a job made from another input."""
