"""Each synthetic defect is flagged, at the frame where it was put; a clean clip is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.quality import analyze_video
from tests.quality._clips import make_frames, write_png
from tests.quality.conftest import EVENT_AT, FRAMES


def _events(path: Path, **kwargs: object) -> list[tuple[str, int, int]]:
    analysis = analyze_video(path, **kwargs)  # type: ignore[arg-type]
    return [(event.kind, event.frame, event.end_frame) for event in analysis.events]


def test_clean_clip_is_not_flagged(clean_clip: Path, previous_last_frame: Path) -> None:
    analysis = analyze_video(clean_clip, previous_last_frame=previous_last_frame)
    assert analysis.events == []
    assert analysis.frame_count == FRAMES
    assert analysis.seam is not None and analysis.seam.jump_ratio < 2.0
    assert analysis.scores.overall > 0.8


@pytest.mark.parametrize(
    ("clip", "expected"),
    [
        ("cut", [("cut", EVENT_AT, EVENT_AT)]),
        ("color_shift", [("color_shift", EVENT_AT, EVENT_AT)]),
        ("freeze", [("freeze", 20, 34)]),
        ("flicker", [("flicker", 30, 30)]),
        ("black", [("black", 20, 22)]),
    ],
)
def test_defect_is_flagged_at_its_frame(
    events_clips: dict[str, Path], clip: str, expected: list[tuple[str, int, int]]
) -> None:
    assert _events(events_clips[clip]) == expected


def test_seam_jump_is_flagged_at_frame_0(clean_clip: Path, clip_dir: Path) -> None:
    elsewhere = write_png(clip_dir / "elsewhere.png", make_frames(1, seed=9)[0])
    analysis = analyze_video(clean_clip, previous_last_frame=elsewhere)
    assert [(e.kind, e.frame) for e in analysis.events] == [("seam_jump", 0)]
    assert analysis.seam is not None and analysis.seam.jump_ratio > 3.0
    assert analysis.scores.seam_continuity is not None and analysis.scores.seam_continuity < 0.5


def test_repeated_start_image_moves_the_seam_to_frame_1(
    clean_clip: Path, clean_frames: list, clip_dir: Path
) -> None:
    # Image-to-video backends return the start image as frame 0: no jump there.
    start = write_png(clip_dir / "start.png", clean_frames[0])
    analysis = analyze_video(clean_clip, previous_last_frame=start)
    assert analysis.seam is not None and analysis.seam.seam_frame == 1
    assert analysis.events == []


def test_colour_drift_from_anchor(clean_clip: Path, graded_anchor: Path) -> None:
    analysis = analyze_video(clean_clip, anchor_frame=graded_anchor)
    assert [(e.kind, e.frame) for e in analysis.events] == [("color_drift", 0)]
    assert analysis.color_reference == "anchor"
    assert analysis.scores.color_stability < 0.5


def test_sharpness_decay_against_segment_0(clean_clip: Path) -> None:
    first = analyze_video(clean_clip)
    assert _events(clean_clip, reference_sharpness=first.sharpness) == []
    decayed = analyze_video(clean_clip, reference_sharpness=3.0 * first.sharpness)
    assert [e.kind for e in decayed.events] == ["sharpness_decay"]
    assert decayed.sharpness_ratio == pytest.approx(1 / 3)
