"""A job runner that kills itself with SIGKILL at a chosen step, for the crash test.

The steps are the state file's writes and the batch polls, seen from outside the runner:
``before``/``after`` each write of the state file (and each poll), so a kill lands both
between recording a step and carrying it out (the upload or create not sent yet) and
between carrying it out and recording its outcome (the file or batch made, not recorded).
The runner dies at the N-th time it reaches the step named (one of `KILL_POINTS`).
Each kill appends its step's name to a log, then the process dies at once: no ``finally``,
no flush, no exit handler runs, as after ``kill -9`` or a power cut.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from collections.abc import Callable
from typing import Any

from openai_batches import Batches, Client, JobLimits, Polling, RetryPolicy
from openai_batches._jobstore import Store

#: The steps, by the category the crash test counts them in.
CATEGORIES = {
    "uploading": "upload",
    "uploaded": "upload",
    "creating": "create",
    "submitted": "create",
    "waiting": "create",
    "retrieve": "wait",
    "record_results": "results",
    "finish_shard": "results",
    "write_results": "results",
    "plan_shard": "plan",
    "load": "plan",
}


#: Where a run may be killed, each with what it leaves behind.
KILL_POINTS = (
    "after plan_shard",  # shard chosen, its file perhaps not written
    "after update_shard:uploading",  # upload recorded, not sent
    "before update_shard:uploaded",  # file uploaded, its id not recorded
    "after update_shard:creating",  # key recorded, create not sent
    "before update_shard:submitted",  # batch created, its id not recorded
    "before update_shard:waiting",  # batch refused for the token limit, not recorded
    "before retrieve",  # waiting for a batch
    "after retrieve",
    "before record_results",  # batch finished, results not recorded
    "after record_results",  # results recorded, shard not settled
    "before finish_shard",
    "before write_results",  # every request final, results file not written
)


def category(step: str) -> str:
    """The category of a logged step such as ``after update_shard:creating``."""
    return CATEGORIES[step.rsplit(":", 1)[-1].split()[-1]]


def run(
    base_url: str,
    api_key: str,
    job: dict[str, str],
    limits: dict[str, Any],
    kill_at: tuple[str, int] | None,
) -> None:
    """Run the job, dying the N-th time it reaches step ``kill_at = (step, N)``."""
    seen = 0

    def step(name: str) -> None:
        nonlocal seen
        if kill_at is None or name != kill_at[0]:
            return
        seen += 1
        if seen == kill_at[1]:
            with open(job["log"], "a") as log:
                log.write(name + "\n")
            os.kill(os.getpid(), signal.SIGKILL)

    def watch(owner: type, method: str, label: Callable[..., str]) -> None:
        original = getattr(owner, method)

        @functools.wraps(original)
        async def watched(*args: Any, **kwargs: Any) -> Any:
            name = label(*args, **kwargs)
            step(f"before {name}")
            result = await original(*args, **kwargs)
            step(f"after {name}")
            return result

        setattr(owner, method, watched)

    def update_label(self: Store, shard: Any, **changes: Any) -> str:
        return f"update_shard:{changes.get('step', 'other')}"

    watch(Store, "update_shard", update_label)
    for method in ("load", "plan_shard", "record_results", "finish_shard", "write_results"):
        watch(Store, method, lambda *a, method=method, **k: method)
    watch(Batches, "retrieve", lambda *a, **k: "retrieve")

    async def main() -> None:
        retry = RetryPolicy(initial_delay=0.01, max_delay=0.05)
        async with Client(api_key, base_url=base_url, retry_policy=retry) as client:
            await client.jobs.run(
                job["input"],
                job["output"],
                state=job["state"],
                limits=JobLimits(**limits),
                polling=Polling(interval=0.01, max_interval=0.05),
                limit_backoff=0.02,
            )

    asyncio.run(main())
