"""``studio worker``: claim jobs, hold their leases with a heartbeat, run them, record the outcome.

A :class:`Worker` runs ``concurrency`` slots, each a thread that loops: reap expired
leases (throttled), claim the next job this worker can run, start a
:class:`HeartbeatThread` for it, call its runner, and write the outcome under the
claim's fencing token. Threads suffice because the heavy work of a render happens
outside the interpreter (the papermill kernel, ffmpeg, ComfyUI servers); for more CPU,
run more worker processes, on this machine or others, against the same database.

Shutdown is graceful: :meth:`Worker.stop` (SIGTERM / SIGINT when signals are handled)
stops claiming and asks running jobs to stop at their next checkpoint; a job that stops
that way goes back to the queue without using an attempt, and a render resumes where it
stopped. A second signal kills the process; its leases expire and other workers take
the jobs over.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from types import FrameType

from studio._config import Settings
from studio._exceptions import StudioError
from studio.jobs._records import ClaimedJob, JobCancelled, JobStatus
from studio.jobs._runners import JobContext, available_job_types, describe_failure, job_runner
from studio.jobs._store import claim_next, fail, finish, heartbeat, is_cancel_requested, reap_expired, release
from studio.storage._database import Database

__all__ = ["HeartbeatThread", "Worker", "WorkerState", "WorkerStats", "default_worker_id"]

log = logging.getLogger("studio.worker")

DEFAULT_POLL_SECONDS = 1.0
# Transient database errors back off up to this long between attempts.
MAX_BACKOFF_SECONDS = 30.0


class WorkerState(enum.Enum):
    """A worker's life: CREATED → RUNNING → STOPPING → STOPPED (runs once)."""

    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass
class WorkerStats:
    """What a worker did. ``overheads`` holds, per job, the seconds from the start of
    the claim to the start of the runner (claim + heartbeat start + dispatch)."""

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0
    lost: int = 0
    overheads: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "released": self.released,
            "lost": self.lost,
        }


