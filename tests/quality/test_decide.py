"""Decisions, scores and thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from studio import ConfigurationError
from studio.quality import Decision, QualityThresholds, RetryChanges, analyze_video, decide
from studio.render._check import thresholds_for


def test_clean_clip_passes(clean_clip: Path) -> None:
    verdict = decide(analyze_video(clean_clip), attempt=1, max_attempts=3)
    assert verdict.action is Decision.PASS
    assert verdict.reasons == []
    assert verdict.retry is None


def test_retry_escalates_then_goes_to_review(events_clips: dict[str, Path]) -> None:
    analysis = analyze_video(events_clips["cut"])
    first = decide(analysis, attempt=1, max_attempts=3)
    assert first.action is Decision.RETRY
    assert first.retry == RetryChanges(new_seed=True, extra_steps=0, disable_speedups=False)
    assert any("cut" in reason for reason in first.reasons)
    second = decide(analysis, attempt=2, max_attempts=3)
    assert second.retry == RetryChanges(new_seed=True, extra_steps=5, disable_speedups=True)
    assert decide(analysis, attempt=3, max_attempts=3).action is Decision.REVIEW


def test_colour_drift_alone_is_corrected_not_rerendered(clean_clip: Path, graded_anchor: Path) -> None:
    analysis = analyze_video(clean_clip, anchor_frame=graded_anchor)
    assert decide(analysis, attempt=3, max_attempts=3).action is Decision.COLOR_CORRECT


def test_project_thresholds_change_the_verdict(clean_clip: Path, graded_anchor: Path) -> None:
    lenient = QualityThresholds(color_max_delta_e=60.0, color_max_std_ratio=3.0)
    analysis = analyze_video(clean_clip, anchor_frame=graded_anchor, thresholds=lenient)
    assert analysis.events == []
    assert decide(analysis, attempt=1, max_attempts=3).action is Decision.PASS


def test_thresholds_reject_unknown_and_invalid_fields() -> None:
    with pytest.raises(ValueError, match="unknown quality threshold 'cut_z'"):
        QualityThresholds.from_dict({"cut_z": 3})
    with pytest.raises(ValueError, match="did you mean 'outlier_z'"):
        QualityThresholds.from_dict({"outlier_zz": 3})
    with pytest.raises(ValueError, match=r"quality.seam_max_jump_ratio must be greater than 1, got 0.5"):
        QualityThresholds(seam_max_jump_ratio=0.5)
    with pytest.raises(ValueError, match="quality.freeze_min_frames must be a whole number"):
        QualityThresholds(freeze_min_frames=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quality.outlier_z must be a number, got 'high'"):
        QualityThresholds.from_dict({"outlier_z": "high"})
    with pytest.raises(ValueError, match="quality.min_overall must be at most 1"):
        QualityThresholds(min_overall=1.5)
    stored = json.dumps(QualityThresholds(freeze_min_frames=24, outlier_z=6).to_dict())
    restored = QualityThresholds.from_dict(json.loads(stored))
    assert restored == QualityThresholds(freeze_min_frames=24, outlier_z=6.0)
    assert isinstance(restored.outlier_z, float)


def test_decide_refuses_attempt_zero(clean_clip: Path) -> None:
    with pytest.raises(ValueError, match="count from 1"):
        decide(analyze_video(clean_clip), attempt=0, max_attempts=3)


def test_seed_formulas_are_the_seed_systems(clean_clip: Path) -> None:
    analysis = analyze_video(clean_clip)
    ssim = np.array(analysis.frames.ssim[1:])
    flow = np.array(analysis.frames.flow[1:])
    consistency = ssim.mean() * (1 - min(ssim.std(), 0.5))
    smoothness = 1 - min(flow.std() / flow.mean(), 1)
    seed = analysis.seed_scores
    assert seed.frame_consistency == pytest.approx(consistency)
    assert seed.motion_smoothness == pytest.approx(smoothness)
    assert seed.overall == pytest.approx(0.6 * consistency + 0.4 * smoothness)


def test_json_has_no_nan_and_frame_0_has_no_pair(clean_clip: Path) -> None:
    import json

    document = analyze_video(clean_clip).to_json()
    text = json.dumps(document, allow_nan=False)  # raises on NaN
    assert document["frames"]["ssim"][0] is None
    assert len(document["frames"]["ssim"]) == document["frame_count"]
    assert "NaN" not in text


def test_scale_changes_resolution_not_definitions(clean_clip: Path) -> None:
    half = analyze_video(clean_clip)
    full = analyze_video(clean_clip, scale=1.0)
    assert (half.analysis_width, full.analysis_width) == (96, 192)
    # Flow is measured at a quarter of the resolution in both modes, in source pixels;
    # its luma is averaged from the analysis luma, so only rounding differs (0.6 %).
    assert full.frames.flow[1:] == pytest.approx(half.frames.flow[1:], rel=0.02)
    assert full.events == half.events == []


def test_stored_thresholds_that_no_longer_validate_name_the_field_and_the_fix() -> None:
    with pytest.raises(ConfigurationError) as unknown:
        thresholds_for({"outlier_zz": 6})
    assert str(unknown.value) == (
        "screenplay defaults.quality: unknown quality threshold 'outlier_zz' (did you mean 'outlier_z'?). "
        "Fix it in the screenplay and run `studio import` again."
    )
    with pytest.raises(ConfigurationError, match=r"defaults.quality: quality.min_overall must be at most 1"):
        thresholds_for({"min_overall": 2.0})
    assert thresholds_for({}) == QualityThresholds()
