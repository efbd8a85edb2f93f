"""An embedded emulator of the OpenAI Batches, Files and Uploads API, for tests and benchmarks.

It is an independent server implementation written from the OpenAPI document (it shares no code
with the client), so each side catches the other's mistakes::

    from openai_batches.emulator import Emulator, ManualClock

    async with Emulator(clock=ManualClock()) as emu:
        async with emu.client() as client:
            ...
        emu.clock.advance(3600)

Batch lines are answered deterministically (``"echo: <last user message>"``; tokens are
whitespace-separated words). Markers in any string of a request body change that:
``[[fail:NNN]]`` answers status NNN with an error body (the line goes to the error file),
``[[flaky:NNN:K]]`` does so only for the first K runs of the line's ``custom_id``,
``[[error:CODE]]`` gives ``response: null`` and ``error.code`` CODE, ``[[size:N]]`` pads the
generated text to about N bytes (``k``/``m``/``g`` suffixes allowed).

Modules: ``_clock`` (time), ``_store`` (state and API rules), ``_lifecycle`` (batch states as
a function of time, input validation), ``_responses`` (generated answers), ``_index`` (cursor
pagination), ``_blobs`` (memory or disk storage), ``_faults`` (fault injection), ``_app`` and
``_http`` (aiohttp routes and middlewares), ``_runner`` (`Emulator`), ``_cli`` (the command),
``_plugin`` (pytest fixtures), ``_webhooks`` (signed batch events sent to a URL).

With ``webhook_url=`` (and ``webhook_secret=``), a batch that reaches a final status is
announced by a signed ``batch.completed``, ``batch.failed``, ``batch.expired`` or
``batch.cancelled`` event, as OpenAI's webhooks do; ``await emu.deliver_webhooks()`` sends
what is due at once, for tests on a `ManualClock`.

With ``azure=True`` it answers as Azure OpenAI does (paths under ``/openai``, the
``api-version`` query parameter, the ``api-key`` header or an Entra ID bearer token), for
clients made by ``Client.azure``.
"""

from ._app import RecordedRequest
from ._cli import add_arguments, main, run
from ._clock import Clock, ManualClock, SystemClock
from ._errors import ApiError
from ._faults import FaultKind, FaultRule, Faults
from ._lifecycle import Timing
from ._responses import SUPPORTED_ENDPOINTS, count_tokens
from ._runner import AZURE_API_VERSION, DEFAULT_API_KEY, Emulator
from ._store import Store
from ._webhooks import WebhookDelivery

__all__ = [
    "AZURE_API_VERSION",
    "DEFAULT_API_KEY",
    "SUPPORTED_ENDPOINTS",
    "ApiError",
    "Clock",
    "Emulator",
    "FaultKind",
    "FaultRule",
    "Faults",
    "ManualClock",
    "RecordedRequest",
    "Store",
    "SystemClock",
    "Timing",
    "WebhookDelivery",
    "add_arguments",
    "count_tokens",
    "main",
    "run",
]
