"""A small, correct fake of the Batch and Files API: the state of one fault-matrix cell.

Each cell gets its own :class:`FakeAPI`, so objects created or cancelled in one cell never
show in another, and ``created`` counts exactly what the cell's POSTs made. ``served``
keeps the last intact JSON object answered for each id, which is what the client must
return: a cell compares the client's models with it.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import attrs
import orjson

from ._server import Request

__all__ = ["CONTENT", "UPLOAD", "UPLOAD_NAME", "FakeAPI", "Normal"]

#: The content file: binary, with bytes that are not UTF-8, and several 64 KiB chunks long.
CONTENT = bytes(range(256)) * 800
#: What the upload cells send, and the name the request writer gives its first shard.
UPLOAD = b'{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions"}\n' * 40
UPLOAD_NAME = "requests-00000.jsonl"

OLD = 1_700_000_000
_ids = itertools.count()


@attrs.frozen
class Normal:
    """The correct answer to a request: a status and a JSON value or raw content bytes."""

    status: int
    value: Any
    content: bool = False

    def encode(self) -> bytes:
        return self.value if self.content else orjson.dumps(self.value)


def batch(batch_id: str, status: str, created_at: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": batch_id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": "file_input",
        "completion_window": "24h",
        "status": status,
        "output_file_id": None,
        "error_file_id": None,
        "created_at": created_at,
        "request_counts": {"total": 3, "completed": 1, "failed": 0},
        "metadata": None,
        **extra,
    }


def file(file_id: str, filename: str, size: int, created_at: int, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": created_at,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
    }


def error(status: int, message: str) -> Normal:
    return Normal(status, {"error": {"message": message, "type": "x", "param": None, "code": None}})


def _multipart(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The text fields and the files (name -> (filename, content)) of a multipart body."""
    boundary = request.headers["content-type"].split("boundary=", 1)[1].strip('"')
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in request.body.split(b"--" + boundary.encode())[1:-1]:
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        disposition = next(
            line for line in head.decode().split("\r\n") if line.lower().startswith("content-disp")
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        assert name is not None
        if filename is None:
            fields[name.group(1)] = content.decode()
        else:
            files[name.group(1)] = (filename.group(1), content)
    return fields, files


class FakeAPI:
    """Batches, files and their content, answering as the API does.

    Batches ``batch_00`` .. ``batch_04`` are listed newest first; ``batch_00`` is in
    progress (cancel it), ``batch_01`` completed (wait for it), ``batch_02`` in progress
    (retrieve it). Files: ``file_data`` holds :data:`CONTENT`; ``file_earlier`` is an
    upload of :data:`UPLOAD` made 100 s before the cell, under the same name.
    """

    def __init__(self) -> None:
        now = int(time.time())
        self.batches = [
            batch(f"batch_{i:02d}", "completed" if i == 1 else "in_progress", OLD - i)
            for i in range(5)
        ]
        self.files = [
            file("file_earlier", UPLOAD_NAME, len(UPLOAD), now - 100, "batch"),
            file("file_data", "data.bin", len(CONTENT), OLD, "user_data"),
            *(file(f"file_{i:02d}", f"f{i}.jsonl", 10 + i, OLD - 1 - i, "batch") for i in range(4)),
        ]
        self.contents = {"file_data": CONTENT, "file_earlier": UPLOAD}
        #: Ids of the objects this cell's POSTs created, in order.
        self.created: list[str] = []
        #: The last intact JSON object answered for each id.
        self.served: dict[str, dict[str, Any]] = {}

    def listing(self, kind: str) -> list[str]:
        """The ids a full walk of ``kind`` ("batches" or "files") yields, in order."""
        return [obj["id"] for obj in (self.batches if kind == "batches" else self.files)]

    def answer(self, request: Request) -> Normal:
        """The correct answer, doing what the request asks (create, cancel)."""
        parts = request.path.strip("/").split("/")[1:]  # without "v1"
        method = request.method
        if parts == ["batches"] and method == "GET":
            return self._page(self.batches, request.query)
        if parts == ["batches"] and method == "POST":
            body = orjson.loads(request.body)
            new = batch(
                f"batch_new{next(_ids)}",
                "validating",
                int(time.time()),
                metadata=body.get("metadata"),
                input_file_id=body["input_file_id"],
            )
            self.batches.insert(0, new)
            self.created.append(new["id"])
            return Normal(200, new)
        if parts == ["files"] and method == "GET":
            files = self.files
            if "purpose" in request.query:
                files = [f for f in files if f["purpose"] == request.query["purpose"]]
            if request.query.get("order") == "asc":
                files = files[::-1]
            return self._page(files, request.query)
        if parts == ["files"] and method == "POST":
            fields, files = _multipart(request)
            filename, content = files["file"]
            new = file(
                f"file_new{next(_ids)}", filename, len(content), int(time.time()), fields["purpose"]
            )
            self.files.insert(0, new)
            self.contents[new["id"]] = content
            self.created.append(new["id"])
            return Normal(200, new)
        if len(parts) >= 2 and parts[0] in ("batches", "files"):
            objects = self.batches if parts[0] == "batches" else self.files
            found = next((obj for obj in objects if obj["id"] == parts[1]), None)
            if found is None:
                return error(404, f"No such object: {parts[1]}")
            if parts[2:] == [] and method == "GET":
                return Normal(200, found)
            if parts[2:] == ["cancel"] and method == "POST" and parts[0] == "batches":
                if found["status"] in ("validating", "in_progress"):
                    found["status"] = "cancelling"
                elif found["status"] != "cancelling":
                    return error(409, f"Cannot cancel a batch with status {found['status']!r}")
                return Normal(200, found)
            if parts[2:] == ["content"] and method == "GET" and parts[0] == "files":
                return Normal(200, self.contents[parts[1]], content=True)
        return error(404, f"Invalid URL ({method} {request.path})")

    def _page(self, objects: list[dict[str, Any]], query: dict[str, str]) -> Normal:
        start = 0
        if "after" in query:
            ids = [obj["id"] for obj in objects]
            if query["after"] not in ids:
                return error(400, "unknown cursor")
            start = ids.index(query["after"]) + 1
        limit = int(query.get("limit", 20))
        data = objects[start : start + limit]
        return Normal(
            200,
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": start + limit < len(objects),
            },
        )

    def record(self, value: Any) -> None:
        """Note the objects in an intact JSON answer as served."""
        if isinstance(value, dict):
            for obj in value.get("data", [value]) if value.get("object") == "list" else [value]:
                if isinstance(obj, dict) and "id" in obj:
                    self.served[obj["id"]] = dict(obj)
