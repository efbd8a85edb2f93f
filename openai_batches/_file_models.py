"""The files' and uploads' models (see ``_models``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._models import RAW, OpenEnum, _Model

__all__ = [
    "FileDeleted",
    "FileObject",
    "FilePurpose",
    "FileStatus",
    "Upload",
    "UploadPart",
    "UploadStatus",
]


class FilePurpose(OpenEnum):
    """What a file is for."""

    ASSISTANTS = "assistants"
    ASSISTANTS_OUTPUT = "assistants_output"
    BATCH = "batch"
    BATCH_OUTPUT = "batch_output"
    FINE_TUNE = "fine-tune"
    FINE_TUNE_RESULTS = "fine-tune-results"
    VISION = "vision"
    USER_DATA = "user_data"
    EVALS = "evals"


class FileStatus(OpenEnum):
    """Deprecated by the API: the processing status of a file."""

    UPLOADED = "uploaded"
    PROCESSED = "processed"
    ERROR = "error"


@attrs.define
class FileObject(_Model):
    """A file stored with the API.

    ``bytes`` is the size of the file; ``status`` and ``status_details`` are deprecated
    by the API and often absent.
    """

    id: str
    object: str
    bytes: int
    created_at: int
    filename: str
    purpose: FilePurpose
    expires_at: int | None = None
    status: FileStatus | None = None
    status_details: str | None = None
    raw: Mapping[str, Any] = RAW


class UploadStatus(OpenEnum):
    """The status of an upload."""

    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@attrs.define
class FileDeleted(_Model):
    """The answer to deleting a file."""

    id: str
    object: str
    deleted: bool


@attrs.define
class UploadPart(_Model):
    """One part added to an upload."""

    id: str
    object: str
    created_at: int
    upload_id: str


@attrs.define
class Upload(_Model):
    """A multipart upload; once ``completed``, ``file`` is the file it made.

    ``object`` (``"upload"``) is optional in the API's document, so it may be ``None``.
    """

    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: FilePurpose
    status: UploadStatus
    expires_at: int
    object: str | None = None
    file: FileObject | None = None
    raw: Mapping[str, Any] = RAW
