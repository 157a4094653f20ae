"""What a job does: the runner registry, the context a runner gets, and the built-in types.

A runner is ``Callable[[JobContext], None]`` registered under a job type with
:func:`register_job_type`. It reports real progress with
:meth:`JobContext.report_progress`, checks :meth:`JobContext.cancel_requested` at its
checkpoints (between segments) and, when that says yes, stops cleanly by raising
:class:`~studio.jobs._records.JobCancelled`. Returning normally means success; any other
exception fails the job with the error (and the failing cell, for a notebook).

Built-in types: ``noop`` (does nothing; the queue's own tests and benchmarks use it),
``render_episode`` (runs the parameterized render notebook for one episode) and
``retake`` (renders the retakes queued in one episode; resumable like a render).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from studio._config import Settings
from studio.jobs._channel import JobChannel
from studio.jobs._records import ClaimedJob, JobCancelled, JobError
from studio.storage._database import Database

__all__ = [
    "JobContext",
    "JobRunner",
    "available_job_types",
    "describe_failure",
    "job_runner",
    "register_job_type",
]

log = logging.getLogger("studio.jobs")

JobRunner = Callable[["JobContext"], None]


class JobContext:
    """Everything a runner may use while it runs one claimed job.

    Thread-safe: the worker's heartbeat thread flags cancellation and lease loss while
    the runner's thread reads them.

    Attributes:
        job_id: The job's id.
        job_type: Its registered type.
        parameters: Its parameters, as enqueued (read-only).
        attempt: Which claim of the job this is (1 for the first run).
        worker_id: The worker holding the claim.
        database: The worker's database handle (shared; do not dispose it).
        settings: The worker's settings (home, database URL, lease length).
        report_path: The report this run wrote, relative to the studio home when it lies
            inside it; set with :meth:`set_report_path`.
    """

    def __init__(self, claim: ClaimedJob, *, database: Database, settings: Settings) -> None:
        self.claim = claim
        self.job_id = claim.id
        self.job_type = claim.job_type
        self.parameters: Mapping[str, Any] = dict(claim.parameters)
        self.attempt = claim.attempt
        self.worker_id = claim.worker_id
        self.database = database
        self.settings = settings
        self.report_path: str | None = None
        self.channel = JobChannel(database, claim)

    def report_progress(self, percent: float, message: str = "") -> None:
        """Record real progress (0..100) and a short message; writes are throttled.

        Raises:
            ValueError: ``percent`` is outside 0..100.
        """
        self.channel.report(percent, message)

    def flush_progress(self) -> None:
        """Write the latest unreported progress now (the worker calls this at the end)."""
        self.channel.flush()

    def cancel_requested(self) -> bool:
        """Whether the runner should stop at this checkpoint (see :meth:`JobChannel.should_cancel`)."""
        return self.channel.should_cancel()

    def set_report_path(self, path: str | os.PathLike[str]) -> None:
        """Remember the report this run wrote (stored relative to the studio home)."""
        self.report_path = _relative_to_home(Path(path), self.settings.home)

    # The worker's side: why the runner is asked to stop.

    def mark_cancelled(self) -> None:
        self.channel.mark_cancelled()

    def mark_stopping(self) -> None:
        self.channel.mark_stopping()

    def mark_lease_lost(self) -> None:
        self.channel.mark_lease_lost()

    @property
    def user_cancelled(self) -> bool:
        return self.channel.user_cancelled

    @property
    def worker_stopping(self) -> bool:
        return self.channel.worker_stopping

    @property
    def lease_lost(self) -> bool:
        return self.channel.lease_lost

    def __repr__(self) -> str:
        return f"JobContext(job_id={self.job_id}, job_type={self.job_type!r}, attempt={self.attempt})"


def _relative_to_home(path: Path, home: Path) -> str:
    try:
        return str(path.resolve().relative_to(home.resolve()))
    except ValueError:
        return str(path)


# ── the registry ──────────────────────────────────────────────────────────────────────

_REGISTRY: dict[str, JobRunner] = {}
_REGISTRY_LOCK = threading.Lock()


def register_job_type(name: str, runner: JobRunner, *, replace: bool = False) -> None:
    """Make ``runner`` run every job of type ``name``.

    Raises:
        ValueError: ``name`` is already registered (pass ``replace=True`` to override).
    """
    if not name:
        raise ValueError("a job type needs a name")
    with _REGISTRY_LOCK:
        if name in _REGISTRY and not replace and _REGISTRY[name] is not runner:
            raise ValueError(f"job type {name!r} is already registered; pass replace=True to override")
        _REGISTRY[name] = runner


def available_job_types() -> list[str]:
    return sorted(_REGISTRY)


def job_runner(name: str) -> JobRunner:
    """The runner registered for ``name``.

    Raises:
        JobError: no runner is registered (the message lists the known types).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(available_job_types()) or "none"
        raise JobError(
            f"no runner for job type {name!r} in this worker; known types: {known} "
            "(start the worker with --import MODULE to load more)"
        ) from None


