"""The public namespace: everything exported, sorted, and nothing private leaking."""

from __future__ import annotations

import inspect

import openai_batches


def test_all_is_sorted_and_unique() -> None:
    names = openai_batches.__all__
    assert len(names) == len(set(names))
    # ruff's order (RUF022): CONSTANTS, then Classes, then everything else.
    constants = [n for n in names if n.isupper()]
    classes = [n for n in names if n[0].isupper() and not n.isupper()]
    rest = [n for n in names if not n[0].isupper()]
    assert names == sorted(constants) + sorted(classes) + sorted(rest)


def test_every_public_name_is_exported() -> None:
    defined = {
        name
        for name, value in vars(openai_batches).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith("openai_batches.")
    }
    assert defined <= set(openai_batches.__all__)


def test_every_exported_name_exists_and_comes_from_a_private_module() -> None:
    for name in openai_batches.__all__:
        value = getattr(openai_batches, name)
        module = getattr(value, "__module__", "openai_batches._x")
        if inspect.isclass(value):
            assert module.startswith("openai_batches._"), name


def test_errors_share_one_root() -> None:
    for name in openai_batches.__all__:
        value = getattr(openai_batches, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, openai_batches.OpenAIError), name


FIRST_USE = """
import asyncio, json, sys

beats = 0  # turns of the event loop so far
at_import = {}

class Spy:  # records how many turns the loop had made when a module began to load
    def find_spec(self, name, path=None, target=None):
        at_import.setdefault(name, beats)

sys.meta_path.insert(0, Spy())

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in
                  ("openai_batches", "cattrs", "orjson", "attrs", "attr"))

import openai_batches
stages = {"import": loaded()}

from aiohttp import web

FILE = {"id": "file-1", "object": "file", "bytes": 1, "created_at": 1, "filename": "a",
        "purpose": "batch"}

async def main():
    global beats

    async def heartbeat():
        global beats
        while True:
            beats += 1
            await asyncio.sleep(0)

    async def files(request):
        stages["loading when the request arrived"] = "orjson" in at_import
        return web.json_response({"object": "list", "data": [FILE], "has_more": False})

    app = web.Application()
    app.router.add_get("/v1/files", files)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = openai_batches.Client("sk-test", base_url=f"http://127.0.0.1:{port}/v1")
    client.batches
    stages["batches"] = loaded()
    client.files
    stages["files"] = loaded()
    beat = asyncio.create_task(heartbeat())
    stages["walked"] = [f.id async for f in client.files.list()]
    beat.cancel()
    await client.close()
    await runner.cleanup()

asyncio.run(main())
stages["at import"] = [at_import.get(m) for m in ("orjson", "cattrs", "openai_batches._converter")]
print(json.dumps(stages))
"""


def test_first_use_loads_only_what_it_needs_and_the_decoding_beside_the_request() -> None:
    """``import openai_batches`` leaves the models, resources and parsers for later; the
    first ``client.batches`` loads the batches alone; the first walk loads orjson, cattrs
    and the converter while its request is out, letting the loop run between them."""
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", FIRST_USE], check=True, capture_output=True, text=True
    ).stdout
    stages = json.loads(out)
    imported = set(stages["import"])
    assert "openai_batches._client" in imported
    for later in (
        "_models",
        "_batches",
        "_files",
        "_uploads",
        "_converter",
        "_jsonl",
        "_concurrency",
        "_many",
        "_webhooks",
        "testing",
    ):
        assert f"openai_batches.{later}" not in imported
    assert not {"cattrs", "orjson"} & imported

    batches = set(stages["batches"]) - imported
    assert {"openai_batches._batches", "openai_batches._batch_models"} <= batches
    # Only what a walk needs: the helpers of other methods load on their first call.
    for later in (
        "_files",
        "_uploads",
        "_file_models",
        "_upload_models",
        "_webhook_models",
        "_converter",
        "_hooks",
        "_results",
        "_filters",
        "_many",
        "_concurrency",
        "_wait",
        "_expiry",
    ):
        assert f"openai_batches.{later}" not in batches
    assert not {"cattrs", "orjson"} & batches

    files = set(stages["files"]) - set(stages["batches"])
    assert {"openai_batches._files", "openai_batches._file_models"} <= files
    assert not {"cattrs", "orjson", "openai_batches._converter"} & files
    for later in ("_uploads", "_upload_models", "_sources", "_scan", "_filters", "_many"):
        assert f"openai_batches.{later}" not in files

    assert stages["walked"] == ["file-1"]
    assert stages["loading when the request arrived"]
    orjson, cattrs, converter = stages["at import"]
    assert orjson < cattrs < converter  # the loop turned between one import and the next


