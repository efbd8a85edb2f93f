"""The fault matrix: every public operation against every fault, transient and persistent.

A *fault* replaces the answer to one chosen request of an operation (its *target*): once
(``transient``: the next attempt is answered correctly) or every time (``persistent``).
Each cell states what the operation must do about it (:func:`expect`): recover with the
right data, or raise the documented typed error. Cells the library gets wrong today are
listed in :data:`KNOWN_FAILURES`, the one place that marks them.
"""

from __future__ import annotations

import email.utils
import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import attrs
import orjson

import openai_batches as ob

from ._api import Normal
from ._operations import Layer, Operation
from ._server import Answer, CutShort, Raw, Reply, Request, Reset, Stall, head

if TYPE_CHECKING:
    from ._cell import Cell

Mode = Literal["transient", "persistent"]
MODES: tuple[Mode, ...] = ("transient", "persistent")

#: The timeout of the cells whose server stalls: long enough for a loaded machine to answer
#: a small request, short enough to keep the slow rows quick.
SLOW = 0.05

# ---------------------------------------------------------------------------------- faults

#: How a family of faults should end (see :func:`expect`).
Family = Literal[
    "retry",
    "refuse",
    "no_answer",
    "cut",
    "timeout",
    "zero",
    "closed",
    "garbage",
    "tolerate",
    "enum",
    "page",
    "redirect",
]
MakeReply = Callable[["Normal | None", "Cell", Request], Reply]


@attrs.frozen
class Fault:
    """One way an answer can go wrong.

    Args:
        name: The matrix's row label.
        family: How the library should deal with it.
        make: Builds the faulty reply from the correct answer (``None`` for a POST the
            server does not carry out first).
        acts: A POST is carried out before the faulty reply: the object exists.
        layer: For ``download``, which of its requests the fault hits; ``meta`` faults
            are about JSON and do not apply to ``content``.
        error: The error a persistent fault of the ``retry`` family ends in.
        in_body: The fault comes after a stream's body began: it cannot be retried.
        lists_only: Only listings can meet it.
        persistent_only: Only the persistent cell: for the 50 MB body (never retried, so the
            transient cell would be the same, at the highest cost) and for the faults
            that meet the client's settings or its closing rather than a retry.
    """

    name: str
    family: Family
    make: MakeReply
    acts: bool = False
    layer: Layer = "content"
    error: type[ob.OpenAIError] = ob.APIError
    in_body: bool = False
    lists_only: bool = False
    persistent_only: bool = False


def _json(normal: Normal | None) -> Any:
    assert normal is not None
    assert not normal.content
    return normal.value


def _body(normal: Normal | None) -> bytes:
    assert normal is not None
    return normal.encode()


def _content_type(normal: Normal | None) -> str:
    return (
        "application/octet-stream" if normal is not None and normal.content else "application/json"
    )


def _intact(normal: Normal | None, cell: Cell, value: Any = None, **kw: Any) -> Answer:
    """A well-formed 200 (or ``kw['status']``) of ``value`` (default: the correct one)."""
    assert normal is not None
    if value is None:
        value = normal.value
    if not normal.content:
        cell.api.record(value)
    body = value if normal.content else orjson.dumps(value)
    kw.setdefault("content_type", _content_type(normal))
    return Answer(kw.pop("status", 200), body, **kw)


def _error_body(message: str, **fields: str | None) -> bytes:
    error = {"message": message, "type": "server_error", "param": None, "code": None}
    return orjson.dumps({"error": {**error, **fields}})


def status(code: int, *headers: tuple[str, str], body: bytes | None = None) -> MakeReply:
    def make(normal: Normal | None, cell: Cell, request: Request) -> Reply:
        return Answer(code, _error_body(f"fault {code}") if body is None else body, headers=headers)

    return make


def _past_date() -> str:
    return email.utils.formatdate(time.time() - 5, usegmt=True)


