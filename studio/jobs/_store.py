"""The durable job queue: ``production_jobs`` rows moved between states by guarded updates.

States and the only transitions this module makes::

    queued ──claim──▶ running ──finish──▶ succeeded | cancelled
      ▲  │                │  ──fail────▶ failed
      │  └─cancel─▶ cancelled   ──release─▶ queued (graceful worker shutdown)
      │                 └──reap (lease expired)──▶ queued, or failed past max_attempts
      └──────retry──── failed | cancelled

Contracts shared by every function here:

* One implementation serves SQLite and PostgreSQL. Every write that reads first runs in
  a short exclusive transaction on SQLite (``BEGIN IMMEDIATE``) so two processes never
  both upgrade a read lock; on PostgreSQL claims and reaps lock rows with
  ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each other.
* Each state change is one conditional transition: the ``WHERE`` clause restates the
  state it expects, and the function reports whether this caller won (a ``bool`` or a
  ``None`` result). Losing a race is normal and never an exception.
* Work done under a claim is fenced by the claim's token ``(worker_id, attempt)``: a
  worker whose lease expired and whose job was claimed again cannot overwrite the new
  owner's row, even if it is the same process claiming the same job again.
* ``attempts`` counts claims. A claim increments it; an expired lease puts the job back
  while ``attempts < max_attempts`` and fails it otherwise. A failure raised by the job
  itself is final (``studio jobs retry`` re-queues it with a fresh budget).
* Timestamps written by the queue come from the database clock (one clock for every
  machine), as naive UTC; :func:`database_now` is the one place that normalises it.
* Returned objects are frozen snapshots; later writes never change them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from studio.jobs._records import (
    ClaimedJob,
    HeartbeatResult,
    InvalidJobError,
    JobInfo,
    JobNotFoundError,
    JobStateError,
    JobStatus,
    ReapResult,
)
from studio.storage._database import Database
from studio.storage._dialects import database_now, naive_utc, now_sql, session_now
from studio.storage._models import JobModel

__all__ = [
    "claim_next",
    "database_now",
    "enqueue",
    "fail",
    "finish",
    "get_job",
    "heartbeat",
    "is_cancel_requested",
    "list_jobs",
    "release",
    "report_progress",
    "reap_expired",
    "request_cancel",
    "retry",
]

log = logging.getLogger("studio.jobs")

DEFAULT_MAX_ATTEMPTS = 3
# How many past attempts a job row remembers in ``metadata["history"]``.
HISTORY_LIMIT = 20


# ── transactions ──────────────────────────────────────────────────────────────────────


def _owned(claim: ClaimedJob, dialect: str) -> ColumnElement[bool]:
    """The fencing condition: the row is still running under exactly this claim, and
    the claim's lease has not run out.

    The lease is part of the fence, not only the reaper's trigger: a worker whose
    heartbeat stalled past its lease has lost the job even before anyone reaped it,
    because from that moment another worker may reap and claim it at any time. Checked
    against the database clock, the one clock every machine shares.
    """
    return (
        (JobModel.id == claim.id)
        & (JobModel.status == JobStatus.RUNNING.value)
        & (JobModel.worker_id == claim.worker_id)
        & (JobModel.attempts == claim.attempt)
        & JobModel.lease_expires_at.is_not(None)
        & (JobModel.lease_expires_at > now_sql(dialect))
    )


def _owned_row_without_commit(session: Session, claim: ClaimedJob) -> JobModel | None:
    """The claim's row, locked until the transaction ends, or ``None`` when the claim lost it.

    The lock (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction is already
    exclusive) keeps a reaper from requeueing the row between this read and our write.
    """
    query = select(JobModel).where(_owned(claim, session.get_bind().dialect.name)).with_for_update()
    return session.scalars(query).one_or_none()


def _find_or_raise_without_commit(session: Session, job_id: int, *, lock: bool = False) -> JobModel:
    query = select(JobModel).where(JobModel.id == job_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise JobNotFoundError(f"no job with id {job_id}; `studio jobs` lists them", job_id=job_id)
    return row


def _info(row: JobModel) -> JobInfo:
    meta = dict(row.meta or {})
    return JobInfo(
        id=row.id,
        job_type=row.job_type,
        status=JobStatus(row.status),
        priority=row.priority,
        progress=float(row.progress),
        message=str(meta.get("message", "")),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        worker_id=row.worker_id,
        parameters=dict(row.parameters or {}),
        project_id=row.project_id,
        episode_id=row.episode_id,
        cancel_requested=bool(row.cancel_requested),
        error=row.error,
        report_path=row.report_path,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        heartbeat_at=row.heartbeat_at,
        lease_expires_at=row.lease_expires_at,
        history=tuple(dict(item) for item in meta.get("history", [])),
    )


def _remember_without_commit(row: JobModel, outcome: str, detail: str | None) -> None:
    """Append the attempt that just ended to ``metadata["history"]`` (bounded)."""
    meta = dict(row.meta or {})
    history = list(meta.get("history", []))
    history.append({"attempt": row.attempts, "worker": row.worker_id, "outcome": outcome, "detail": detail})
    meta["history"] = history[-HISTORY_LIMIT:]
    row.meta = meta  # a new dict, so the JSON column is seen as changed


# ── the store ─────────────────────────────────────────────────────────────────────────


def enqueue(
    database: Database,
    job_type: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    priority: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    project_id: int | None = None,
    episode_id: int | None = None,
) -> int:
    """Queue one job and return its id.

    This stores what it is given; validating a job type's parameters is the caller's
    job (see :func:`studio.jobs._runners.enqueue_job`, which the CLI uses).

    Raises:
        InvalidJobError: ``job_type`` is empty or ``max_attempts`` is below 1.
        StorageError: the database refused the row.
    """
    if not job_type:
        raise InvalidJobError("a job needs a type")
    if max_attempts < 1:
        raise InvalidJobError(f"max_attempts must be at least 1, got {max_attempts}")
    with database.session() as session:
        row = JobModel(
            job_type=job_type,
            status=JobStatus.QUEUED.value,
            priority=priority,
            progress=0,
            attempts=0,
            max_attempts=max_attempts,
            parameters=dict(parameters or {}),
            project_id=project_id,
            episode_id=episode_id,
            cancel_requested=False,
            meta={},
        )
        session.add(row)
        session.flush()
        return row.id


def claim_next(
    database: Database,
    worker_id: str,
    *,
    lease_seconds: float,
    job_types: Collection[str] | None = None,
) -> ClaimedJob | None:
    """Claim the next queued job for ``worker_id``: highest priority first, then FIFO.

    One statement moves one row from ``queued`` to ``running`` and returns it: the
    candidate is chosen with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (rows another
    worker is claiming are skipped, not waited for) and inside ``BEGIN IMMEDIATE`` on
    SQLite (one writer at a time). The ``WHERE`` restates ``status = 'queued'``.

    Args:
        database: The queue's database.
        worker_id: Who claims (recorded on the row; part of the claim's token).
        lease_seconds: How long the claim holds without a heartbeat.
        job_types: Claim only these types (the ones this worker can run); ``None``: any.

    Returns:
        The claim (with ``attempt`` incremented and a lease of ``lease_seconds`` from
        the database clock), or ``None`` when nothing is queued.
    """
    if lease_seconds <= 0:
        raise ValueError(f"lease_seconds must be positive, got {lease_seconds}")
    dialect = database.dialect
    waiting = JobModel.status == JobStatus.QUEUED.value
    if job_types is not None:
        waiting = waiting & JobModel.job_type.in_(sorted(job_types))
    candidate = (
        select(JobModel.id)
        .where(waiting)
        .order_by(JobModel.priority.desc(), JobModel.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    now = now_sql(dialect)
    statement = (
        update(JobModel)
        .where(JobModel.id == candidate, JobModel.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value,
            worker_id=worker_id,
            attempts=JobModel.attempts + 1,
            heartbeat_at=now,
            lease_expires_at=now_sql(dialect, plus_seconds=lease_seconds),
            started_at=func.coalesce(JobModel.started_at, now),
            updated_at=now,
        )
        .returning(
            JobModel.id,
            JobModel.job_type,
            JobModel.parameters,
            JobModel.attempts,
            JobModel.max_attempts,
            JobModel.lease_expires_at,
        )
        .execution_options(synchronize_session=False)
    )
    with database.session() as session:
        row = session.execute(statement).one_or_none()
    if row is None:
        return None
    return ClaimedJob(
        id=row.id,
        job_type=row.job_type,
        parameters=dict(row.parameters or {}),
        worker_id=worker_id,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        lease_expires_at=naive_utc(row.lease_expires_at),
    )


def heartbeat(database: Database, claim: ClaimedJob, *, lease_seconds: float) -> HeartbeatResult:
    """Extend the claim's lease to ``lease_seconds`` from now (database clock).

    Returns:
        ``owned=False`` when the claim no longer holds the job (its lease expired and it
        was reaped or re-claimed, or it was finished): the caller must stop and must not
        expect its later writes to land. ``cancel_requested`` reports the cancel flag.
    """
    dialect = database.dialect
    statement = (
        update(JobModel)
        .where(_owned(claim, dialect))
        .values(
            heartbeat_at=now_sql(dialect),
            lease_expires_at=now_sql(dialect, plus_seconds=lease_seconds),
        )
        .returning(JobModel.cancel_requested, JobModel.lease_expires_at)
        .execution_options(synchronize_session=False)
    )
    with database.session() as session:
        row = session.execute(statement).one_or_none()
    if row is None:
        return HeartbeatResult(owned=False, cancel_requested=False)
    return HeartbeatResult(
        owned=True, cancel_requested=bool(row.cancel_requested), lease_expires_at=naive_utc(row[1])
    )


def report_progress(database: Database, claim: ClaimedJob, percent: float, message: str = "") -> bool:
    """Record real progress (0..100) and a short message for a running job.

    Returns:
        Whether the write landed (``False``: the claim no longer holds the job).

    Raises:
        ValueError: ``percent`` is outside 0..100.
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"progress must be between 0 and 100, got {percent}")
    with database.session() as session:
        row = _owned_row_without_commit(session, claim)
        if row is None:
            return False
        row.progress = float(percent)
        row.meta = {**(row.meta or {}), "message": message}
        return True


