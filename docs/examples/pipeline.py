"""The whole batch pipeline: write requests, upload, create, wait, join results, re-submit.

    python docs/examples/pipeline.py [FOLDER]

Runs against the real API when OPENAI_API_KEY is set and RUN_LIVE=1, and against the
embedded emulator otherwise (no key, no network, no cost). The request files, and the
requests to re-submit, are written to FOLDER (created if needed; files already there are
never overwritten), or to a new folder in the system's temporary directory; either way
they are kept after the program ends.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from openai_batches import Batch, BatchRequest, Client, RequestWriter

QUESTIONS = [f"What is {n} squared?" for n in range(40)]
QUESTIONS[7] += " [[fail:400]]"  # the emulator fails this one, to show the error path


def requests() -> list[BatchRequest]:
    return [
        BatchRequest(
            custom_id=f"q-{n}",
            url="/v1/chat/completions",
            body={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": question}],
            },
        )
        for n, question in enumerate(QUESTIONS)
    ]


async def pipeline(client: Client, workdir: Path) -> None:
    jobs = requests()

    # 1. Write the requests as JSONL: duplicates and mixed models are refused, and a big
    #    job is cut into shards within the API's limits (50,000 requests, 200 MB).
    with RequestWriter(workdir) as writer:
        writer.write_all(jobs)
    shards = writer.shards

    for shard in shards:
        assert shard.path is not None
        # 2. Upload (streamed from disk; over 512 MB it goes through the Uploads API).
        input_file = await client.files.create(shard.path, purpose="batch")

        # 3. Create the batch. A retried create never starts a second batch.
        batch = await client.batches.create(
            input_file_id=input_file.id,
            endpoint="/v1/chat/completions",
            metadata={"job": "squares"},
        )

        # 4. Wait: adaptive polling; "done" comes from the status, never from the counts.
        def progress(b: Batch) -> None:
            print(f"  {b.status:<12} {b.request_counts}")

        batch = await client.batches.wait(batch.id, on_progress=progress)
        print(f"batch {batch.id}: {batch.status}")

        # 5. Stream the results joined to their requests, in bounded memory.
        join = client.batches.join(batch, jobs)
        async for request, result in join:
            if result.succeeded:
                assert result.response is not None
                answer = result.response.body["choices"][0]["message"]["content"]
                print(f"  {request.custom_id}: {answer[:40]}")
            else:
                print(f"  {request.custom_id} failed: {result.failure}")
        print(" ", join.summary)

        # 6. Re-submit what failed, expired or was cancelled.
        with RequestWriter(workdir / "retry") as retry:
            summary = await client.batches.rebuild_failed(batch, retry, jobs)
        print(f"  {summary.failed} to re-submit in {[str(s.path) for s in retry.shards]}")


def folder() -> Path:
    """Where the files go: a folder that outlives the program, as the paths printed do."""
    if len(sys.argv) > 1:
        workdir = Path(sys.argv[1])
        workdir.mkdir(parents=True, exist_ok=True)
        return workdir
    return Path(tempfile.mkdtemp(prefix="openai-batches-pipeline-"))


async def main(workdir: Path) -> None:
    print(f"writing request files to {workdir}")
    if os.environ.get("OPENAI_API_KEY") and os.environ.get("RUN_LIVE") == "1":
        async with Client() as client:
            await pipeline(client, workdir)
        return
    from openai_batches.emulator import Emulator

    async with Emulator() as emulator, emulator.client() as client:
        await pipeline(client, workdir)


if __name__ == "__main__":
    asyncio.run(main(folder()))
