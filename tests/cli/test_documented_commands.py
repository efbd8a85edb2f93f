"""Every ``openai-batches`` command in README.md and docs/**/*.md runs, as it is written there.

The shell blocks (bash, console, sh, shell) of the documents are read as transcripts: in a
console block the commands are the lines after ``$ ``, in the others every line. Each
command of ours runs against the test's emulator, with the files and batches the docs name
(``file-abc123``, ``batch_abc``, ``requests.jsonl``, ``questions.jsonl``, ...) seeded
first, and must exit 0, or with the code the transcript shows after it (``$ echo $?``). A
command added to the docs that cannot run as written fails here: name its objects in
`seeded` if it needs new ones.

- ``openai-batches ...`` and ``python -m openai_batches.cli ...`` run in this process, through
  ``main(argv)``; ``NAME=VALUE`` before a command and ``export`` set its environment.
- ``emulator`` (and ``python -m openai_batches.emulator``) starts the real command in a
  subprocess, on a free port instead of the one written (the address is rewritten in the
  commands after it); in the background (``&``) it serves the rest of its block and is
  then stopped with SIGTERM, otherwise with Ctrl-C (SIGINT) once it serves.
- ``demo`` takes seconds, so it runs once, in test_demo.py (`DEMO`), and is only checked here.
- Other programs (``pip``, ``python -m pytest``, ``python my_script.py``) are not run.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import signal
import sys
from pathlib import Path

import attrs
import orjson
import pytest

from openai_batches.emulator import Emulator, ManualClock, Timing

from .conftest import base_env, chat_line, run_main
from .test_demo import DEMO

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_BLOCK = re.compile(r"^```(bash|console|sh|shell)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_OURS = re.compile(r"(^|/)openai-batches$")
_PYTHON = re.compile(r"(^|/)python(3(\.\d+)?)?$")
_BANNER = re.compile(rb"serving at (http://([^/]+)/v1)\n")
_MODULES = {"openai_batches.cli": (), "openai_batches.emulator": ("emulator",)}

# Batches finish at once on the manual clock, so `create --wait` and `wait` need no time.
pytestmark = pytest.mark.openai_emulator(
    clock=ManualClock(), timing=Timing(validating=0, finalizing=0, requests_per_second=1e9)
)


@attrs.frozen
class Step:
    """One command of a transcript, or an ``export``."""

    where: str
    text: str
    argv: tuple[str, ...] = ()  # the arguments of openai-batches; () for an export
    env: tuple[tuple[str, str], ...] = ()
    module: str = "openai_batches.cli"  # how a subprocess runs it
    background: bool = False
    code: int = 0


@attrs.define
class Block:
    """The commands of one shell block, in order."""

    where: str
    steps: list[Step] = attrs.Factory(list)


def _words(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _simple_commands(command: str) -> list[tuple[list[str], bool]]:
    """Split a command line on ``&&``, ``||`` and ``;``: (words, in the background) each."""
    found: list[tuple[list[str], bool]] = []
    words: list[str] = []
    for word in [*_words(command), ";"]:
        if word in ("&&", "||", ";", "&"):
            if words:
                found.append((words, word == "&"))
            words = []
        elif word in ("|", "|&", ">", ">>", "<", "(", ")"):
            raise ValueError(f"cannot run {command!r}: extend test_documented_commands for {word}")
        else:
            words.append(word)
    return found


def _step(where: str, text: str, words: list[str], background: bool) -> Step | None:
    env = []
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env.append((name, value))
    if not words:
        return None
    program, *args = words
    if program == "export":
        exported = tuple((name, value) for name, _, value in (a.partition("=") for a in args))
        return Step(where, text, env=exported)
    if _OURS.search(program):
        return Step(where, text, tuple(args), tuple(env), background=background)
    if _PYTHON.search(program) and args[:1] == ["-m"] and len(args) > 1 and args[1] in _MODULES:
        argv = (*_MODULES[args[1]], *args[2:])
        return Step(where, text, argv, tuple(env), module=args[1], background=background)
    if any("openai-batches" in word or "openai_batches." in word for word in words):
        raise ValueError(f"{where}: cannot tell how to run {text!r}")
    return None  # another program: pip, pytest, the user's own script


def read_blocks(path: Path) -> list[Block]:
    """The shell blocks of a document that hold commands of ours."""
    text = path.read_text()
    name = path.relative_to(ROOT).as_posix()
    blocks = []
    for match in _BLOCK.finditer(text):
        first = text.count("\n", 0, match.start(2)) + 1
        block = Block(f"{name}:{first - 1}")
        lines = match.group(2).replace("\\\n", " ").splitlines()
        console = match.group(1) == "console"
        expect_code = False
        for number, line in enumerate(lines, first):
            if console and not line.startswith("$ "):
                if expect_code and block.steps:  # the output of `echo $?`
                    block.steps[-1] = attrs.evolve(block.steps[-1], code=int(line))
                expect_code = False
                continue
            command = line[2:] if console else line
            for words, background in _simple_commands(command):
                if words == ["echo", "$?"]:
                    expect_code = True
                elif (step := _step(f"{name}:{number}", command, words, background)) is not None:
                    block.steps.append(step)
        if any(step.argv for step in block.steps):
            blocks.append(block)
    return blocks


BLOCKS = [block for path in DOCUMENTS for block in read_blocks(path)]


def test_the_documented_commands_are_found() -> None:
    found = {step.argv for block in BLOCKS for step in block.steps}

    assert {
        ("demo",),
        ("files", "download", "file-abc123", "out.jsonl"),
        ("batches", "get", "batch_nope"),
        ("emulator", "--port", "8000", "--speed", "60", "--api-key", "sk-local"),
    } <= found
    [nope] = [s for b in BLOCKS for s in b.steps if s.argv == ("batches", "get", "batch_nope")]
    assert nope.code == 3  # from `$ echo $?` in the transcript


@pytest.fixture
def seeded(openai_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The objects the documents name, in the emulator and in the working directory."""
    store = openai_emulator.store
    store.put_file("out.jsonl", "batch_output", b'{"id": "batch_req_1"}\n', file_id="file-abc123")
    store.put_jsonl([chat_line("q1"), chat_line("q2")], file_id="file-abc")
    store.put_batch([chat_line("q1")], batch_id="batch_abc123")
    store.put_batch([chat_line("ok"), chat_line("bad", "[[fail:400]]")], batch_id="batch_abc")
    requests = b"".join(orjson.dumps(chat_line(f"r{i}")) + b"\n" for i in range(3))
    (tmp_path / "requests.jsonl").write_bytes(requests)
    (tmp_path / "questions.jsonl").write_bytes(requests)  # a job's input
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Served:
    """An ``emulator`` command running in a subprocess."""

    def __init__(self, step: Step, process: asyncio.subprocess.Process, address: str) -> None:
        self.step, self.process, self.address = step, process, address

    @classmethod
    async def start(cls, step: Step, env: dict[str, str]) -> tuple[Served, str | None]:
        """Start it on a free port; return it and the address written in the docs, if any."""
        args = list(step.argv[1:] if step.module == "openai_batches.emulator" else step.argv)
        written = None
        if "--port" in args:
            at = args.index("--port") + 1
            written, args[at] = args[at], "0"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            step.module,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert process.stdout is not None
        try:
            banner = await asyncio.wait_for(process.stdout.readline(), 30)
            match = _BANNER.search(banner)
            assert match, f"{step.where}: `{step.text}` printed {banner!r}"
        except BaseException:
            process.kill()
            await process.communicate()
            raise
        return cls(step, process, match.group(2).decode()), written

    async def stop(self, signum: int) -> tuple[int | None, bytes, bytes]:
        """Stop it as a user would; return its exit code and output."""
        self.process.send_signal(signum)
        out, err = await asyncio.wait_for(self.process.communicate(), 30)
        return self.process.returncode, out, err

    def check(self, code: int | None, out: bytes, err: bytes) -> None:
        """It must exit 0, say it stopped, and print no error."""
        where = f"{self.step.where}: `{self.step.text}`"
        assert code == 0, f"{where} exited {code}: {err!r}"
        assert (out, err) == (b"emulator stopped\n", b""), where


