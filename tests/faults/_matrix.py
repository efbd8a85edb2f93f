"""The fault matrix: every public operation against every fault, transient and persistent.

A *fault* replaces the answer to one chosen request of an operation (its *target*): once
(``transient``: the next attempt is answered correctly) or every time (``persistent``).
Each cell states what the operation must do about it (:func:`expect`): recover with the
right data, or raise the documented typed error. Cells the library gets wrong today are
listed in :data:`KNOWN_FAILURES`, the one place that marks them.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal

import attrs
import orjson

import openai_batches as ob
from openai_batches import Polling

from ._api import CONTENT, UPLOAD, UPLOAD_NAME, FakeAPI, Normal
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
#: Which request of ``download`` a fault hits: the content, or the file's details before it.
Layer = Literal["content", "meta"]

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
_PAD = b"x" * (50 * 1024**2)
_BLANKS = b" " * (50 * 1024**2)


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
        return Answer(200, b"", "application/octet-stream", prefix=_PAD)
    # 50 MB of blanks before the right answer: valid JSON, and cheap to parse.
    cell.api.record(_json(normal))
    return Answer(200, _body(normal), prefix=_BLANKS)


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

# ------------------------------------------------------------------------------ operations


@attrs.define
class Run:
    """What one run of an operation produced, kept even when it raised part-way."""

    directory: str
    items: list[Any] = attrs.Factory(list)
    chunks: list[bytes] = attrs.Factory(list)


Target = Callable[[Request, "Layer"], bool]


@attrs.frozen
class Operation:
    """A public call, the request of it that faults hit, and how to tell its answer is right."""

    name: str
    label: str
    target: Target
    run: Callable[[ob.Client, Run], Awaitable[Any]]
    check: Callable[[Any, FakeAPI, Run], None]
    post: bool = False
    stream: bool = False


def _get(path: str) -> Target:
    return lambda request, layer: request.method == "GET" and request.path == f"/v1/{path}"


def _post(path: str) -> Target:
    return lambda request, layer: request.method == "POST" and request.path == f"/v1/{path}"


def _page_two(kind: str, cursor: str) -> Target:
    def target(request: Request, layer: Layer) -> bool:
        return _get(kind)(request, layer) and request.query.get("after") == cursor

    return target


def _same(obj: Any, api: FakeAPI) -> None:
    """``obj`` is the object the server last answered for its id, every field of it."""
    assert obj.id in api.served, f"{obj.id} was never served: wrong data"
    assert dict(obj.raw) == api.served[obj.id], f"{obj.id} differs from what was served"


async def _list(client: ob.Client, run: Run, kind: str) -> list[Any]:
    walk = client.batches.list(limit=2) if kind == "batches" else client.files.list(limit=2)
    async with aclosing(walk) as items:
        async for item in items:
            run.items.append(item)
    return run.items


def _check_list(kind: str) -> Callable[[Any, FakeAPI, Run], None]:
    def check(result: Any, api: FakeAPI, run: Run) -> None:
        assert [item.id for item in result] == api.listing(kind)
        for item in result:
            _same(item, api)

    return check


def check_partial(op: Operation, api: FakeAPI, run: Run) -> None:
    """After an error: a listing yielded a prefix, each once; a download left nothing."""
    if op.name.startswith("list"):
        ids = [item.id for item in run.items]
        assert ids == api.listing(op.name.removeprefix("list_"))[: len(ids)], ids
        for item in run.items:
            _same(item, api)
    if op.name == "content":
        assert CONTENT.startswith(b"".join(run.chunks)), "content yielded bytes of another file"
    if op.name == "download":
        assert os.listdir(run.directory) == [], os.listdir(run.directory)


def _check_created(kind: str) -> Callable[[Any, FakeAPI, Run], None]:
    def check(result: Any, api: FakeAPI, run: Run) -> None:
        assert api.created, "nothing was created, yet a result came back: wrong data"
        assert result.id == api.created[-1], f"returned {result.id}, created {api.created}"
        _same(result, api)
        if kind == "files":
            assert api.contents[result.id] == UPLOAD
            assert result.filename == UPLOAD_NAME

    return check


async def _content(client: ob.Client, run: Run) -> bytes:
    async with aclosing(client.files.content("file_data", read_timeout=run_timeout())) as chunks:
        async for chunk in chunks:
            run.chunks.append(chunk)
    return b"".join(run.chunks)


async def _download(client: ob.Client, run: Run) -> Any:
    path = os.path.join(run.directory, "out.bin")
    return await client.files.download("file_data", path, read_timeout=run_timeout())


def _check_download(result: Any, api: FakeAPI, run: Run) -> None:
    _same(result, api)
    assert os.listdir(run.directory) == ["out.bin"], os.listdir(run.directory)
    with open(os.path.join(run.directory, "out.bin"), "rb") as saved:
        assert saved.read() == CONTENT


async def _wait(client: ob.Client, run: Run) -> Any:
    # A clock that moves only when the wait sleeps: 30 polls at most, in no time.
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += max(seconds, 1.0)

    polling = Polling(interval=1, max_interval=1, max_errors=2, sleep=sleep, clock=lambda: now[0])
    return await client.batches.wait("batch_01", deadline=30, polling=polling)


def _check_batch(batch_id: str) -> Callable[[Any, FakeAPI, Run], None]:
    def check(result: Any, api: FakeAPI, run: Run) -> None:
        assert result.id == batch_id
        _same(result, api)

    return check


def _check_cancelled(result: Any, api: FakeAPI, run: Run) -> None:
    _check_batch("batch_00")(result, api, run)
    assert api.batches[0]["status"] == "cancelling"


def _check_final(result: Any, api: FakeAPI, run: Run) -> None:
    _check_batch("batch_01")(result, api, run)
    assert result.status.is_final


# The stall cells set this before running; the content readers use it as their read timeout.
_run_timeout = [30.0]


def run_timeout() -> float:
    return _run_timeout[0]


def set_run_timeout(seconds: float) -> None:
    _run_timeout[0] = seconds


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "list_batches",
        "batches.list",
        _page_two("batches", "batch_01"),
        lambda client, run: _list(client, run, "batches"),
        _check_list("batches"),
    ),
    Operation(
        "list_files",
        "files.list",
        _page_two("files", "file_data"),
        lambda client, run: _list(client, run, "files"),
        _check_list("files"),
    ),
    Operation(
        "retrieve",
        "batches.retrieve",
        _get("batches/batch_02"),
        lambda client, run: client.batches.retrieve("batch_02"),
        _check_batch("batch_02"),
    ),
    Operation(
        "cancel",
        "batches.cancel",
        _post("batches/batch_00/cancel"),
        lambda client, run: client.batches.cancel("batch_00"),
        _check_cancelled,
        post=True,
    ),
    Operation(
        "create",
        "batches.create",
        _post("batches"),
        lambda client, run: client.batches.create(
            input_file_id="file_input", endpoint="/v1/chat/completions"
        ),
        _check_created("batches"),
        post=True,
    ),
    Operation(
        "upload",
        "files.create",
        _post("files"),
        lambda client, run: client.files.create(UPLOAD, purpose="batch", filename=UPLOAD_NAME),
        _check_created("files"),
        post=True,
    ),
    Operation(
        "content",
        "files.content",
        _get("files/file_data/content"),
        _content,
        lambda result, api, run: _content_matches(result),
        stream=True,
    ),
    Operation(
        "download",
        "files.download",
        lambda request, layer: (
            _get("files/file_data")(request, layer)
            if layer == "meta"
            else _get("files/file_data/content")(request, layer)
        ),
        _download,
        _check_download,
        stream=True,
    ),
    Operation(
        "wait",
        "batches.wait",
        _get("batches/batch_01"),
        _wait,
        _check_final,
    ),
)
OPERATIONS_BY_NAME = {op.name: op for op in OPERATIONS}


def _content_matches(result: bytes) -> None:
    assert result == CONTENT, f"got {len(result)} bytes that are not the file's {len(CONTENT)}"


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
KNOWN_FAILURES: dict[tuple[str, str, str], str] = {
    **_known(
        "defect 1: the search after a lost upload returns the earlier file of the same name",
        _cells("408 | 500 | 502 | 503 | 502 html | reset before headers", "upload"),
    ),
    **_known(
        "defect 2: an upload whose 2xx answer is unreadable raises without a search",
        _cells(
            "truncated json | html 200 | 204 | wrong types | missing fields | invalid utf-8"
            " | deep json 200",
            "upload",
        ),
    ),
    **_known(
        "defect 3: closing the client does not abort the call in flight",
        _cells("client closed mid-body", _ALL_OPS, "persistent"),
    ),
    **_known(
        "defect 4: a timeout of 0 is accepted and waits without limit",
        _cells("timeout 0, slow headers", _ALL_OPS, "persistent"),
    ),
    **_known(
        "defect 5: a deeply nested error body raises RecursionError",
        _cells("500 deep json", _ALL_OPS.replace(" upload", ""), "persistent"),
        _cells("500 deep json", "list_batches list_files retrieve cancel create wait", "transient"),
    ),
    **_known(
        "defects 5, 1: RecursionError, then the search returns the earlier file",
        _cells("500 deep json", "upload"),
    ),
    **_known(
        "defect 6: redirects are followed, to another origin, POSTs included",
        _cells("302 elsewhere | 307 elsewhere", _ALL_OPS),
    ),
    **_known(
        "defect 6: a 300 with a JSON body is taken for success",
        _cells("300 with a body", "list_batches list_files retrieve content download wait"),
    ),
    **_known(
        "defect 7: the key shows in the repr of aiohttp's ClientResponseError, the cause",
        _cells(
            "broken chunking | bad status line",
            "list_batches list_files retrieve content download wait",
            "persistent",
        ),
    ),
    **_known(
        "defect 11: files.content() yields a short, HTML, empty or oversized body as the file",
        _cells("truncated json | html 200 | 204", "content"),
        _cells("50 MB body", "content", "persistent"),
    ),
    **_known(
        "defect 12: a 429 that waiting cannot clear is retried",
        _cells("429 over the cap | 429 insufficient_quota", _ALL_OPS),
    ),
}
