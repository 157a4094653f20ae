"""Colour correction brings a drifted segment back to its anchor, without flicker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio import AnalysisError
from studio.quality import analyze_video, color_correct


def test_correction_removes_drift_and_adds_no_events(
    clean_clip: Path, graded_anchor: Path, tmp_path: Path
) -> None:
    before = analyze_video(clean_clip, anchor_frame=graded_anchor)
    out = color_correct(clean_clip, graded_anchor, tmp_path / "corrected.mp4")
    after = analyze_video(out, anchor_frame=graded_anchor)
    assert [e.kind for e in before.events] == ["color_drift"]
    assert after.events == []
    assert after.frame_count == before.frame_count
    worst = max(sample.delta_e for sample in after.color_samples)
    assert worst < 0.5 * min(sample.delta_e for sample in before.color_samples)
    # One transform for the whole segment: frame-to-frame brightness steps are unchanged.
    steps_before = np.diff(before.frames.mean_luma)
    steps_after = np.diff(after.frames.mean_luma)
    assert np.abs(steps_after).max() < np.abs(steps_before).max() + 1.0


def test_correction_refuses_to_overwrite_its_input(clean_clip: Path, graded_anchor: Path) -> None:
    with pytest.raises(AnalysisError, match="must differ"):
        color_correct(clean_clip, graded_anchor, clean_clip)
