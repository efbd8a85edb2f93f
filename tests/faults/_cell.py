"""One cell of the matrix on the wire, and the two servers that route to the cells.

Cells share one server: a client for cell ``n`` has the base URL ``.../c/n/v1``, and the
server strips the prefix before the cell's fake API sees the request. A second server, on
another port (so another origin), stands for the place a redirect points to: it records
what reached it and answers with decoys that a cell would notice as wrong data.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

import orjson

from ._api import FakeAPI, batch, file
from ._server import Answer, Reply, Request, Server

if TYPE_CHECKING:
    from ._matrix import Fault, Mode
    from ._operations import Operation

__all__ = ["Cell", "Cells"]


class Cell:
    """The state of one cell: its fake API, its fault, and what reached either origin."""

    def __init__(
        self, number: int, fault: Fault, op: Operation, mode: Mode, url: str, elsewhere: str
    ) -> None:
        self.fault = fault
        self.op = op
        self.mode = mode
        self.api = FakeAPI()
        self.base_url = f"{url}/c/{number}/v1"
        self.elsewhere_url = f"{elsewhere}/c/{number}"
        self.armed = True
        #: How many times the fault's target was hit while armed.
        self.hits = 0
        #: Every request that reached this cell, and what reached the other origin.
        self.seen: list[Request] = []
        self.elsewhere: list[Request] = []
        #: Set when the cell is over: stalled answers give up waiting.
        self.release = asyncio.Event()
        #: Set when a stalled answer has begun to stall.
        self.stalled = asyncio.Event()

    async def handle(self, request: Request) -> Reply:
        self.seen.append(request)
        if (
            self.armed
            and self.op.target(request, self.fault.layer)
            and (self.mode == "persistent" or self.hits == 0)
        ):
            self.hits += 1
            acts = self.fault.acts or request.method == "GET"
            return self.fault.make(self.api.answer(request) if acts else None, self, request)
        normal = self.api.answer(request)
        if normal.status < 300 and not normal.content:
            self.api.record(normal.value)
        content_type = "application/octet-stream" if normal.content else "application/json"
        return Answer(normal.status, normal.encode(), content_type)


def _strip(request: Request) -> tuple[int, Request]:
    _, c, number, rest = request.target.split("/", 3)
    assert c == "c"
    return int(number), Request(request.method, "/" + rest, request.headers, request.body)


class Cells:
    """The cells of a module, on one server, with the other origin beside it."""

    def __init__(self) -> None:
        self.server = Server(self._route)
        self.elsewhere = Server(self._route_elsewhere)
        self._cells: dict[int, Cell] = {}
        self._numbers = itertools.count()

    async def start(self) -> None:
        await self.server.start()
        await self.elsewhere.start()

    async def close(self) -> None:
        await self.server.close()
        await self.elsewhere.close()

    def new(self, fault: Fault, op: Operation, mode: Mode) -> Cell:
        number = next(self._numbers)
        cell = Cell(number, fault, op, mode, self.server.url, self.elsewhere.url)
        self._cells[number] = cell
        return cell

    def drop(self, cell: Cell) -> None:
        cell.release.set()
        self._cells = {n: c for n, c in self._cells.items() if c is not cell}

    async def _route(self, request: Request) -> Reply:
        number, request = _strip(request)
        return await self._cells[number].handle(request)

    async def _route_elsewhere(self, request: Request) -> Reply:
        number, request = _strip(request)
        if number in self._cells:
            self._cells[number].elsewhere.append(request)
        if request.path.endswith("/content"):
            return Answer(200, b"decoy bytes from another origin", "application/octet-stream")
        decoy = (
            file("file_elsewhere", "decoy.jsonl", 1, 1, "batch")
            if "/files" in request.path
            else batch("batch_elsewhere", "completed", 1)
        )
        if request.method == "GET" and request.path in ("/v1/files", "/v1/batches"):
            page = {"object": "list", "data": [decoy], "first_id": None, "last_id": None}
            return Answer(200, orjson.dumps({**page, "has_more": False}))
        return Answer(200, orjson.dumps(decoy))