async def run_block(block: Block, emulator: Emulator) -> None:
    env = base_env(OPENAI_API_KEY=emulator.api_key, OPENAI_BASE_URL=emulator.url)
    moved: dict[str, str] = {}  # an address in the docs -> where its emulator listens

    def here(text: str) -> str:
        for written, actual in moved.items():
            text = text.replace(written, actual)
        return text

    servers: list[Served] = []
    try:
        for step in block.steps:
            step_env = {**env, **{name: here(value) for name, value in step.env}}
            if not step.argv:  # export
                env = step_env
                continue
            argv = tuple(here(arg) for arg in step.argv)
            where = f"{step.where}: `{step.text}`"
            if argv[0] == "demo":
                assert argv == DEMO, f"{where}: run this form of the demo in test_demo.py"
            elif argv[0] == "emulator":
                served, written = await Served.start(step, step_env)
                if written is not None:
                    for host in ("127.0.0.1", "localhost"):
                        moved[f"{host}:{written}"] = served.address
                if step.background:
                    servers.append(served)
                else:
                    served.check(*await served.stop(signal.SIGINT))
            else:
                run = await run_main(*argv, env=step_env)
                assert run.code == step.code, f"{where} exited {run.code}:\n{run.err}"
                assert "Traceback" not in run.err, where
    finally:
        stopped = [(served, await served.stop(signal.SIGTERM)) for served in servers]
    for served, outcome in stopped:
        served.check(*outcome)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
async def test_documented_commands_run(
    block: Block, openai_emulator: Emulator, seeded: Path
) -> None:
    if block.where.startswith("docs/jobs.md"):
        # The job that page runs has a request that fails for good (exit 4).
        lines = [chat_line("q1"), chat_line("q2", "[[fail:400]]"), chat_line("q3")]
        (seeded / "questions.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    await run_block(block, openai_emulator)
