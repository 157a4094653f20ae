"""What an analysis returns: per-frame series, events, scores and a decision.

Plain dataclasses; ``VideoAnalysis.to_json()`` gives a JSON-ready ``dict`` in
which missing values (the first frame has no pair, a frame that was not sampled
has no sharpness) are ``None``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal, cast

from studio.quality._thresholds import QualityThresholds

__all__ = [
    "ColorSample",
    "Decision",
    "EventKind",
    "FrameSeries",
    "QualityDecision",
    "QualityEvent",
    "RetryChanges",
    "Scores",
    "SeamAnalysis",
    "SeedScores",
    "VideoAnalysis",
]

EventKind = Literal[
    "cut",
    "color_shift",
    "freeze",
    "flicker",
    "black",
    "constant",
    "seam_jump",
    "color_drift",
    "sharpness_decay",
]


@dataclass(frozen=True)
class QualityEvent:
    """Something wrong at a place in the segment.

    Attributes:
        kind: What it is.
        frame: First frame concerned (0-based). For a cut or a colour shift, the
            first frame of the new picture; for a seam jump, the new segment's
            frame that does not continue the previous one.
        end_frame: Last frame concerned (inclusive); equal to ``frame`` for
            one-frame events.
        value: The measurement that triggered it (see ``message``).
        message: One sentence for people.
        confidence: How sure the detector is, 0.5 at its threshold and towards 1
            the further past it the measurement is.
        reason: The measured value against its threshold, in a few words.
    """

    kind: EventKind
    frame: int
    end_frame: int
    value: float
    message: str
    confidence: float = 1.0
    reason: str = ""


@dataclass
class FrameSeries:
    """Per-frame measurements, one entry per frame, NaN where not measured.

    Pair metrics at index ``k`` compare frame ``k - 1`` with frame ``k`` (index 0
    is NaN). ``skip_mad[k]`` compares frame ``k - 2`` with frame ``k``.

    The local series (see ``studio/quality/_changes.py``): ``tile_change`` is the
    largest tile mean absolute luma difference with the previous frame;
    ``hold_start`` the first frame of the hold frame ``k`` belongs to (``k`` when
    it changed); ``back[k][j - 1]`` the thumbnail distance (Y' + Cb + Cr) from frame
    ``k - j``, for j = 1..5; ``residual`` the thumbnail step left once a colour gain
    and offset are taken out (median over tiles); ``color_step`` how far that gain
    and offset move the picture.
    """

    mean_luma: list[float] = field(default_factory=list)
    std_luma: list[float] = field(default_factory=list)
    mean_cb: list[float] = field(default_factory=list)
    mean_cr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    mad: list[float] = field(default_factory=list)
    skip_mad: list[float] = field(default_factory=list)
    flow: list[float] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    tile_change: list[float] = field(default_factory=list)
    hold_start: list[int] = field(default_factory=list)
    back: list[list[float]] = field(default_factory=list)
    residual: list[float] = field(default_factory=list)
    color_step: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ColorSample:
    """L*a*b* statistics of one sampled frame and its distance to the reference."""

    frame: int
    lab_mean: tuple[float, float, float]
    lab_std: tuple[float, float, float]
    delta_e: float
    std_ratio: float
    palette_coverage: float = 1.0
    """Share of the frame's pixels whose colour is in the reference's palette."""


@dataclass(frozen=True)
class SeamAnalysis:
    """The previous segment's last frame against this segment's first frames.

    Attributes:
        ssim: SSIM of the previous last frame with frames 0, 1, 2 (as many as exist).
        mad: Mean absolute luma difference with the same frames.
        seam_frame: The frame the seam difference was taken at: 0, or 1 when frame 0
            repeats the start image (as image-to-video backends do).
        difference: Mean absolute luma difference across the seam at ``seam_frame``.
        jump_ratio: The thumbnail step across the seam (tile means of Y', Cb, Cr) over
            the shot's own large steps (90th percentile of its thumbnail steps).
        change: The thumbnail distance of the previous last frame to frames 0, 1, 2.
        tile_change: The largest tile mean absolute luma difference across the seam.
    """

    ssim: list[float]
    mad: list[float]
    seam_frame: int
    difference: float
    jump_ratio: float
    change: list[float] = field(default_factory=list)
    tile_change: float = 0.0


@dataclass(frozen=True)
class Scores:
    """Scores in 0-1 (1 is best). ``seam_continuity`` is ``None`` without a previous frame."""

    frame_consistency: float
    motion_smoothness: float
    seam_continuity: float | None
    color_stability: float
    overall: float


@dataclass(frozen=True)
class SeedScores:
    """The seed system's formulas applied to this analysis's measurements.

    ``consistency = mean SSIM * (1 - min(std SSIM, 0.5))``,
    ``smoothness = 1 - min(CV of flow magnitude, 1)``,
    ``overall = 0.6 * consistency + 0.4 * smoothness``.
    """

    frame_consistency: float
    motion_smoothness: float
    overall: float


@dataclass
class VideoAnalysis:
    """Everything measured on one video. Built by :func:`studio.quality.analyze_video`."""

    path: str
    frame_count: int
    fps: float
    width: int
    height: int
    analysis_width: int
    analysis_height: int
    engine: str
    frames: FrameSeries
    color_samples: list[ColorSample]
    color_reference: Literal["anchor", "first_frame"]
    seam: SeamAnalysis | None
    sharpness: float
    sharpness_ratio: float | None
    flow_mean: float
    flow_cv: float
    events: list[QualityEvent]
    scores: Scores
    seed_scores: SeedScores
    thresholds: QualityThresholds

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready ``dict`` (NaN becomes ``None``)."""
        document = asdict(self)
        document["thresholds"] = self.thresholds.to_dict()
        return cast(dict[str, Any], _finite(document))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class Decision(StrEnum):
    """What to do with an analysed segment."""

    PASS = "pass"
    RETRY = "retry"
    COLOR_CORRECT = "color_correct"
    REVIEW = "review"


@dataclass(frozen=True)
class RetryChanges:
    """Parameter changes for the next attempt; apply those the template allows.

    Attributes:
        new_seed: Draw a new seed (always, on a retry).
        extra_steps: Add this many sampler steps (0 on the first retry).
        disable_speedups: Turn off speed-ups (TeaCache, reduced-step LoRAs, ...).
    """

    new_seed: bool = True
    extra_steps: int = 0
    disable_speedups: bool = False


@dataclass(frozen=True)
class QualityDecision:
    """The verdict on one attempt at a segment.

    Attributes:
        action: pass, retry, color_correct or review.
        reasons: One sentence per problem (empty on pass).
        retry: What to change, only when ``action`` is ``retry``.
    """

    action: Decision
    reasons: list[str]
    retry: RetryChanges | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "reasons": list(self.reasons),
            "retry": asdict(self.retry) if self.retry else None,
        }
