"""Exceptions raised by the client.

The names follow openai-python, so code can move between the two::

    OpenAIError
     ├── ClientClosedError            a call on a closed client
     ├── APIError                     something went wrong talking to the API
     │    ├── APIStatusError          the API answered 4xx or 5xx
     │    │    ├── BadRequestError            400
     │    │    ├── AuthenticationError        401
     │    │    ├── PermissionDeniedError      403
     │    │    ├── NotFoundError              404
     │    │    ├── ConflictError              409
     │    │    ├── UnprocessableEntityError   422
     │    │    ├── RateLimitError             429
     │    │    └── InternalServerError        >= 500
     │    ├── APIConnectionError      no answer: refused, reset, cut short
     │    │    └── APITimeoutError    no answer in time
     │    ├── ResponseValidationError a 2xx answer that is not the expected JSON
     │    ├── PaginationError         a listing whose cursors do not advance
     │    └── DownloadSizeError       a download's size differs from the file's
     ├── WaitTimeoutError             a batch not final by a wait's deadline (also TimeoutError)
     ├── JSONLError                   a JSONL line that is not JSON or not the expected shape
     ├── BatchInputError              requests that would break a batch's rules (duplicate ids...)
     ├── JobStateError                a job's state file that does not fit the job run on it
     └── (ValueError / TypeError for bad arguments, raised before any request)

Nothing else escapes: aiohttp, JSON and cattrs exceptions are chained as ``__cause__``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Batch

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchInputError",
    "ClientClosedError",
    "ConflictError",
    "DownloadSizeError",
    "InternalServerError",
    "JSONLError",
    "JobStateError",
    "NotFoundError",
    "OpenAIError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
]

_SNIPPET = 200


class OpenAIError(Exception):
    """The root of every error this library raises."""


class ClientClosedError(OpenAIError, RuntimeError):
    """A request was made on a client that has been closed."""


class APIError(OpenAIError):
    """A request failed.

    Attributes:
        message: What went wrong, in words.
        method: The HTTP method of the failed request.
        url: The URL of the failed request.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIStatusError(APIError):
    """The API answered with a 4xx or 5xx status.

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


class ResponseValidationError(APIError):
    """A 2xx answer was not JSON, or not the shape this library expects.

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


class PaginationError(APIError):
    """A listing cannot continue safely: a cursor repeated, or a page was inconsistent.

    Raised instead of looping forever or silently ending a listing early.
    """


class DownloadSizeError(APIError):
    """A download's byte count differs from the file's ``bytes``; nothing was written.

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
    an HTML page or plain text instead, which is kept as a snippet in the message.
    """
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    decoded: object
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = body.decode("utf-8", "replace")
    error: Any = decoded.get("error") if isinstance(decoded, dict) else None
    fields: dict[str, str | None] = {"type": None, "code": None, "param": None}
    if isinstance(error, dict):
        message = error.get("message") or ""
        for name in fields:
            value = error.get(name)
            fields[name] = None if value is None else str(value)
    elif isinstance(decoded, str):
        message = " ".join(decoded.split())[:_SNIPPET]
    elif isinstance(error, str):
        message = error
    else:
        message = json.dumps(decoded)[:_SNIPPET] if decoded is not None else ""
    if not isinstance(message, str):
        message = json.dumps(message)
    if not message:
        message = f"HTTP {status} with an empty body"
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


class JobStateError(OpenAIError):
    """A job's state file holds no job, or a job made from another input."""
