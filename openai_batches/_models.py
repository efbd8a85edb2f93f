"""The API's objects as attrs classes; field names are the API's.

Every optional field may be absent or ``null`` and is then ``None``. Timestamps stay the
API's unix seconds. Each decoded top-level object (:class:`Batch`, :class:`FileObject`,
:class:`Upload`) keeps the JSON it came from in ``raw``, so fields this version does not
know about are never lost. Enums are open: a value the API adds later decodes to an
instance of the enum that keeps its string and says ``.known is False``.

The classes are slotted and not frozen: decoding thousands of objects per page is the hot
path of a listing, and frozen attrs classes take about twice as long to build.

This module holds what every resource shares; the batches' models live in
``_batch_models``, the files' in ``_file_models``, the uploads' in ``_upload_models`` and
the webhook events' in ``_webhook_models``. Each module loads with the first name taken
from it (PEP 562), so a walk of the batches does not build the classes of the files or
of the events too: building an attrs class takes a fraction of a millisecond.
"""

from __future__ import annotations

import contextlib
import enum
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from ._batch_models import (
        Batch,
        BatchError,
        BatchErrors,
        BatchRequestCounts,
        BatchStatus,
        BatchUsage,
        InputTokensDetails,
        OutputTokensDetails,
    )
    from ._file_models import FileDeleted, FileObject, FilePurpose, FileStatus
    from ._upload_models import Upload, UploadPart, UploadStatus
    from ._webhook_models import BatchEvent, BatchEventData, WebhookEvent, WebhookEventType

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

#: The ``raw`` field of the top-level objects.
RAW: Any = attrs.field(default=_NO_RAW, repr=False, eq=False)

_LAZY = {
    **dict.fromkeys(
        [
            "Batch",
            "BatchError",
            "BatchErrors",
            "BatchRequestCounts",
            "BatchStatus",
            "BatchUsage",
            "InputTokensDetails",
            "OutputTokensDetails",
        ],
        "_batch_models",
    ),
    **dict.fromkeys(["FileDeleted", "FileObject", "FilePurpose", "FileStatus"], "_file_models"),
    **dict.fromkeys(["Upload", "UploadPart", "UploadStatus"], "_upload_models"),
    **dict.fromkeys(
        ["BatchEvent", "BatchEventData", "WebhookEvent", "WebhookEventType"], "_webhook_models"
    ),
}


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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    globals()[name] = value
    return value