def default_worker_id() -> str:
    """``host:pid:random``: unique per process, readable in ``studio jobs``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class HeartbeatThread(threading.Thread):
    """Renews one claim's lease every ``interval`` seconds until stopped.

    It waits on an :class:`threading.Event`, so :meth:`stop` returns at once. A lost
    lease or a cancel request is passed to the job's :class:`JobContext`; database
    errors are logged and retried at the next beat (the lease spans three beats).
    """

    def __init__(self, database: Database, context: JobContext, *, lease_seconds: float) -> None:
        super().__init__(name=f"heartbeat-job-{context.job_id}", daemon=True)
        self.database = database
        self.context = context
        self.lease_seconds = lease_seconds
        # Three beats per lease: a lease survives one missed or slow beat.
        self.interval = lease_seconds / 3
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                result = heartbeat(self.database, self.context.claim, lease_seconds=self.lease_seconds)
            except StudioError as error:
                log.warning("job %s: heartbeat failed (%s); retrying", self.context.job_id, error)
                continue
            if not result.owned:
                log.warning("job %s: lease lost; stopping work on it", self.context.job_id)
                self.context.mark_lease_lost()
                return
            if result.cancel_requested:
                self.context.mark_cancelled()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


class Worker:
    """Claims and runs jobs from the queue in ``database``.

    Args:
        database: The queue (shared by every worker on every machine).
        settings: Passed to runners (home, database URL); ``lease_seconds`` by default.
        concurrency: Jobs run at once by this process (one thread each).
        lease_seconds: Lease length; defaults to ``settings.lease_seconds``.
        once: Exit when no job is queued instead of waiting for more.
        max_jobs: Exit after claiming this many jobs (``None``: no limit).
        poll_seconds: How long an idle slot waits before asking again.
        worker_id: Recorded on claimed rows; defaults to :func:`default_worker_id`.
        job_types: Claim only these types; defaults to every registered type.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        concurrency: int = 1,
        lease_seconds: float | None = None,
        once: bool = False,
        max_jobs: int | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        worker_id: str | None = None,
        job_types: Collection[str] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_jobs is not None and max_jobs < 1:
            raise ValueError(f"max_jobs must be at least 1, got {max_jobs}")
        self.database = database
        self.settings = settings
        self.concurrency = concurrency
        self.lease_seconds = float(lease_seconds if lease_seconds is not None else settings.lease_seconds)
        if self.lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {self.lease_seconds}")
        self.once = once
        self.max_jobs = max_jobs
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or default_worker_id()
        self.job_types = tuple(sorted(job_types if job_types is not None else available_job_types()))
        # Reaping more often than a few times per lease buys nothing.
        self.reap_interval = min(self.lease_seconds / 2, 10.0)
        self.stats = WorkerStats()
        self._state = WorkerState.CREATED
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._reserved = 0
        self._last_reap = float("-inf")
        self._running: dict[int, JobContext] = {}

    @property
    def state(self) -> WorkerState:
        return self._state

    def run(self, *, handle_signals: bool = False) -> WorkerStats:
        """Work until stopped, or until the queue is empty (``once``) or ``max_jobs``.

        Args:
            handle_signals: Install SIGTERM/SIGINT handlers that stop gracefully (main
                thread only); a second signal gets the default behaviour.

        Raises:
            RuntimeError: the worker already ran (a worker runs once).
            StorageError: with ``once``, the database failed; otherwise errors are
                logged and retried with backoff.
        """
        with self._lock:
            if self._state is not WorkerState.CREATED:
                raise RuntimeError(
                    f"this worker is {self._state.value}; a worker runs once, create a new one"
                )
            self._state = WorkerState.RUNNING
        restore = self._install_signal_handlers() if handle_signals else None
        log.info(
            "worker %s: %d slot(s), lease %.0fs, job types %s",
            self.worker_id,
            self.concurrency,
            self.lease_seconds,
            ", ".join(self.job_types) or "none",
        )
        errors: list[BaseException] = []
        try:
            slots = [
                threading.Thread(target=self._slot, args=(n, errors), name=f"worker-slot-{n}")
                for n in range(self.concurrency)
            ]
            for slot in slots:
                slot.start()
            for slot in slots:
                # A timed join keeps the main thread responsive to signals.
                while slot.is_alive():
                    slot.join(0.5)
        finally:
            if restore is not None:
                restore()
            self._state = WorkerState.STOPPED
        if errors:
            raise errors[0]
        return self.stats

    def stop(self) -> None:
        """Stop claiming and ask running jobs to stop at their next checkpoint. Idempotent."""
        with self._lock:
            if self._state is WorkerState.RUNNING:
                self._state = WorkerState.STOPPING
            running = list(self._running.values())
        self._stop.set()
        for context in running:
            context.mark_stopping()

    # ── slots ─────────────────────────────────────────────────────────────────────────

    def _slot(self, number: int, errors: list[BaseException]) -> None:
        slot_id = self.worker_id if self.concurrency == 1 else f"{self.worker_id}#{number}"
        backoff = self.poll_seconds
        try:
            while not self._stop.is_set() and self._reserve():
                try:
                    self._maybe_reap()
                    started = time.perf_counter()
                    claim = claim_next(
                        self.database, slot_id, lease_seconds=self.lease_seconds, job_types=self.job_types
                    )
                except StudioError as error:
                    self._unreserve()
                    if self.once:
                        raise
                    log.warning("worker %s: cannot claim (%s); retrying in %.0fs", slot_id, error, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                backoff = self.poll_seconds
                if claim is None:
                    self._unreserve()
                    if self.once:
                        return
                    self._stop.wait(self.poll_seconds)
                    continue
                self._run_job(claim, started)
        except BaseException as error:  # reported by run(); other slots are told to stop
            errors.append(error)
            self.stop()

    def _reserve(self) -> bool:
        """Count a claim against ``max_jobs`` before making it, so slots never overshoot."""
        with self._lock:
            if self.max_jobs is not None and self._reserved >= self.max_jobs:
                return False
            self._reserved += 1
            return True

    def _unreserve(self) -> None:
        with self._lock:
            self._reserved -= 1

    def _maybe_reap(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last_reap < self.reap_interval:
                return
            self._last_reap = now
        reap_expired(self.database)

    # ── one job ───────────────────────────────────────────────────────────────────────

    def _run_job(self, claim: ClaimedJob, claim_started: float) -> None:
        context = JobContext(claim, database=self.database, settings=self.settings)
        beat = HeartbeatThread(self.database, context, lease_seconds=self.lease_seconds)
        with self._lock:
            self.stats.claimed += 1
            self._running[claim.id] = context
            if self._stop.is_set():
                context.mark_stopping()
        beat.start()
        log.info(
            "job %s (%s) attempt %d: started by %s", claim.id, claim.job_type, claim.attempt, claim.worker_id
        )
        began = time.perf_counter()
        with self._lock:
            self.stats.overheads.append(began - claim_started)
        outcome: Callable[[], bool]
        try:
            job_runner(claim.job_type)(context)
        except JobCancelled:
            outcome = self._stopped_outcome(context)
        except Exception as error:
            text = describe_failure(error)
            log.error("job %s failed: %s", claim.id, text, exc_info=not isinstance(error, StudioError))
            outcome = self._count(
                "failed", lambda: fail(self.database, claim, text, report_path=context.report_path)
            )
        else:
            outcome = self._count(
                "succeeded",
                lambda: finish(self.database, claim, JobStatus.SUCCEEDED, report_path=context.report_path),
            )
        finally:
            beat.stop()
            with self._lock:
                self._running.pop(claim.id, None)
        if not context.lease_lost:
            context.flush_progress()
        landed = outcome()
        elapsed = time.perf_counter() - began
        if not landed:
            with self._lock:
                self.stats.lost += 1
            log.warning(
                "job %s: lease was lost; its outcome was not recorded (another worker owns it)", claim.id
            )
        else:
            log.info("job %s: done in %.2fs", claim.id, elapsed)

    def _stopped_outcome(self, context: JobContext) -> Callable[[], bool]:
        claim = context.claim
        if not context.user_cancelled and is_cancel_requested(self.database, claim.id):
            # The render saw the flag (through its own job hooks) before our next heartbeat did.
            context.mark_cancelled()
        if context.user_cancelled:
            return self._count(
                "cancelled",
                lambda: finish(
                    self.database,
                    claim,
                    JobStatus.CANCELLED,
                    report_path=context.report_path,
                    message="cancelled at a checkpoint; finished work kept",
                ),
            )
        if context.worker_stopping:
            return self._count(
                "released", lambda: release(self.database, claim, reason=f"worker {claim.worker_id} stopped")
            )
        # The lease was lost: nothing may be written under this claim any more.
        return lambda: False

    def _count(self, name: str, write: Callable[[], bool]) -> Callable[[], bool]:
        def run() -> bool:
            landed = write()
            if landed:
                with self._lock:
                    setattr(self.stats, name, getattr(self.stats, name) + 1)
            return landed

        return run

    # ── signals ───────────────────────────────────────────────────────────────────────

    def _install_signal_handlers(self) -> Callable[[], None] | None:
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def handler(signum: int, _frame: FrameType | None) -> None:
            log.warning("worker %s: %s received; finishing up", self.worker_id, signal.Signals(signum).name)
            # The next signal gets the default behaviour: a stuck shutdown can be forced.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.stop()

        for sig in previous:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore

    def __repr__(self) -> str:
        return f"Worker({self.worker_id!r}, state={self._state.value}, concurrency={self.concurrency})"