def describe_failure(error: BaseException) -> str:
    """One line for the job's ``error`` column, naming the failing cell of a notebook.

    papermill's ``PapermillExecutionError`` (possibly the cause of a studio error) carries
    ``cell_index``, ``exec_count``, ``ename`` and ``evalue``; everything else is
    ``Type: message``.
    """
    cell = _notebook_failure(error)
    if cell is not None:
        index, count, ename, evalue = cell
        where = f"cell {index}" + (f" (execution {count})" if count is not None else "")
        prefix = f"{error}: " if not _is_notebook_error(error) and str(error) else ""
        return f"{prefix}notebook failed at {where}: {ename}: {evalue}"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_notebook_error(error: BaseException) -> bool:
    return all(hasattr(error, name) for name in ("cell_index", "ename", "evalue"))


def _notebook_failure(error: BaseException) -> tuple[Any, Any, Any, Any] | None:
    seen: set[int] = set()
    current: Any = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_notebook_error(current):
            # Duck-typed: papermill is not imported by the worker just to classify errors.
            return current.cell_index, getattr(current, "exec_count", None), current.ename, current.evalue
        current = current.__cause__ or current.__context__
    return None


# ── built-in job types ────────────────────────────────────────────────────────────────


def run_noop(context: JobContext) -> None:
    """The empty job: reports completion and returns. Used by tests and benchmarks."""
    context.report_progress(100, "nothing to do")


def run_render_episode(context: JobContext) -> None:
    """Render one episode through the parameterized notebook; the executed notebook is
    the job's report (kept under the home, partial on failure).

    Parameters: ``episode`` (int), ``project`` (title or ``None``), ``backend``,
    ``render_pass`` (optional: ``previs`` or ``final``). Inside
    the kernel, the notebook reports progress and sees cancellation through
    :func:`studio.jobs.job_hooks`; a render stopped that way fails its cell with
    ``RenderCancelled``, which this runner turns into :class:`JobCancelled`.

    Raises:
        JobError: ``studio.render._report.run_render_report`` is not available in this studio.
        JobCancelled: the render stopped at a checkpoint because it was asked to.
        RenderError: the render failed (the message names the failing cell).
    """
    try:
        from studio.render._report import run_render_report
    except ImportError as error:
        raise JobError(
            "render_episode jobs need studio.render._report.run_render_report, which this version of the "
            "studio does not provide; retry the job after upgrading",
            job_id=context.job_id,
        ) from error
    from studio._studio import Studio

    # Share the worker's database handle: the Studio is a view, not an owner (never closed here).
    studio = Studio(context.settings, context.database)
    params = context.parameters
    try:
        summary = run_render_report(
            studio,
            episode=int(params["episode"]),
            project=params.get("project"),
            backend=str(params.get("backend", "animatic")),
            render_pass=str(params["render_pass"]) if params.get("render_pass") else None,
            job_id=context.job_id,
        )
    except Exception as error:
        report = getattr(error, "report_path", None)
        if report:
            context.set_report_path(report)
        if _was_cancelled(error):
            raise JobCancelled(
                "the render stopped at a checkpoint; finished segments are kept", job_id=context.job_id
            ) from error
        raise
    report = getattr(summary, "report", None) or getattr(summary, "report_path", None)
    if report:
        context.set_report_path(report)


def _was_cancelled(error: BaseException) -> bool:
    """A render stopped by ``should_cancel`` (``RenderCancelled``, raised in the kernel)."""
    if any(type(e).__name__ == "RenderCancelled" for e in _chain(error)):
        return True
    cell = _notebook_failure(error)
    return cell is not None and cell[2] == "RenderCancelled"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def run_retake(context: JobContext) -> None:
    """Render the retakes queued in one episode (:func:`studio.render.render_retakes`).

    Parameters: ``episode`` (int), ``project`` (title or ``None``), ``max_attempts``
    (optional). The segments were marked when the job was queued
    (:func:`studio.jobs.enqueue_retake`), so a job that is run again after a crash or a
    lost lease finishes what is still queued and generates nothing twice.

    Raises:
        JobCancelled: the retake stopped at a checkpoint because it was asked to.
        RenderError: nothing is queued, or the render failed.
    """
    from studio._studio import Studio
    from studio.render import RenderCancelled, has_queued_retakes, render_retakes

    studio = Studio(context.settings, context.database)
    params = context.parameters
    attempts = params.get("max_attempts")
    if not has_queued_retakes(studio, episode=int(params["episode"]), project=params.get("project")):
        context.report_progress(100, "nothing left to retake")  # an earlier claim finished it
        return
    try:
        render_retakes(
            studio,
            episode=int(params["episode"]),
            project=params.get("project"),
            max_attempts=int(attempts) if attempts else None,
            progress=lambda event: context.report_progress(100 * event.fraction, event.message[:200]),
            should_cancel=context.cancel_requested,
        )
    except RenderCancelled as error:
        raise JobCancelled(
            "the retake stopped at a checkpoint; finished takes are kept", job_id=context.job_id
        ) from error


register_job_type("noop", run_noop)
register_job_type("render_episode", run_render_episode)
register_job_type("retake", run_retake)
