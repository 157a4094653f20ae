"""Exactly-once under ``kill -9``: 3 worker processes, 200 jobs, a random worker killed
every couple of seconds and restarted, on the real PostgreSQL.

Kills are paced by the clock (chaos, not synchronisation); every wait for an outcome
polls the database with a deadline. The counts are printed (``pytest -s``) and quoted
in the README's "Security and reliability" section.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from studio._config import Settings
from studio.jobs._records import JobStatus
from studio.jobs._store import enqueue, list_jobs
from tests.jobs._helpers import Workers, lines, open_db, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

JOBS = 200
WORKERS = 3
KILL_EVERY_SECONDS = 0.5  # often enough to land several kills on an idle machine too
LEASE_SECONDS = "2"


def test_every_job_succeeds_exactly_once_while_workers_are_killed(
    pg_settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    database = open_db(pg_settings)
    log, out = tmp_path / "ran.log", tmp_path / "out"
    out.mkdir()
    with database.session() as session:
        session.execute(
            text("CREATE TABLE chaos_effects (job_id INTEGER PRIMARY KEY, attempt INTEGER, pid INTEGER)")
        )
    ids = [enqueue(database, "artifact", parameters={"dir": str(out), "log": str(log)}) for _ in range(JOBS)]
    workers = workers_for(pg_settings)
    args = ("--lease-seconds", LEASE_SECONDS, "--poll-seconds", "0.05")
    alive: list[subprocess.Popen[bytes]] = [workers.start(*args) for _ in range(WORKERS)]
    chooser = random.Random(19)
    kills = 0
    pace = threading.Event()

    def succeeded() -> int:
        return sum(job.status is JobStatus.SUCCEEDED for job in list_jobs(database))

    try:
        deadline = time.monotonic() + 150
        while succeeded() < JOBS and time.monotonic() < deadline:
            pace.wait(KILL_EVERY_SECONDS)
            victim = chooser.randrange(WORKERS)
            alive[victim].send_signal(signal.SIGKILL)
            alive[victim].wait()
            kills += 1
            alive[victim] = workers.start(*args)
        wait_for(lambda: succeeded() == JOBS, "every job to succeed", timeout=60)
        workers.stop_all()  # idle now; a worker still starting has no SIGTERM handler yet

        jobs = list_jobs(database)
        outcomes = Counter(h["outcome"] for job in jobs for h in job.history)
        successes_per_job = Counter(
            job.id for job in jobs for h in job.history if h["outcome"] == "succeeded"
        )
        with database.session() as session:
            rows = session.execute(text("SELECT job_id FROM chaos_effects")).scalars().all()
        ran = Counter(int(line.split()[1]) for line in lines(log))
        files = sorted(p.name for p in out.iterdir())
        print(
            f"\nexactly-once on PostgreSQL: {JOBS} jobs, {WORKERS} workers, {kills} kill -9; "
            f"succeeded {succeeded()}, succeeded twice {sum(n > 1 for n in successes_per_job.values())}, "
            f"attempts {sum(job.attempts for job in jobs)}, jobs rerun after a kill {sum(n > 1 for n in ran.values())}, "
            f"leases reaped {outcomes['lease expired']}, released {outcomes['released']}, "
            f"effect rows {len(rows)} (distinct {len(set(rows))}), files {len(files)}, "
            f"stray .part files {sum(name.endswith('.part') for name in files)}"
        )
        assert kills >= 3, "the run was too short to kill anything; the test proved nothing"
        assert {job.status for job in jobs} == {JobStatus.SUCCEEDED}
        assert sorted(successes_per_job) == sorted(ids)
        assert set(successes_per_job.values()) == {1}
        assert sorted(rows) == sorted(ids)
        assert files == sorted(f"job-{job_id}.txt" for job_id in ids)
    finally:
        database.dispose()
