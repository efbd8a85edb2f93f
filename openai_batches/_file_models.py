"""The files' models (see ``_models``)."""

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


@attrs.define
class FileDeleted(_Model):
    """The answer to deleting a file."""

    id: str
    object: str
    deleted: bool
