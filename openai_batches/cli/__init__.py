"""The ``openai-batches`` command: batches and files from the shell, and a demo.

Run ``openai-batches --help``; docs/cli.md has the details. Modules: ``_app`` (parser,
configuration, exit codes), ``_output`` (tables and JSON lines), ``_progress`` (progress
on stderr), ``_batch_commands``, ``_file_commands``, ``_results_view``, ``_demo``, ``_run``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``openai-batches`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    from . import _app, _batch_commands, _demo, _file_commands, _run

    return _app.main(
        argv,
        [
            _batch_commands.register,
            _file_commands.register,
            _file_commands.register_emulator,
            _run.register,
            _demo.register,
        ],
    )
