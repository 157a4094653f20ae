"""The worker in-process: outcomes, cancellation, heartbeats, max-jobs, graceful stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from studio._config import Settings
from studio.jobs import _worker
from studio.jobs._records import ClaimedJob, HeartbeatResult, JobStatus
from studio.jobs._runners import describe_failure, job_runner, register_job_type
from studio.jobs._store import database_now, enqueue, get_job, list_jobs, request_cancel
from studio.jobs._worker import Worker, WorkerState
from studio.storage._database import Database
from tests.jobs import _test_jobs  # noqa: F401 - registers the test job types
from tests.jobs._helpers import DEADLINE, lines, wait_for


def test_once_runs_every_queued_job_and_records_outcomes(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "effects.log"
    ok = [enqueue(database, "record", parameters={"log": str(log)}) for _ in range(5)]
    bad = enqueue(database, "explode", parameters={"message": "the kettle boiled over"})
    worker = Worker(database, settings, concurrency=2, once=True, lease_seconds=5, poll_seconds=0.05)
    stats = worker.run()
    assert worker.state is WorkerState.STOPPED
    assert (stats.claimed, stats.succeeded, stats.failed) == (6, 5, 1)
    assert sorted(int(line.split()[1]) for line in lines(log)) == ok
    failed = get_job(database, bad)
    assert failed.status is JobStatus.FAILED
    assert failed.error == "RuntimeError: the kettle boiled over"
    assert all(get_job(database, j).status is JobStatus.SUCCEEDED for j in ok)
    with pytest.raises(RuntimeError, match="runs once"):
        worker.run()


def test_max_jobs_stops_after_that_many_claims(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    for _ in range(5):
        enqueue(database, "noop")
    stats = Worker(database, settings, concurrency=3, max_jobs=2, once=True, lease_seconds=5).run()
    assert stats.claimed == 2
    assert len(list_jobs(database, statuses=(JobStatus.QUEUED,))) == 3


def test_a_worker_claims_only_types_it_can_run(database: Database, settings: Settings) -> None:
    unknown = enqueue(database, "no_such_type")
    known = enqueue(database, "noop")
    stats = Worker(database, settings, once=True, lease_seconds=5).run()
    assert stats.claimed == 1
    assert get_job(database, known).status is JobStatus.SUCCEEDED
    assert get_job(database, unknown).status is JobStatus.QUEUED


def test_cancel_mid_job_stops_at_a_checkpoint_and_keeps_progress(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "steps.log"
    job_id = enqueue(database, "steps", parameters={"steps": 5000, "log": str(log)})
    worker = Worker(database, settings, once=True, lease_seconds=3, poll_seconds=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_for(lambda: get_job(database, job_id).progress > 0, "the job to report progress")
    request_cancel(database, job_id)
    thread.join(DEADLINE)
    assert not thread.is_alive()
    info = get_job(database, job_id)
    assert info.status is JobStatus.CANCELLED
    assert 0 < info.progress < 100
    assert 0 < len(lines(log)) < 5000
    assert worker.stats.cancelled == 1


def test_a_job_that_sees_the_cancel_before_the_heartbeat_is_cancelled(
    database: Database, settings: Settings
) -> None:
    job_id = enqueue(database, "watch_cancel")
    # A long lease: the next heartbeat is 20 s away when the job stops.
    worker = Worker(database, settings, once=True, lease_seconds=60, poll_seconds=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_for(lambda: get_job(database, job_id).progress > 0, "the job to start")
    request_cancel(database, job_id)
    thread.join(DEADLINE)
    assert not thread.is_alive()
    assert get_job(database, job_id).status is JobStatus.CANCELLED
    assert (worker.stats.cancelled, worker.stats.lost) == (1, 0)


def test_stop_releases_a_running_job_without_using_an_attempt(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "steps.log"
    job_id = enqueue(database, "steps", parameters={"steps": 5000, "log": str(log)})
    worker = Worker(database, settings, lease_seconds=3, poll_seconds=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_for(lambda: len(lines(log)) > 0, "the first step")
    worker.stop()
    thread.join(DEADLINE)
    assert not thread.is_alive()
    info = get_job(database, job_id)
    assert (info.status, info.attempts, info.worker_id) == (JobStatus.QUEUED, 0, None)
    assert info.history[-1]["outcome"] == "released"


def test_heartbeats_keep_a_long_job_alive(database: Database, settings: Settings, tmp_path: Path) -> None:
    # 1 s lease, a job of ~3 s: it only survives if the lease is renewed.
    log = tmp_path / "steps.log"
    job_id = enqueue(database, "steps", parameters={"steps": 150, "log": str(log)})
    runner = Worker(database, settings, once=True, lease_seconds=1, poll_seconds=0.05)
    stats = runner.run()
    assert stats.succeeded == 1 and stats.lost == 0
    info = get_job(database, job_id)
    assert (info.status, info.attempts) == (JobStatus.SUCCEEDED, 1)
    assert len(lines(log)) == 150


def test_a_stalled_heartbeat_loses_the_job_and_its_late_result_is_refused(
    database: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "effects.log"
    job_id = enqueue(database, "gated", parameters={"log": str(log)})
    real_heartbeat = _worker.heartbeat
    unstall = threading.Event()

    def stalling_heartbeat(db: Database, claim: ClaimedJob, *, lease_seconds: float) -> HeartbeatResult:
        if claim.worker_id == "stalled":  # hangs (a frozen VM, a wedged connection)
            unstall.wait(DEADLINE)
        return real_heartbeat(db, claim, lease_seconds=lease_seconds)

    monkeypatch.setattr(_worker, "heartbeat", stalling_heartbeat)
    _test_jobs.GATE.clear()
    stalled = Worker(database, settings, max_jobs=1, lease_seconds=1, poll_seconds=0.05, worker_id="stalled")
    stalled_thread = threading.Thread(target=stalled.run)
    stalled_thread.start()
    try:
        wait_for(lambda: any(line.startswith("started") for line in lines(log)), "the first attempt")
        lease = get_job(database, job_id).lease_expires_at
        assert lease is not None
        wait_for(lambda: database_now(database) > lease, "the stalled lease to run out")
        # Nobody has reaped the job; the stalled worker now finishes its work and reports.
        _test_jobs.GATE.set()
        unstall.set()
        stalled_thread.join(DEADLINE)
        assert not stalled_thread.is_alive()
    finally:
        _test_jobs.GATE.set()
        unstall.set()
        stalled.stop()
        stalled_thread.join(DEADLINE)
    assert (stalled.stats.succeeded, stalled.stats.lost) == (0, 1)
    assert get_job(database, job_id).status is JobStatus.RUNNING  # the late "success" did not land
    rescuer = Worker(database, settings, once=True, lease_seconds=5, poll_seconds=0.05, worker_id="rescuer")
    assert rescuer.run().succeeded == 1
    info = get_job(database, job_id)
    assert (info.status, info.attempts, info.worker_id) == (JobStatus.SUCCEEDED, 2, "rescuer")
    assert [h["outcome"] for h in info.history] == ["lease expired", "succeeded"]
    assert [line.split()[:3] for line in lines(log)] == [
        ["started", str(job_id), "1"],
        ["late", str(job_id), "1"],
        ["done", str(job_id), "2"],
    ]


def test_registry_and_failure_descriptions() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_job_type("noop", lambda context: None)
    with pytest.raises(Exception, match="known types: .*noop"):
        job_runner("nope")

    class CellError(Exception):
        cell_index, exec_count, ename, evalue = 4, 3, "ZeroDivisionError", "division by zero"

    assert (
        describe_failure(CellError())
        == "notebook failed at cell 4 (execution 3): ZeroDivisionError: division by zero"
    )
    try:
        try:
            raise CellError()
        except CellError:
            raise RuntimeError("render failed") from None
    except RuntimeError as wrapped:
        assert describe_failure(wrapped).startswith("render failed: notebook failed at cell 4")
    assert describe_failure(ValueError("x")) == "ValueError: x"


def test_render_jobs_fail_with_a_clear_error_when_the_render_cannot_start(
    database: Database, settings: Settings
) -> None:
    job_id = enqueue(
        database, "render_episode", parameters={"episode": 1, "project": None, "backend": "animatic"}
    )
    Worker(database, settings, once=True, lease_seconds=5, job_types=["render_episode"]).run()
    info = get_job(database, job_id)
    assert info.status is JobStatus.FAILED
    assert info.error
