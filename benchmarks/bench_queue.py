"""Job queue throughput: empty jobs claimed and finished by 1, 2 and 4 worker processes.

Run: ``.venv/bin/python benchmarks/bench_queue.py [--jobs 1000]``

Starts its own PostgreSQL (``tests._postgres.start_postgres``; run from the repository
root) and, for comparison, uses a SQLite file. For each worker count it queues
``--jobs`` jobs of an empty type, starts that many worker processes (spawned, each a
real :class:`studio.jobs._worker.Worker` with one slot and ``once=True``), releases them at
the same moment and measures until the last one has drained the queue. Each job is a
full cycle: claim (one guarded UPDATE), heartbeat thread start, runner, finish.

Printed: jobs/second, and the per-job overhead from the start of the claim to the start
of the runner (median and 95th percentile). Nothing is asserted: timings on a shared
2-core machine are noisy (the load average is printed alongside).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio._config import load_settings  # noqa: E402
from studio.jobs._runners import JobContext, register_job_type  # noqa: E402
from studio.jobs._worker import Worker  # noqa: E402
from studio.storage._database import Database, open_database  # noqa: E402
from studio.storage._models import JobModel  # noqa: E402

JOB_TYPE = "bench_empty"


def empty(context: JobContext) -> None:
    """Does nothing: the measurement is the queue's own cost."""


register_job_type(JOB_TYPE, empty)


def _worker_process(url: str, home: str, go: Event, results: Any) -> None:
    settings = load_settings(home=home, database_url=url, environ={})
    database = Database(url)
    worker = Worker(database, settings, once=True, lease_seconds=60, job_types=[JOB_TYPE])
    database.engine.connect().close()  # connect before the clock starts
    results.put(("ready", os.getpid()))
    go.wait()
    started = time.time()
    stats = worker.run()
    results.put(("done", started, time.time(), stats.claimed, stats.overheads))
    database.dispose()


def _fill(database: Database, count: int) -> None:
    with database.session() as session:
        session.add_all(
            JobModel(job_type=JOB_TYPE, status="queued", priority=0, progress=0, attempts=0, max_attempts=3)
            for _ in range(count)
        )


def _clear(database: Database) -> None:
    with database.session() as session:
        session.query(JobModel).delete()


def measure(url: str, home: str, workers: int, jobs: int) -> dict[str, float]:
    database = open_database(load_settings(home=home, database_url=url, environ={}), upgrade=True)
    _clear(database)
    _fill(database, jobs)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_worker_process, args=(url, home, go, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        assert results.get(timeout=120)[0] == "ready"
    go.set()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    with database.session() as session:
        left = session.query(JobModel).filter(JobModel.status != "succeeded").count()
    database.dispose()
    if left:
        raise SystemExit(f"{left} jobs did not succeed")
    claimed = sum(r[3] for r in reports)
    assert claimed == jobs, (claimed, jobs)
    wall = max(r[2] for r in reports) - min(r[1] for r in reports)
    overheads = sorted(o for r in reports for o in r[4])
    return {
        "rate": jobs / wall,
        "wall": wall,
        "median_ms": 1000 * statistics.median(overheads),
        "p95_ms": 1000 * overheads[int(0.95 * (len(overheads) - 1))],
        "per_job_ms": 1000 * wall * workers / jobs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per measurement")
    args = parser.parse_args()
    from tests._postgres import start_postgres

    print(
        f"queue benchmark: {args.jobs} empty jobs per run, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'backend':<11}{'workers':>8}{'jobs/s':>10}{'wall s':>9}{'claim→start median':>21}"
        f"{'p95':>9}{'worker-ms/job':>15}"
    )

    def show(backend: str, workers: int, row: dict[str, float]) -> None:
        print(
            f"{backend:<11}{workers:>8}{row['rate']:>10.0f}{row['wall']:>9.2f}"
            f"{row['median_ms']:>18.2f} ms{row['p95_ms']:>6.2f} ms{row['per_job_ms']:>12.2f} ms"
        )

    with start_postgres() as server, tempfile.TemporaryDirectory(prefix="bench-queue-") as home:
        if server is None:
            raise SystemExit("no PostgreSQL available (see tests/_postgres.py)")
        url = server.create_database()
        try:
            for workers in (1, 2, 4):
                show("postgresql", workers, measure(url, home, workers, args.jobs))
        finally:
            server.drop_database(url)
        sqlite_url = f"sqlite:///{Path(home) / 'studio.db'}"
        for workers in (1, 2):
            show("sqlite", workers, measure(sqlite_url, home, workers, args.jobs))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
