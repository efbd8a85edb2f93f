"""The aiohttp application: routes of the Batches, Files and Uploads API under ``/v1``
(under ``/openai`` and ``/openai/v1`` in Azure mode).

Middlewares, outermost first:

1. ``_record``: gives the request an id (sent back as ``x-request-id`` on every answer, by an
   ``on_response_prepare`` hook, so even faulty answers that send headers carry it), appends
   it to `EmulatorState.requests`, then waits `EmulatorState.latency` seconds (an
   ``asyncio.sleep``, so concurrent requests wait side by side, as over a real network).
2. ``_inject_faults``: applies the first matching `FaultRule`.
3. ``_api``: checks the bearer key, advances the store to the clock's now, runs the handler and
   turns `ApiError` and unknown routes into the API's error bodies. A client that goes away
   while its body is read (an aborted upload) is logged in one line at INFO on the
   ``openai_batches.emulator`` logger, not as a traceback.

Handlers only parse HTTP and call the `Store`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import attrs
from aiohttp import BodyPartReader, web

from ._errors import ApiError
from ._faults import FaultRule, Faults
from ._http import (
    BlobPayload,
    encoded_response,
    error_response,
    json_response,
    list_response,
    send_manipulated,
)
from ._store import (
    FILE_PURPOSES,
    MAX_BATCH_FILE_BYTES,
    MAX_FILE_BYTES,
    Store,
    check_expires_after,
)

__all__ = ["EmulatorState", "RecordedRequest", "make_app"]

log = logging.getLogger("openai_batches.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CHUNK = 256 * 1024

# The latency's wait; the tests replace it to see requests waiting side by side.
_sleep = asyncio.sleep


@attrs.frozen
class RecordedRequest:
    """A request the emulator received."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    request_id: str


@attrs.define
class EmulatorState:
    """Everything the routes share."""

    store: Store
    faults: Faults
    api_keys: Collection[str] | None = None
    requests: list[RecordedRequest] = attrs.Factory(list)
    latency: float = 0.0
    azure: bool = False
    azure_ad_tokens: Collection[str] | None = None


STATE = web.AppKey("state", EmulatorState)
_REQUEST_ID = web.RequestKey("request_id", str)


def _new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


# middlewares


