"""Dashboard renders: a render job in the queue and a detached ``studio worker --once`` to run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studio._config import Settings, load_settings
from studio._studio import Studio
from studio.jobs import _dashboard
from studio.jobs._dashboard import (
    dashboard_worker,
    ensure_worker,
    resume_waiting_jobs,
    retry_render,
    start_render,
)
from studio.jobs._records import JobStatus
from studio.jobs._store import claim_next, database_now, enqueue, get_job


@pytest.fixture(autouse=True)
def own_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the workers it launched."""
    monkeypatch.setattr(_dashboard, "_CHILDREN", {})


@pytest.fixture
def studio(sqlite_settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=sqlite_settings) as opened:
        opened.import_demo()
        yield opened


class Sleepers:
    """Stand-ins for workers: processes that live until :meth:`end` lets them go."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, _settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
        log_path.touch()
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
        )
        self.processes.append(process)
        return process

    def end(self) -> None:
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()
            process.wait(timeout=60)


@pytest.fixture
def sleepers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sleepers]:
    fakes = Sleepers()
    monkeypatch.setattr(_dashboard, "_spawn", fakes.spawn)
    yield fakes
    fakes.end()


def wait_for_exit(pid: int) -> None:
    _dashboard._CHILDREN[pid].wait(timeout=300)


def test_a_dashboard_render_is_a_job_run_by_a_detached_worker(studio: Studio) -> None:
    # The comfyui backend with no servers fails in seconds: the whole path, without a long render.
    queued = start_render(studio, episode=1, backend="comfyui")
    worker = queued.worker
    assert worker is not None and worker.launched and not queued.already_active
    assert os.getsid(worker.pid) == worker.pid  # its own session: a closing tab never stops it
    assert (queued.job.job_type, queued.job.parameters) == (
        "render_episode",
        {"episode": 1, "project": "Neon Tide", "backend": "comfyui"},
    )
    record = json.loads((studio.home / "renders" / "dashboard" / "worker.json").read_text(encoding="utf-8"))
    assert record["pid"] == worker.pid and worker.log_path.parent == studio.home / "renders" / "dashboard"
    wait_for_exit(worker.pid)
    job = get_job(studio.database, queued.job.id)
    assert job.status is JobStatus.FAILED, worker.log_path.read_text(encoding="utf-8")
    assert job.error is not None and "the comfyui backend needs COMFYUI_URLS" in job.error
    assert "claimed 1, succeeded 0, failed 1" in worker.log_path.read_text(encoding="utf-8")
    assert dashboard_worker(studio.settings) is None  # the pid file of an ended worker is ignored

    again = retry_render(studio, job.id)  # a new worker for the retried job
    assert again.job.status is JobStatus.QUEUED and again.worker is not None and again.worker.launched
    assert again.worker.pid != worker.pid
    wait_for_exit(again.worker.pid)
    job = get_job(studio.database, job.id)
    assert job.status is JobStatus.FAILED
    assert [h["outcome"] for h in job.history] == ["failed", "failed"]


def test_the_worker_gets_its_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    class Popen:
        pid = os.getpid()

        def __init__(self, args: list[str], **options: Any) -> None:
            seen.update(options, args=args)

        def poll(self) -> None:
            return None

        def wait(self) -> int:  # the reaper thread waits for it: an exit at once
            return 0

    monkeypatch.setattr(_dashboard.subprocess, "Popen", Popen)
    monkeypatch.setenv("COMFYUI_HOST", "old-box")  # the kernel's own environment does not leak in
    settings = load_settings(
        home=tmp_path / "home",
        database_url="postgresql://anna:s3cret@db.example:5432/studio",
        environ={"COMFYUI_URLS": "http://gpu1:8188", "STUDIO_LEASE_SECONDS": "30"},
    )
    worker = ensure_worker(settings)
    assert seen["args"] == [sys.executable, "-m", "studio", "worker", "--once"]
    assert not any("s3cret" in arg for arg in seen["args"])
    environment = seen["env"]
    assert environment["STUDIO_DATABASE_URL"] == "postgresql+psycopg://anna:s3cret@db.example:5432/studio"
    assert environment["STUDIO_HOME"] == str(settings.home)
    assert (environment["COMFYUI_URLS"], environment["STUDIO_LEASE_SECONDS"]) == ("http://gpu1:8188", "30")
    assert "COMFYUI_HOST" not in environment
    assert seen["start_new_session"] is True and seen["stdin"] == subprocess.DEVNULL
    assert worker.log_path.parent == settings.home / "renders" / "dashboard"
    assert "s3cret" not in (settings.home / "renders" / "dashboard" / "worker.json").read_text(
        encoding="utf-8"
    )


def test_a_live_worker_is_reused_and_a_stale_pid_file_is_ignored(
    sqlite_settings: Settings, sleepers: Sleepers
) -> None:
    first = ensure_worker(sqlite_settings)
    assert first.launched and first.pid == sleepers.processes[0].pid
    again = ensure_worker(sqlite_settings)
    assert (again.pid, again.launched, again.log_path) == (first.pid, False, first.log_path)

    sleepers.end()  # the worker drained the queue and exited
    assert dashboard_worker(sqlite_settings) is None
    second = ensure_worker(sqlite_settings)
    assert second.launched and second.pid == sleepers.processes[1].pid

    pid_file = sqlite_settings.home / "renders" / "dashboard" / "worker.json"
    record = json.loads(pid_file.read_text(encoding="utf-8"))
    # The same pid, started at another time: another process now has it.
    pid_file.write_text(json.dumps({**record, "start": "1"}), encoding="utf-8")
    assert dashboard_worker(sqlite_settings) is None
    pid_file.write_text("not json", encoding="utf-8")
    assert dashboard_worker(sqlite_settings) is None


def test_jobs_waiting_for_a_worker_get_one(studio: Studio, sleepers: Sleepers) -> None:
    job_id = enqueue(studio.database, "noop")
    assert resume_waiting_jobs(studio, []) is None
    launched = resume_waiting_jobs(studio, [get_job(studio.database, job_id)])
    assert launched is not None and launched.pid == sleepers.processes[0].pid
    assert resume_waiting_jobs(studio, [get_job(studio.database, job_id)]) is None  # alive: nothing to do
    sleepers.end()

    claim = claim_next(studio.database, "gone", lease_seconds=0.05)  # a worker that then died
    assert claim is not None
    running = get_job(studio.database, job_id)
    assert running.lease_expires_at is not None
    deadline = time.monotonic() + 30
    while database_now(studio.database) <= running.lease_expires_at:
        assert time.monotonic() < deadline, "the database clock did not pass the lease"
    launched = resume_waiting_jobs(studio, [running])
    assert launched is not None and launched.pid == sleepers.processes[1].pid


def test_rendering_an_episode_that_is_already_queued_queues_nothing(
    studio: Studio, sleepers: Sleepers
) -> None:
    first = start_render(studio, episode=1)
    second = start_render(studio, episode=1)
    assert second.already_active and second.job.id == first.job.id
    assert second.worker is not None and not second.worker.launched
    assert len(sleepers.processes) == 1
