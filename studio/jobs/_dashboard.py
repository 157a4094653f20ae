"""Renders started from the dashboard: a ``render_episode`` or ``retake`` job in the queue,
and a worker to run it.

A panel lives in a kernel that dies when its browser tab closes, so a render must not
live there. :func:`start_render` queues a job in ``production_jobs``
(:func:`studio.jobs._enqueue.enqueue_renders`) and :func:`ensure_worker` makes sure a worker
will run it: when no worker that a dashboard launched for this home is alive, it starts
``python -m studio worker --once`` in its own session (a kernel shutdown signals the
kernel's process group, not this one). That worker drains the queue and exits; the
next render starts another. Its home and database reach it through the environment (a
URL with a password never appears on a command line).

Everything else is the queue's: progress, cancel (:func:`studio.jobs._store.request_cancel`)
and retry are rows in ``production_jobs``, so ``studio jobs`` and any other page see the
same renders.

A ``--once`` worker that found the queue empty an instant before a job was queued may
exit without it. :func:`ensure_worker` is idempotent and cheap, so a caller that waits
for its jobs (the queue panel) calls it again while they are still queued and no
worker is alive.

Files (under ``HOME/renders/dashboard/``): ``worker.json`` (the launched worker: pid,
process start time, log, when), ``worker-<UTC stamp>.log`` (its output) and
``worker.lock`` (held while deciding whether to launch, so two tabs start one worker).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from studio._config import Settings
from studio._studio import Studio
from studio.jobs._enqueue import enqueue_renders, enqueue_retake
from studio.jobs._records import JobError, JobInfo, JobStatus
from studio.jobs._store import database_now, get_job, retry

__all__ = [
    "DashboardWorker",
    "QueuedRender",
    "dashboard_worker",
    "ensure_worker",
    "resume_waiting_jobs",
    "retry_render",
    "start_render",
    "start_retake",
]

WORKER_DIR = Path("renders") / "dashboard"
_RECORD = "worker.json"
_LOCK = "worker.lock"
# Workers this process launched, by pid: polling them reaps their exit status.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class DashboardWorker:
    """A ``studio worker --once`` process launched for the dashboard.

    Attributes:
        pid: Its process id.
        log_path: Its output (stdout and stderr).
        started_at: When it was launched (ISO 8601, UTC).
        launched: Whether the call that returned this launched it (``False``: it was
            already running).
    """

    pid: int
    log_path: Path
    started_at: str
    launched: bool = False


@dataclass(frozen=True)
class QueuedRender:
    """A render job as the dashboard left it.

    Attributes:
        job: The job (a snapshot).
        already_active: ``True`` when the episode already had a queued or running render
            job; ``job`` is that one and nothing new was queued.
        worker: The dashboard worker that will run it; ``None`` when the job is already
            running on some worker.
    """

    job: JobInfo
    already_active: bool = False
    worker: DashboardWorker | None = None


def start_render(
    studio: Studio,
    *,
    episode: int,
    project: str | None = None,
    backend: str = "animatic",
    render_pass: str | None = None,
) -> QueuedRender:
    """Queue a render of one episode and make sure a worker will run it.

    ``render_pass`` (``previs`` or ``final``; ``None`` for the backend's default)
    travels in the job's parameters to the parameterized notebook.

    Raises:
        InvalidJobError: no such episode, or an unknown backend (nothing queued).
        NotFoundError: no such project, or several and none chosen.
        JobError: the job is queued but no worker could be started.
    """
    from studio.backends import available_backends

    result = enqueue_renders(
        studio.database,
        [episode],
        project=project,
        backend=backend,
        available_backends=available_backends(),
        render_pass=render_pass,
    )
    if episode in result.created:
        job = get_job(studio.database, result.created[episode])
        return QueuedRender(job=job, worker=ensure_worker(studio.settings))
    job = get_job(studio.database, result.already_active[episode])
    worker = ensure_worker(studio.settings) if _waiting(studio, [job]) else None
    return QueuedRender(job=job, already_active=True, worker=worker)


def start_retake(
    studio: Studio,
    *,
    episode: int | None = None,
    scene: int | None = None,
    segment: int | None = None,
    start: float | None = None,
    end: float | None = None,
    notes: str = "",
    project: str | None = None,
    backend: str | None = None,
) -> QueuedRender:
    """Queue a ``retake`` job (:func:`studio.jobs.enqueue_retake`) and make sure a
    dashboard worker runs it.

    With only ``episode``, the job renders the retakes already queued there (by
    rejections); otherwise it marks the segment, scene or time range first.

    Raises:
        RenderError: a bad selection (nothing marked, nothing queued).
        NotFoundError: the project, episode, scene or segment does not exist.
        InvalidJobError: ``backend`` is not a known backend.
        JobError: the job is queued but no worker could be started.
    """
    job_id, _ = enqueue_retake(
        studio,
        project=project,
        episode=episode,
        scene=scene,
        segment=segment,
        start=start,
        end=end,
        notes=notes,
        backend=backend,
    )
    return QueuedRender(job=get_job(studio.database, job_id), worker=ensure_worker(studio.settings))


def retry_render(studio: Studio, job_id: int) -> QueuedRender:
    """Queue a failed or cancelled job again (a render resumes) and make sure a worker runs it.

    Raises:
        JobNotFoundError: no such job.
        JobStateError: the job is queued, running or succeeded.
        JobError: the job is queued but no worker could be started.
    """
    job = retry(studio.database, job_id)
    return QueuedRender(job=job, worker=ensure_worker(studio.settings))


def resume_waiting_jobs(studio: Studio, jobs: Iterable[JobInfo]) -> DashboardWorker | None:
    """Launch a dashboard worker when one of ``jobs`` waits for one and none is alive.

    A job waits when it is queued, or when it is running on a lease that has expired
    (its worker died; a new worker reaps the job and resumes it). Callers pass the jobs
    they started, not every queued job: workers elsewhere may be about to claim those.

    Returns:
        The worker launched by this call, or ``None`` (nothing waits, or a dashboard
        worker is alive and will get to it).
    """
    if dashboard_worker(studio.settings) is not None or not _waiting(studio, jobs):
        return None
    worker = ensure_worker(studio.settings)
    return worker if worker.launched else None


def _waiting(studio: Studio, jobs: Iterable[JobInfo]) -> bool:
    leases: list[datetime] = []
    for job in jobs:
        if job.status is JobStatus.QUEUED:
            return True
        if job.status is JobStatus.RUNNING and job.lease_expires_at is not None:
            leases.append(job.lease_expires_at)
    return bool(leases) and min(leases) < database_now(studio.database)


def ensure_worker(settings: Settings) -> DashboardWorker:
    """The live dashboard worker for this home, launching one if there is none.

    The worker gets ``STUDIO_HOME``, ``STUDIO_DATABASE_URL``, ``STUDIO_LEASE_SECONDS``
    and ``COMFYUI_URLS`` from ``settings`` through its environment.

    Raises:
        JobError: the worker process could not be started (the message says how to
            start one by hand).
    """
    folder = settings.home / WORKER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / _LOCK, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        running = dashboard_worker(settings)
        if running is not None:
            return running
        return _launch(settings, folder)


def dashboard_worker(settings: Settings) -> DashboardWorker | None:
    """The worker a dashboard launched for this home, if it is still alive.

    A pid file whose process has ended (or whose pid now belongs to another process)
    is ignored.
    """
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:  # poll() reaps it, so it is not left a zombie
            _CHILDREN.pop(pid, None)  # the panel's thread may have got here first
    path = settings.home / WORKER_DIR / _RECORD
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        pid = int(document["pid"])
        start = document.get("start")
        worker = DashboardWorker(
            pid=pid, log_path=path.parent / str(document["log"]), started_at=str(document["started_at"])
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None  # none yet, or not ours
    return worker if _alive(pid, start) else None


def _launch(settings: Settings, folder: Path) -> DashboardWorker:
    now = datetime.now(UTC)
    log_path = folder / f"worker-{now:%Y%m%dT%H%M%S%f}.log"
    try:
        process = _spawn(settings, log_path)
    except OSError as error:
        raise JobError(
            f"could not start a worker ({error}); queued jobs wait until one runs: "
            f"start one with `studio --home {settings.home} worker`"
        ) from error
    _CHILDREN[process.pid] = process  # keep the handle so this process reaps the exit
    # Reap it the moment it exits, not at the next poll: a panel that stopped polling
    # (its render finished) would otherwise leave it a <defunct> zombie for the
    # kernel's lifetime.
    threading.Thread(target=_reap, args=(process,), name=f"studio-reap-{process.pid}", daemon=True).start()
    worker = DashboardWorker(
        pid=process.pid,
        log_path=log_path,
        started_at=now.replace(tzinfo=None).isoformat(timespec="seconds"),
        launched=True,
    )
    document = {
        "pid": worker.pid,
        "start": _start_time(worker.pid),
        "log": log_path.name,
        "started_at": worker.started_at,
    }
    temporary = folder / f"{_RECORD}.tmp{os.getpid()}"
    temporary.write_text(json.dumps(document), encoding="utf-8")
    os.replace(temporary, folder / _RECORD)  # atomic: a reader never sees half a file
    return worker


def _reap(process: subprocess.Popen[bytes]) -> None:
    process.wait()
    _CHILDREN.pop(process.pid, None)


def _spawn(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``python -m studio worker --once`` detached, configured by its environment."""
    # The studio's settings, not whatever servers this process's environment names.
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("COMFYUI_URLS", "COMFYUI_HOST", "COMFYUI_PORT")
    }
    environment = {
        **inherited,
        "STUDIO_HOME": str(settings.home),
        "STUDIO_DATABASE_URL": settings.database_url,
        "STUDIO_LEASE_SECONDS": str(settings.lease_seconds),
        # The worker's output goes to a file; no buffering so the log is live.
        "PYTHONUNBUFFERED": "1",
    }
    if settings.comfyui_urls:
        environment["COMFYUI_URLS"] = ",".join(settings.comfyui_urls)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "studio", "worker", "--once"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            # Its own session: closing the tab (the kernel's process group) never stops it.
            start_new_session=True,
            close_fds=True,
        )


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), if readable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """When the process started, in clock ticks since boot (``None`` without ``/proc``)."""
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def _alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` and has not exited."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: /proc decides below
    fields = _proc_stat(pid)
    if fields is None:
        return True  # no /proc: trust the signal check
    if fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    return start is None or (len(fields) > 19 and fields[19] == start)
