"""Animating on twos: half the frames generated, delivered at the project's fps by holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from studio import ScreenplayError
from studio._config import Settings
from studio._studio import Studio
from studio._video import iter_frames, probe
from studio.backends import SegmentRequest, SegmentResult
from studio.backends._animatic import AnimaticBackend
from studio.quality import QualityThresholds
from studio.render._holds import thresholds_on
from studio.render._pipeline import render_episode
from studio.storage._models import SegmentModel

SCREENPLAY = """\
title: Twos
defaults: {{width: 256, height: 144, {defaults}}}
characters: [{{name: Ann}}]
episodes:
  - number: 1
    scenes:
      - {{number: 1, description: Ann runs along the pier., location: pier, duration: 6,
         camera: {{angle: wide, movement: pan}}, actions: [Ann runs],
         characters: [{{name: Ann, pose: running, position: left}}]}}
"""


class CountingAnimatic(AnimaticBackend):
    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[SegmentRequest] = []
        self.frames = 0

    async def generate(self, request: SegmentRequest, progress) -> SegmentResult:  # type: ignore[no-untyped-def]
        self.requests.append(request)
        result = await super().generate(request, progress)
        self.frames += result.frame_count
        return result


def render(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, defaults: str):  # type: ignore[no-untyped-def]
    from studio.backends import _base

    backend = CountingAnimatic()
    monkeypatch.setitem(_base._REGISTRY, "counting", lambda settings: backend)
    path = tmp_path / "show.yaml"
    path.write_text(SCREENPLAY.format(defaults=defaults))
    studio = Studio.open(settings=settings, upgrade=True)
    studio.import_file(path)
    summary = render_episode(studio, episode=1, backend="counting")
    return studio, summary, backend


def test_on_twos_generates_half_the_frames_and_delivers_at_24_fps(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio, summary, backend = render(settings, tmp_path, monkeypatch, "fps: 24, animate_on: twos")
    try:
        assert [r.fps for r in backend.requests] == [12, 12]
        # Two 3-second segments at 12 fps: 36 drawings each (+ the seam frame of the second).
        assert backend.frames == 36 + 37
        scene = summary.scenes[0]
        video = Path(scene["video"])
        info = probe(video)
        assert (info.fps, info.frames) == (24, 6 * 24)  # delivered as a render on ones would be
        frames = list(iter_frames(video))
        # Every drawing is held for two frames, across the seam too (frames 72 and 73).
        step = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, frames[1:], strict=False)]
        held, moved = step[0::2], step[1::2]  # within a drawing's two frames; between drawings
        # Held frames repeat their drawing (only the encoder differs: 0.12 at most); between
        # drawings the picture moves (a still moment may not, so the median is asserted).
        assert max(held) < 0.2
        assert float(np.median(moved)) > 0.4
        with studio.database.session() as session:
            rows = session.scalars(select(SegmentModel).order_by(SegmentModel.segment_number)).all()
            assert [r.frame_count for r in rows] == [72, 73]
            assert [probe(studio.home / r.output_video_path).fps for r in rows] == [24, 24]
            assert all(r.meta["backend"]["animate_on"] == 2 for r in rows)
            # The holds are not freezes: the check ran on the drawings themselves.
            for row in rows:
                assert not [e for e in row.scores["events"] if e["kind"] == "freeze"]
                assert row.status == "completed"
    finally:
        studio.close()


def test_thresholds_counted_in_frames_keep_their_meaning_in_seconds() -> None:
    default = QualityThresholds()
    assert thresholds_on(default, 1) is default
    assert thresholds_on(default, 2).freeze_min_frames == 6  # 0.5 s at 12 fps
    assert thresholds_on(default, 3).freeze_min_frames == 4
    assert thresholds_on(QualityThresholds(freeze_min_frames=3), 2).freeze_min_frames == 2


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ("fps: 25, animate_on: 2", "animating on twos needs an fps divisible by 2, and fps is 25"),
        ("animate_on: halves", "animate_on 'halves' must be 1-4 or one of ones, twos, threes, fours"),
        ("animate_on: 6", "animate_on must be at most 4, got 6"),
    ],
)
def test_a_bad_animate_on_is_a_clear_error(
    sqlite_settings: Settings, tmp_path: Path, defaults: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCREENPLAY.format(defaults=defaults))
    with Studio.open(settings=sqlite_settings) as studio, pytest.raises(ScreenplayError) as caught:
        studio.import_file(path)
    assert "defaults.animate_on" in str(caught.value)
    assert message in str(caught.value)
