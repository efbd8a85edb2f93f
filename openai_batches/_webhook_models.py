"""The webhook events' models (see ``_models``): built when events are first decoded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._models import RAW, OpenEnum, _Model

__all__ = ["BatchEvent", "BatchEventData", "WebhookEvent", "WebhookEventType"]


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
