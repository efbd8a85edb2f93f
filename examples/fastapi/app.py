"""Batch jobs behind a web API, with FastAPI and openai_batches.

- ``POST /jobs``: the body is a JSONL of batch requests (any number of them); starts a
  job and answers ``202`` with its id.
- ``GET /jobs/{id}``: where the job stands (its report and its last progress event).
- ``GET /jobs/{id}/results``: the results, one JSON line per request in input order,
  streamed (``409`` until the job has finished).
- ``POST /webhooks/openai``: OpenAI's webhooks; a batch event wakes the job waiting for
  that batch at once (``400`` when the signature does not verify).
- ``GET /batches/{id}``: a batch, as the API's JSON.

One `Client` per process, made in the lifespan and handed to the endpoints by a
dependency. Each job runs in a task of the lifespan's task group, with its input, state
file and results in a folder of its own under ``JOBS_DIR``; a job cut short by a
shutdown resumes when the app starts again, without uploading or creating anything twice.

Run it with ``JOBS_DIR=jobs uvicorn app:app`` from this folder (``OPENAI_API_KEY`` and
``OPENAI_WEBHOOK_SECRET`` in the environment).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from openai_batches import (
    BatchEvent,
    BatchEvents,
    Client,
    InvalidWebhookSignatureError,
    JobProgress,
    JobStateError,
    NotFoundError,
    Polling,
    job_status,
)

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
INPUT, STATE, RESULTS = "input.jsonl", "state.job", "results.jsonl"

#: A job id as ``POST /jobs`` makes them: checked before it becomes part of a path.
JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]


class JobRunner:
    """The app's jobs, each in a task of the lifespan's task group."""

    def __init__(
        self,
        client: Client,
        group: asyncio.TaskGroup,
        root: Path,
        events: BatchEvents,
        polling: Polling | None,
    ) -> None:
        self.client = client
        self.group = group
        self.root = root
        self.events = events
        self.polling = polling
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.progress: dict[str, JobProgress] = {}
        self.errors: dict[str, str] = {}

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    async def submit(self, body: AsyncIterator[bytes]) -> str:
        """Save the requests posted as the input of a new job, and start it."""
        job_id = uuid.uuid4().hex
        folder = self.folder(job_id)
        await asyncio.to_thread(folder.mkdir, parents=True)
        # Written aside and renamed: a folder with an input is a job to resume.
        partial = folder / (INPUT + ".part")
        file = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in body:
                await asyncio.to_thread(file.write, chunk)
        finally:
            await asyncio.to_thread(file.close)
        await asyncio.to_thread(os.replace, partial, folder / INPUT)
        self.start(job_id)
        return job_id

    def start(self, job_id: str) -> None:
        self.errors.pop(job_id, None)
        self.tasks[job_id] = self.group.create_task(self._run(job_id), name=f"job {job_id}")

    async def resume_all(self) -> None:
        """Start again every job of the folder that has no results yet."""

        def unfinished() -> list[str]:
            if not self.root.is_dir():
                return []
            return sorted(
                folder.name
                for folder in self.root.iterdir()
                if (folder / INPUT).is_file() and not (folder / RESULTS).exists()
            )

        for job_id in await asyncio.to_thread(unfinished):
            self.start(job_id)

    def stop_all(self) -> None:
        """Cancel every running job; each resumes where it stopped at the next start."""
        for task in self.tasks.values():
            task.cancel()

    async def _run(self, job_id: str) -> None:
        folder = self.folder(job_id)

        def on_progress(progress: JobProgress) -> None:
            self.progress[job_id] = progress

        try:
            await self.client.jobs.run(
                folder / INPUT,
                folder / RESULTS,
                state=folder / STATE,
                on_progress=on_progress,
                polling=self.polling,
                events=self.events,
            )
        except Exception as exc:
            # One job's failure (a bad input, the API failing for good) is its own: the
            # other jobs and the app go on. Restarting the app resumes it.
            log.exception("job %s failed", job_id)
            self.errors[job_id] = f"{type(exc).__name__}: {exc}"

    async def status(self, job_id: str) -> dict[str, Any]:
        folder = self.folder(job_id)
        if not await asyncio.to_thread((folder / INPUT).is_file):
            raise HTTPException(404, f"no job {job_id}")
        try:
            report = await job_status(folder / STATE)
        except (FileNotFoundError, JobStateError):
            report = None  # not loaded into its state file yet
        task = self.tasks.get(job_id)
        if await asyncio.to_thread((folder / RESULTS).exists):
            state = "finished"
        elif job_id in self.errors:
            state = "failed"
        elif task is not None and not task.done():
            state = "running"
        else:
            state = "stopped"
        progress = self.progress.get(job_id)
        return {
            "id": job_id,
            "state": state,
            "error": self.errors.get(job_id),
            "report": report.to_dict() if report else None,
            "progress": progress.to_dict() if progress else None,
        }


async def read_chunks(path: Path) -> AsyncIterator[bytes]:
    """Read a file in chunks, off the event loop."""
    file = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(file.close)


def get_client(request: Request) -> Client:
    """The app's client (a dependency)."""
    client: Client = request.app.state.client
    return client


