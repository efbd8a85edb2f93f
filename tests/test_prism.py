"""The seed calls against Prism, an independent mock server of the OpenAPI document.

Prism answers with data generated from the document's schemas, so this checks the client
against the contract as someone else read it. It runs when Prism is installed
(``npm install @stoplight/prism-cli@5.14.2`` in the repository, as CI does) and is
skipped otherwise, except under ``CI=true`` where a missing Prism fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from openai_batches import Batch, Client, FileObject, Page

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "spec" / "openai-batches-files.openapi.yaml"

pytestmark = pytest.mark.prism


def _prism() -> str | None:
    local = ROOT / "node_modules" / ".bin" / "prism"
    return str(local) if local.exists() else shutil.which("prism")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def prism_url() -> AsyncIterator[str]:
    prism = _prism()
    if prism is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Prism is not installed; CI must install it")
        pytest.skip("Prism is not installed (npm install @stoplight/prism-cli@5.14.2)")
    port = _free_port()
    process = subprocess.Popen(
        [
            prism,
            "mock",
            "-d",
            "--seed",
            "42",
            "--json-schema-faker-fillProperties=false",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            str(SPEC),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # Prism takes a few seconds to parse the document
            if process.poll() is not None:
                pytest.fail(f"Prism exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)  # waiting for another process to listen, not for our code
        else:
            pytest.fail("Prism did not start listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def prism_client(prism_url: str) -> AsyncIterator[Client]:
    async with Client("sk-prism", base_url=prism_url, max_retries=0) as client:
        yield client


async def test_retrieve_batch(prism_client: Client) -> None:
    batch = await prism_client.batches.retrieve("batch_abc123")
    assert isinstance(batch, Batch)
    assert batch.object == "batch"
    assert isinstance(batch.status, str)


async def test_cancel_batch(prism_client: Client) -> None:
    batch = await prism_client.batches.cancel("batch_abc123")
    assert isinstance(batch, Batch)


async def test_list_batches_first_page(prism_client: Client) -> None:
    async with aclosing(prism_client.batches.pages(limit=5)) as pages:
        page = await anext(pages)
    assert isinstance(page, Page)
    assert all(isinstance(b, Batch) for b in page.data)


async def test_list_files_first_page(prism_client: Client) -> None:
    async with aclosing(prism_client.files.pages(purpose="batch", limit=5)) as pages:
        page = await anext(pages)
    assert all(isinstance(f, FileObject) for f in page.data)


async def test_prism_rejects_a_missing_key(prism_url: str) -> None:
    """Prism checks the document's bearer security: the client must send it."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{prism_url}/batches/x") as response,
    ):
        assert response.status == 401
