"""The one channel through which running work reports progress and learns it must stop.

Both sides of a job use it:

- the worker gives each runner a :class:`~studio.jobs.JobContext`, whose channel the
  heartbeat thread also marks (cancelled, lease lost, worker stopping);
- a render notebook runs in its own kernel process, apart from the worker that holds
  the lease; it calls :func:`job_hooks` once and hands ``channel.progress`` and
  ``channel.should_cancel`` to ``render_episode``.

Progress is 0..100 (anything else is a ``ValueError``), written at most every
:data:`PROGRESS_INTERVAL_SECONDS` (the latest value is kept and flushed at 100, on
``force`` and by :meth:`JobChannel.flush`). The cancel flag is read from the database
at most every :data:`CANCEL_CHECK_INTERVAL_SECONDS`. Every write is fenced by the claim
the channel was made for: once the job was requeued or taken over, progress is dropped
and :meth:`JobChannel.should_cancel` answers ``True``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from studio._config import Settings
from studio.jobs._records import ClaimedJob, JobStatus
from studio.jobs._store import get_job, report_progress
from studio.storage._database import Database

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["CANCEL_CHECK_INTERVAL_SECONDS", "PROGRESS_INTERVAL_SECONDS", "JobChannel", "job_hooks"]

log = logging.getLogger("studio.jobs")

# Progress rows are written at most this often (the latest value is always flushed).
PROGRESS_INTERVAL_SECONDS = 0.5
# The cancel flag is read from the database at most this often.
CANCEL_CHECK_INTERVAL_SECONDS = 0.5


class JobChannel(Mapping[str, Callable[..., Any]]):
    """Progress and cancellation for one claim of one job. Thread-safe.

    Also a mapping with the keys ``progress``, ``should_cancel`` and ``report``, for
    code that treats it as a dict of callbacks. Inert (no writes, never cancels) when
    there is no job, so a notebook runs the same by hand.
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
        self.claim = claim
        self.job_id = claim.id if claim is not None else None
        self._owns_database = owns_database
        self._cancelled = threading.Event()
        self._stopping = threading.Event()
        self._lease_lost = threading.Event()
        if lost:
            self._lease_lost.set()
        self._lock = threading.Lock()
        self._last_written = float("-inf")
        self._last_check = float("-inf")
        self._pending: tuple[float, str] | None = None
        self._callbacks: dict[str, Callable[..., Any]] = {
            "progress": self.progress,
            "should_cancel": self.should_cancel,
            "report": self.report,
        }

    # Mapping protocol.
    def __getitem__(self, key: str) -> Callable[..., Any]:
        return self._callbacks[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._callbacks)

    def __len__(self) -> int:
        return len(self._callbacks)

    # Progress.

    def report(self, percent: float, message: str = "", *, force: bool = False) -> None:
        """Record real progress (0..100) and a short message; writes are throttled.

        Raises:
            ValueError: ``percent`` is outside 0..100.
        """
        if not 0 <= percent <= 100:
            raise ValueError(f"progress must be between 0 and 100, got {percent}")
        with self._lock:
            self._pending = (float(percent), message)
            elapsed = time.monotonic() - self._last_written
            due = force or percent >= 100 or elapsed >= PROGRESS_INTERVAL_SECONDS
        if due:
            self.flush()

    def progress(self, event: Any) -> None:
        """A ``progress`` callback for ``render_episode``, taking a ``RenderProgress``:
        ``event.fraction`` (0..1) or ``event.percent`` (0..100), and ``event.message``."""
        fraction = getattr(event, "fraction", None)
        percent = 100.0 * float(fraction) if fraction is not None else getattr(event, "percent", None)
        if percent is not None:
            self.report(float(percent), str(getattr(event, "message", "") or ""))

    def flush(self) -> None:
        """Write the latest unreported progress now."""
        with self._lock:
            pending, self._pending = self._pending, None
            self._last_written = time.monotonic()
        if pending is None or self.database is None or self.claim is None or self._lease_lost.is_set():
            return
        if not report_progress(self.database, self.claim, *pending):
            self._lease_lost.set()

    # Cancellation.

    def should_cancel(self) -> bool:
        """Whether the work should stop at this checkpoint.

        True when a user cancelled the job, the worker is shutting down, or the claim no
        longer holds the job (its lease was lost or it was taken over). Cheap enough to
        call between segments.
        """
        if self.stop_requested:
            return True
        if self.database is None or self.claim is None:
            return False
        now = time.monotonic()
        with self._lock:
            if now - self._last_check < CANCEL_CHECK_INTERVAL_SECONDS:
                return False
            self._last_check = now
        info = get_job(self.database, self.claim.id)
        if info.status is not JobStatus.RUNNING or (info.worker_id, info.attempts) != (
            self.claim.worker_id,
            self.claim.attempt,
        ):
            self._lease_lost.set()
        if info.cancel_requested:
            self._cancelled.set()
        return self.stop_requested

    @property
    def stop_requested(self) -> bool:
        return self._cancelled.is_set() or self._stopping.is_set() or self._lease_lost.is_set()

    # The worker's side: why the work is asked to stop.

    def mark_cancelled(self) -> None:
        self._cancelled.set()

    def mark_stopping(self) -> None:
        self._stopping.set()

    def mark_lease_lost(self) -> None:
        self._lease_lost.set()

    @property
    def user_cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def worker_stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def lease_lost(self) -> bool:
        return self._lease_lost.is_set()

    def close(self) -> None:
        """Release the database handle if the channel opened it."""
        if self._owns_database and self.database is not None:
            self.database.dispose()

    def __repr__(self) -> str:
        return f"JobChannel(job_id={self.job_id})"


def job_hooks(source: Settings | Studio | Database, job_id: int | None) -> JobChannel:
    """The channel through which a render reports to job ``job_id`` (``None`` or 0: inert).

    Args:
        source: Where the queue is: settings (a database handle is opened and owned by
            the channel), a ``Studio`` or a ``Database`` (shared).
        job_id: The job the render runs for.

    Raises:
        JobNotFoundError: no job has that id.
    """
    if not job_id:
        return JobChannel(None, None)
    owns = isinstance(source, Settings)
    if isinstance(source, Settings):
        database = Database(source.database_url)
    elif isinstance(source, Database):
        database = source
    else:
        database = source.database
    info = get_job(database, job_id)
    if info.status is not JobStatus.RUNNING or info.worker_id is None:
        log.warning("job %s is %s, not running: the render will stop at once", job_id, info.status.value)
        placeholder = ClaimedJob(
            job_id, info.job_type, info.parameters, "", 0, info.max_attempts, info.created_at
        )
        return JobChannel(database, placeholder, lost=True, owns_database=owns)
    claim = ClaimedJob(
        id=info.id,
        job_type=info.job_type,
        parameters=info.parameters,
        worker_id=info.worker_id,
        attempt=info.attempts,
        max_attempts=info.max_attempts,
        lease_expires_at=info.lease_expires_at or info.created_at,
    )
    return JobChannel(database, claim, owns_database=owns)
