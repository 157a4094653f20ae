"""Hooks through which a render running for a job reports progress and sees cancellation.

The render notebook runs in its own kernel process, apart from the worker that holds
the job's lease. It calls :func:`job_hooks` once and hands ``hooks["progress"]`` and
``hooks["should_cancel"]`` (also attributes) to ``render_episode``. The worker keeps the
heartbeat; the hooks only write progress and read the cancel flag.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from studio._config import Settings
from studio._job_records import ClaimedJob, JobStatus
from studio._storage._database import Database

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["JobHooks", "job_hooks"]

log = logging.getLogger("studio.jobs")

# Progress rows are written at most this often (a finished episode is always written).
PROGRESS_INTERVAL_SECONDS = 0.5
# The cancel flag is read from the database at most this often.
CANCEL_CHECK_INTERVAL_SECONDS = 0.5


class JobHooks(Mapping[str, Callable[..., Any]]):
    """Progress and cancellation callbacks for the render of one job.

    Both an object (``hooks.progress``) and a mapping (``hooks["progress"]``) with the
    keys ``progress``, ``should_cancel`` and ``report``. Inert (no writes, never cancels)
    when there is no job, so the notebook runs the same by hand. Writes are fenced by the
    claim that held the job when the hooks were made: if the job was requeued or taken
    over since, progress is dropped and :meth:`should_cancel` answers ``True``.
    """

    def __init__(
        self,
        database: Database | None,
        claim: ClaimedJob | None,
        *,
        lost: bool = False,
        owns_database: bool = False,
    ) -> None:
        self.database = database
        self.job_id = claim.id if claim is not None else None
        self._claim = claim
        self._lost = lost
        self._owns_database = owns_database
        self._last_written = float("-inf")
        self._last_check = float("-inf")
        self._cancelled = False
        self._callbacks: dict[str, Callable[..., Any]] = {
            "progress": self.progress,
            "should_cancel": self.should_cancel,
            "report": self.report,
        }

    # Mapping protocol, for code that treats the hooks as a dict of callbacks.
    def __getitem__(self, key: str) -> Callable[..., Any]:
        return self._callbacks[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._callbacks)

    def __len__(self) -> int:
        return len(self._callbacks)

    def report(self, percent: float, message: str = "", *, force: bool = False) -> None:
        """Record progress (0..100, clamped); throttled unless ``force`` or at 100."""
        if self.database is None or self._claim is None or self._lost:
            return
        from studio._jobs import report_progress

        percent = min(100.0, max(0.0, float(percent)))
        now = time.monotonic()
        if not force and percent < 100 and now - self._last_written < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_written = now
        if not report_progress(self.database, self._claim, percent, message):
            self._lost = True

    def progress(self, event: Any) -> None:
        """A ``progress`` callback for ``render_episode``, taking a ``RenderProgress``.

        Reads ``event.fraction`` (0..1, finished segments over planned segments), or
        ``event.percent`` (0..100), and ``event.message``.
        """
        percent = _percent_of(event)
        if percent is not None:
            self.report(percent, str(getattr(event, "message", "") or ""))

    def should_cancel(self) -> bool:
        """A ``should_cancel`` callback: true once the job is cancelled or no longer ours."""
        if self._cancelled or self._lost:
            return True
        if self.database is None or self._claim is None:
            return False
        now = time.monotonic()
        if now - self._last_check < CANCEL_CHECK_INTERVAL_SECONDS:
            return False
        self._last_check = now
        from studio._jobs import get_job

        info = get_job(self.database, self._claim.id)
        token = (self._claim.worker_id, self._claim.attempt)
        if info.status is not JobStatus.RUNNING or (info.worker_id, info.attempts) != token:
            self._lost = True
        self._cancelled = info.cancel_requested
        return self._cancelled or self._lost

    def close(self) -> None:
        """Release the database handle if the hooks opened it."""
        if self._owns_database and self.database is not None:
            self.database.dispose()

    def __repr__(self) -> str:
        return f"JobHooks(job_id={self.job_id})"


def _percent_of(event: Any) -> float | None:
    fraction = getattr(event, "fraction", None)
    if fraction is not None:
        return 100.0 * float(fraction)
    percent = getattr(event, "percent", None)
    if percent is not None:
        return float(percent)
    return None


def job_hooks(source: Settings | Studio | Database, job_id: int | None) -> JobHooks:
    """Hooks through which a render reports to job ``job_id`` (``None`` or 0: inert).

    Args:
        source: Where the queue is: settings (a database handle is opened and owned by
            the hooks), a ``Studio`` or a ``Database`` (shared).
        job_id: The job the render runs for.

    Raises:
        JobNotFoundError: no job has that id.
    """
    if not job_id:
        return JobHooks(None, None)
    owns = isinstance(source, Settings)
    if isinstance(source, Settings):
        database = Database(source.database_url)
    elif isinstance(source, Database):
        database = source
    else:
        database = source.database
    from studio._jobs import get_job

    info = get_job(database, job_id)
    if info.status is not JobStatus.RUNNING or info.worker_id is None:
        log.warning("job %s is %s, not running: the render will stop at once", job_id, info.status.value)
        placeholder = ClaimedJob(
            job_id, info.job_type, info.parameters, "", 0, info.max_attempts, info.created_at
        )
        return JobHooks(database, placeholder, lost=True, owns_database=owns)
    claim = ClaimedJob(
        id=info.id,
        job_type=info.job_type,
        parameters=info.parameters,
        worker_id=info.worker_id,
        attempt=info.attempts,
        max_attempts=info.max_attempts,
        lease_expires_at=info.lease_expires_at or info.created_at,
    )
    return JobHooks(database, claim, owns_database=owns)
