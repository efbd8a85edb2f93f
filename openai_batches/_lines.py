"""The lines of batch files: request lines going in, result lines coming out.

An input line is ``{"custom_id", "method", "url", "body"}``; an output line is
``{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null,
"error": {"code", "message"} | null}``. Both come from and go to JSONL files, one JSON
object per line. Unknown keys are ignored when decoding (a :class:`BatchResult` keeps its
line's JSON in ``raw``), and a line that does not fit raises :class:`JSONLError` naming
the file and the line.

Errors drawn into the tree of ``_errors``::

    OpenAIError
     ├── JSONLError        a JSONL file has a line that is not what it should be
     └── BatchInputError   request lines that cannot go into one batch (also a ValueError)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from ._errors import BatchInputError, JSONLError

__all__ = [
    "BatchInputError",
    "BatchRequest",
    "BatchResult",
    "JSONLError",
    "ResultError",
    "ResultFailure",
    "ResultResponse",
    "decode_line",
]

T = TypeVar("T")

_NO_RAW: Mapping[str, Any] = MappingProxyType({})
_SNIPPET = 200


@attrs.define
class BatchRequest:
    """One request of a batch: a line of its input file.

    ``custom_id`` must be unique within the batch; it is how results find their request.
    """

    custom_id: str
    url: str
    body: dict[str, Any]
    method: str = "POST"

    @property
    def model(self) -> str | None:
        """``body["model"]``, when it is a string."""
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the input line, keys in the API's order."""
        return {
            "custom_id": self.custom_id,
            "method": self.method,
            "url": self.url,
            "body": self.body,
        }


@attrs.define
class ResultResponse:
    """The HTTP answer a request of a batch got; ``body`` is its JSON."""

    status_code: int
    request_id: str | None = None
    body: Any = None


@attrs.define
class ResultError:
    """Why a request of a batch got no answer (``batch_expired``, ``batch_cancelled``, ...)."""

    code: str | None = None
    message: str | None = None


@attrs.define
class ResultFailure:
    """Why a request failed, from wherever the line says it.

    ``status_code`` is the answer's status, or ``None`` when the request got no answer.
    ``type`` and ``param`` come only with an answer's ``{"error": {...}}`` body.
    """

    code: str | None
    message: str | None
    type: str | None = None
    param: str | None = None
    status_code: int | None = None


@attrs.define
class BatchResult:
    """One line of a batch's output or error file."""

    id: str
    custom_id: str
    response: ResultResponse | None = None
    error: ResultError | None = None
    raw: Mapping[str, Any] = attrs.field(default=_NO_RAW, repr=False, eq=False)

    @property
    def succeeded(self) -> bool:
        """Whether the request was answered 2xx and the line has no error."""
        response = self.response
        return self.error is None and response is not None and 200 <= response.status_code < 300

    @property
    def failure(self) -> ResultFailure | None:
        """Why the request failed, or ``None`` when it succeeded.

        The line's ``error`` when there is one (the request got no answer), else the
        ``error`` object of a non-2xx answer's body.
        """
        if self.succeeded:
            return None
        response = self.response
        status = response.status_code if response is not None else None
        if self.error is not None:
            return ResultFailure(self.error.code, self.error.message, status_code=status)
        if response is None:
            return ResultFailure(None, "The line has neither a response nor an error.")
        body = response.body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return ResultFailure(
                _text(error.get("code")),
                _text(error.get("message")),
                _text(error.get("type")),
                _text(error.get("param")),
                status,
            )
        snippet = body if isinstance(body, str) else None
        message = snippet[:_SNIPPET] if snippet else f"HTTP {status}"
        return ResultFailure(None, message, status_code=status)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def decode_line(
    line: bytes, cl: type[T], *, source: str | None = None, number: int | None = None
) -> T:
    """Parse one JSONL line and structure it into ``cl``.

    Raises:
        JSONLError: The line is not JSON or does not fit ``cl``; says the file, the line
            number and where in the line.
    """
    import orjson

    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        text = line[:60].decode("utf-8", "replace")
        raise JSONLError(f"not JSON ({exc}): {text!r}", source=source, line=number) from exc
    return structure_line(data, cl, source=source, number=number)


def structure_line(
    data: Any, cl: type[T], *, source: str | None = None, number: int | None = None
) -> T:
    """Structure one parsed line into ``cl``; see :func:`decode_line`."""
    from ._converter import locate_error, structure_hook

    hook: Callable[[Any, Any], T] = structure_hook(cl)
    if data.__class__ is not dict:
        raise JSONLError(
            f"expected a JSON object, got {type(data).__name__}", source=source, line=number
        )
    try:
        return hook(data, cl)
    except Exception as exc:
        path, reason = locate_error(data, cl)
        if path == "$":
            # Should the detailed twin find nothing, say what the fast hook met.
            reason = f"does not fit {cl.__name__}: {type(exc).__name__}: {exc}"
        raise JSONLError(reason, source=source, line=number, path=path) from exc
