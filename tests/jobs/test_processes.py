"""Real worker processes (``python -m studio worker``) against real databases.

Synchronisation is by polling the database or the side-effect log with a deadline,
never by sleeping a fixed time. Leases are short (2 s) so lease expiry is quick.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from studio._config import Settings
from studio.jobs._records import JobStatus
from studio.jobs._store import enqueue, get_job, list_jobs
from tests.jobs._helpers import LEASE, Workers, lines, open_db, run_cli, wait_for


def assert_exactly_once(log: Path, job_ids: list[int]) -> Counter[int]:
    done = Counter(int(line.split()[1]) for line in lines(log) if line.startswith("done"))
    assert sorted(done) == sorted(job_ids)
    assert set(done.values()) == {1}, [j for j, n in done.items() if n != 1]
    return done


@pytest.mark.postgres
def test_three_workers_run_200_jobs_exactly_once_on_postgresql(
    pg_settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(pg_settings)
    log = tmp_path / "effects.log"
    try:
        ids = [enqueue(database, "record", parameters={"log": str(log)}) for _ in range(200)]
        workers = workers_for(pg_settings)
        processes = [workers.start("--once", "--lease-seconds", "30") for _ in range(3)]
        for process in processes:
            assert workers.wait(process) == 0, workers.logs()
        assert_exactly_once(log, ids)
        jobs = list_jobs(database)
        assert {job.status for job in jobs} == {JobStatus.SUCCEEDED}
        assert {job.attempts for job in jobs} == {1}
    finally:
        database.dispose()


def test_two_workers_share_a_sqlite_file(
    sqlite_settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(sqlite_settings)
    log = tmp_path / "effects.log"
    try:
        ids = [enqueue(database, "record", parameters={"log": str(log)}) for _ in range(60)]
        workers = workers_for(sqlite_settings)
        processes = [workers.start("--once", "--lease-seconds", "30") for _ in range(2)]
        for process in processes:
            assert workers.wait(process) == 0, workers.logs()
        assert_exactly_once(log, ids)
        assert {job.status for job in list_jobs(database)} == {JobStatus.SUCCEEDED}
    finally:
        database.dispose()


def test_a_killed_workers_job_is_finished_by_another_after_its_lease_expires(
    settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(settings)
    log = tmp_path / "effects.log"
    try:
        job_id = enqueue(database, "hang_first", parameters={"log": str(log)})
        workers = workers_for(settings)
        doomed = workers.start("--lease-seconds", LEASE)
        wait_for(lambda: any(line.startswith("started") for line in lines(log)), "the first attempt to start")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        assert get_job(database, job_id).status is JobStatus.RUNNING  # nobody has noticed yet
        rescuer = workers.start("--lease-seconds", LEASE, "--max-jobs", "1")
        assert workers.wait(rescuer) == 0, workers.logs()
        info = get_job(database, job_id)
        assert (info.status, info.attempts) == (JobStatus.SUCCEEDED, 2)
        assert [h["outcome"] for h in info.history] == ["lease expired", "succeeded"]
        done = assert_exactly_once(log, [job_id])
        assert done[job_id] == 1
        [started] = [line for line in lines(log) if line.startswith("started")]
        [finished] = [line for line in lines(log) if line.startswith("done")]
        assert started.split()[3] == str(doomed.pid) and finished.split()[3] == str(rescuer.pid)
    finally:
        database.dispose()


def test_cancel_from_the_cli_stops_a_running_job_and_sigterm_stops_the_worker(
    settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(settings)
    log = tmp_path / "steps.log"
    try:
        job_id = enqueue(database, "steps", parameters={"steps": 5000, "log": str(log)})
        workers = workers_for(settings)
        worker = workers.start("--lease-seconds", LEASE)
        wait_for(lambda: get_job(database, job_id).progress > 0, "progress from the running job")
        code, out, _ = run_cli(settings, "jobs", "cancel", str(job_id))
        assert code == 0 and "cancel requested" in out
        wait_for(lambda: get_job(database, job_id).status is JobStatus.CANCELLED, "the job to be cancelled")
        info = get_job(database, job_id)
        assert 0 < info.progress < 100
        assert 0 < len(lines(log)) < 5000
        worker.send_signal(signal.SIGTERM)
        assert workers.wait(worker) == 0, workers.logs()
    finally:
        database.dispose()


def test_sigterm_gives_a_running_job_back_to_the_queue(
    sqlite_settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(sqlite_settings)
    log = tmp_path / "steps.log"
    try:
        job_id = enqueue(database, "steps", parameters={"steps": 5000, "log": str(log)})
        workers = workers_for(sqlite_settings)
        worker = workers.start("--lease-seconds", LEASE)
        wait_for(lambda: len(lines(log)) > 0, "the first step")
        worker.send_signal(signal.SIGTERM)
        assert workers.wait(worker) == 0, workers.logs()
        info = get_job(database, job_id)
        assert (info.status, info.attempts, info.worker_id) == (JobStatus.QUEUED, 0, None)
    finally:
        database.dispose()


def test_a_worker_process_runs_jobs_in_priority_order(
    settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(settings)
    log = tmp_path / "effects.log"
    try:
        priorities = [0, 5, 0, 10, 5, -1]
        ids = [enqueue(database, "record", parameters={"log": str(log)}, priority=p) for p in priorities]
        workers = workers_for(settings)
        assert workers.wait(workers.start("--once")) == 0, workers.logs()
        order = [int(line.split()[1]) for line in lines(log)]
        expected = [
            i for _, i in sorted(zip(priorities, ids, strict=True), key=lambda pair: (-pair[0], pair[1]))
        ]
        assert order == expected
    finally:
        database.dispose()
