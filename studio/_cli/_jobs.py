"""Queue commands: enqueue, worker, jobs (list, cancel, retry), batch."""

from __future__ import annotations

import importlib
import logging
from datetime import datetime

import click

from studio._cli._common import StudioGroup, emit_json, open_studio, registered_in, state, wants_json
from studio.jobs._records import InvalidJobError, JobInfo, JobStatus

COMMANDS: list[click.Command] = []


command = registered_in(COMMANDS)


@command
@click.command("enqueue")
@click.option("--episodes", required=True, metavar="LIST", help="Episodes to render: 3, 1-12 or 1,3,5-7.")
@click.option("--project", help="Project title (needed when the database holds several).")
@click.option("--backend", default="animatic", show_default=True, help="Generation backend.")
@click.option("--priority", default=0, show_default=True, type=int, help="Higher runs first.")
@click.option(
    "--max-attempts",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Claims allowed before a job whose worker keeps dying is failed.",
)
@click.option(
    "--pass",
    "render_pass",
    type=click.Choice(["previs", "final"]),
    help="previs or final, as for `studio render --pass`. Default: previs on the animatic, final "
    "on any other backend.",
)
def enqueue_command(
    episodes: str,
    project: str | None,
    backend: str,
    priority: int,
    max_attempts: int,
    render_pass: str | None,
) -> None:
    """Queue one render job per episode for `studio worker` to run."""
    from studio.backends import available_backends
    from studio.jobs._enqueue import enqueue_renders

    with open_studio() as studio:
        result = enqueue_renders(
            studio.database,
            episodes,
            project=project,
            backend=backend,
            priority=priority,
            max_attempts=max_attempts,
            available_backends=available_backends(),
            render_pass=render_pass,
        )
    if wants_json():
        emit_json(
            {
                "project": result.project,
                "created": {str(k): v for k, v in result.created.items()},
                "already_active": {str(k): v for k, v in result.already_active.items()},
            }
        )
    else:
        click.echo(result.describe())


@command
@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(min=1), help="Jobs at once.")
@click.option("--once", is_flag=True, help="Exit when the queue is empty instead of waiting for work.")
@click.option("--max-jobs", type=click.IntRange(min=1), help="Exit after claiming this many jobs.")
@click.option(
    "--lease-seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="Lease length (default STUDIO_LEASE_SECONDS, else 60); a heartbeat renews it every third.",
)
@click.option(
    "--poll-seconds",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="How long an idle worker waits before asking for work again.",
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    help="Import a module that registers more job types (repeatable).",
)
@click.option("--worker-id", help="Name recorded on claimed jobs (default host:pid:random).")
def worker_command(
    concurrency: int,
    once: bool,
    max_jobs: int | None,
    lease_seconds: float | None,
    poll_seconds: float,
    imports: tuple[str, ...],
    worker_id: str | None,
) -> None:
    """Claim and run queued jobs until stopped (SIGTERM/Ctrl-C stop gracefully).

    Any number of workers on any number of machines may share one PostgreSQL database;
    on SQLite, workers on one machine share the file.
    """
    from studio.jobs._worker import Worker

    for name in imports:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise InvalidJobError(f"--import {name}: {error}") from error
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with open_studio() as studio:
        worker = Worker(
            studio.database,
            studio.settings,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            once=once,
            max_jobs=max_jobs,
            poll_seconds=poll_seconds,
            worker_id=worker_id,
        )
        stats = worker.run(handle_signals=True)
    if wants_json():
        emit_json({"worker": worker.worker_id, **stats.as_dict()})
    else:
        counts = ", ".join(f"{k} {v}" for k, v in stats.as_dict().items())
        click.echo(f"worker {worker.worker_id} stopped: {counts}", err=True)


@command
@click.group("jobs", cls=StudioGroup, invoke_without_command=True)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in JobStatus]),
    help="Show only jobs in this state (repeatable).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many jobs.")