def is_cancel_requested(database: Database, job_id: int) -> bool:
    """Whether a cancel was requested for the job (``False`` for a missing job)."""
    with database.session() as session:
        flag = session.scalar(select(JobModel.cancel_requested).where(JobModel.id == job_id))
    return bool(flag)


def finish(
    database: Database,
    claim: ClaimedJob,
    status: JobStatus,
    *,
    report_path: str | None = None,
    message: str | None = None,
) -> bool:
    """End a claim as ``succeeded`` or ``cancelled``.

    Success sets progress to 100; a cancelled job keeps the progress its finished
    segments earned. Returns whether this claim still held the job (if not, nothing is
    written: another worker owns it now).

    Raises:
        ValueError: ``status`` is not SUCCEEDED or CANCELLED (use :func:`fail`).
    """
    if status not in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        raise ValueError(f"finish() ends a job as succeeded or cancelled, not {status}")
    with database.session() as session:
        row = _owned_row_without_commit(session, claim)
        if row is None:
            return False
        _end_without_commit(session, row, status, error=None, report_path=report_path, message=message)
        return True


def fail(database: Database, claim: ClaimedJob, error: str, *, report_path: str | None = None) -> bool:
    """End a claim as ``failed`` with ``error`` (final: no automatic retry).

    Returns whether this claim still held the job (if not, nothing is written).
    """
    with database.session() as session:
        row = _owned_row_without_commit(session, claim)
        if row is None:
            return False
        _end_without_commit(session, row, JobStatus.FAILED, error=error, report_path=report_path)
        return True


