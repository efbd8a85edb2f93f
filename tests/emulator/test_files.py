"""Files: upload, retrieve, download, delete, expiry and cursor pagination."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from conftest import Api, chat

from openai_batches.emulator import Emulator, ManualClock
from openai_batches.emulator._index import SortedIds

T0 = 1_700_000_000


async def test_upload_retrieve_download_delete(api: Api) -> None:
    data = b'{"a": 1}\n' * 1000
    created = await api.upload(data, filename="input.jsonl")
    assert created["id"].startswith("file-")
    assert created["object"] == "file"
    assert created["bytes"] == len(data)
    assert created["filename"] == "input.jsonl"
    assert created["purpose"] == "batch"
    assert created["created_at"] == T0
    assert created["expires_at"] == T0 + 30 * 86400  # batch files expire after 30 days
    assert await api.get(f"/files/{created['id']}") == created

    async with api.session.get(f"{api.base}/files/{created['id']}/content") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Length"] == str(len(data))
        assert await response.read() == data

    deleted = await api.delete(f"/files/{created['id']}")
    assert deleted == {"id": created["id"], "object": "file", "deleted": True}
    error = await api.get(f"/files/{created['id']}", expect=404)
    assert created["id"] in error["error"]["message"]
    await api.delete(f"/files/{created['id']}", expect=404)
    await api.get(f"/files/{created['id']}/content", expect=404)


async def test_other_purposes_do_not_expire_by_default(api: Api) -> None:
    created = await api.upload(b"hello", purpose="user_data", filename="notes.txt")
    assert created["expires_at"] is None


EXPIRES_IN_AN_HOUR: dict[str, Any] = {
    "expires_after[anchor]": "created_at",
    "expires_after[seconds]": 3600,
}


async def test_expires_after_deletes_the_file(api: Api, clock: ManualClock) -> None:
    created = await api.upload(
        b"x",
        purpose="user_data",
        filename="a.txt",
        **EXPIRES_IN_AN_HOUR,
    )
    assert created["expires_at"] == T0 + 3600
    clock.advance(3599)
    await api.get(f"/files/{created['id']}")
    clock.advance(1)
    await api.get(f"/files/{created['id']}", expect=404)
    assert (await api.get("/files"))["data"] == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"purpose": "fine-tune-results"}, "purpose"),
        ({"purpose": "batch", "filename": "input.csv"}, "file"),
        (
            {"expires_after[anchor]": "created_at", "expires_after[seconds]": 60},
            "expires_after.seconds",
        ),
        ({"expires_after[anchor]": "now", "expires_after[seconds]": 3600}, "expires_after.anchor"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_upload_rejects_bad_fields(api: Api, kwargs: dict[str, Any], param: str) -> None:
    error = await api.upload(b"{}\n", expect=400, **kwargs)
    assert error["error"]["param"] == param
    assert (await api.get("/files"))["data"] == []


async def test_upload_needs_file_and_purpose(api: Api) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("purpose", "batch")
    error = await api.post("/files", data=form, expect=400)
    assert error["error"]["param"] == "file"
    form = aiohttp.FormData()
    form.add_field("file", b"x", filename="a.jsonl")
    error = await api.post("/files", data=form, expect=400)
    assert error["error"]["param"] == "purpose"
    error = await api.post("/files", json={"purpose": "batch"}, expect=400)
    assert "Content-Type" in error["error"]["message"]


async def test_evals_purpose_is_accepted(api: Api) -> None:
    assert (await api.upload(b"{}\n", purpose="evals"))["purpose"] == "evals"


def seed(
    emu: Emulator, count: int, *, purpose: str = "batch", same_second: bool = True
) -> list[str]:
    """Seed files; return their ids oldest first."""
    ids = []
    for i in range(count):
        created_at = T0 if same_second else T0 + i
        ids.append(emu.store.put_file(f"f{i}.jsonl", purpose, b"{}\n", created_at=created_at)["id"])
    return ids


async def walk(api: Api, path: str, **params: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        query = dict(params)
        if after is not None:
            query["after"] = after
        page = await api.get(path, params=query)
        ids = [item["id"] for item in page["data"]]
        if ids:
            assert page["first_id"] == ids[0]
            assert page["last_id"] == ids[-1]
        seen.extend(ids)
        if not page["has_more"]:
            return seen
        after = page["last_id"]


@pytest.mark.parametrize("same_second", [True, False])
async def test_files_are_listed_newest_first_with_stable_ties(
    api: Api, emu: Emulator, same_second: bool
) -> None:
    ids = seed(emu, 250, same_second=same_second)
    assert await walk(api, "/files", limit=7) == ids[::-1]
    assert await walk(api, "/files", limit=7, order="asc") == ids
    assert await walk(api, "/files", order="desc", limit=10000) == ids[::-1]
    page = await api.get("/files")
    assert len(page["data"]) == 250
    assert page["has_more"] is False


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"order": "asc", "limit": "3"},
        {"order": "desc", "limit": "2", "after": 4},
        {"purpose": "user_data"},
        {"purpose": "no-such-purpose"},
        {"order": "asc", "after": -1},
    ],
)
async def test_listed_files_are_the_store_s_page(
    api: Api, emu: Emulator, query: dict[str, Any]
) -> None:
    """The route joins each file's JSON, encoded once; it answers what the store lists."""
    ids = seed(emu, 5) + seed(emu, 2, purpose="user_data")
    ids = [emu.store.put_file("été.jsonl", "batch", b"", created_at=T0)["id"], *ids]
    if "after" in query:
        query["after"] = ids[query["after"]]
    page = await api.get("/files", params=query)
    params = {**query, "limit": int(query.get("limit", 10_000))}
    assert page == emu.store.list_files(**params)
    assert page == emu.store.list_files(**params)  # the cached encoding changes nothing


