"""``openai-batches batches results``: a finished batch's results, and its failures rebuilt."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from .. import Batch, BatchResult, Client, JoinSummary, RequestWriter, Shard
from ._app import ExitCode, command_for
from ._output import Output
from ._transfer import check_destination

__all__ = ["RESULT_COLUMNS", "answer_text", "result_row", "show_results", "write_shards"]

RESULT_COLUMNS = ("CUSTOM_ID", "STATUS", "RESULT")
_WIDTH = 72


def _short(text: str, width: int = _WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def answer_text(body: Any) -> str:
    """The gist of a successful answer's body: its text, or what kind of answer it is."""
    if isinstance(body, dict):
        choices = body.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            message = choice.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                return _short(message["content"])
            if isinstance(choice.get("text"), str):
                return _short(choice["text"])
        for item in body.get("output") or ():
            for part in item.get("content") or () if isinstance(item, dict) else ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    return _short(part["text"])
        if body.get("object") == "list" and isinstance(body.get("data"), list):
            return f"{len(body['data'])} embedding(s)"
        if isinstance(body.get("results"), list):
            flagged = any(isinstance(r, dict) and r.get("flagged") for r in body["results"])
            return "flagged" if flagged else "not flagged"
    return _short(orjson.dumps(body).decode())


def result_row(result: BatchResult) -> tuple[str, str, str]:
    """One result as a row of :data:`RESULT_COLUMNS`."""
    failure = result.failure
    response = result.response
    if failure is None:
        assert response is not None
        return result.custom_id, str(response.status_code), answer_text(response.body)
    status = str(failure.status_code) if failure.status_code is not None else "-"
    why = ": ".join(part for part in (failure.code, failure.message) if part)
    return result.custom_id, status, _short(why or "failed")


def write_shards(shards: list[Shard], path: Path) -> list[Path]:
    """Write in-memory shards to ``path``, or to ``path-00000.jsonl``, ... when several."""
    if len(shards) == 1:
        targets = [path]
    else:
        targets = [path.with_name(f"{path.stem}-{s.index:05d}{path.suffix}") for s in shards]
    for shard, target in zip(shards, targets, strict=True):
        target.write_bytes(shard.data or b"")
    return targets


async def show_results(client: Client, args: argparse.Namespace, out: Output) -> int:
    """Print a finished batch's results; exit code 4 unless the batch completed."""
    rebuild: Path | None = None
    if args.rebuild_failed is not None:
        check_destination(args.rebuild_failed)  # before any request, not after the results
        rebuild = Path(args.rebuild_failed)
    batch = await client.batches.retrieve(args.batch_id)
    if not batch.status.is_final:
        wait = command_for(client, "batches", "wait", batch.id)
        print(
            f"batch {batch.id} is {batch.status.value}: its results come when it finishes ({wait})",
            file=sys.stderr,
        )
        return ExitCode.NOT_FINISHED
    if batch.status == "failed":
        _report_failed(batch)
        return ExitCode.BATCH_UNSUCCESSFUL
    succeeded = failed = 0
    rows = []

    def show(result: BatchResult) -> None:
        nonlocal succeeded, failed
        if result.succeeded:
            succeeded += 1
            if args.failed:
                return
        else:
            failed += 1
        if out.json:
            out.json_line(result)
        else:
            rows.append(result_row(result))

    rebuilt: tuple[list[Shard], JoinSummary] | None = None
    if rebuild is None:
        async for result in client.batches.results(batch):
            show(result)
    else:
        # One pass over the result files: shown and rebuilt as the join reads them.
        writer = RequestWriter()
        summary = await client.batches.rebuild_failed(batch, writer, on_result=show)
        rebuilt = (writer.close(), summary)
    if not out.json:
        out.table(RESULT_COLUMNS, rows)
    print(f"{succeeded} succeeded, {failed} failed", file=sys.stderr)
    if rebuilt is not None:
        assert rebuild is not None
        _report_rebuilt(*rebuilt, rebuild)
    if batch.status != "completed":
        print(f"batch {batch.id} ended {batch.status.value}", file=sys.stderr)
        return ExitCode.BATCH_UNSUCCESSFUL
    return ExitCode.OK


def _report_rebuilt(shards: list[Shard], summary: JoinSummary, path: Path) -> None:
    if not shards:
        print("no failed requests to rebuild", file=sys.stderr)
        return
    written = write_shards(shards, path)
    names = ", ".join(str(p) for p in written)
    count = summary.failed + len(summary.missing)
    print(f"wrote {count} request(s) to re-submit to {names}", file=sys.stderr)


def _report_failed(batch: Batch) -> None:
    print(f"batch {batch.id} failed; it has no results", file=sys.stderr)
    for error in batch.errors.data if batch.errors else []:
        where = f"line {error.line}: " if error.line is not None else ""
        print(f"  {where}{error.code or ''} {error.message or ''}".rstrip(), file=sys.stderr)