def release(database: Database, claim: ClaimedJob, *, reason: str = "worker stopped") -> bool:
    """Give a running job back to the queue without counting the attempt.

    Used when a worker shuts down gracefully and its job stopped at a checkpoint: the
    job is not at fault, so ``attempts`` goes back down. Returns whether it was released.
    """
    with database.session() as session:
        row = _owned_row_without_commit(session, claim)
        if row is None:
            return False
        _remember_without_commit(row, "released", reason)
        row.status = JobStatus.QUEUED.value
        row.attempts = max(0, row.attempts - 1)
        row.worker_id = None
        row.lease_expires_at = None
        return True


def _end_without_commit(
    session: Session,
    row: JobModel,
    status: JobStatus,
    *,
    error: str | None,
    report_path: str | None,
    message: str | None = None,
) -> None:
    now = session_now(session)
    _remember_without_commit(row, status.value, error)
    row.status = status.value
    row.error = error
    row.completed_at = now
    row.lease_expires_at = None
    if status is JobStatus.SUCCEEDED:
        row.progress = 100.0
        message = "done" if message is None else message
    if report_path is not None:
        row.report_path = report_path
    if message is not None:
        row.meta = {**(row.meta or {}), "message": message}


def request_cancel(database: Database, job_id: int) -> JobInfo:
    """Cancel a job: a queued job is cancelled at once; a running one is flagged.

    A running job stops at its next checkpoint (a render: within its segment), keeps what it
    finished and is marked ``cancelled`` by its worker. Cancelling a cancelled job is a
    no-op.

    Raises:
        JobNotFoundError: no such job.
        JobStateError: the job already succeeded or failed.
    """
    with database.session() as session:
        row = _find_or_raise_without_commit(session, job_id, lock=True)
        status = JobStatus(row.status)
        if status is JobStatus.QUEUED:
            _end_without_commit(session, row, JobStatus.CANCELLED, error=None, report_path=None)
            row.cancel_requested = True
        elif status is JobStatus.RUNNING:
            row.cancel_requested = True
        elif status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            raise JobStateError(
                f"job {job_id} already {status.value}; there is nothing to cancel", job_id=job_id
            )
        session.flush()
        return _info(row)


