"""Fixtures for the emulator's tests: a manual clock, a running emulator, and an HTTP session
that checks every JSON answer against the OpenAPI document.

The OpenAPI document is ``tests/spec/openai-batches-files.openapi.yaml``. The live-API
differences listed in ``tests/spec/README.md`` are applied to the schemas explicitly, and
nothing else:

* every optional property may also be ``null`` (the API sends ``null`` for unset timestamps,
  file ids, ``errors``, ``model``, ``expires_at``, ...);
* ``OpenAIFile.purpose`` also takes ``evals``, which uploads accept;
* ``/files/{file_id}/content`` answers raw bytes, not a JSON string.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import referencing
import referencing.jsonschema
import yaml

from openai_batches.emulator import Emulator, ManualClock

SPEC_PATH = Path(__file__).parents[1] / "spec" / "openai-batches-files.openapi.yaml"
SPEC_URI = "urn:openai-batches-files"


def _allow_null_optionals(schema: Any) -> None:
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict):
            required = set(schema.get("required", ()))
            for name, value in list(properties.items()):
                _allow_null_optionals(value)
                if name not in required:
                    properties[name] = {"anyOf": [value, {"type": "null"}]}
        for key, value in schema.items():
            if key != "properties":
                _allow_null_optionals(value)
    elif isinstance(schema, list):
        for item in schema:
            _allow_null_optionals(item)


def load_spec() -> dict[str, Any]:
    """Return the OpenAPI document with the documented live-API differences applied."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    patched = copy.deepcopy(spec)
    schemas = patched["components"]["schemas"]
    schemas["OpenAIFile"]["properties"]["purpose"]["enum"].append("evals")
    _allow_null_optionals(schemas)
    patched["$id"] = SPEC_URI
    return patched


class Spec:
    """Validates answers against the document's schemas."""

    def __init__(self) -> None:
        self.document = load_spec()
        resource = referencing.Resource.from_contents(
            self.document, default_specification=referencing.jsonschema.DRAFT202012
        )
        self.registry: referencing.Registry[Any] = resource @ referencing.Registry()
        self._operations: list[tuple[str, re.Pattern[str], str]] = []
        for template, item in self.document["paths"].items():
            pattern = re.compile("^/v1" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, operation in item.items():
                content = operation["responses"]["200"]["content"]
                ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                self._operations.append((method.upper(), pattern, ref))

    def validator(self, ref: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({"$ref": SPEC_URI + ref}, registry=self.registry)

    def check(self, name: str, instance: Any) -> None:
        """Validate *instance* against ``#/components/schemas/<name>``."""
        self.validator(f"#/components/schemas/{name}").validate(instance)

    def check_answer(self, method: str, path: str, status: int, body: Any) -> None:
        """Validate an answer: the operation's 200 schema, or ErrorResponse."""
        if status != 200:
            self.check("ErrorResponse", body)
            return
        for op_method, pattern, ref in self._operations:
            if op_method == method and pattern.match(path):
                assert ref, f"{method} {path} has no JSON schema"
                self.validator(ref).validate(body)
                return
        raise AssertionError(f"no operation in the document for {method} {path}")


SPEC = Spec()


class Api:
    """A small HTTP client for tests: asserts the status and validates every JSON answer."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        async with self.session.request(method, self.base + path, **kwargs) as response:
            raw = await response.read()
            assert response.headers.get("x-request-id", "").startswith("req_")
            assert response.status == expect, raw[:500]
            assert response.content_type == "application/json"
            body = json.loads(raw)
        SPEC.check_answer(method, response.url.path, response.status, body)
        return body

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.call("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.call("DELETE", path, **kwargs)

    async def content(self, file_id: str) -> bytes:
        async with self.session.get(f"{self.base}/files/{file_id}/content") as response:
            assert response.status == 200
            assert response.headers["x-request-id"].startswith("req_")
            data = await response.read()
            assert int(response.headers["Content-Length"]) == len(data)
            return data

    async def jsonl(self, file_id: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (await self.content(file_id)).splitlines()]

    async def upload(
        self,
        data: bytes,
        *,
        purpose: str = "batch",
        filename: str = "input.jsonl",
        expect: int = 200,
        **fields: Any,
    ) -> Any:
        form = aiohttp.FormData()
        form.add_field("purpose", purpose)
        for name, value in fields.items():
            form.add_field(name, str(value))
        form.add_field("file", data, filename=filename)
        return await self.post("/files", data=form, expect=expect)

    async def upload_lines(self, lines: Iterable[Any]) -> Any:
        return await self.upload(b"".join(encode_line(line) for line in lines))

    async def batch(
        self, lines: Iterable[Any], endpoint: str = "/v1/chat/completions", **kw: Any
    ) -> Any:
        source = await self.upload_lines(lines)
        body = {"input_file_id": source["id"], "endpoint": endpoint, "completion_window": "24h"}
        return await self.post("/batches", json={**body, **kw})


def encode_line(line: Any) -> bytes:
    return (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"


def chat(custom_id: str, text: str, model: str = "gpt-4o-mini") -> dict[str, Any]:
    """Return a chat-completions batch line."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}]},
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, seed=7) as emulator:
        yield emulator


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[Api]:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield Api(session, emu.url)
