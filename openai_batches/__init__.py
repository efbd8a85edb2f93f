"""An asyncio client for the OpenAI Batch and Files APIs.

Everything public is importable from here; the ``_*`` modules are private.
"""

from ._batches import GENERATE_KEY, IDEMPOTENCY_METADATA_KEY, Batches
from ._client import Client
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchInputError,
    ClientClosedError,
    ConflictError,
    DownloadSizeError,
    InternalServerError,
    JSONLError,
    NotFoundError,
    OpenAIError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from ._files import Files
from ._jsonl import RequestWriter, Shard, encode_requests, iter_lines, iter_requests, write_requests
from ._lines import BatchRequest, BatchResult, ResultError, ResultFailure, ResultResponse
from ._models import (
    Batch,
    BatchError,
    BatchErrors,
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
)
from ._results import JoinSummary, ResultJoin
from ._retry import RetryPolicy
from ._types import USE_CLIENT_DEFAULT, Timeout
from ._uploads import Uploads
from ._version import __version__
from ._wait import Polling

__all__ = [
    "GENERATE_KEY",
    "IDEMPOTENCY_METADATA_KEY",
    "USE_CLIENT_DEFAULT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchInputError",
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
    "FileDeleted",
    "FileObject",
    "FilePurpose",
    "FileStatus",
    "Files",
    "InputTokensDetails",
    "InternalServerError",
    "JSONLError",
    "JoinSummary",
    "NotFoundError",
    "OpenAIError",
    "OutputTokensDetails",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "Polling",
    "RateLimitError",
    "RequestWriter",
    "ResponseValidationError",
    "ResultError",
    "ResultFailure",
    "ResultJoin",
    "ResultResponse",
    "RetryPolicy",
    "Shard",
    "Timeout",
    "UnprocessableEntityError",
    "Upload",
    "UploadPart",
    "UploadStatus",
    "Uploads",
    "WaitTimeoutError",
    "__version__",
    "encode_requests",
    "iter_lines",
    "iter_requests",
    "write_requests",
]
