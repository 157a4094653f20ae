"""Colour correction that is verified before it is kept.

When the only problem with a segment is colour drift against the scene's anchor, the
pipeline fits one L*a*b* transfer (``studio.quality.fit_color_transfer``) and writes a
corrected copy beside the segment. The transfer fades in from the seam over
:data:`RAMP_SECONDS` (smoothstep; frame 0, the previous segment's last frame, is left
untouched), so the correction can never flash at the seam, and the corrected last frame
is what the next segment starts from.

The copy is then analysed again, exactly as the original was. It replaces the original
only if it is better: a higher overall score, a better colour stability, and no event
that the original did not have (a flash shows up as a colour shift or flicker event).
Otherwise it is deleted and the original stays. Either way the stored scores are those
of the file that is kept, and the outcome (scores and worst Delta E before and after)
goes into the attempt's record.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio._video import VideoWriter, crash_point, iter_frames, probe, read_image, write_png
from studio.backends import SegmentResult
from studio.quality import Decision, QualityDecision, RetryChanges, fit_color_schedule, ramp_weight
from studio.render._check import SegmentCheck

__all__ = [
    "RAMP_SECONDS",
    "CorrectionOutcome",
    "correct_and_verify",
    "remove_abandoned_corrections",
    "settle_correction",
]

RAMP_SECONDS = 0.5
WINDOW_SECONDS = 1.0  # one transfer per second of the segment, interpolated in between
_MARK = ".corrected"


@dataclass(frozen=True)
class CorrectionOutcome:
    """What a correction did. ``check`` is the check of the file that was kept."""

    kept: bool
    check: SegmentCheck
    before: SegmentCheck
    after: SegmentCheck
    new_events: tuple[str, ...]

    @property
    def note(self) -> str:
        b, a = self.before.analysis.scores, self.after.analysis.scores
        change = (
            f"overall {b.overall:.3f} -> {a.overall:.3f}, colour stability "
            f"{b.color_stability:.3f} -> {a.color_stability:.3f}, worst Delta E "
            f"{worst_delta_e(self.before):.2f} -> {worst_delta_e(self.after):.2f}"
        )
        if self.kept:
            return f"colour correction kept ({change})"
        extra = f"; new events: {', '.join(self.new_events)}" if self.new_events else ""
        return f"colour correction rejected, the original is kept ({change}{extra})"

    def to_json(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "note": self.note,
            "overall_before": round(self.before.analysis.scores.overall, 4),
            "overall_after": round(self.after.analysis.scores.overall, 4),
            "delta_e_before": round(worst_delta_e(self.before), 3),
            "delta_e_after": round(worst_delta_e(self.after), 3),
            "new_events": list(self.new_events),
        }


def worst_delta_e(check: SegmentCheck) -> float:
    """The largest L*a*b* distance to the anchor over the sampled frames."""
    return max((s.delta_e for s in check.analysis.color_samples), default=0.0)


def correct_and_verify(
    result: SegmentResult,
    check: SegmentCheck,
    *,
    anchor: Path,
    fps: int,
    recheck: Callable[[Path], SegmentCheck],
) -> CorrectionOutcome:
    """Correct ``result`` towards ``anchor`` into a copy, re-analyse the copy with
    ``recheck``, and keep whichever file is better (see the module docstring).

    When the copy is kept it replaces the segment's video and its first/last-frame PNGs
    in place (``result``'s paths stay valid); when not, the copy is deleted.
    """
    video = result.video_path
    copy = video.with_name(video.stem + _MARK + video.suffix)
    frames = (result.first_frame_path, result.last_frame_path)
    pngs = {p: p.with_name(p.stem + _MARK + p.suffix) for p in frames}
    try:
        _write_corrected(result, anchor, fps, copy, pngs)
        after = recheck(copy)
    except BaseException:
        for path in (copy, *pngs.values(), _series(copy)):
            path.unlink(missing_ok=True)
        raise
    new_events = _new_events(check, after)
    before_scores, after_scores = check.analysis.scores, after.analysis.scores
    kept = (
        after_scores.overall > before_scores.overall
        and after_scores.color_stability > before_scores.color_stability
        and not new_events
    )
    if kept:
        crash_point(f"{video.name}.corrected")  # crash tests: killed before the rename
        os.replace(copy, video)
        for original, corrected in pngs.items():
            os.replace(corrected, original)
        if _series(copy).exists():
            os.replace(_series(copy), _series(video))
    else:
        for path in (copy, *pngs.values(), _series(copy)):
            path.unlink(missing_ok=True)
    return CorrectionOutcome(
        kept=kept, check=after if kept else check, before=check, after=after, new_events=new_events
    )


def settle_correction(outcome: CorrectionOutcome, *, attempt: int, max_attempts: int) -> SegmentCheck:
    """The check the segment goes on with after a correction.

    A kept correction that passes its own check passes. Anything else (a rejected
    correction, or a kept one that still fails) goes on to a retry while attempts
    remain, else to review; the reasons end with what the correction did.
    """
    check = outcome.check
    if outcome.kept and check.decision.action is Decision.PASS:
        return SegmentCheck(check.analysis, QualityDecision(Decision.PASS, [outcome.note]))
    reasons = [*check.decision.reasons, outcome.note]
    if attempt < max_attempts:
        return SegmentCheck(check.analysis, QualityDecision(Decision.RETRY, reasons, RetryChanges()))
    return SegmentCheck(check.analysis, QualityDecision(Decision.REVIEW, reasons))


def remove_abandoned_corrections(folder: Path) -> None:
    """Delete corrected copies left by a render killed between writing and verifying them."""
    for path in folder.glob(f"*{_MARK}.*"):
        path.unlink(missing_ok=True)


def _series(video: Path) -> Path:
    return video.with_suffix(".quality.json")


def _new_events(before: SegmentCheck, after: SegmentCheck) -> tuple[str, ...]:
    """Event kinds the corrected file has more of than the original."""
    had = Counter(e.kind for e in before.analysis.events)
    has = Counter(e.kind for e in after.analysis.events)
    return tuple(sorted(kind for kind, count in has.items() if count > had.get(kind, 0)))


def _write_corrected(
    result: SegmentResult, anchor: Path, fps: int, copy: Path, pngs: dict[Path, Path]
) -> None:
    info = probe(result.video_path)
    window = max(1, round(WINDOW_SECONDS * fps))
    schedule = fit_color_schedule(result.video_path, anchor, window_frames=window)
    frames = max(1, info.frames)
    ramp = min(max(1, round(RAMP_SECONDS * fps)), max(1, (frames - 1) // 2))
    with VideoWriter(copy, width=info.width, height=info.height, fps=fps) as writer:
        for index, frame in enumerate(iter_frames(result.video_path)):
            # Re-encoded with the backend's settings, frame 1 a keyframe after a seam
            # duplicate, so the scene still stitches by stream copy.
            writer.write(
                schedule.apply(frame, index, ramp_weight(index, ramp)),
                keyframe=index == 1 and result.leading_duplicate,
            )
    first, last = result.first_frame_path, result.last_frame_path
    write_png(pngs[first], schedule.apply(read_image(first), 0, ramp_weight(0, ramp)))
    write_png(pngs[last], schedule.apply(read_image(last), frames - 1, ramp_weight(frames - 1, ramp)))