def get_jobs(request: Request) -> JobRunner:
    """The app's jobs (a dependency)."""
    jobs: JobRunner = request.app.state.jobs
    return jobs


OpenAI = Annotated[Client, Depends(get_client)]
Jobs = Annotated[JobRunner, Depends(get_jobs)]


def create_app(
    jobs_dir: str | os.PathLike[str] | None = None, *, polling: Polling | None = None
) -> FastAPI:
    """Build the app; its jobs live under ``jobs_dir`` (default: ``$JOBS_DIR`` or ``jobs``).

    Args:
        jobs_dir: The folder of the jobs' folders.
        polling: How the jobs poll their batches (by default, every 5 s backing off to a
            minute; webhooks wake them sooner).
    """
    root = Path(jobs_dir if jobs_dir is not None else os.environ.get("JOBS_DIR", "jobs"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The client closes after the task group has ended: no job outlives it.
        async with Client() as client, asyncio.TaskGroup() as group:
            jobs = JobRunner(client, group, root, BatchEvents(), polling)
            app.state.client = client
            app.state.jobs = jobs
            await jobs.resume_all()
            try:
                yield
            finally:
                jobs.stop_all()

    app = FastAPI(title="Batch jobs", lifespan=lifespan)

    @app.post("/jobs", status_code=202)
    async def submit_job(request: Request, jobs: Jobs) -> dict[str, str]:
        job_id = await jobs.submit(request.stream())
        return {"id": job_id}

    @app.get("/jobs/{job_id}")
    async def job_progress(job_id: JobId, jobs: Jobs) -> dict[str, Any]:
        return await jobs.status(job_id)

    @app.get("/jobs/{job_id}/results")
    async def job_results(job_id: JobId, jobs: Jobs) -> StreamingResponse:
        path = jobs.folder(job_id) / RESULTS
        if not await asyncio.to_thread(path.exists):
            status = await jobs.status(job_id)  # 404 for a job that does not exist
            raise HTTPException(409, f"job {job_id} is {status['state']}: no results yet")
        return StreamingResponse(read_chunks(path), media_type="application/x-ndjson")

    @app.post("/webhooks/openai")
    async def openai_webhook(request: Request, client: OpenAI, jobs: Jobs) -> Response:
        body = await request.body()  # the bytes as sent: the signature covers them
        try:
            event = client.webhooks.unwrap(body, request.headers)
        except InvalidWebhookSignatureError as exc:
            raise HTTPException(400, str(exc)) from None
        if isinstance(event, BatchEvent):
            jobs.events.notify(event)  # the job waiting for this batch retrieves it now
        return Response(status_code=204)  # answer at once: OpenAI retries slow endpoints

    @app.get("/batches/{batch_id}")
    async def get_batch(batch_id: str, client: OpenAI) -> dict[str, Any]:
        try:
            batch = await client.batches.retrieve(batch_id)
        except NotFoundError:
            raise HTTPException(404, f"no batch {batch_id}") from None
        return batch.to_dict()

    return app


app = create_app()
