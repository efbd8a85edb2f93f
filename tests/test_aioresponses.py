"""The seed calls with aioresponses mocking aiohttp, where aioresponses works.

aioresponses 0.7.9 cannot build responses on aiohttp 3.14 (``ClientResponse.__init__()
missing ... 'stream_writer'``, upstream aioresponses #289), and this library supports the
newest aiohttp, so these tests run only where a probe shows aioresponses working; the
transport itself is tested against a real loopback server in test_client.py.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from openai_batches import Client, NotFoundError
from tests.conftest import sample

aioresponses_module = pytest.importorskip("aioresponses")


def _aioresponses_works() -> bool:
    import aiohttp

    async def probe() -> bool:
        with aioresponses_module.aioresponses() as mocked:
            mocked.get("http://probe.test/", payload={})
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.get("http://probe.test/") as response:
                        return response.status == 200
                except TypeError:
                    return False

    return asyncio.run(probe())


pytestmark = pytest.mark.skipif(
    not _aioresponses_works(),
    reason="aioresponses cannot build responses on this aiohttp (aioresponses #289)",
)

BASE = "https://api.test/v1"


async def test_retrieve_and_cancel() -> None:
    with aioresponses_module.aioresponses() as mocked:
        mocked.get(f"{BASE}/batches/batch_abc123", payload=sample("batch_object_example"))
        mocked.post(f"{BASE}/batches/batch_abc123/cancel", payload=sample("batch_cancel_example"))
        async with Client("sk", base_url=BASE) as client:
            assert (await client.batches.retrieve("batch_abc123")).status == "completed"
            assert (await client.batches.cancel("batch_abc123")).status == "cancelling"


async def test_list_batches_and_files() -> None:
    with aioresponses_module.aioresponses() as mocked:
        mocked.get(re.compile(rf"{BASE}/batches\?.*"), payload=sample("list_batches_no_cursors"))
        mocked.get(re.compile(rf"{BASE}/files\?.*"), payload=sample("list_files_example"))
        async with Client("sk", base_url=BASE) as client:
            assert [b.id async for b in client.batches.list()] == ["batch_new", "batch_failed"]
            assert len([f async for f in client.files.list()]) == 2


async def test_not_found() -> None:
    with aioresponses_module.aioresponses() as mocked:
        mocked.get(f"{BASE}/batches/x", status=404, payload={"error": {"message": "nope"}})
        async with Client("sk", base_url=BASE, max_retries=0) as client:
            with pytest.raises(NotFoundError, match="nope"):
                await client.batches.retrieve("x")
