"""Every Python block of README.md and docs/**/*.md runs, against the emulator.

How a document's ```python blocks run (the conventions for writing them):

- **Fragments.** The blocks of a document run in order in one namespace, as the cells of a
  notebook do: a block may use what an earlier block of the same document defined.
  Top-level ``await``, ``async for`` and ``async with`` are allowed; they run on the test's
  event loop. Each document has its own emulator (a manual clock; a batch has finished by
  the first time anyone looks at it) and starts with the names of `predefined`: ``client``
  (a `Client` bound to the emulator), ``emu`` (the emulator), ``batch_id``, ``batches``,
  ``file_id``, ``file_ids``, ``questions``, ``requests`` and more. The environment points
  ``Client()`` at the emulator (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
  ``OPENAI_WEBHOOK_SECRET``), and the working directory is a new folder holding
  ``requests.jsonl`` and ``questions.jsonl`` (three valid chat requests each) and an
  empty ``outputs/``. A block that leaves ``client`` closed (``async with Client() as
  client: ...``) leaves the next block the predefined one; every client a document leaves
  open is closed after it.
- **Programs.** A block that calls ``asyncio.run(`` is a program: it runs as ``__main__``
  in a thread with its own event loop, as a script would, against the same emulator.
- **Files of a project.** Blocks whose first line is a comment naming a Python file
  (``# myapp/worker.py``, ``# tests/test_worker.py``) are written to a new folder, and the
  test modules among them (``tests/test_*.py``) run with pytest, in this process, with
  ``asyncio_mode = auto`` and ``-W error``: every test in them must pass.
- ``<!-- not run: REASON -->`` on the line above a block leaves it out; each such block is
  reported here as a skipped test with its reason, so none is left out silently.
- ``<!-- ... run by tests/PATH.py -->`` on the line above a block says that test module runs
  it (as a fixture of its own); the module must exist and read the document.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from aiohttp import web

from openai_batches import BatchRequest, Client
from openai_batches.emulator import Emulator, ManualClock, Timing

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*-->")
_NOT_RUN = re.compile(r"\s*not run:\s*(.*?)\s*\Z", re.DOTALL)
_RUN_BY = re.compile(r"\brun by (tests/\S+\.py)\b")
_FILE = re.compile(r"# ([\w./-]+\.py)\s*$")


@attrs.frozen
class Block:
    """A ```python block of a document, and how it runs."""

    path: Path
    line: int  # of its first line of code
    source: str
    kind: str  # "fragment", "program", "file", "not run", "run by"
    note: str = ""  # the reason it is not run, the test that runs it, or the file's name

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    def code(self) -> str:
        """The source, after blank lines that keep the document's line numbers."""
        return "\n" * (self.line - 1) + self.source


def read_blocks(path: Path) -> list[Block]:
    """The Python blocks of a document, each with the kind the conventions give it."""
    text = path.read_text()
    blocks = []
    for match in _BLOCK.finditer(text):
        source = match.group(1)
        line = text.count("\n", 0, match.start(1)) + 1
        before = text[: match.start()].rstrip()
        last_line = before.rsplit("\n", 1)[-1]
        above = last_line[4:-3] if _COMMENT.fullmatch(last_line) else ""
        first = source.split("\n", 1)[0]
        if not_run := _NOT_RUN.match(above):
            block = Block(path, line, source, "not run", not_run.group(1))
        elif run_by := _RUN_BY.search(above):
            block = Block(path, line, source, "run by", run_by.group(1))
        elif file := _FILE.match(first):
            block = Block(path, line, source, "file", file.group(1))
        elif "asyncio.run(" in source:
            block = Block(path, line, source, "program")
        else:
            block = Block(path, line, source, "fragment")
        blocks.append(block)
    return blocks


BLOCKS = [block for path in DOCUMENTS for block in read_blocks(path)]


def _of(*kinds: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind in kinds]


def _documents(*kinds: str) -> list[Path]:
    return sorted({block.path for block in _of(*kinds)})


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def chat(custom_id: str, text: str = "hello") -> dict[str, Any]:
    """One chat-completion request line, as a dict."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


async def _store(_: object) -> None:
    return None


async def predefined(emu: Emulator, client: Client) -> dict[str, Any]:
    """The names every document's fragments start with, and the objects they name."""
    store = emu.store
    # Created an hour ahead of the manual clock: still validating whenever a document
    # looks, so it can be cancelled ("batch_abc123" is the id the README uses).
    store.put_batch([chat("a")], batch_id="batch_abc123", created_at=emu.clock.now() + 3600)
    seeded = [store.put_batch([chat("a"), chat("b", "[[fail:400]]")]) for _ in range(2)]
    batches = [await client.batches.retrieve(batch["id"]) for batch in seeded]
    file_ids = [batch.output_file_id for batch in batches]
    questions = [f"What is {n} squared?" for n in range(1, 6)]
    checkpoints: list[str | None] = []
    return {
        "client": client,
        "emu": emu,
        "web": web,  # aiohttp.web, for the handlers the documents show
        "log": logging.getLogger("docs"),
        "batch_id": batches[0].id,  # a finished batch, with an output and an error file
        "batches": batches,  # finished Batch objects
        "file_id": file_ids[0],  # a batch's output file
        "file_ids": file_ids,
        "questions": questions,
        "requests": [  # BatchRequest objects
            BatchRequest(
                custom_id=f"q-{n}",
                url="/v1/chat/completions",
                body={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": q}]},
            )
            for n, q in enumerate(questions)
        ],
        "line1": chat("line-1"),  # request lines, as dicts
        "line2": chat("line-2"),
        "store": _store,  # "save it somewhere": an async function that keeps nothing
        "save_checkpoint": checkpoints.append,
        "load_checkpoint": lambda: checkpoints[-1] if checkpoints else None,
    }


@pytest.fixture
async def emulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Emulator, dict[str, Any]]]:
    """A document's emulator, environment, working directory and predefined names."""
    timing = Timing(validating=0, finalizing=0, cancelling=0, requests_per_second=1e9)
    async with Emulator(clock=ManualClock(), timing=timing) as emu:
        monkeypatch.setenv("OPENAI_API_KEY", emu.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emu.url)
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", emu.webhook_secret)
        monkeypatch.chdir(tmp_path)
        lines = [chat(f"r{n}", f"request {n}") for n in range(3)]
        for name in ("requests.jsonl", "questions.jsonl"):  # a pipeline's and a job's input
            (tmp_path / name).write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
        (tmp_path / "outputs").mkdir()
        client = emu.client()
        # A document may configure the package's logging, as a program would: undone after.
        package_log = logging.getLogger("openai_batches")
        handlers, level = package_log.handlers[:], package_log.level
        try:
            namespace = await predefined(emu, client)
            yield emu, namespace
        finally:
            await client.close()
            package_log.handlers[:] = handlers
            package_log.setLevel(level)


async def run_fragment(block: Block, namespace: dict[str, Any]) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(block.code(), str(block.path), "exec", flags=flags)
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        await result


def run_program(block: Block) -> None:
    code = compile(block.code(), str(block.path), "exec")
    exec(code, {"__name__": "__main__"})


@pytest.mark.parametrize("path", _documents("fragment", "program"), ids=_name)
async def test_document_runs(path: Path, emulated: tuple[Emulator, dict[str, Any]]) -> None:
    _, namespace = emulated
    predefined_client = namespace["client"]
    clients = {predefined_client}
    try:
        for block in (b for b in BLOCKS if b.path == path):
            try:
                if block.kind == "fragment":
                    await run_fragment(block, namespace)
                elif block.kind == "program":
                    await asyncio.to_thread(run_program, block)
            except Exception as exc:
                exc.add_note(f"in the block at {block.where}")
                raise
            finally:
                clients.update(v for v in namespace.values() if isinstance(v, Client))
            if namespace["client"].closed:  # `async with Client() as client:`
                namespace["client"] = predefined_client
    finally:
        for client in clients:
            await client.close()


@pytest.mark.parametrize("path", _documents("file"), ids=_name)
def test_document_project_passes(path: Path, pytester: pytest.Pytester) -> None:
    files = [block for block in BLOCKS if block.path == path and block.kind == "file"]
    for block in files:
        target = pytester.path / block.note
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.source)
    tests = [b.note for b in files if re.fullmatch(r"tests/test_\w+\.py", b.note)]
    assert tests, f"{path.name}: files, but no test module (tests/test_*.py) to run them"
    result = pytester.runpytest_inprocess(
        "-W",
        "error",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-o",
        "pythonpath=.",
        *tests,
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert outcomes.get("passed", 0) >= len(tests), outcomes
    assert set(outcomes) <= {"passed"}, outcomes  # nothing skipped, nothing warned


@pytest.mark.parametrize("block", _of("run by"), ids=lambda block: block.where)
def test_block_run_by_another_test(block: Block) -> None:
    module = ROOT / block.note
    assert module.is_file(), f"{block.where}: no {block.note}"
    assert block.path.name in module.read_text(), f"{block.note} does not read {block.where}"


@pytest.mark.parametrize("block", _of("not run"), ids=lambda block: block.where)
def test_block_not_run(block: Block) -> None:
    assert block.note, f"{block.where}: say why the block is not run"
    pytest.skip(f"{block.where} is not run: {block.note}")


def test_the_conventions_find_every_kind() -> None:
    kinds = {block.kind for block in BLOCKS}
    assert {"fragment", "program", "file", "run by"} <= kinds
    # A fence the pattern missed would be a block silently left out.
    fences = sum(path.read_text().count("```python") for path in DOCUMENTS)
    assert len(BLOCKS) == fences
