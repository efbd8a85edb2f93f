"""The batches' models (see ``_models``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._models import RAW, OpenEnum, _Model

__all__ = [
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchRequestCounts",
    "BatchStatus",
    "BatchUsage",
    "InputTokensDetails",
    "OutputTokensDetails",
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
