"""QueuePanel: renders are queue jobs run by a dashboard worker; progress, cancel, retry, play.

No real worker runs here: ``studio.jobs._dashboard._spawn`` is replaced by a process that
stays alive until the test lets it go, so the panel sees a live dashboard worker, and
the tests move jobs through the queue themselves (claim, finish, fail) as a worker
would. tests/jobs/test_dashboard.py runs real workers.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from studio._config import Settings
from studio._studio import Studio
from studio.jobs._records import JobStatus
from studio.jobs._store import claim_next, enqueue, fail, finish, get_job, list_jobs
from tests.project._fake_render import FAKE_VIDEO, fake_render
from tests.widgets.conftest import FakeWorkers
from widgets import QueuePanel


def only_job(studio: Studio) -> int:
    (job,) = list_jobs(studio.database)
    return job.id


def test_progress_reads_the_database(studio: Studio) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    assert panel.progress.value == 0.0 and panel.play_episode.disabled
    assert "No ComfyUI servers configured" in panel.servers.value
    assert "No jobs in the queue" in panel.jobs.value
    fake_render(studio)
    panel.refresh()
    assert panel.progress.value == 1.0 and panel.progress.description == "100%"
    assert "6/6 segments" in panel.progress_text.value
    panel.play_episode.click()
    assert panel.player.value == FAKE_VIDEO and panel.player_box.layout.display is None


def test_background_polling_follows_a_render_in_another_process(studio: Studio) -> None:
    panel = QueuePanel(studio, interval=0.05)
    reached = threading.Event()
    panel.progress.observe(lambda change: change["new"] >= 1.0 and reached.set(), names="value")
    fake_render(studio)  # as a worker process would: only the database changes
    assert reached.wait(timeout=30)
    panel.close()
    assert panel._thread is None


def test_render_button_queues_a_job_and_starts_one_worker(studio: Studio, workers: FakeWorkers) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    panel.render_button.click()
    job = get_job(studio.database, only_job(studio))
    assert (job.job_type, job.status, job.parameters) == (
        "render_episode",
        JobStatus.QUEUED,
        {"episode": 1, "project": "Neon Tide", "backend": "animatic"},
    )
    (worker,) = workers.processes
    assert panel.feedback.last_level == "info"
    assert panel.feedback.last_message.startswith(
        f"Started rendering episode 1 on animatic as job {job.id}. Worker {worker.pid} started (log: worker-"
    )
    pid_file = studio.home / "renders" / "dashboard" / "worker.json"
    assert f'"pid": {worker.pid}' in pid_file.read_text(encoding="utf-8")
    (row,) = panel.renders.children
    assert "queued" in row.children[0].value and "waiting for a worker" in row.children[-1].value

    panel.render_button.click()  # the same episode again: nothing new, and the live worker is kept
    assert panel.feedback.last_level == "warning"
    assert panel.feedback.last_message == (
        f"Episode 1 is already rendering (job {job.id}, queued); cancel it or wait. "
        f"The dashboard's worker {worker.pid} will run it."
    )
    assert len(workers.processes) == 1 and len(list_jobs(studio.database)) == 1


def test_a_worker_that_is_gone_is_replaced_while_a_render_waits(studio: Studio, workers: FakeWorkers) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    panel.render_button.click()
    panel.refresh()
    assert len(workers.processes) == 1  # alive: nothing to do
    workers.exit_all()  # a --once worker that found the queue empty just before the job came
    panel.refresh()
    assert len(workers.processes) == 2
    assert panel.feedback.last_message.startswith(
        f"Started worker {workers.processes[1].pid} for the queued renders"
    )
    claim = claim_next(studio.database, "elsewhere", lease_seconds=60)
    assert claim is not None
    workers.exit_all()
    panel.refresh()  # running on a live lease: no worker needed
    assert len(workers.processes) == 2


def test_cancel_retry_and_play_on_a_render_row(studio: Studio, workers: FakeWorkers) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    panel.render_button.click()
    job_id = only_job(studio)
    row = panel._rows[job_id]
    assert row.retry.disabled and row.play.disabled and not row.cancel.disabled

    row.cancel.click()  # still queued: cancelled at once
    assert get_job(studio.database, job_id).status is JobStatus.CANCELLED
    assert panel.feedback.last_message == f"Job {job_id} (episode 1) is cancelled."
    assert row.cancel.disabled and not row.retry.disabled and row.bar.bar_style == "warning"

    row.retry.click()
    assert get_job(studio.database, job_id).status is JobStatus.QUEUED
    assert panel.feedback.last_message.startswith(
        f"Rendering episode 1 again as job {job_id}; finished segments are kept."
    )
    claim = claim_next(studio.database, "w1", lease_seconds=60)
    assert claim is not None and claim.id == job_id
    panel.refresh()
    row.cancel.click()  # running: it stops at its next checkpoint
    assert "Asked episode 1 to stop; finished segments are kept" in panel.feedback.last_message
    assert row.cancel.disabled and "stopping…" in row.message.value
    finish(
        studio.database, claim, JobStatus.CANCELLED, message="cancelled at a checkpoint; finished work kept"
    )
    panel.refresh()
    assert (panel.feedback.last_level, panel.feedback.last_message) == (
        "warning",
        "Episode 1: cancelled at a checkpoint; finished work kept",
    )

    row.retry.click()
    fake_render(studio)
    claim = claim_next(studio.database, "w1", lease_seconds=60)
    assert claim is not None
    finish(studio.database, claim, JobStatus.SUCCEEDED)
    panel.refresh()
    video = studio.home / "renders" / "fake" / "episode_01.mp4"
    assert (panel.feedback.last_level, panel.feedback.last_message) == (
        "success",
        f"Episode 1 rendered: {video}",
    )
    assert row.bar.value == 1.0 and row.bar.bar_style == "success" and not row.play.disabled
    row.play.click()
    assert panel.player.value == FAKE_VIDEO and panel.feedback.last_message == "Playing episode_01.mp4."


def test_a_failed_render_is_reported_in_the_panel(studio: Studio, workers: FakeWorkers) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    panel.render_button.click()
    claim = claim_next(studio.database, "w1", lease_seconds=60)
    assert claim is not None
    fail(studio.database, claim, "RenderError: the animatic backend ran out of disk")
    panel.refresh()
    assert panel.feedback.last_level == "error"
    assert (
        panel.feedback.last_message == "Episode 1 failed: RenderError: the animatic backend ran out of disk"
    )
    assert panel._rows[claim.id].bar.bar_style == "danger"
    reopened = QueuePanel(studio, auto_refresh=False)  # a later page shows it in the row, quietly
    assert "ran out of disk" in reopened._rows[claim.id].message.value
    assert reopened.feedback.last_message == ""


def test_jobs_are_listed_cancelled_and_retried_by_id(studio: Studio, workers: FakeWorkers) -> None:
    job_id = enqueue(studio.database, "noop")
    panel = QueuePanel(studio, auto_refresh=False)
    assert "noop" in panel.jobs.value and "queued" in panel.jobs.value
    assert panel.renders.children == ()  # rows are for render jobs
    panel.job_id.value = job_id
    panel.cancel_job.click()
    assert panel.feedback.last_message == f"Job {job_id} is cancelled."
    assert "cancelled" in panel.jobs.value
    panel.retry_job.click()
    assert "queued" in panel.jobs.value and len(workers.processes) == 1
    assert panel.feedback.last_message.startswith(f"Job {job_id} is queued again. Worker ")


def test_queue_errors_read_as_sentences(studio: Studio, workers: FakeWorkers) -> None:
    job_id = enqueue(studio.database, "noop")
    panel = QueuePanel(studio, auto_refresh=False)
    panel.job_id.value = job_id
    panel.retry_job.click()
    assert (panel.feedback.last_level, panel.feedback.last_message) == (
        "error",
        f"Retrying the job failed. job {job_id} is queued; only failed or cancelled jobs can be retried "
        "(wait for it)",
    )
    panel.job_id.value = job_id + 1
    panel.cancel_job.click()
    assert panel.feedback.last_message == (
        f"Cancelling the job failed. no job with id {job_id + 1}; `studio jobs` lists them"
    )
    assert workers.processes == []


def test_a_worker_that_cannot_start_is_a_readable_error(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    def spawn(_settings: Settings, _log: Path) -> subprocess.Popen[bytes]:
        raise PermissionError("permission denied: python")

    monkeypatch.setattr("studio.jobs._dashboard._spawn", spawn)
    panel = QueuePanel(studio, auto_refresh=False)
    panel.render_button.click()
    assert panel.feedback.last_level == "error"
    assert panel.feedback.last_message == (
        "Starting the render failed. could not start a worker (permission denied: python); queued jobs "
        f"wait until one runs: start one with `studio --home {studio.home} worker`"
    )


def test_after_cancel_the_badge_does_not_show_an_older_failure(studio: Studio, workers: FakeWorkers) -> None:
    from studio.storage._models import EpisodeModel

    with studio.database.session() as session:  # an older run failed
        session.query(EpisodeModel).one().status = "failed"
    panel = QueuePanel(studio, auto_refresh=False)
    assert "studio-badge-failed" in panel.progress_text.value
    panel.render_button.click()
    assert "studio-badge-queued" in panel.progress_text.value
    panel._rows[only_job(studio)].cancel.click()
    assert "studio-badge-cancelled" in panel.progress_text.value
    assert "failed" not in panel.progress_text.value


def test_progress_shows_the_latest_frame_on_disk(studio: Studio, workers: FakeWorkers) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    assert panel.preview.layout.display == "none"
    fake_render(studio, complete=False)
    panel.refresh()
    assert bytes(panel.preview.value).startswith(b"\x89PNG") and panel.preview.layout.display is None


def test_a_finished_dashboard_worker_is_reaped_not_left_defunct(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.jobs._dashboard import ensure_worker

    def spawn(_settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
        log_path.write_text("fake worker\n", encoding="utf-8")
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr("studio.jobs._dashboard._spawn", spawn)
    worker = ensure_worker(studio.settings)
    (reaper,) = [t for t in threading.enumerate() if t.name == f"studio-reap-{worker.pid}"]
    reaper.join(timeout=60)  # returns when the worker exited and was reaped
    assert not reaper.is_alive()
    assert not Path(f"/proc/{worker.pid}").exists()  # reaped: no <defunct> entry left
