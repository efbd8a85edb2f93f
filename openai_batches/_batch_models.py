"""The batches' models and the webhook events' (see ``_models``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._models import RAW, OpenEnum, _Model

__all__ = [
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchEvent",
    "BatchEventData",
    "BatchRequestCounts",
    "BatchStatus",
    "BatchUsage",
    "InputTokensDetails",
    "OutputTokensDetails",
    "WebhookEvent",
    "WebhookEventType",
]


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
    raw: Mapping[str, Any] = RAW


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
    raw: Mapping[str, Any] = RAW


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
    raw: Mapping[str, Any] = RAW