def retry(database: Database, job_id: int, *, max_attempts: int | None = None) -> JobInfo:
    """Put a failed or cancelled job back in the queue with a fresh attempt budget.

    The job keeps its id, parameters and priority; its past attempts stay in
    ``history``. A render job resumes: finished segments are not redone.

    Raises:
        JobNotFoundError: no such job.
        JobStateError: the job is queued, running or succeeded.
    """
    with database.session() as session:
        row = _find_or_raise_without_commit(session, job_id, lock=True)
        status = JobStatus(row.status)
        if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            hint = "enqueue it again to re-render" if status is JobStatus.SUCCEEDED else "wait for it"
            raise JobStateError(
                f"job {job_id} is {status.value}; only failed or cancelled jobs can be retried ({hint})",
                job_id=job_id,
            )
        row.status = JobStatus.QUEUED.value
        row.attempts = 0
        if max_attempts is not None:
            if max_attempts < 1:
                raise InvalidJobError(f"max_attempts must be at least 1, got {max_attempts}")
            row.max_attempts = max_attempts
        row.cancel_requested = False
        row.error = None
        row.worker_id = None
        row.lease_expires_at = None
        row.completed_at = None
        row.meta = {**(row.meta or {}), "message": f"retried after {status.value}"}
        session.flush()
        return _info(row)


def reap_expired(database: Database) -> ReapResult:
    """Recover running jobs whose lease expired (their worker died or hung).

    A job with attempts left goes back to ``queued``; one that used ``max_attempts``
    becomes ``failed`` with the reason. Idempotent and safe to run from every worker at
    once: rows are locked ``FOR UPDATE SKIP LOCKED`` (SQLite: ``BEGIN IMMEDIATE``) and
    each update restates the expired-lease condition, so a job is reaped exactly once.
    """
    now = now_sql(database.dialect)
    expired = (
        (JobModel.status == JobStatus.RUNNING.value)
        & JobModel.lease_expires_at.is_not(None)
        & (JobModel.lease_expires_at < now)
    )
    requeued: list[int] = []
    failed: list[int] = []
    with database.session() as session:
        rows = session.scalars(
            select(JobModel).where(expired).order_by(JobModel.id).with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            reason = (
                f"attempt {row.attempts} lost its lease on worker {row.worker_id} "
                f"(expired {row.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
            if row.attempts >= row.max_attempts:
                _end_without_commit(
                    session,
                    row,
                    JobStatus.FAILED,
                    error=f"{reason}; gave up after {row.attempts} of {row.max_attempts} attempts",
                    report_path=None,
                )
                failed.append(row.id)
            else:
                _remember_without_commit(row, "lease expired", reason)
                row.status = JobStatus.QUEUED.value
                row.worker_id = None
                row.lease_expires_at = None
                row.meta = {**(row.meta or {}), "message": f"requeued: {reason}"}
                requeued.append(row.id)
    if requeued or failed:
        log.warning("reaped expired leases: requeued %s, failed %s", requeued, failed)
    return ReapResult(requeued=tuple(requeued), failed=tuple(failed))


def get_job(database: Database, job_id: int) -> JobInfo:
    """One job's snapshot.

    Raises:
        JobNotFoundError: no such job.
    """
    with database.session() as session:
        return _info(_find_or_raise_without_commit(session, job_id))


def list_jobs(
    database: Database,
    *,
    statuses: tuple[JobStatus, ...] | None = None,
    job_type: str | None = None,
    limit: int | None = None,
) -> list[JobInfo]:
    """Jobs in queue order: running first, then queued (priority, FIFO), then finished
    (most recent first). Filters are optional; ``limit`` caps the count."""
    query = select(JobModel)
    if statuses:
        query = query.where(or_(*(JobModel.status == s.value for s in statuses)))
    if job_type:
        query = query.where(JobModel.job_type == job_type)
    with database.session() as session:
        rows = [_info(row) for row in session.scalars(query.order_by(JobModel.id))]
    # Ordered in Python: portable, and a queue listing is small.
    running = [j for j in rows if j.status is JobStatus.RUNNING]
    queued = sorted((j for j in rows if j.status is JobStatus.QUEUED), key=lambda j: (-j.priority, j.id))
    finished = sorted(
        (j for j in rows if j.status.is_finished),
        key=lambda j: (j.completed_at or j.created_at, j.id),
        reverse=True,
    )
    result = running + queued + finished
    return result[:limit] if limit is not None else result
