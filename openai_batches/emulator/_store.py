"""The emulator's state: files, batches and uploads, with the rules the API enforces.

`Store` is synchronous and knows nothing about HTTP: the app parses requests and calls it, and
tests or benchmarks call it directly to seed data (`put_file`, `put_jsonl`, `put_batch`).
Methods return the API's JSON objects as plain dicts and raise `ApiError` for anything the API
would refuse. Before each request the app calls `advance()`, which replays batch lifecycles and
file expiry up to the clock's current time.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ._blobs import Blob, BlobStorage, BlobWriter
from ._clock import Clock
from ._errors import ApiError
from ._index import Key, SortedIds
from ._lifecycle import BatchRecord, ParsedInput, Timing, parse_input
from ._responses import SUPPORTED_ENDPOINTS, canonical_endpoint, input_tokens

__all__ = ["FILE_PURPOSES", "Store"]

#: Purposes accepted by ``POST /v1/files`` and ``POST /v1/uploads``.
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024**2
MAX_BATCH_FILE_BYTES = 200 * 1024**2
MAX_UPLOAD_BYTES = 8 * 1024**3
MAX_PART_BYTES = 64 * 1024**2
BATCH_FILE_TTL = 30 * 24 * 3600
UPLOAD_TTL = 3600
MIN_TTL, MAX_TTL = 3600, 2_592_000
_ALPHANUMERIC = string.ascii_letters + string.digits
#: The organisation named in messages that name one.
ORGANIZATION = "org-emulator"


@attrs.define(eq=False)
class FileRecord:
    """A stored file."""

    id: str
    filename: str
    purpose: str
    blob: Blob
    created_at: int
    expires_at: int | None
    key: Key
    status: str = "processed"
    _encoded: bytes | None = attrs.field(default=None, init=False, repr=False)

    def processed(self) -> None:
        """Mark the file processed (Azure OpenAI's files are ``pending`` at first)."""
        self.status = "processed"
        self._encoded = None

    def encoded(self) -> bytes:
        """Return the File object as JSON, encoded once: listings of 10,000 files join these."""
        if self._encoded is None:
            self._encoded = json.dumps(self.to_json(), ensure_ascii=False).encode()
        return self._encoded

    def to_json(self) -> dict[str, Any]:
        """Return the API's File object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.blob.size,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "status_details": None,
        }


@attrs.define(eq=False)
class UploadRecord:
    """A multi-part upload."""

    id: str
    filename: str
    purpose: str
    bytes: int
    mime_type: str
    created_at: int
    expires_at: int
    file_expires_after: int | None
    status: str = "pending"
    parts: dict[str, Blob] = attrs.Factory(dict)
    file: FileRecord | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the API's Upload object."""
        return {
            "id": self.id,
            "object": "upload",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "expires_at": self.expires_at,
            "file": None if self.file is None else self.file.to_json(),
        }


def check_expires_after(value: Any, param: str) -> int | None:
    """Validate an ``{"anchor": "created_at", "seconds": N}`` policy; return N."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ApiError.invalid(
            param, f"Invalid type for '{param}': expected an object.", "invalid_type"
        )
    if value.get("anchor") != "created_at":
        raise ApiError.invalid(
            f"{param}.anchor",
            f"Invalid value for '{param}.anchor': only 'created_at' is supported.",
        )
    seconds = value.get("seconds")
    if isinstance(seconds, str) and seconds.isdigit():
        seconds = int(seconds)
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not MIN_TTL <= seconds <= MAX_TTL
    ):
        raise ApiError.invalid(
            f"{param}.seconds",
            f"Invalid '{param}.seconds': must be an integer between {MIN_TTL} and {MAX_TTL}.",
        )
    return seconds


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise ApiError.invalid(
            "metadata", "Invalid type for 'metadata': expected an object.", "invalid_type"
        )
    if len(metadata) > 16:
        raise ApiError.invalid(
            "metadata", "Invalid 'metadata': too many properties; at most 16 are allowed."
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or len(key) > 64:
            raise ApiError.invalid(
                "metadata", "Invalid 'metadata': keys must be strings of at most 64 characters."
            )
        if not isinstance(value, str) or len(value) > 512:
            raise ApiError.invalid(
                f"metadata.{key}",
                "Invalid 'metadata': values must be strings of at most 512 characters.",
            )
    return dict(metadata)


class Store:
    """Files, batches and uploads, advanced along the clock.

    Args:
        clock: The emulated time source.
        storage: Where file contents live (memory or a directory).
        timing: Durations and rate of the batch lifecycle.
        seed: Seed for generated ids (random when None).
        enqueued_token_limit: The organisation's enqueued-token limit per model (None: no
            limit). A batch whose input tokens, added to those of the batches of its model
            that are validating, in progress or finalizing, exceed it fails at validation
            with ``token_limit_exceeded``, as on the live API.
        file_processing: Emulated seconds an uploaded file stays ``pending``.
        azure: Also take a batch endpoint and its lines' ``url`` without ``/v1``
            (``/chat/completions``), as Azure OpenAI does.
    """

    def __init__(
        self,
        clock: Clock,
        storage: BlobStorage,
        timing: Timing,
        seed: int | None = None,
        *,
        enqueued_token_limit: int | None = None,
        file_processing: float = 0.0,
        azure: bool = False,
    ) -> None:
        if enqueued_token_limit is not None and enqueued_token_limit < 1:
            raise ValueError("enqueued_token_limit must be a positive number of tokens")
        self.clock = clock
        # Seconds an uploaded file stays "pending", and the files waiting, by due time.
        self.file_processing = file_processing
        self._file_processing: list[tuple[float, str]] = []
        self.storage = storage
        self.timing = timing
        self.enqueued_token_limit = enqueued_token_limit
        self.azure = azure
        self._runs: dict[str, int] = {}
        self._random = random.Random(seed)
        self._sequence = 0
        self._files: dict[str, FileRecord] = {}
        self._file_keys: dict[str, Key] = {}
        self._file_index = SortedIds()
        self._purpose_index: dict[str, SortedIds] = {}
        self._file_expiry: list[tuple[int, str]] = []
        self._batches: dict[str, BatchRecord] = {}
        self._batch_index = SortedIds()
        self._batch_keys: dict[str, Key] = {}
        self._active: dict[str, BatchRecord] = {}
        self._uploads: dict[str, UploadRecord] = {}
        #: Called once with each batch as it reaches a final status (webhooks listen here).
        self.on_batch_final: Callable[[BatchRecord], None] | None = None

    # ids and time

    def _hex_id(self, prefix: str) -> str:
        return f"{prefix}{self._random.getrandbits(128):032x}"

    def _file_id(self) -> str:
        return "file-" + "".join(self._random.choices(_ALPHANUMERIC, k=22))

    @staticmethod
    def _check_new_id(new_id: str, existing: Mapping[str, object], kind: str) -> None:
        if not isinstance(new_id, str) or not new_id:
            raise ValueError(f"a {kind} id must be a non-empty string, got {new_id!r}")
        if new_id in existing:
            raise ValueError(f"there is already a {kind} {new_id!r}")

    def _key(self, created_at: int) -> Key:
        self._sequence += 1
        return (created_at, self._sequence)

    def advance(self) -> None:
        """Replay batch lifecycles and file expiry up to the clock's current time."""
        now = self.clock.now()
        finished = []
        for batch in list(self._active.values()):
            batch.advance(now)
            if not batch.active:
                del self._active[batch.id]
                finished.append(batch)
        if self.on_batch_final is not None:
            # In the order they finished, however long since the last advance.
            for batch in sorted(finished, key=lambda b: b.times[f"{b.status}_at"]):
                self.on_batch_final(batch)
        while self._file_processing and self._file_processing[0][0] <= now:
            _, file_id = heapq.heappop(self._file_processing)
            record = self._files.get(file_id)
            if record is not None:
                record.processed()
        while self._file_expiry and self._file_expiry[0][0] <= now:
            _, file_id = heapq.heappop(self._file_expiry)
            record = self._files.get(file_id)
            if record is not None and record.expires_at is not None and record.expires_at <= now:
                self._remove_file(record)

    # files

    def add_file(
        self,
        filename: str,
        purpose: str,
        blob: Blob,
        *,
        created_at: float | None = None,
        expires_after: int | None = None,
        file_id: str | None = None,
        uploaded: bool = False,
    ) -> FileRecord:
        """Register *blob* as a new file and return its record.

        An *uploaded* file stays ``pending`` for `file_processing` seconds, if any.
        """
        if file_id is not None:
            self._check_new_id(file_id, self._files, "file")
        created = int(self.clock.now() if created_at is None else created_at)
        if expires_after is None and purpose == "batch":
            expires_after = BATCH_FILE_TTL
        expires_at = None if expires_after is None else created + expires_after
        key = self._key(created)
        record = FileRecord(
            file_id or self._file_id(), filename, purpose, blob, created, expires_at, key
        )
        if uploaded and self.file_processing > 0:
            record.status = "pending"
            heapq.heappush(self._file_processing, (created + self.file_processing, record.id))
        self._files[record.id] = record
        self._file_keys[record.id] = key
        self._file_index.add(key, record.id)
        self._purpose_index.setdefault(purpose, SortedIds()).add(key, record.id)
        if expires_at is not None:
            heapq.heappush(self._file_expiry, (expires_at, record.id))
        return record

    def writer(self) -> BlobWriter:
        """Return a writer in this store's storage (for uploads and batch outputs)."""
        return self.storage.writer()

    def add_output_file(
        self, filename: str, blob: Blob, created_at: float, expires_after: int | None
    ) -> str:
        """Register a batch output or error file; return its id."""
        record = self.add_file(
            filename, "batch_output", blob, created_at=created_at, expires_after=expires_after
        )
        return record.id

    def put_file(
        self,
        filename: str,
        purpose: str,
        data: bytes | os.PathLike[str],
        *,
        created_at: float | None = None,
        expires_after: int | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """Seed a file without HTTP; return the File object.

        Args:
            filename: The file's name.
            purpose: Any purpose string (not validated, so outputs can be seeded too).
            data: The content, or a path to copy it from.
            created_at: Override the creation time (Unix seconds), e.g. to shape listings.
            expires_after: Seconds until the file expires (``batch`` files default to 30 days).
            file_id: The file's id, such as ``file-abc123`` (default: a new random one).
        """
        if isinstance(data, bytes | bytearray | memoryview):
            blob = self.storage.from_bytes(bytes(data))
        elif isinstance(data, os.PathLike):
            blob = self.storage.from_path(data)
        else:
            raise TypeError("data must be bytes or a path (os.PathLike)")
        record = self.add_file(
            filename,
            purpose,
            blob,
            created_at=created_at,
            expires_after=expires_after,
            file_id=file_id,
        )
        return record.to_json()

    def put_jsonl(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        filename: str = "batch_input.jsonl",
        created_at: float | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """Seed a ``purpose=batch`` JSONL file from request lines; return the File object."""
        if file_id is not None:
            self._check_new_id(file_id, self._files, "file")
        writer = self.storage.writer()
        for line in requests:
            writer.write(json.dumps(line).encode() + b"\n")
        record = self.add_file(
            filename, "batch", writer.close(), created_at=created_at, file_id=file_id
        )
        return record.to_json()

    def file(self, file_id: str) -> FileRecord:
        """Return the file *file_id* or raise a 404."""
        record = self._files.get(file_id)
        if record is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return record

    def _remove_file(self, record: FileRecord) -> None:
        del self._files[record.id]
        self._file_index.remove(record.key)
        self._purpose_index[record.purpose].remove(record.key)
        record.blob.discard()

    def delete_file(self, file_id: str) -> dict[str, Any]:
        """Delete *file_id*; return the deletion object."""
        self._remove_file(self.file(file_id))
        return {"id": file_id, "object": "file", "deleted": True}

    def _cursor(self, keys: Mapping[str, Key], after: str | None) -> Key | None:
        if after is None:
            return None
        key = keys.get(after)
        if key is None:
            raise ApiError.invalid("after", f"Invalid 'after': no object with id '{after}'.")
        return key

    def file_page(
        self,
        *,
        purpose: str | None = None,
        limit: int = 10_000,
        order: str = "desc",
        after: str | None = None,
    ) -> tuple[list[FileRecord], bool]:
        """Return a page of file records and whether more follow.

        Files are ordered by ``created_at``, ties in creation order, so ``desc`` is exactly
        the reverse of ``asc``.
        """
        cursor = self._cursor(self._file_keys, after)
        index = self._file_index if purpose is None else self._purpose_index.get(purpose)
        ids, has_more = ([], False) if index is None else index.page(cursor, limit, order == "desc")
        return [self._files[file_id] for file_id in ids], has_more

    def list_files(
        self,
        *,
        purpose: str | None = None,
        limit: int = 10_000,
        order: str = "desc",
        after: str | None = None,
    ) -> dict[str, Any]:
        """Return a page of the ListFilesResponse."""
        records, has_more = self.file_page(purpose=purpose, limit=limit, order=order, after=after)
        # The document requires strings here even when there is no first or last file; what
        # the live API sends then is not documented, so follow the document.
        return {
            "object": "list",
            "data": [record.to_json() for record in records],
            "first_id": records[0].id if records else "",
            "last_id": records[-1].id if records else "",
            "has_more": has_more,
        }

    # batches

    def create_batch(
        self,
        input_file_id: Any,
        endpoint: Any,
        completion_window: Any = "24h",
        metadata: Any = None,
        output_expires_after: Any = None,
        *,
        created_at: float | None = None,
        batch_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a batch (validating the arguments like the API); return the Batch object.

        The input file is read and checked now; its verdict is revealed when ``validating``
        ends. *batch_id* chooses the batch's id (default: a new random one).
        """
        if batch_id is not None:
            self._check_new_id(batch_id, self._batches, "batch")
        if not isinstance(input_file_id, str) or not input_file_id:
            raise ApiError.invalid("input_file_id", "Invalid 'input_file_id': expected a file id.")
        route = canonical_endpoint(endpoint, azure=self.azure) if isinstance(endpoint, str) else ""
        if route not in SUPPORTED_ENDPOINTS:
            raise ApiError.invalid(
                "endpoint",
                f"Invalid value for 'endpoint': {endpoint!r}. The emulator supports "
                + ", ".join(SUPPORTED_ENDPOINTS)
                + ".",
            )
        if completion_window != "24h":
            raise ApiError.invalid(
                "completion_window",
                f"Invalid value for 'completion_window': {completion_window!r}. "
                "Supported values are: '24h'.",
            )
        clean_metadata = _check_metadata(metadata)
        expires_after = check_expires_after(output_expires_after, "output_expires_after")
        source = self._files.get(input_file_id)
        if source is None:
            raise ApiError.invalid(
                "input_file_id", f"Invalid 'input_file_id': no such file '{input_file_id}'."
            )
        if source.purpose != "batch":
            raise ApiError.invalid(
                "input_file_id",
                f"Invalid 'input_file_id': file '{input_file_id}' has purpose "
                f"'{source.purpose}'; batches need purpose 'batch'.",
            )
        if source.status != "processed":
            raise ApiError.invalid(
                "input_file_id",
                f"Invalid 'input_file_id': file '{input_file_id}' is {source.status}; a "
                "batch needs a processed file.",
            )
        created = self.clock.now() if created_at is None else created_at
        parsed = parse_input(source.blob.iter_lines(), endpoint, azure=self.azure)
        tokens = self._enqueue(parsed, route)
        batch = BatchRecord(
            id=batch_id or self._hex_id("batch_"),
            endpoint=endpoint,
            route=route,
            input_file_id=input_file_id,
            # The schedule starts at the exact moment (the API shows whole seconds): from the
            # whole second, a batch created late in a second would skip most of validating.
            created_at=float(created),
            timing=self.timing,
            parsed=parsed,
            sink=self,
            metadata=clean_metadata,
            output_expires_after=expires_after,
            enqueued_tokens=tokens,
        )
        self._batches[batch.id] = batch
        self._active[batch.id] = batch
        key = self._key(int(batch.created_at))
        self._batch_index.add(key, batch.id)
        self._batch_keys[batch.id] = key
        return batch.to_json()

    def _enqueue(self, parsed: ParsedInput, endpoint: str) -> int:
        """Count a new batch's tokens; fail its input if they break the enqueued-token limit.

        The verdict is taken when the batch is created, against the batches active then,
        and revealed when ``validating`` ends, like the input's other problems.
        """
        limit = self.enqueued_token_limit
        if limit is None or parsed.errors or parsed.model is None:
            return 0
        tokens = sum(input_tokens(endpoint, body) for _, body in parsed.requests)
        model = parsed.model
        queued = sum(batch.enqueued(model) for batch in self._active.values())
        if queued + tokens > limit:
            parsed.requests = []
            parsed.errors.append(
                {
                    "code": "token_limit_exceeded",
                    "message": (
                        f"Enqueued token limit reached for {model} in organization "
                        f"{ORGANIZATION}. Limit: {limit:,} enqueued tokens. Please try again "
                        "once some in_progress batches have been completed."
                    ),
                    "param": None,
                    "line": None,
                }
            )
            return 0
        return tokens

    def count_run(self, custom_id: str) -> int:
        """Count one more run of a ``[[flaky:NNN:K]]`` line with *custom_id*; return the runs."""
        runs = self._runs[custom_id] = self._runs.get(custom_id, 0) + 1
        return runs

    def put_batch(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        endpoint: str = "/v1/chat/completions",
        metadata: Mapping[str, str] | None = None,
        created_at: float | None = None,
        batch_id: str | None = None,
    ) -> dict[str, Any]:
        """Seed an input file from *requests* and create a batch on it; return the Batch.

        *batch_id* chooses the batch's id, such as ``batch_abc123`` (default: a random one).
        """
        if batch_id is not None:
            self._check_new_id(batch_id, self._batches, "batch")
        source = self.put_jsonl(requests, created_at=created_at)
        return self.create_batch(
            source["id"], endpoint, "24h", metadata, created_at=created_at, batch_id=batch_id
        )

    def batch(self, batch_id: str) -> BatchRecord:
        """Return the batch *batch_id* or raise a 404."""
        batch = self._batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return batch

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        """Start cancelling *batch_id*; return the Batch (409 when it cannot be cancelled)."""
        batch = self.batch(batch_id)
        if not batch.cancel(self.clock.now()):
            raise ApiError(
                409,
                f"Cannot cancel a batch with status '{batch.status}'.",
                code="batch_not_cancellable",
            )
        self._active.setdefault(batch.id, batch)
        return batch.to_json()

    def batch_page(
        self, *, limit: int = 20, after: str | None = None
    ) -> tuple[list[BatchRecord], bool]:
        """Return a page of batch records, newest first, and whether more follow."""
        cursor = self._cursor(self._batch_keys, after)
        ids, has_more = self._batch_index.page(cursor, limit, True)
        return [self._batches[batch_id] for batch_id in ids], has_more

    def list_batches(self, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
        """Return a page of the ListBatchesResponse, newest first."""
        batches, has_more = self.batch_page(limit=limit, after=after)
        return {
            "object": "list",
            "data": [batch.to_json() for batch in batches],
            "first_id": batches[0].id if batches else None,
            "last_id": batches[-1].id if batches else None,
            "has_more": has_more,
        }

    # uploads

    def create_upload(
        self,
        filename: Any,
        purpose: Any,
        bytes: Any,
        mime_type: Any,
        expires_after: Any = None,
    ) -> dict[str, Any]:
        """Create a pending upload; return the Upload object."""
        if not isinstance(filename, str) or not filename:
            raise ApiError.missing("filename")
        if purpose not in FILE_PURPOSES:
            raise ApiError.invalid("purpose", f"Invalid value for 'purpose': {purpose!r}.")
        if (
            not isinstance(bytes, int)
            or isinstance(bytes, bool)
            or not 0 <= bytes <= MAX_UPLOAD_BYTES
        ):
            raise ApiError.invalid(
                "bytes", f"Invalid 'bytes': must be an integer between 0 and {MAX_UPLOAD_BYTES}."
            )
        if not isinstance(mime_type, str) or not mime_type:
            raise ApiError.missing("mime_type")
        file_ttl = check_expires_after(expires_after, "expires_after")
        created = int(self.clock.now())
        upload = UploadRecord(
            self._hex_id("upload_"),
            filename,
            purpose,
            bytes,
            mime_type,
            created,
            created + UPLOAD_TTL,
            file_ttl,
        )
        self._uploads[upload.id] = upload
        return upload.to_json()

    def upload(self, upload_id: str) -> UploadRecord:
        """Return the upload *upload_id* (expiring it if due) or raise a 404."""
        upload = self._uploads.get(upload_id)
        if upload is None:
            raise ApiError(404, f"No such Upload object: {upload_id}", param="upload_id")
        if upload.status == "pending" and self.clock.now() >= upload.expires_at:
            upload.status = "expired"
            self._drop_parts(upload)
        return upload

    def _pending(self, upload_id: str) -> UploadRecord:
        upload = self.upload(upload_id)
        if upload.status != "pending":
            raise ApiError.invalid(
                "upload_id", f"Upload {upload_id} is {upload.status}; it accepts no more changes."
            )
        return upload

    def _drop_parts(self, upload: UploadRecord) -> None:
        for blob in upload.parts.values():
            blob.discard()
        upload.parts.clear()

    def add_part(self, upload_id: str, blob: Blob) -> dict[str, Any]:
        """Attach a part to a pending upload; return the UploadPart object."""
        try:
            upload = self._pending(upload_id)
        except ApiError:
            blob.discard()
            raise
        if blob.size > MAX_PART_BYTES:
            blob.discard()
            raise ApiError.invalid(
                "data", f"Invalid 'data': parts are limited to {MAX_PART_BYTES} bytes."
            )
        part_id = self._hex_id("part_")
        upload.parts[part_id] = blob
        return {
            "id": part_id,
            "object": "upload.part",
            "created_at": int(self.clock.now()),
            "upload_id": upload_id,
        }

    def complete_upload(self, upload_id: str, part_ids: Any, md5: Any = None) -> dict[str, Any]:
        """Join the parts in *part_ids* order into a file; return the completed Upload."""
        upload = self._pending(upload_id)
        if not isinstance(part_ids, list) or not all(isinstance(p, str) for p in part_ids):
            raise ApiError.invalid("part_ids", "Invalid 'part_ids': expected a list of part ids.")
        if len(set(part_ids)) != len(part_ids):
            raise ApiError.invalid("part_ids", "Invalid 'part_ids': a part is listed twice.")
        unknown = [p for p in part_ids if p not in upload.parts]
        if unknown:
            raise ApiError.invalid("part_ids", f"Invalid 'part_ids': no such part '{unknown[0]}'.")
        total = sum(upload.parts[p].size for p in part_ids)
        if total != upload.bytes:
            raise ApiError.invalid(
                "part_ids",
                f"The number of bytes uploaded ({total}) does not match the number of bytes "
                f"declared when creating the upload ({upload.bytes}).",
            )
        writer = self.storage.writer()
        for part_id in part_ids:
            writer.write_blob(upload.parts[part_id])
        blob = writer.close()
        if md5 is not None and blob.md5() != md5:
            blob.discard()
            raise ApiError.invalid(
                "md5", "The md5 checksum of the uploaded bytes does not match the 'md5' provided."
            )
        upload.file = self.add_file(
            upload.filename,
            upload.purpose,
            blob,
            expires_after=upload.file_expires_after,
            uploaded=True,
        )
        upload.status = "completed"
        self._drop_parts(upload)
        return upload.to_json()

    def cancel_upload(self, upload_id: str) -> dict[str, Any]:
        """Cancel a pending upload; return the Upload."""
        upload = self._pending(upload_id)
        upload.status = "cancelled"
        self._drop_parts(upload)
        return upload.to_json()

    def close(self) -> None:
        """Release unfinished batch outputs and upload parts."""
        for batch in self._active.values():
            batch.discard()
        for upload in self._uploads.values():
            self._drop_parts(upload)
