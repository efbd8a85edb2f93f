"""An asyncio client for the OpenAI Batch and Files APIs.

Everything public is importable from here; the ``_*`` modules are private. Only the
client, its configuration and the errors load with the package; the models, the
resources and the line tools load on first use (PEP 562), which keeps this import close
to the cost of importing aiohttp alone.
"""

from typing import TYPE_CHECKING, Any

from ._capture import ResponseInfo, capture_responses
from ._client import Client
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchInputError,
    ClientClosedError,
    ConflictError,
    DownloadSizeError,
    InsufficientQuotaError,
    InternalServerError,
    InvalidWebhookSignatureError,
    JobStateError,
    JSONLError,
    NotFoundError,
    OpenAIError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from ._events import Event, OnEvent, PageEvent, PollEvent, RequestEvent, RetryEvent
from ._options import Extra
from ._retry import RetryPolicy
from ._types import USE_CLIENT_DEFAULT, Timeout
from ._version import __version__

__all__ = [
    "GENERATE_KEY",
    "IDEMPOTENCY_METADATA_KEY",
    "USE_CLIENT_DEFAULT",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchEvent",
    "BatchEventData",
    "BatchEvents",
    "BatchInputError",
    "BatchInputSummary",
    "BatchRequest",
    "BatchRequestCounts",
    "BatchResult",
    "BatchStatus",
    "BatchUsage",
    "Batches",
    "Client",
    "ClientClosedError",
    "ConflictError",
    "DownloadSizeError",
    "Event",
    "Extra",
    "FileDeleted",
    "FileObject",
    "FilePurpose",
    "FileStatus",
    "Files",
    "InputTokensDetails",
    "InsufficientQuotaError",
    "InternalServerError",
    "InvalidWebhookSignatureError",
    "JSONLError",
    "JobLimits",
    "JobProgress",
    "JobReport",
    "JobStateError",
    "Jobs",
    "JoinSummary",
    "NotFoundError",
    "OnEvent",
    "OpenAIError",
    "OutputTokensDetails",
    "Page",
    "PageEvent",
    "PaginationError",
    "PermissionDeniedError",
    "PollEvent",
    "Polling",
    "RateLimitError",
    "RedirectError",
    "RequestEvent",
    "RequestWriter",
    "ResponseInfo",
    "ResponseValidationError",
    "ResultError",
    "ResultFailure",
    "ResultJoin",
    "ResultResponse",
    "RetryEvent",
    "RetryPolicy",
    "Shard",
    "Timeout",
    "UnprocessableEntityError",
    "Upload",
    "UploadPart",
    "UploadStatus",
    "Uploads",
    "WaitTimeoutError",
    "WebhookEvent",
    "WebhookEventType",
    "Webhooks",
    "__version__",
    "capture_responses",
    "check_batch_input",
    "concurrent_map",
    "encode_requests",
    "iter_lines",
    "iter_requests",
    "job_status",
    "merge",
    "write_requests",
]

_LAZY = {
    "GENERATE_KEY": "_batches",
    "IDEMPOTENCY_METADATA_KEY": "_batches",
    "Batches": "_batches",
    "Files": "_files",
    "Uploads": "_uploads",
    "Polling": "_wait",
    "BatchEvents": "_webhooks",
    "Webhooks": "_webhooks",
    **dict.fromkeys(
        [
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
        ],
        "_models",
    ),
    "BatchRequest": "_lines",
    "BatchResult": "_lines",
    "ResultError": "_lines",
    "ResultFailure": "_lines",
    "ResultResponse": "_lines",
    "BatchInputSummary": "_check",
    "check_batch_input": "_check",
    "RequestWriter": "_jsonl",
    "Shard": "_jsonl",
    "encode_requests": "_jsonl",
    "iter_lines": "_jsonl",
    "iter_requests": "_jsonl",
    "write_requests": "_jsonl",
    "JoinSummary": "_results",
    "ResultJoin": "_results",
    "JobLimits": "_jobs",
    "JobProgress": "_jobs",
    "JobReport": "_jobs",
    "Jobs": "_jobs",
    "job_status": "_jobs",
    "concurrent_map": "_concurrency",
    "merge": "_concurrency",
}

if TYPE_CHECKING:
    from ._batches import GENERATE_KEY, IDEMPOTENCY_METADATA_KEY, Batches
    from ._check import BatchInputSummary, check_batch_input
    from ._concurrency import concurrent_map, merge
    from ._files import Files
    from ._jobs import JobLimits, JobProgress, JobReport, Jobs, job_status
    from ._jsonl import (
        RequestWriter,
        Shard,
        encode_requests,
        iter_lines,
        iter_requests,
        write_requests,
    )
    from ._lines import BatchRequest, BatchResult, ResultError, ResultFailure, ResultResponse
    from ._models import (
        Batch,
        BatchError,
        BatchErrors,
        BatchEvent,
        BatchEventData,
        BatchRequestCounts,
        BatchStatus,
        BatchUsage,
        FileDeleted,
        FileObject,
        FilePurpose,
        FileStatus,
        InputTokensDetails,
        OutputTokensDetails,
        Page,
        Upload,
        UploadPart,
        UploadStatus,
        WebhookEvent,
        WebhookEventType,
    )
    from ._results import JoinSummary, ResultJoin
    from ._uploads import Uploads
    from ._wait import Polling
    from ._webhooks import BatchEvents, Webhooks


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