def test_the_files_never_load_the_batches_models() -> None:
    """``client.files`` and ``client.uploads``, and structuring their models, leave the
    batches' and webhook events' models unbuilt."""
    import subprocess
    import sys

    code = (
        "import sys, openai_batches\n"
        "from openai_batches._converter import structure_hook\n"
        "client = openai_batches.Client('sk-test')\n"
        "client.files, client.uploads\n"
        "structure_hook(openai_batches.Page[openai_batches.FileObject])\n"
        "structure_hook(openai_batches.Upload)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('openai_batches'))))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert {"openai_batches._file_models", "openai_batches._hooks"} <= loaded
    assert "openai_batches._batch_models" not in loaded
    assert "openai_batches._webhook_models" not in loaded


def test_resources_are_built_once_on_first_use() -> None:
    client = openai_batches.Client("sk-test")
    assert client.batches is client.batches
    assert client.files is client.files
    assert client.uploads is client.uploads
    assert client.webhooks is client.webhooks
    assert type(client.batches).__name__ == "Batches"


# The HTTP errors openai-python has, which this library promises under the same names.
OPENAI_PYTHON_ERRORS = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "OpenAIError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
]


def test_errors_have_openai_pythons_names_and_tree() -> None:
    import openai

    for name in OPENAI_PYTHON_ERRORS:
        assert name in openai_batches.__all__, name
        for parent in OPENAI_PYTHON_ERRORS:
            ours = issubclass(getattr(openai_batches, name), getattr(openai_batches, parent))
            theirs = issubclass(getattr(openai, name), getattr(openai, parent))
            assert ours == theirs, (name, parent)


def test_response_validation_error_is_an_alias_of_the_openai_python_name() -> None:
    from openai_batches import APIResponseValidationError, ResponseValidationError

    assert ResponseValidationError is APIResponseValidationError
    assert APIResponseValidationError.__name__ == "APIResponseValidationError"
    assert "ResponseValidationError" in openai_batches.__all__


def _documented() -> dict[str, str]:
    """The docstrings of every public object, and of the public methods of public classes."""
    docs: dict[str, str] = {}
    for name in openai_batches.__all__:
        value = getattr(openai_batches, name)
        docs[name] = inspect.getdoc(value) or ""
        if inspect.isclass(value):
            for attribute, member in vars(value).items():
                if attribute.startswith("_"):
                    continue
                function = member.fget if isinstance(member, property) else member
                docs[f"{name}.{attribute}"] = inspect.getdoc(function) or ""
    return docs


def test_docstrings_point_only_at_public_functions() -> None:
    """A call shown in a docstring, ``name(...)``, names something a user can import."""
    import asyncio
    import builtins
    import collections.abc
    import contextlib
    import re

    importable = set(openai_batches.__all__) | set(dir(builtins))
    importable |= set(dir(contextlib)) | set(dir(asyncio))
    # Methods of the protocols users call on what we return (``aclose()``, ``close()``).
    importable |= set(dir(collections.abc.AsyncGenerator)) | set(dir(collections.abc.Generator))
    wrong = [
        (where, called)
        for where, doc in _documented().items()
        for called in re.findall(r"``([A-Za-z_]\w*)\(", doc)
        if called not in importable
    ]
    assert wrong == []