@click.pass_context
def jobs_group(ctx: click.Context, statuses: tuple[str, ...], limit: int | None) -> None:
    """List jobs: state, progress, attempts, worker, times and errors."""
    if ctx.invoked_subcommand is not None:
        return
    from studio.jobs._store import list_jobs

    with open_studio() as studio:
        jobs = list_jobs(studio.database, statuses=tuple(JobStatus(s) for s in statuses) or None, limit=limit)
    if wants_json():
        emit_json({"jobs": [job.as_dict() for job in jobs]})
    else:
        click.echo(format_jobs(jobs))


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
def jobs_cancel_command(job_id: int) -> None:
    """Cancel a job: at once if queued, at its next checkpoint if running."""
    from studio.jobs._store import request_cancel

    with open_studio() as studio:
        info = request_cancel(studio.database, job_id)
    if wants_json():
        emit_json(info.as_dict())
    elif info.status is JobStatus.RUNNING:
        click.echo(f"job {job_id}: cancel requested; it stops within seconds, finished segments kept")
    else:
        click.echo(f"job {job_id}: {info.status.value}")


@jobs_group.command("retry")
@click.argument("job_id", type=int)
def jobs_retry_command(job_id: int) -> None:
    """Queue a failed or cancelled job again (a render resumes where it stopped)."""
    from studio.jobs._store import retry

    with open_studio() as studio:
        info = retry(studio.database, job_id)
    if wants_json():
        emit_json(info.as_dict())
    else:
        click.echo(f"job {job_id}: queued again")


@command
@click.command("batch")
@click.option("--episodes", required=True, metavar="LIST", help="Episodes to render: 3, 1-12 or 1,3,5-7.")
@click.option("--parallel", default=2, show_default=True, type=click.IntRange(min=1), help="Processes.")
@click.option("--project", help="Project title (needed when the database holds several).")
@click.option("--backend", default="animatic", show_default=True, help="Generation backend.")
def batch_command(episodes: str, parallel: int, project: str | None, backend: str) -> None:
    """Render episodes in a local process pool (no queue, no worker) with a progress bar."""
    from studio.jobs._batch import render_batch

    settings = state().settings
    results = render_batch(
        settings, episodes, parallel=parallel, project=project, backend=backend, progress_bar=not wants_json()
    )
    if wants_json():
        emit_json({"episodes": [r.as_dict() for r in results]})
    else:
        for result in results:
            click.echo(result.describe())
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.exceptions.Exit(1)


# ── formatting ────────────────────────────────────────────────────────────────────────

_COLUMNS = ("ID", "TYPE", "WHAT", "STATUS", "PRI", "PROGRESS", "ATT", "WORKER", "CREATED", "STARTED", "ENDED")


def _when(value: datetime | None) -> str:
    return value.strftime("%m-%d %H:%M:%S") if value else "-"


def _what(job: JobInfo) -> str:
    params = job.parameters
    if "episode" in params:
        return f"ep {params['episode']} ({params.get('backend', '?')})"
    return "-"


def format_jobs(jobs: list[JobInfo]) -> str:
    """A table of jobs (times in UTC), each followed by its error or message if any."""
    if not jobs:
        return "no jobs; queue some with `studio enqueue --episodes 1-3`"
    rows = [
        (
            str(job.id),
            job.job_type,
            _what(job),
            job.status.value
            + (" (cancelling)" if job.cancel_requested and job.status is JobStatus.RUNNING else ""),
            str(job.priority),
            f"{job.progress:.0f}%",
            f"{job.attempts}/{job.max_attempts}",
            job.worker_id or "-",
            _when(job.created_at),
            _when(job.started_at),
            _when(job.completed_at),
        )
        for job in jobs
    ]
    widths = [max(len(col), *(len(row[i]) for row in rows)) for i, col in enumerate(_COLUMNS)]
    lines = ["  ".join(col.ljust(widths[i]) for i, col in enumerate(_COLUMNS)).rstrip()]
    for job, row in zip(jobs, rows, strict=True):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if job.error:
            lines.append(f"    error: {job.error}")
        elif job.message and job.status is not JobStatus.SUCCEEDED:
            lines.append(f"    {job.message}")
        if job.report_path:
            lines.append(f"    report: {job.report_path}")
    return "\n".join(lines)
