"""Job types for the queue's tests; worker processes load them with ``--import``.

Side effects are lines appended to the file named by ``parameters["log"]`` (one
``write`` of a short line with O_APPEND is atomic), so a test can count exactly how
often each job ran, and in which process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from studio.jobs._records import JobCancelled
from studio.jobs._runners import JobContext, register_job_type

# How long a step of a "steps" job or one wait of a "hang_first" job lasts.
STEP_SECONDS = 0.02


def append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def record(context: JobContext) -> None:
    """Record one side effect: ``done JOB ATTEMPT PID``."""
    append(context.parameters["log"], f"done {context.job_id} {context.attempt} {os.getpid()}")


def hang_first(context: JobContext) -> None:
    """The first attempt announces itself and never finishes; later attempts record."""
    log = context.parameters["log"]
    if context.attempt == 1:
        append(log, f"started {context.job_id} {context.attempt} {os.getpid()}")
        idle = threading.Event()
        while not context.cancel_requested():
            idle.wait(STEP_SECONDS)
        raise JobCancelled("stopped", job_id=context.job_id)
    record(context)


# Opens the gate of a "gated" job's first attempt (in-process tests only).
GATE = threading.Event()


def gated(context: JobContext) -> None:
    """The first attempt announces itself, waits for :data:`GATE`, records ``late`` and
    returns as if it succeeded; later attempts record ``done``."""
    log = context.parameters["log"]
    if context.attempt == 1:
        append(log, f"started {context.job_id} {context.attempt} {os.getpid()}")
        if not GATE.wait(60):
            raise RuntimeError("the test never opened the gate")
        append(log, f"late {context.job_id} {context.attempt} {os.getpid()}")
        return
    record(context)


def artifact(context: JobContext) -> None:
    """The cheap stand-in for a render: one file and one database row per job, written
    the way the pipeline writes segments (a ``.part`` file renamed into place; the row
    keyed by the job), so a rerun after ``kill -9`` neither duplicates nor leaves debris."""
    from sqlalchemy import text

    folder = Path(context.parameters["dir"])
    append(context.parameters["log"], f"ran {context.job_id} {context.attempt} {os.getpid()}")
    final = folder / f"job-{context.job_id}.txt"
    for stale in folder.glob(f".job-{context.job_id}.txt.*.part"):
        stale.unlink(missing_ok=True)  # an earlier attempt was killed mid-write
    if not final.exists():
        part = folder / f".job-{context.job_id}.txt.{os.getpid()}.part"
        part.write_text(f"job {context.job_id}\n")
        threading.Event().wait(STEP_SECONDS)  # a window for kill -9 between write and rename
        os.replace(part, final)
    with context.database.session() as session:
        session.execute(
            text(
                "INSERT INTO chaos_effects (job_id, attempt, pid) VALUES (:job, :attempt, :pid) "
                "ON CONFLICT (job_id) DO NOTHING"
            ),
            {"job": context.job_id, "attempt": context.attempt, "pid": os.getpid()},
        )


def steps(context: JobContext) -> None:
    """``parameters["steps"]`` steps, each a checkpoint, recorded and reported."""
    total = int(context.parameters["steps"])
    log = context.parameters["log"]
    idle = threading.Event()
    for step in range(total):
        if context.cancel_requested():
            raise JobCancelled("stopped at a checkpoint", job_id=context.job_id)
        idle.wait(STEP_SECONDS)
        append(log, f"step {context.job_id} {step}")
        context.report_progress(100 * (step + 1) / total, f"step {step + 1} of {total}")


def watch_cancel(context: JobContext) -> None:
    """Sees the cancel flag in the database itself, as a render's notebook kernel does,
    possibly long before the worker's next heartbeat."""
    from studio.jobs._store import is_cancel_requested

    idle = threading.Event()
    while not is_cancel_requested(context.database, context.job_id):
        context.report_progress(1, "waiting")
        idle.wait(STEP_SECONDS)
    raise JobCancelled("stopped at a checkpoint", job_id=context.job_id)


def explode(context: JobContext) -> None:
    raise RuntimeError(context.parameters.get("message", "boom"))


register_job_type("record", record)
register_job_type("hang_first", hang_first)
register_job_type("steps", steps)
register_job_type("gated", gated)
register_job_type("artifact", artifact)
register_job_type("explode", explode)
register_job_type("watch_cancel", watch_cancel)
