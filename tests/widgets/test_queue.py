"""QueuePanel: progress from the database, renders in other processes, cancel, retry, play."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from studio._renders import RenderRecord
from studio._studio import Studio
from tests.editing._fake_render import FAKE_VIDEO, fake_render
from widgets import QueuePanel


def record_for(studio: Studio, record_id: str, **fields: Any) -> RenderRecord:
    folder = studio.home / "renders" / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    record = RenderRecord(
        id=record_id, episode=1, project=None, backend="animatic", path=folder / f"{record_id}.json", **fields
    )
    record.save()
    return record


def test_progress_reads_the_database(studio: Studio) -> None:
    panel = QueuePanel(studio, auto_refresh=False)
    assert panel.progress.value == 0.0 and panel.play_episode.disabled
    assert "No ComfyUI servers configured" in panel.servers.value
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


def test_render_button_starts_a_detached_render(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def launch(_studio: Studio, **kwargs: Any) -> RenderRecord:
        calls.append(kwargs)
        return record_for(studio, "r1", status="running", pid=None)

    monkeypatch.setattr("widgets._queue.launch_render", launch)
    monkeypatch.setattr("studio._renders._alive", lambda pid: True)
    panel = QueuePanel(studio, auto_refresh=False)
    panel.render_button.click()
    assert calls == [{"episode": 1, "project": None, "backend": "animatic"}]
    assert "Started rendering episode 1" in panel.feedback.last_message
    (row,) = panel.renders.children
    assert "running" in row.children[0].value
    panel.render_button.click()
    assert panel.feedback.last_level == "warning" and "already rendering" in panel.feedback.last_message


def test_cancel_retry_and_play_on_a_render_row(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("studio._renders._alive", lambda pid: True)
    record = record_for(studio, "r1", status="running", pid=1)
    panel = QueuePanel(studio, auto_refresh=False)
    row = panel._rows["r1"]
    row.cancel.click()
    assert record.cancel_requested and row.cancel.disabled
    assert "stopping after the current segment" in row.message.value
    fake_render(studio)
    video = str(studio.home / "renders" / "fake" / "episode_01.mp4")
    record_for(
        studio,
        "r1",
        status="cancelled",
        pid=1,
        message="cancelled; finished segments are kept",
        ended_at="2026-01-01T00:00:00",
        video=video,
    )
    panel.refresh()
    assert (
        panel.feedback.last_level == "warning" and "finished segments are kept" in panel.feedback.last_message
    )
    assert not row.retry.disabled
    row.play.click()
    assert panel.player.value == FAKE_VIDEO

    retried: list[str | None] = []

    def launch(_studio: Studio, **kwargs: Any) -> RenderRecord:
        retried.append(kwargs["retry_of"])
        return record_for(studio, "r2", status="running", pid=1)

    monkeypatch.setattr("studio._renders.launch_render", launch)
    row.retry.click()
    assert retried == ["r1"] and len(panel.renders.children) == 2


def test_failed_render_is_reported_in_the_panel(studio: Studio) -> None:
    record_for(
        studio, "r1", status="failed", message="episode 42 does not exist", ended_at="2026-01-01T00:00:00"
    )
    panel = QueuePanel(studio, auto_refresh=False)
    assert panel.feedback.last_level == "error"
    assert panel.feedback.last_message == "Episode 1 failed: episode 42 does not exist"
    assert panel._rows["r1"].bar.bar_style == "danger"


def test_jobs_are_listed_and_can_be_cancelled(studio: Studio) -> None:
    jobs = pytest.importorskip("studio._jobs")
    job_id = jobs.enqueue(studio.database, "render_episode", parameters={"episode": 1})
    panel = QueuePanel(studio, auto_refresh=False)
    assert "render_episode" in panel.jobs.value and "queued" in panel.jobs.value
    panel.job_id.value = job_id
    panel.cancel_job.click()
    assert panel.feedback.last_level == "info" and "cancelled" in panel.jobs.value
    panel.retry_job.click()
    assert "queued" in panel.jobs.value
