"""The lines of batch files: request lines going in, result lines coming out.

An input line is ``{"custom_id", "method", "url", "body"}``; an output line is
``{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null,
"error": {"code", "message"} | null}``. Both come from and go to JSONL files, one JSON
object per line. Unknown keys are ignored when decoding (a :class:`BatchResult` keeps its
line's JSON in ``raw``), and a line that does not fit raises :class:`JSONLError` naming
the file and the line.

The rules the requests of one batch follow, alone (:func:`request_problem`) and together
(:class:`RequestRules`), live here once, for the request writer and for the check of an
input file alike.

Errors drawn into the tree of ``_errors``::

    OpenAIError
     ├── JSONLError        a JSONL file has a line that is not what it should be
     └── BatchInputError   request lines that cannot go into one batch (also a ValueError)
"""

from __future__ import annotations

import hashlib
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
    "RequestRules",
    "ResultError",
    "ResultFailure",
    "ResultResponse",
    "decode_line",
    "model_of",
    "request_problem",
]

T = TypeVar("T")

_NO_RAW: Mapping[str, Any] = MappingProxyType({})
_SNIPPET = 200
#: A ``custom_id`` longer than this is remembered by a 16-byte digest: a ``str`` of 32
#: characters takes about as much memory as the digest, and longer ones more.
_LONG_ID = 32


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
        return model_of(self.body)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the input line, keys in the API's order."""
        return {
            "custom_id": self.custom_id,
            "method": self.method,
            "url": self.url,
            "body": self.body,
        }


def model_of(body: Mapping[str, Any]) -> str | None:
    """A request body's ``model``, when it is a string."""
    model = body.get("model")
    return model if isinstance(model, str) else None


def request_problem(custom_id: object, method: object, url: object, body: object) -> str | None:
    """Why these fields cannot make a request of a batch, or ``None`` when they can."""
    if not isinstance(custom_id, str) or not custom_id:
        return f"custom_id must be a non-empty string, got {custom_id!r:.60}"
    if method != "POST":
        return f"method must be 'POST', the only one a batch takes, got {method!r:.60}"
    if not isinstance(url, str) or not url:
        return f"url must be a non-empty string, got {url!r:.60}"
    if not isinstance(body, dict):
        return f"body must be a JSON object, got {type(body).__name__}"
    return None


class RequestRules:
    """What the requests of one batch must agree on: one url, one model, unique custom_ids.

    Each request is checked against those added before it. Of each request added, only
    its ``custom_id`` and position are kept (a ``custom_id`` longer than 32 characters as
    a 16-byte BLAKE2 digest, so memory does not grow with the ids' length; two ids with
    the same digest are as likely as guessing a random 128-bit number).

    Args:
        unit: What a position counts, named in the reasons (``"request"``, ``"line"``).
        unique_ids: Check that ``custom_id``s are unique; ``False`` keeps none of them,
            for a caller that finds duplicates some other way.
        one_model: Check that every request names the first one's model; ``False``
            allows several (a job, which shards them by model).
    """

    def __init__(self, unit: str, *, unique_ids: bool = True, one_model: bool = True) -> None:
        self._unit = unit
        self._unique_ids = unique_ids
        self._one_model = one_model
        self._positions: dict[str | bytes, int] = {}
        self._first: tuple[int, str, str | None] | None = None

    def __len__(self) -> int:
        return len(self._positions)

    @property
    def url(self) -> str | None:
        """The first request's url: the batch's endpoint."""
        return None if self._first is None else self._first[1]

    @property
    def model(self) -> str | None:
        """The first request's model."""
        return None if self._first is None else self._first[2]

    def problem(
        self, custom_id: str, url: str, model: str | None, position: int
    ) -> tuple[str, str] | None:
        """The code and the reason why a request cannot join the earlier ones, or ``None``."""
        unit = self._unit
        if self._first is not None:
            where, first_url, first_model = self._first
            if url != first_url:
                return "mismatched_url", (
                    f"url {url!r} differs from {first_url!r} of {unit} {where}; "
                    "a batch has one endpoint"
                )
            if self._one_model and model != first_model:
                return "mismatched_model", (
                    f"model {model!r} differs from {first_model!r} of {unit} {where}; "
                    "a batch has one model"
                )
        first = self._positions.get(_id_key(custom_id))
        if first is not None:
            return "duplicate_custom_id", (
                f"duplicate custom_id {custom_id!r}: {unit}s {first} and {position} both use it"
            )
        return None

    def add(self, custom_id: str, url: str, model: str | None, position: int) -> None:
        """Count a request in, after :meth:`problem` found nothing wrong with it."""
        if self._first is None:
            self._first = (position, url, model)
        if self._unique_ids:
            self._positions[_id_key(custom_id)] = position


def _id_key(custom_id: str) -> str | bytes:
    if len(custom_id) <= _LONG_ID:
        return custom_id
    # bytes never equal a str, so a digest cannot be mistaken for a short id.
    return hashlib.blake2b(custom_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


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