def _429_date(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return Answer(429, _error_body("slow down"), headers=(("retry-after", _past_date()),))


_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
_DEEP = b'{"error": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
_DEEP_200 = b'{"id": "deep", "object": "batch", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"


@functools.cache
def _fifty_mb(byte: bytes) -> bytes:
    return byte * (50 * 1024**2)


def _reset_mid_body(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    body = _body(normal)
    keep = 100_000 if normal is not None and normal.content else len(body) // 2
    return CutShort(Answer(200, body, _content_type(normal)), keep)


def _truncated(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    body = _body(normal)
    return Answer(200, body[: len(body) // 2], _content_type(normal))


def _html_200(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return Answer(200, _HTML.replace(b"502 Bad Gateway", b"Sign in"), "text/html")


def _wrong_content_type(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return _intact(normal, cell, content_type="text/html; charset=utf-8")


def _stall(keep_body: bool) -> MakeReply:
    def make(normal: Normal | None, cell: Cell, request: Request) -> Reply:
        body = _body(normal)
        keep = None
        if keep_body:
            keep = 1 << 16 if normal is not None and normal.content else len(body) // 2
        return Stall(Answer(200, body, _content_type(normal)), cell.release, keep, cell.stalled)

    return make


def _repeated_cursor(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    # The page before this one again: its last id is the cursor just sent.
    kind = request.path.rsplit("/", 1)[-1]
    ids = cell.api.listing(kind)
    end = ids.index(request.query["after"]) + 1
    limit = int(request.query["limit"])
    objects = cell.api.batches if kind == "batches" else cell.api.files
    data = objects[max(0, end - limit) : end]
    page = {"object": "list", "data": data, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return Answer(200, orjson.dumps({**page, "has_more": True}))


def _empty_has_more(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    page = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": True}
    return Answer(200, orjson.dumps(page))


def _mutate(change: Callable[[dict[str, Any]], None], every: bool = False) -> MakeReply:
    """A 200 whose object (or a page's first item, or ``every`` item) is changed."""

    def make(normal: Normal | None, cell: Cell, request: Request) -> Reply:
        value = _json(normal)
        if value.get("object") == "list":
            data = [dict(item) for item in value["data"]]
            for item in data if every else data[:1]:
                change(item)
            value = {**value, "data": data}
        else:
            value = dict(value)
            change(value)
        return _intact(normal, cell, value) if every else Answer(200, orjson.dumps(value))

    return make


def _wrong_types(obj: dict[str, Any]) -> None:
    key = "bytes" if obj["object"] == "file" else "created_at"
    obj[key] = str(obj[key])


def _missing_fields(obj: dict[str, Any]) -> None:
    del obj["bytes" if obj["object"] == "file" else "status"]


def _unknown_enums(obj: dict[str, Any]) -> None:
    if obj["object"] == "file":
        obj["purpose"], obj["status"] = "fine_tune_v9", "quarantined"
    else:
        obj["status"] = "paused_by_operator"


def _huge(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    if normal is not None and normal.content:
        return Answer(200, b"", "application/octet-stream", prefix=_fifty_mb(b"x"))
    # 50 MB of blanks before the right answer: valid JSON, and cheap to parse.
    cell.api.record(_json(normal))
    return Answer(200, _body(normal), prefix=_fifty_mb(b" "))


def _deep_200(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return Answer(200, _DEEP_200)


def _bad_gzip(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    headers = (("Content-Encoding", "gzip"),)
    return Answer(200, b"this is not gzip at all", _content_type(normal), headers, close=True)


def _broken_chunking(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    body = _body(normal)
    headers = [("Content-Type", _content_type(normal)), ("Transfer-Encoding", "chunked")]
    return Raw(head(200, headers) + b"10\r\n" + body[:16] + b"\r\nzz\r\nnot a chunk\r\n")


def _bad_status_line(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return Raw(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}")


def _invalid_utf8(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return Answer(200, b'{"note": "caf\xe9 \xff\xfe", ' + _body(normal)[1:])


def _no_content(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return Answer(204, content_type=None)


def _redirect(code: int) -> MakeReply:
    def make(normal: Normal | None, cell: Cell, request: Request) -> Reply:
        location = f"{cell.elsewhere_url}{request.path}"
        if request.query:
            location += "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        return Answer(code, content_type=None, headers=(("Location", location),))

    return make


def _multiple_choices(normal: Normal | None, cell: Cell, request: Request) -> Reply:
    return _intact(normal, cell, status=300)


_QUOTA = _error_body(
    "You exceeded your current quota, please check your plan and billing details.",
    type="insufficient_quota",
    code="insufficient_quota",
)

FAULTS: tuple[Fault, ...] = (
    Fault(
        "429 retry-after-ms",
        "retry",
        status(429, ("retry-after-ms", "10")),
        error=ob.RateLimitError,
    ),
    Fault("429 retry-after s", "retry", status(429, ("retry-after", "0")), error=ob.RateLimitError),
    Fault("429 retry-after date", "retry", _429_date, error=ob.RateLimitError),
    Fault("429 no header", "retry", status(429), error=ob.RateLimitError),
    Fault("429 over the cap", "refuse", status(429, ("retry-after", "3600"))),
    Fault("429 insufficient_quota", "refuse", status(429, body=_QUOTA)),
    Fault("408", "retry", status(408), error=ob.APIStatusError),
    Fault("409", "retry", status(409), error=ob.ConflictError),
    Fault("500", "retry", status(500), error=ob.InternalServerError),
    Fault("502", "retry", status(502), error=ob.InternalServerError),
    Fault("503", "retry", status(503), error=ob.InternalServerError),
    Fault("502 html", "retry", status(502, body=_HTML), error=ob.InternalServerError),
    Fault("500 deep json", "retry", status(500, body=_DEEP), error=ob.InternalServerError),
    Fault("reset before headers", "no_answer", lambda n, c, r: Reset()),
    Fault("reset mid-body", "cut", _reset_mid_body, acts=True, in_body=True),
    Fault("bad gzip", "cut", _bad_gzip, acts=True, in_body=True),
    Fault("broken chunking", "cut", _broken_chunking, acts=True, in_body=True),
    Fault("bad status line", "cut", _bad_status_line, acts=True),
    Fault("slow headers", "timeout", _stall(keep_body=False), acts=True),
    Fault("slow body", "timeout", _stall(keep_body=True), acts=True, in_body=True),
    Fault(
        "timeout 0, slow headers", "zero", _stall(keep_body=False), acts=True, persistent_only=True
    ),
    Fault(
        "client closed mid-body", "closed", _stall(keep_body=True), acts=True, persistent_only=True
    ),
    Fault("truncated json", "garbage", _truncated, acts=True),
    Fault("html 200", "garbage", _html_200, acts=True),
    Fault("204", "garbage", _no_content, acts=True),
    Fault("wrong types", "garbage", _mutate(_wrong_types), acts=True, layer="meta"),
    Fault("missing fields", "garbage", _mutate(_missing_fields), acts=True, layer="meta"),
    Fault("invalid utf-8", "garbage", _invalid_utf8, acts=True, layer="meta"),
    Fault("deep json 200", "garbage", _deep_200, acts=True, layer="meta"),
    Fault("unknown enums", "enum", _mutate(_unknown_enums, every=True), acts=True, layer="meta"),
    Fault("wrong content type", "tolerate", _wrong_content_type, acts=True),
    Fault("50 MB body", "tolerate", _huge, acts=True, persistent_only=True),
    Fault("repeated cursor", "page", _repeated_cursor, lists_only=True),
    Fault("empty page, has_more", "page", _empty_has_more, lists_only=True),
    Fault("302 elsewhere", "redirect", _redirect(302)),
    Fault("307 elsewhere", "redirect", _redirect(307)),
    Fault("300 with a body", "redirect", _multiple_choices, acts=True),
)
FAULTS_BY_NAME = {fault.name: fault for fault in FAULTS}

# ---------------------------------------------------------------------------- expectations

OK = "ok"
#: ``OK``, a typed error, or ``ValueError``/``TypeError`` for an argument refused up front.
Outcome = str | type[Exception]


@attrs.frozen
class Expect:
    """What a cell may end in: ``OK`` (the right data) or one of these typed errors."""

    outcomes: frozenset[Outcome]
    #: How many times the target may be hit: a refused request is never sent again.
    hits: int | None = None

    @classmethod
    def of(cls, *outcomes: Outcome, hits: int | None = None) -> Expect:
        return cls(frozenset(outcomes), hits)


def expect(fault: Fault, op: Operation, mode: Mode) -> Expect | None:
    """What the README and docs promise for ``op`` meeting ``fault``; ``None``: cannot meet."""
    if fault.lists_only and not op.name.startswith("list"):
        return None
    if fault.layer == "meta" and op.name == "content":
        return None
    if fault.persistent_only and mode == "transient":
        return None
    transient = mode == "transient"
    stream = op.stream and fault.layer == "content"
    family = fault.family
    if family == "retry":
        # Retried; a lost answer to a POST is looked for before it is sent again.
        return Expect.of(OK if transient else fault.error)
    if family == "refuse":
        # A quota never clears by waiting, nor does an hour's retry-after: raise at once.
        return Expect.of(ob.RateLimitError, hits=1)
    if family in ("no_answer", "cut", "timeout"):
        error = ob.APITimeoutError if family == "timeout" else ob.APIConnectionError
        if op.post and fault.acts:
            return Expect.of(OK)  # the object exists: the search after the lost answer finds it
        if stream and fault.in_body:
            # Once a body has started it is not retried (a retry from scratch would do too).
            return Expect.of(OK, error) if transient else Expect.of(error)
        return Expect.of(OK if transient else error)
    if family == "zero":
        # A limit of 0 s is refused before any request, or means what it says.
        return Expect.of(ValueError, ob.APITimeoutError)
    if family == "closed":
        # Closing the client aborts what is in flight.
        return Expect.of(ob.ClientClosedError)
    if family == "garbage":
        if op.name in ("create", "upload"):
            return Expect.of(OK)  # a 2xx: the object exists, and is found by the search
        if op.name == "cancel":
            return Expect.of(OK, ob.ResponseValidationError)
        if stream:
            if op.name == "content" or fault.name == "html 200":
                return Expect.of(ob.APIError)
            return Expect.of(ob.DownloadSizeError)
        if op.name == "wait" and transient:
            return Expect.of(OK, ob.ResponseValidationError)
        return Expect.of(ob.ResponseValidationError)
    if family == "tolerate":
        if stream and fault.name == "50 MB body":
            return Expect.of(ob.APIError if op.name == "content" else ob.DownloadSizeError)
        return Expect.of(OK, ob.APIError)
    if family == "enum":
        if op.name == "wait" and not transient:
            return Expect.of(ob.WaitTimeoutError)  # an unknown status is not final
        return Expect.of(OK)
    if family == "page":
        return Expect.of(ob.PaginationError)
    if family == "redirect":
        if fault.acts and op.post:
            return Expect.of(OK, ob.APIError)
        return Expect.of(ob.APIError)
    raise AssertionError(family)


# ------------------------------------------------------------------------ known failures


def _cells(
    faults: str, ops: str, modes: str = "transient persistent"
) -> list[tuple[str, str, str]]:
    names = [name.strip() for name in faults.split("|")]
    return [(f, o, m) for f in names for o in ops.split() for m in modes.split()]


def _known(reason: str, *groups: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    return {cell: reason for group in groups for cell in group}


_ALL_OPS = "list_batches list_files retrieve cancel create upload content download wait"

#: The cells that fail today, each for a known defect: ``(fault, operation, mode) -> why``.
#: Remove an entry when its defect is fixed; ``strict=True`` makes a cell that starts
#: passing fail until it is removed.
KNOWN_FAILURES: dict[tuple[str, str, str], str] = {}
