"""Colour corrections are analysed again, kept only when better, and never flash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import select

from studio._config import Settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio._video import VideoWriter, iter_frames, read_image, write_png
from studio.backends import SegmentResult
from studio.quality import fit_color_transfer
from studio.quality._lab import rgb_to_lab
from studio.render._check import SegmentCheck, check_segment, thresholds_for
from studio.render._correction import correct_and_verify, settle_correction
from studio.render._pipeline import render_episode
from studio.storage._models import SceneModel
from tests.quality._clips import make_frames

RGB = npt.NDArray[np.uint8]
CAST = np.array([-25.0, -5.0, 35.0], np.float32)  # a blue cast that grows over 40 frames


def drifting_segment(folder: Path) -> tuple[SegmentResult, Path, list[RGB]]:
    """A 72-frame segment whose frame 0 is the seam (the anchor) and whose colour then drifts."""
    frames = make_frames(72)
    drifted = [
        np.clip(f.astype(np.float32) + CAST * min(1.0, i / 40), 0, 255).astype(np.uint8)
        for i, f in enumerate(frames)
    ]
    video = folder / "segment_001.mp4"
    with VideoWriter(video, width=drifted[0].shape[1], height=drifted[0].shape[0], fps=24) as writer:
        for i, frame in enumerate(drifted):
            writer.write(frame, keyframe=i == 1)
    first = write_png(folder / "segment_001_first.png", drifted[0])
    last = write_png(folder / "segment_001_last.png", drifted[-1])
    anchor = write_png(folder / "anchor.png", frames[0])
    return SegmentResult(video, last, first, 72, True, {}), anchor, drifted


def checker(anchor: Path):  # type: ignore[no-untyped-def]
    def recheck(video: Path) -> SegmentCheck:
        return check_segment(
            video,
            previous_last_frame=anchor,
            anchor_frame=anchor,
            reference_sharpness=None,
            thresholds=thresholds_for({}),
            attempt=1,
            max_attempts=3,
            series_path=video.with_suffix(".quality.json"),
        )

    return recheck


def colour_steps(frames: list[RGB]) -> list[float]:
    """Delta E between the mean L*a*b* colours of consecutive frames."""
    means = [rgb_to_lab(f).reshape(-1, 3).mean(axis=0) for f in frames]
    return [float(np.linalg.norm(b - a)) for a, b in zip(means, means[1:], strict=False)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_correction_that_helps_is_kept_fades_in_from_the_seam_and_never_flashes(tmp_path: Path) -> None:
    result, anchor, drifted = drifting_segment(tmp_path)
    recheck = checker(anchor)
    before = recheck(result.video_path)
    assert before.decision.action.value == "color_correct"
    transfer = fit_color_transfer(result.video_path, anchor)  # one transfer, as before this fix
    encoded = list(iter_frames(result.video_path))
    outcome = correct_and_verify(result, before, anchor=anchor, fps=24, recheck=recheck)
    assert outcome.kept, outcome.note
    # The kept file is the corrected one and its scores are the ones the segment keeps.
    assert outcome.check is outcome.after
    again = recheck(result.video_path).analysis.scores
    assert again.overall == pytest.approx(outcome.after.analysis.scores.overall, abs=1e-9)
    assert outcome.after.analysis.scores.overall > before.analysis.scores.overall
    assert outcome.to_json()["delta_e_after"] < outcome.to_json()["delta_e_before"] / 3
    assert settle_correction(outcome, attempt=1, max_attempts=3).decision.action.value == "pass"
    corrected = list(iter_frames(result.video_path))
    # Frame 0 is the previous segment's last frame: untouched, so the seam does not move.
    assert colour_steps([encoded[0], corrected[0]])[0] < 1.0  # mean-colour Delta E: re-encoding only
    np.testing.assert_array_equal(read_image(result.first_frame_path), drifted[0])
    # No frame-to-frame colour jump larger than the original footage's own steps...
    original_steps = colour_steps(encoded)
    assert max(colour_steps(corrected)) <= max(original_steps) + 0.25
    # ...where one transfer at full strength from frame 1 jumps at the seam (a flash).
    full = [drifted[0], *[transfer.apply(f) for f in drifted[1:3]]]
    assert colour_steps(full)[0] > 3 * max(original_steps)
    assert sorted(p.name for p in tmp_path.iterdir() if ".corrected" in p.name) == []


def test_a_correction_that_makes_things_worse_is_rejected_and_the_original_kept(tmp_path: Path) -> None:
    result, anchor, _ = drifting_segment(tmp_path)
    recheck = checker(anchor)
    before = recheck(result.video_path)
    files = {p: digest(p) for p in (result.video_path, result.first_frame_path, result.last_frame_path)}
    # Fitted towards the wrong picture (a magenta one), the correction is judged, as
    # always, against the scene's real anchor: it is worse there, so it is dropped.
    wrong = write_png(tmp_path / "wrong.png", np.full((128, 192, 3), (200, 40, 190), np.uint8))
    outcome = correct_and_verify(result, before, anchor=wrong, fps=24, recheck=recheck)
    assert not outcome.kept
    assert "rejected, the original is kept" in outcome.note
    assert outcome.check is before  # the stored scores stay those of the stored (original) file
    assert {p: digest(p) for p in files} == files
    assert sorted(p.name for p in tmp_path.iterdir() if ".corrected" in p.name) == []
    settled = settle_correction(outcome, attempt=1, max_attempts=3)
    assert settled.decision.action.value == "retry"
    assert settled.decision.reasons[-1] == outcome.note
    assert settle_correction(outcome, attempt=3, max_attempts=3).decision.action.value == "review"


# Strict colour thresholds: the demo's mild drift from its anchors then asks for corrections.
STRICT_COLOUR = {"color_max_delta_e": 1.0, "color_min_palette_coverage": 1.0}


def test_stored_scores_are_those_of_the_stored_file(settings: Settings, tmp_path: Path) -> None:
    """On the demo, every corrected segment's stored scores are its stored file's analysis."""
    show = tmp_path / "show.yaml"
    show.write_text(
        DEMO_SCREENPLAY.read_text().replace(
            "  max_attempts: 3\n",
            "  max_attempts: 3\n  quality: {color_max_delta_e: 1.0, color_min_palette_coverage: 1.0}\n",
        )
    )
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_file(show)
        summary = render_episode(studio, episode=1)
        corrections = 0
        with studio.database.session() as session:
            for scene in session.scalars(select(SceneModel).order_by(SceneModel.scene_number)):
                segments = list(scene.segments)
                anchor = studio.home / (scene.entry_keyframe_path or segments[0].first_frame_path)
                for previous, segment in zip([None, *segments], segments, strict=False):
                    record = segment.meta["attempts"][-1]
                    if "correction" not in record:
                        continue
                    corrections += 1
                    again = check_segment(
                        studio.home / segment.output_video_path,
                        previous_last_frame=(
                            studio.home / previous.last_frame_path
                            if previous
                            else (studio.home / scene.entry_keyframe_path if scene.entry_keyframe_path else None)
                        ),
                        anchor_frame=anchor,
                        reference_sharpness=(segments[0].scores or {}).get("sharpness") if previous else None,
                        thresholds=thresholds_for(STRICT_COLOUR),
                        attempt=1,
                        max_attempts=3,
                    )
                    kept = record["correction"]["kept"]
                    expected = record["correction"]["overall_after" if kept else "overall_before"]
                    assert again.analysis.scores.overall == pytest.approx(expected, abs=1e-4)
                    assert segment.overall_quality_score == pytest.approx(again.analysis.scores.overall)
        assert corrections >= 1
        assert not list((studio.home / "renders").rglob("*.corrected.*"))
        assert {s["status"] for s in summary.scenes} <= {"completed", "review"}


def test_the_ramp_is_zero_at_the_seam_and_full_after_it() -> None:
    from studio.quality import ramp_weight

    assert [ramp_weight(i, 12) for i in (0, 6, 12, 40)] == [0.0, 0.5, 1.0, 1.0]
    assert all(ramp_weight(i, 12) < ramp_weight(i + 1, 12) for i in range(12))
    assert ramp_weight(0, 0) == 1.0  # no ramp: full strength
