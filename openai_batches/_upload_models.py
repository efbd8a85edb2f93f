"""The uploads' models (see ``_models``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._file_models import FileObject, FilePurpose
from ._models import RAW, OpenEnum, _Model

__all__ = ["Upload", "UploadPart", "UploadStatus"]


class UploadStatus(OpenEnum):
    """The status of an upload."""

    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


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