async def test_files_after_is_exclusive(api: Api, emu: Emulator) -> None:
    ids = seed(emu, 5, same_second=False)
    page = await api.get("/files", params={"after": ids[2], "limit": 1})
    assert [f["id"] for f in page["data"]] == [ids[1]]
    assert page["has_more"] is True
    page = await api.get("/files", params={"after": ids[2], "order": "asc"})
    assert [f["id"] for f in page["data"]] == ids[3:]
    assert page["has_more"] is False
    page = await api.get("/files", params={"after": ids[0]})
    # The document requires strings even on an empty page; api.get checks it too.
    assert page == {
        "object": "list",
        "data": [],
        "first_id": "",
        "last_id": "",
        "has_more": False,
    }


async def test_cursor_survives_deletion(api: Api, emu: Emulator) -> None:
    ids = seed(emu, 5, same_second=False)
    await api.delete(f"/files/{ids[2]}")
    page = await api.get("/files", params={"after": ids[2]})
    assert [f["id"] for f in page["data"]] == [ids[1], ids[0]]


async def test_purpose_filter(api: Api, emu: Emulator) -> None:
    batch_ids = seed(emu, 4, purpose="batch")
    other_ids = seed(emu, 3, purpose="user_data")
    page = await api.get("/files", params={"purpose": "user_data"})
    assert [f["id"] for f in page["data"]] == other_ids[::-1]
    assert await walk(api, "/files", purpose="batch", limit=3) == batch_ids[::-1]
    assert (await api.get("/files", params={"purpose": "no-such-purpose"}))["data"] == []


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"order": "newest"}, "order"),
        ({"after": "file-unknown"}, "after"),
    ],
)
async def test_list_files_rejects_bad_queries(api: Api, query: dict[str, str], param: str) -> None:
    error = await api.get("/files", params=query, expect=400)
    assert error["error"]["param"] == param


async def test_limit_bounds_are_inclusive(api: Api, emu: Emulator) -> None:
    seed(emu, 3)
    assert len((await api.get("/files", params={"limit": 1}))["data"]) == 1
    assert len((await api.get("/files", params={"limit": 10000}))["data"]) == 3


async def test_batches_are_listed_newest_first(api: Api, emu: Emulator) -> None:
    line = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "m", "input": "x"},
    }
    ids = [
        emu.store.put_batch([line], endpoint="/v1/embeddings", created_at=T0 + i % 3)["id"]
        for i in range(45)
    ]
    expected = sorted(ids, key=lambda i: (ids.index(i) % 3, ids.index(i)), reverse=True)
    first = await api.get("/batches")
    assert len(first["data"]) == 20  # default limit
    assert first["has_more"] is True
    assert [b["id"] for b in first["data"]] == expected[:20]
    assert await walk(api, "/batches", limit=100) == expected
    assert await walk(api, "/batches", limit=1) == expected


def test_index_pages_in_both_directions() -> None:
    index = SortedIds()
    keys = [(t, s) for s, t in enumerate([5, 1, 3, 3, 9])]
    for key in keys:
        index.add(key, f"id{key[1]}")
    assert index.page(None, 10, False) == (["id1", "id2", "id3", "id0", "id4"], False)
    assert index.page(None, 2, True) == (["id4", "id0"], True)
    assert index.page((3, 3), 10, True) == (["id2", "id1"], False)
    assert index.page((3, 2), 1, False) == (["id3"], True)
    index.remove((3, 3))
    assert index.page((3, 3), 10, False) == (["id0", "id4"], False)
    assert len(index) == 4


async def test_seeded_files_and_batches_can_have_chosen_ids(api: Api, emu: Emulator) -> None:
    line = chat("a", "hello")
    file = emu.store.put_file("notes.txt", "user_data", b"hi", file_id="file-abc123")
    source = emu.store.put_jsonl([line], file_id="file-abc")
    batch = emu.store.put_batch([line], batch_id="batch_abc123")

    assert (file["id"], source["id"], batch["id"]) == ("file-abc123", "file-abc", "batch_abc123")
    assert await api.get("/files/file-abc123") == file
    assert (await api.get("/batches/batch_abc123"))["input_file_id"] == batch["input_file_id"]
    refused = [
        lambda: emu.store.put_file("x.txt", "user_data", b"x", file_id="file-abc123"),
        lambda: emu.store.put_jsonl([line], file_id="file-abc"),
        lambda: emu.store.put_batch([line], batch_id="batch_abc123"),
        lambda: emu.store.put_batch([line], batch_id=""),
    ]
    for seed in refused:
        with pytest.raises(ValueError, match=r"already|non-empty"):
            seed()
    # A refused seed leaves nothing behind: the three files seeded above, no more.
    assert len(emu.store.list_files()["data"]) == 3
    assert len(emu.store.list_batches()["data"]) == 1
