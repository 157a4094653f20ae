"""Dashboard renders: a detached process per render, a record file each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from studio import RenderError
from studio._config import Settings
from studio._renders import RenderRecord, launch_render, list_renders, main
from studio._studio import Studio


@pytest.fixture
def studio(sqlite_settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=sqlite_settings) as opened:
        opened.import_demo()
        yield opened


def new_record(studio: Studio, episode: int = 1) -> RenderRecord:
    folder = studio.home / "renders" / "dashboard"
    folder.mkdir(parents=True)
    record = RenderRecord(id="r1", episode=episode, project=None, backend="animatic", path=folder / "r1.json")
    record.save()
    return record


@dataclass
class FakeSummary:
    episode_video: Path
    report: Path | None = None


def test_the_render_process_records_progress_and_success(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = new_record(studio)
    seen: list[str] = []

    def render_episode(_studio: Studio, **kwargs: Any) -> FakeSummary:
        assert kwargs["episode"] == 1 and kwargs["backend"] == "animatic"
        kwargs["progress"](type("P", (), {"fraction": 0.5, "message": "half"})())
        seen.append(RenderRecord.load(record.path).status)  # type: ignore[arg-type]
        assert kwargs["should_cancel"]() is False
        return FakeSummary(studio.home / "ep.mp4")

    monkeypatch.setenv("STUDIO_HOME", str(studio.home))
    monkeypatch.setattr("studio._pipeline.render_episode", render_episode)
    assert main([str(record.path)]) == 0
    done = RenderRecord.load(record.path)  # type: ignore[arg-type]
    assert seen == ["running"]
    assert (done.status, done.fraction, done.video) == ("succeeded", 1.0, str(studio.home / "ep.mp4"))


def test_a_cancelled_render_is_recorded_as_cancelled(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    record = new_record(studio)

    def render_episode(_studio: Studio, **kwargs: Any) -> FakeSummary:
        record.request_cancel()
        assert kwargs["should_cancel"]() is True
        raise RenderError("cancelled between segments")

    monkeypatch.setenv("STUDIO_HOME", str(studio.home))
    monkeypatch.setattr("studio._pipeline.render_episode", render_episode)
    assert main([str(record.path)]) == 130
    done = RenderRecord.load(record.path)  # type: ignore[arg-type]
    assert done.status == "cancelled" and "finished segments are kept" in done.message


def test_a_detached_render_of_a_missing_episode_fails_readably(studio: Studio) -> None:
    started = launch_render(studio, episode=42)
    assert started.pid is not None and started.active
    child = __import__("studio._renders", fromlist=["_CHILDREN"])._CHILDREN[started.id]
    child.wait(timeout=120)
    (record,) = list_renders(studio)
    assert record.status == "failed"
    assert "episode 42" in record.message
    assert "render failed" in record.log_tail()


def test_a_running_record_whose_process_is_gone_reads_as_failed(studio: Studio) -> None:
    record = new_record(studio)
    replace(record, status="running", pid=2**22 + 12345).save()
    (seen,) = list_renders(studio)
    assert seen.status == "failed" and "stopped unexpectedly" in seen.message
