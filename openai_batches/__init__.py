"""An asyncio client for the OpenAI Batch and Files APIs.

Everything public is importable from here; the ``_*`` modules are private.
"""

from ._batches import Batches
from ._client import Client
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OpenAIError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from ._files import Files
from ._models import (
    Batch,
    BatchError,
    BatchErrors,
    BatchRequestCounts,
    BatchStatus,
    BatchUsage,
    FileObject,
    FilePurpose,
    FileStatus,
    InputTokensDetails,
    OutputTokensDetails,
    Page,
)
from ._retry import RetryPolicy
from ._types import USE_CLIENT_DEFAULT, Timeout
from ._version import __version__

__all__ = [
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
    "BatchRequestCounts",
    "BatchStatus",
    "BatchUsage",
    "Batches",
    "Client",
    "ClientClosedError",
    "ConflictError",
    "FileObject",
    "FilePurpose",
    "FileStatus",
    "Files",
    "InputTokensDetails",
    "InternalServerError",
    "NotFoundError",
    "OpenAIError",
    "OutputTokensDetails",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "Timeout",
    "UnprocessableEntityError",
    "__version__",
]
