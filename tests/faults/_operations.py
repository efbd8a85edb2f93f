"""The public operations of the matrix: what each calls, which of its requests a fault hits,
and how to tell that what it returned is right."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, Literal

import attrs

import openai_batches as ob
from openai_batches import Polling

from ._api import CONTENT, UPLOAD, UPLOAD_NAME, FakeAPI
from ._server import Request

__all__ = ["OPERATIONS", "OPERATIONS_BY_NAME", "Layer", "Operation", "Run", "check_partial"]


@attrs.define
class Run:
    """One run of an operation: its settings, and what it produced before any error."""

    directory: str
    #: The read timeout given to ``content`` and ``download``.
    read_timeout: float = 30.0
    items: list[Any] = attrs.Factory(list)
    chunks: list[bytes] = attrs.Factory(list)


#: Which request of ``download`` a fault hits: the content, or the file's details before it.
Layer = Literal["content", "meta"]
Target = Callable[[Request, Layer], bool]


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
    async with aclosing(client.files.content("file_data", read_timeout=run.read_timeout)) as chunks:
        async for chunk in chunks:
            run.chunks.append(chunk)
    return b"".join(run.chunks)


async def _download(client: ob.Client, run: Run) -> Any:
    path = os.path.join(run.directory, "out.bin")
    return await client.files.download("file_data", path, read_timeout=run.read_timeout)


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
