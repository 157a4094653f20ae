"""The job queue's value types and errors: states, snapshots, claims, reap results.

Kept apart from the store (:mod:`studio.jobs._store`) so runners, workers and the CLI can
name them without pulling in SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from studio._exceptions import StudioError

__all__ = [
    "ClaimedJob",
    "HeartbeatResult",
    "InvalidJobError",
    "JobCancelled",
    "JobError",
    "JobInfo",
    "JobNotFoundError",
    "JobStateError",
    "JobStatus",
    "ReapResult",
]

# ── errors ────────────────────────────────────────────────────────────────────────────
#
#   StudioError
#   └── JobError                    the job queue
#       ├── JobNotFoundError        no job with that id (also LookupError)
#       ├── InvalidJobError         bad job type or parameters, rejected before queueing
#       ├── JobStateError           the job is not in a state that allows the request
#       └── JobCancelled            a runner stopped at a checkpoint because it was asked to


class JobError(StudioError):
    """Root of the job queue's errors. ``job_id`` names the job when one is involved."""

    def __init__(self, message: str, *, job_id: int | None = None) -> None:
        self.job_id = job_id
        super().__init__(message)


class JobNotFoundError(JobError, LookupError):
    """No job has the given id."""

    exit_code = 2


class InvalidJobError(JobError):
    """A job type or its parameters were rejected when enqueued (nothing was queued)."""

    exit_code = 2


class JobStateError(JobError):
    """The job's state does not allow the request (e.g. retrying a running job)."""

    exit_code = 2


class JobCancelled(JobError):  # named for what happened: a signal, not a fault
    """Raised by a runner that stopped at a checkpoint because it was asked to.

    The worker marks the job ``cancelled`` (a user's cancel) or gives it back to the
    queue (the worker is shutting down); finished work is kept either way.
    """


class JobStatus(enum.StrEnum):
    """The five states of a job; the values are what the ``status`` column stores."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


# ── snapshots ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class JobInfo:
    """A read-only snapshot of one job row, as ``studio jobs`` shows it."""

    id: int
    job_type: str
    status: JobStatus
    priority: int
    progress: float
    message: str
    attempts: int
    max_attempts: int
    worker_id: str | None
    parameters: Mapping[str, Any]
    project_id: int | None
    episode_id: int | None
    cancel_requested: bool
    error: str | None
    report_path: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    heartbeat_at: datetime | None
    lease_expires_at: datetime | None
    history: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (datetimes as ISO 8601 strings, naive UTC)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, JobStatus):
                value = value.value
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = [dict(item) for item in value]
            out[name] = value
        return out


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker won by :func:`claim_next`: the job plus the claim's fencing token.

    ``(worker_id, attempt)`` is the token every later write under this claim presents.
    """

    id: int
    job_type: str
    parameters: Mapping[str, Any]
    worker_id: str
    attempt: int
    max_attempts: int
    lease_expires_at: datetime


@dataclass(frozen=True)
class HeartbeatResult:
    """The outcome of one heartbeat.

    Attributes:
        owned: The claim still holds the job and the lease was extended. ``False`` means
            the lease was lost (reaped, or the job was finished elsewhere): stop working.
        cancel_requested: Someone asked for this job to be cancelled.
        lease_expires_at: The new expiry (database clock), or ``None`` when not owned.
    """

    owned: bool
    cancel_requested: bool
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class ReapResult:
    """Jobs whose leases had expired: ``requeued`` went back to the queue, ``failed`` had
    used up ``max_attempts``."""

    requeued: tuple[int, ...] = ()
    failed: tuple[int, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.requeued or self.failed)
