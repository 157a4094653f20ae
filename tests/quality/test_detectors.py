"""Detectors built for animation: colour drift with persistence, palettes, stills, confidence."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.quality import analyze_video
from studio.quality._events import confidence
from studio.quality._lab import rgb_to_lab
from studio.quality._palette import Palette
from tests.quality._clips import RGB, grade, make_frames, write_clip, write_png


def test_colour_drift_is_located_where_it_starts_not_at_the_next_sample(
    clip_dir: Path, clean_frames: list[RGB]
) -> None:
    anchor = write_png(clip_dir / "drift_anchor.png", clean_frames[0])
    frames = clean_frames[:20] + [grade(f) for f in clean_frames[20:]]
    analysis = analyze_video(write_clip(clip_dir / "drift_from_20.mp4", frames), anchor_frame=anchor)
    drift = [e for e in analysis.events if e.kind == "color_drift"]
    assert len(drift) == 1 and drift[0].frame == 20, analysis.events  # samples are at 18 and 24
    assert "palette" in drift[0].reason


def test_colour_that_comes_back_is_no_drift(clip_dir: Path, clean_frames: list[RGB]) -> None:
    anchor = write_png(clip_dir / "back_anchor.png", clean_frames[0])
    frames = clean_frames[:12] + [grade(f) for f in clean_frames[12:20]] + clean_frames[20:]
    analysis = analyze_video(write_clip(clip_dir / "drift_and_back.mp4", frames), anchor_frame=anchor)
    assert "color_drift" not in {e.kind for e in analysis.events}


def test_colour_stability_is_never_zero(clean_clip: Path, clip_dir: Path, clean_frames: list[RGB]) -> None:
    far = np.clip(clean_frames[0].astype(np.int16) * [0.3, 1.0, 2.0] + 60, 0, 255).astype(np.uint8)
    analysis = analyze_video(clean_clip, anchor_frame=write_png(clip_dir / "far_anchor.png", far))
    assert 0.0 < analysis.scores.color_stability < 0.2
    assert analyze_video(clean_clip).scores.color_stability > 0.9


def test_the_same_colours_framed_closer_stay_in_the_palette(clean_frames: list[RGB]) -> None:
    wide = clean_frames[0]
    height, width = wide.shape[:2]
    close = cv2.resize(wide[height // 4 :, width // 4 : 3 * width // 4], (width, height),
                       interpolation=cv2.INTER_NEAREST)
    palette = Palette(rgb_to_lab(wide))
    assert palette.coverage(rgb_to_lab(close)) > 0.75  # the default gate
    assert palette.coverage(rgb_to_lab(grade(wide))) < 0.7


def test_a_still_shot_is_not_a_freeze_but_a_stop_in_a_moving_shot_is(clip_dir: Path) -> None:
    still = make_frames(1, seed=3)[0]
    assert analyze_video(write_clip(clip_dir / "still.mp4", [still] * 30)).events == []
    moving = make_frames(40, seed=3)
    stopped = moving[:10] + [moving[10]] * 20 + moving[11:21]
    events = analyze_video(write_clip(clip_dir / "stopped.mp4", stopped)).events
    assert [(e.kind, e.frame, e.end_frame) for e in events] == [("freeze", 10, 29)]


@pytest.mark.parametrize(("value", "threshold", "expected"), [(6, 6, 0.5), (12, 6, 0.75), (3, 6, 0.5)])
def test_confidence_is_one_half_at_the_threshold(value: float, threshold: float, expected: float) -> None:
    assert confidence(value, threshold) == pytest.approx(expected)


def test_an_object_that_jumps_across_the_frame_is_neither_a_cut_nor_a_colour_shift(clip_dir: Path) -> None:
    # The disc wraps from the right edge to the left one at time 112: a few tiles change a
    # lot, and the colour fit must not be dragged along (the rest of the picture only pans).
    frames = make_frames(40, start=100)
    analysis = analyze_video(write_clip(clip_dir / "wrap.mp4", frames))
    assert analysis.events == []
    assert max(analysis.frames.tile_change[10:15]) > 40  # the jump is really there
