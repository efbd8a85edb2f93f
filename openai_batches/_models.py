"""The API's objects as attrs classes; field names are the API's.

Every optional field may be absent or ``null`` and is then ``None``. Timestamps stay the
API's unix seconds. Each decoded top-level object (:class:`Batch`, :class:`FileObject`)
keeps the JSON it came from in ``raw``, so fields this version does not know about are
never lost. Enums are open: a value the API adds later decodes to an instance of the
enum that keeps its string and says ``.known is False``.

The classes are slotted and not frozen: decoding thousands of objects per page is the hot
path of a listing, and frozen attrs classes take about twice as long to build.
"""

from __future__ import annotations

import contextlib
import enum
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs

__all__ = [
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchEvent",
    "BatchEventData",
    "BatchRequestCounts",
    "BatchStatus",
    "BatchUsage",
    "FileDeleted",
    "FileObject",
    "FilePurpose",
    "FileStatus",
    "InputTokensDetails",
    "OutputTokensDetails",
    "Page",
    "Upload",
    "UploadPart",
    "UploadStatus",
    "WebhookEvent",
    "WebhookEventType",
]

T = TypeVar("T")

_NO_RAW: Mapping[str, Any] = MappingProxyType({})

_raw = attrs.field(default=_NO_RAW, repr=False, eq=False)


class _Model:
    """What every model can do besides holding its fields."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the model as JSON-ready data: the API's shape, ready to serialise.

        Every field is a key (``None`` is ``null``), enums are their strings, nested
        models are dicts, and the fields this version does not know, kept in ``raw``,
        are added back where they were. ``structure(to_dict(x))`` builds a model equal
        to ``x``.
        """
        from ._converter import to_dict

        return to_dict(self)


#: How many unknown enum values are kept for reuse, across all enums (least recently
#: used first out): a listing full of a new status builds it once, yet values that are
#: never seen again do not pile up.
_UNKNOWN_KEPT = 256
_unknown: OrderedDict[tuple[type, str], Any] = OrderedDict()


class OpenEnum(enum.StrEnum):
    """A string enum that accepts values it does not know.

    ``BatchStatus("completed") is BatchStatus.COMPLETED``; ``BatchStatus("paused")`` is an
    instance whose value is ``"paused"`` and whose :attr:`known` is false, never added to
    the class's members. Values compare equal to their strings either way. Values are
    case-sensitive, as in the API: ``BatchStatus("COMPLETED")`` is an unknown value.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        key = (cls, value)
        member = _unknown.get(key)
        if member is None:
            member = str.__new__(cls, value)
            member._name_ = value.upper()
            member._value_ = value
        # Models may be decoded in worker threads: a value another thread has just let go
        # of, or an empty cache, is no error.
        with contextlib.suppress(KeyError):
            _unknown[key] = member
            _unknown.move_to_end(key)
            if len(_unknown) > _UNKNOWN_KEPT:
                _unknown.popitem(last=False)
        return member

    @property
    def known(self) -> bool:
        """Whether this value is one this version of the library was written for."""
        return type(self)._value2member_map_.get(self._value_) is self


class BatchStatus(OpenEnum):
    """The status of a batch."""

    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Whether the batch will not change any more."""
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)


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
class BatchError(_Model):
    """One problem found with a batch, usually with a line of its input file."""

    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None


@attrs.define
class BatchErrors(_Model):
    """The errors that failed a batch."""

    object: str | None = None
    data: list[BatchError] = attrs.field(factory=list)


@attrs.define
class BatchRequestCounts(_Model):
    """How many of a batch's requests have finished, and how."""

    total: int
    completed: int
    failed: int


@attrs.define
class InputTokensDetails(_Model):
    """A breakdown of input tokens."""

    cached_tokens: int


@attrs.define
class OutputTokensDetails(_Model):
    """A breakdown of output tokens."""

    reasoning_tokens: int


@attrs.define
class BatchUsage(_Model):
    """Tokens used by a batch (only on batches created after 2025-09-07)."""

    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


@attrs.define
class Batch(_Model):
    """A batch job.

    ``status`` compares equal to its string: ``batch.status == "completed"``.
    """

    id: str
    object: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: BatchStatus
    created_at: int
    model: str | None = None
    errors: BatchErrors | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: BatchRequestCounts | None = None
    usage: BatchUsage | None = None
    metadata: dict[str, str] | None = None
    raw: Mapping[str, Any] = _raw


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
    raw: Mapping[str, Any] = _raw


@attrs.define
class Page(_Model, Generic[T]):
    """One page of a listing.

    ``first_id`` and ``last_id`` are the cursors the API sent, if any; walk on with
    ``after=page.next_after``.
    """

    data: list[T]
    has_more: bool
    object: str = "list"
    first_id: str | None = None
    last_id: str | None = None

    @property
    def next_after(self) -> str | None:
        """The cursor for the following page: ``last_id``, else the last item's id."""
        if self.last_id:
            return self.last_id
        if self.data:
            last = self.data[-1]
            last_id = last.get("id") if isinstance(last, dict) else getattr(last, "id", None)
            return last_id if isinstance(last_id, str) and last_id else None
        return None


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
    raw: Mapping[str, Any] = _raw


class WebhookEventType(OpenEnum):
    """The type of a webhook event; the batch events are the ones this library knows."""

    BATCH_CANCELLED = "batch.cancelled"
    BATCH_COMPLETED = "batch.completed"
    BATCH_EXPIRED = "batch.expired"
    BATCH_FAILED = "batch.failed"


@attrs.define
class BatchEventData(_Model):
    """What a batch event is about: ``id`` is the batch's id."""

    id: str


@attrs.define
class BatchEvent(_Model):
    """A webhook event about a batch, such as ``batch.completed``.

    The event names the batch and when it changed, nothing more: retrieve the batch for
    its state and files. ``id`` is the event's own id (the same in every redelivery of
    it), ``data.id`` the batch's. A ``batch.*`` type this version does not know decodes
    here too, with ``type.known`` false.
    """

    id: str
    type: WebhookEventType
    created_at: int
    data: BatchEventData
    object: str | None = None
    raw: Mapping[str, Any] = _raw


@attrs.define
class WebhookEvent(_Model):
    """A webhook event that is not about a batch (a response, a fine-tuning job...).

    Kept so that one endpoint can receive every event type: ``data`` is the event's
    JSON as sent, and ``raw`` the whole event.
    """

    id: str
    type: WebhookEventType
    created_at: int | None = None
    data: Any = None
    object: str | None = None
    raw: Mapping[str, Any] = _raw
