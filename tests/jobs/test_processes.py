"""Real worker processes (``python -m studio worker``) against real databases.

Synchronisation is by polling the database or the side-effect log with a deadline,
never by sleeping a fixed time. Leases are short (2 s) so lease expiry is quick.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from studio._cli import main
from studio._config import Settings, load_settings
from studio._job_records import JobStatus
from studio._jobs import enqueue, get_job, list_jobs
from studio._storage._database import Database, open_database
from tests._postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0
LEASE = "2"


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.05)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class Workers:
    """Starts worker processes and makes sure none outlives the test."""

    def __init__(self, url: str, home: Path) -> None:
        self.url, self.home = url, home
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DB_"))}
        log = open(self.home / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115 - closed by the child's exit
        command = [sys.executable, "-m", "studio", "--home", str(self.home), "--database-url", self.url]
        command += ["worker", "--import", "tests.jobs._test_jobs", "--poll-seconds", "0.05", *args]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        return process

    def wait(self, process: subprocess.Popen[bytes], *, timeout: float = DEADLINE) -> int:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {process.pid} did not exit:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.home.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def pg_settings(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[Settings]:
    url = postgres_server.create_database()
    try:
        yield load_settings(home=tmp_path / "home", database_url=url, environ={})
    finally:
        postgres_server.drop_database(url)


def open_db(settings: Settings) -> Database:
    settings.home.mkdir(parents=True, exist_ok=True)
    return open_database(settings, upgrade=True)


@pytest.fixture
def workers_for(tmp_path: Path) -> Iterator[Callable[[Settings], Workers]]:
    made: list[Workers] = []

    def make(settings: Settings) -> Workers:
        settings.home.mkdir(parents=True, exist_ok=True)
        made.append(Workers(settings.database_url, settings.home))
        return made[-1]

    yield make
    for workers in made:
        workers.stop_all()


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
        runner = CliRunner()
        args = ["--home", str(settings.home), "--database-url", settings.database_url]
        result = runner.invoke(main, [*args, "jobs", "cancel", str(job_id)], catch_exceptions=False)
        assert result.exit_code == 0 and "cancel requested" in result.stdout
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