@web.middleware
async def _record(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = _new_request_id()
    request[_REQUEST_ID] = request_id
    state = request.app[STATE]
    state.requests.append(
        RecordedRequest(
            request.method, request.path, dict(request.query), dict(request.headers), request_id
        )
    )
    if state.latency:
        await _sleep(state.latency)
    return await handler(request)


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["x-request-id"] = request.get(_REQUEST_ID) or _new_request_id()


def _fault_error(rule: FaultRule) -> web.Response:
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        value = rule.retry_after
        headers["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
    if rule.retry_after_ms is not None:
        headers["retry-after-ms"] = str(rule.retry_after_ms)
    if rule.status == 429:
        message = rule.message or "Rate limit reached for requests (injected fault)."
        error = ApiError(429, message, code="rate_limit_exceeded", type="requests")
    else:
        message = rule.message or (
            "The server had an error while processing your request. Sorry about that!"
            " (injected fault)"
        )
        error = ApiError(rule.status, message)
    return error_response(error, headers)


def _reset(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    # aiohttp fails to write this to the aborted transport and drops it quietly.
    return web.Response(status=500)


@web.middleware
async def _inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    rule = request.app[STATE].faults.pick(request.method, request.path)
    if rule is None:
        return await handler(request)
    if rule.kind == "slow_body":
        response = await handler(request)
        return await send_manipulated(
            request, response, chunk_size=rule.chunk_size, delay=rule.delay
        )
    if rule.kind == "truncate":
        response = await handler(request)
        return await send_manipulated(request, response, truncate=True, keep=rule.keep)
    if rule.after:
        response = await handler(request)
        if rule.kind == "delay":
            await asyncio.sleep(rule.delay)
            return response
    elif rule.kind == "delay":
        await asyncio.sleep(rule.delay)
        return await handler(request)
    if rule.kind == "reset":
        return _reset(request)
    return _fault_error(rule)


_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)


def _check_auth(request: web.Request, api_keys: Collection[str] | None) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, _MISSING_KEY)
    if api_keys is not None and key not in api_keys:
        shown = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 7 else "***"
        raise ApiError(
            401,
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


# Azure OpenAI's answers where it differs from OpenAI's.
_AZURE_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API endpoint "
    "for your resource."
)
# Azure OpenAI keeps a file 14 to 30 days when asked to expire it.
AZURE_MIN_EXPIRES_AFTER = 14 * 86400
AZURE_MAX_EXPIRES_AFTER = 30 * 86400
_AZURE_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")


def _check_azure(request: web.Request, state: EmulatorState) -> None:
    """Check the api-version and the credential as Azure OpenAI does.

    Paths under ``/openai/v1/`` need no api-version; the others need a dated one. The
    credential is an ``api-key`` header or an Entra ID bearer token.
    """
    if not request.path.startswith("/openai/v1/"):
        version = request.query.get("api-version")
        if not version:
            raise ApiError(
                400,
                "The api-version query parameter (?api-version=) is required for all requests.",
                code="MissingApiVersionParameter",
            )
        if not _AZURE_VERSION.fullmatch(version):
            raise ApiError(404, "Resource not found", code="404")
    key = request.headers.get("api-key")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if key:
        accepted = state.api_keys is None or key in state.api_keys
    elif scheme.lower() == "bearer" and token:
        accepted = state.azure_ad_tokens is None or token in state.azure_ad_tokens
    else:
        accepted = False
    if not accepted:
        raise ApiError(401, _AZURE_DENIED, code="401")


@web.middleware
async def _api(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        if request.match_info.http_exception is not None:
            if state.azure:
                raise ApiError(404, "Resource not found", code="404")
            raise ApiError(404, f"Invalid URL ({request.method} {request.path})")
        if state.azure:
            _check_azure(request, state)
        else:
            _check_auth(request, state.api_keys)
        state.store.advance()
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except ConnectionResetError as error:
        # The client closed the connection before its body was read: an aborted upload.
        # Nobody is left to answer; the handler has already discarded what it stored.
        log.info("%s %s: the client went away (%s)", request.method, request.path, error)
        if request.transport is not None:
            request.transport.abort()
        # aiohttp fails to write this to the closed transport and drops it quietly.
        return web.Response(status=400)


# request parsing


async def _json_body(request: web.Request, allowed: Collection[str]) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    for name in body:
        if name not in allowed:
            raise ApiError(400, f"Unrecognized request argument supplied: {name}", param=name)
    return body


def _required(body: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name not in body:
            raise ApiError.missing(name)


def _limit(request: web.Request, default: int, maximum: int) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError.invalid(
            "limit",
            f"Invalid 'limit': expected an integer, but got '{raw}' instead.",
            "invalid_type",
        ) from None
    if value < 1:
        raise ApiError.invalid(
            "limit",
            "Invalid 'limit': integer below minimum value. "
            f"Expected a value >= 1, but got {value} instead.",
            "integer_below_min_value",
        )
    if value > maximum:
        raise ApiError.invalid(
            "limit",
            "Invalid 'limit': integer above maximum value. "
            f"Expected a value <= {maximum}, but got {value} instead.",
            "integer_above_max_value",
        )
    return value


# routes

routes = web.RouteTableDef()


def _store(request: web.Request) -> Store:
    return request.app[STATE].store


@routes.post("/v1/batches")
async def create_batch(request: web.Request) -> web.StreamResponse:
    body = await _json_body(
        request,
        ("input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after"),
    )
    _required(body, "input_file_id", "endpoint", "completion_window")
    batch = _store(request).create_batch(
        body["input_file_id"],
        body["endpoint"],
        body["completion_window"],
        body.get("metadata"),
        body.get("output_expires_after"),
    )
    return json_response(batch)


@routes.get("/v1/batches")
async def list_batches(request: web.Request) -> web.StreamResponse:
    limit = _limit(request, 20, 100)
    batches, has_more = _store(request).batch_page(limit=limit, after=request.query.get("after"))
    return list_response(
        [batch.encoded() for batch in batches],
        batches[0].id if batches else None,
        batches[-1].id if batches else None,
        has_more,
    )


@routes.get("/v1/batches/{batch_id}")
async def retrieve_batch(request: web.Request) -> web.StreamResponse:
    return encoded_response(_store(request).batch(request.match_info["batch_id"]).encoded())


@routes.post("/v1/batches/{batch_id}/cancel")
async def cancel_batch(request: web.Request) -> web.StreamResponse:
    return json_response(_store(request).cancel_batch(request.match_info["batch_id"]))


async def _read_text(part: BodyPartReader) -> str:
    return (await part.read(decode=False)).decode()


@routes.post("/v1/files")
async def create_file(request: web.Request) -> web.StreamResponse:
    store = _store(request)
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "Invalid Content-Type header: expected multipart/form-data.")
    fields: dict[str, str] = {}
    writer = None
    filename = "upload"
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, "Nested multipart bodies are not supported.")
            name = part.name or ""
            if name == "file":
                filename = part.filename or filename
                writer = store.writer()
                while chunk := await part.read_chunk(_CHUNK):
                    writer.write(chunk)
                    if writer.size > MAX_FILE_BYTES:
                        raise ApiError.invalid("file", "File is too large; the limit is 512 MB.")
            elif name in ("purpose", "expires_after[anchor]", "expires_after[seconds]"):
                fields[name] = await _read_text(part)
            else:
                raise ApiError(400, f"Unrecognized request argument supplied: {name}", param=name)
        if writer is None:
            raise ApiError.missing("file")
        if "purpose" not in fields:
            raise ApiError.missing("purpose")
        purpose = fields["purpose"]
        if purpose not in FILE_PURPOSES:
            raise ApiError.invalid(
                "purpose",
                f"Invalid value for 'purpose': '{purpose}'. Supported values are: "
                + ", ".join(f"'{p}'" for p in FILE_PURPOSES)
                + ".",
            )
        if purpose == "batch":
            if not filename.endswith(".jsonl"):
                raise ApiError.invalid("file", "Invalid file format for Batch API. Must be .jsonl")
            if writer.size > MAX_BATCH_FILE_BYTES:
                raise ApiError.invalid("file", "Batch input files are limited to 200 MB.")
        expires_after = None
        if "expires_after[anchor]" in fields or "expires_after[seconds]" in fields:
            expires_after = check_expires_after(
                {
                    "anchor": fields.get("expires_after[anchor]"),
                    "seconds": fields.get("expires_after[seconds]"),
                },
                "expires_after",
            )
            if request.app[STATE].azure and not (
                AZURE_MIN_EXPIRES_AFTER <= (expires_after or 0) <= AZURE_MAX_EXPIRES_AFTER
            ):
                raise ApiError.invalid(
                    "expires_after.seconds",
                    "Invalid value for 'expires_after.seconds': it must be between "
                    f"{AZURE_MIN_EXPIRES_AFTER} and {AZURE_MAX_EXPIRES_AFTER} (14 to 30 days).",
                )
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    record = store.add_file(
        filename, purpose, writer.close(), expires_after=expires_after, uploaded=True
    )
    return json_response(record.to_json())


@routes.get("/v1/files")
async def list_files(request: web.Request) -> web.StreamResponse:
    limit = _limit(request, 10_000, 10_000)
    order = request.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError.invalid(
            "order",
            f"Invalid value for 'order': '{order}'. Supported values are: 'asc' and 'desc'.",
        )
    records, has_more = _store(request).file_page(
        purpose=request.query.get("purpose"),
        limit=limit,
        order=order,
        after=request.query.get("after"),
    )
    return list_response(
        [record.encoded() for record in records],
        records[0].id if records else "",  # strings, as the document requires (Store.list_files)
        records[-1].id if records else "",
        has_more,
    )


@routes.get("/v1/files/{file_id}")
async def retrieve_file(request: web.Request) -> web.StreamResponse:
    return json_response(_store(request).file(request.match_info["file_id"]).to_json())


@routes.delete("/v1/files/{file_id}")
async def delete_file(request: web.Request) -> web.StreamResponse:
    return json_response(_store(request).delete_file(request.match_info["file_id"]))


@routes.get("/v1/files/{file_id}/content")
async def file_content(request: web.Request) -> web.StreamResponse:
    record = _store(request).file(request.match_info["file_id"])
    return web.Response(body=BlobPayload(record.blob))


@routes.post("/v1/uploads")
async def create_upload(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request, ("filename", "purpose", "bytes", "mime_type", "expires_after"))
    _required(body, "filename", "purpose", "bytes", "mime_type")
    upload = _store(request).create_upload(
        body["filename"],
        body["purpose"],
        body["bytes"],
        body["mime_type"],
        body.get("expires_after"),
    )
    return json_response(upload)


@routes.post("/v1/uploads/{upload_id}/parts")
async def add_upload_part(request: web.Request) -> web.StreamResponse:
    store = _store(request)
    upload_id = request.match_info["upload_id"]
    store.upload(upload_id)  # 404 before reading the body
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "Invalid Content-Type header: expected multipart/form-data.")
    writer = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "data":
                name = getattr(part, "name", None) or ""
                raise ApiError(400, f"Unrecognized request argument supplied: {name}", param=name)
            writer = store.writer()
            while chunk := await part.read_chunk(_CHUNK):
                writer.write(chunk)
        if writer is None:
            raise ApiError.missing("data")
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return json_response(store.add_part(upload_id, writer.close()))


@routes.post("/v1/uploads/{upload_id}/complete")
async def complete_upload(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request, ("part_ids", "md5"))
    _required(body, "part_ids")
    upload = _store(request).complete_upload(
        request.match_info["upload_id"], body["part_ids"], body.get("md5")
    )
    return json_response(upload)


@routes.post("/v1/uploads/{upload_id}/cancel")
async def cancel_upload(request: web.Request) -> web.StreamResponse:
    return json_response(_store(request).cancel_upload(request.match_info["upload_id"]))


def make_app(state: EmulatorState) -> web.Application:
    """Return the emulator application serving *state*."""
    app = web.Application(middlewares=[_record, _inject_faults, _api], client_max_size=64 * 1024**2)
    app[STATE] = state
    if state.azure:
        # Azure serves the same API under /openai (with api-version) and /openai/v1.
        for route in routes:
            assert isinstance(route, web.RouteDef)
            tail = route.path.removeprefix("/v1")
            for prefix in ("/openai", "/openai/v1"):
                app.router.add_route(route.method, prefix + tail, route.handler)
    else:
        app.add_routes(routes)
    app.on_response_prepare.append(_add_request_id)
    return app
