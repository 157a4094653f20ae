"""Scores (0-1, higher is better) and the decision on a segment.

Events decide; scores summarise. A segment with any event, or with an overall
score under ``min_overall``, does not pass. The scores are defined as:

- ``frame_consistency = mean(min(1, SSIM_k / median SSIM)) * max(0, 1 - 0.25 * E)``,
  with ``E`` the number of events inside the segment (cut, colour shift, freeze,
  flicker, black, constant);
- ``motion_smoothness = 1 - min(1, std / max(mean, 0.5 px))`` of the per-pair mean
  flow magnitude, over the pairs no event touches (0.5 px keeps a still shot
  from scoring its noise);
- ``seam_continuity = clip(1 - (r - 1) / (2 (R - 1)))``, ``r`` the jump ratio and
  ``R`` its threshold: 1 for a seam like any frame step, 0.5 at the threshold;
- ``color_stability = 1 / (1 + w^2)``, ``w`` the worst of Delta E over its
  threshold and log(std ratio) over log(its threshold), against the anchor frame
  (or frame 0 without one), each times ``min(1, (1 - c) / (1 - C))`` with ``c`` the
  palette coverage and ``C`` its threshold: 1 for the anchor's colours, 0.5 at the
  thresholds, and above 0 however far a segment drifts;
- ``overall``: weights 0.35, 0.2, 0.25, 0.2 of the four, re-normalised when there
  is no seam.
"""

from __future__ import annotations

import math

import numpy as np

from studio.quality._metrics import finite_median
from studio.quality._thresholds import QualityThresholds
from studio.quality._types import (
    ColorSample,
    Decision,
    FrameSeries,
    QualityDecision,
    QualityEvent,
    RetryChanges,
    Scores,
    SeamAnalysis,
    SeedScores,
    VideoAnalysis,
)

__all__ = ["compute_scores", "decide", "seed_scores"]

_IN_SEGMENT = {"cut", "color_shift", "freeze", "flicker", "black", "constant"}
_EVENT_PENALTY = 0.25
_MIN_MOTION = 0.5  # px/frame; below this, flow variation is noise, not jerkiness
_WEIGHTS = {"consistency": 0.35, "smoothness": 0.2, "seam": 0.25, "color": 0.2}


def _clip01(value: float) -> float:
    return 0.0 if not math.isfinite(value) else min(1.0, max(0.0, value))


def compute_scores(
    series: FrameSeries,
    events: list[QualityEvent],
    thresholds: QualityThresholds,
    *,
    seam: SeamAnalysis | None,
    color_samples: list[ColorSample],
) -> Scores:
    """The five scores of one segment (see the module docstring for definitions)."""
    ssim = np.asarray(series.ssim, np.float64)[1:]
    flow = np.asarray(series.flow, np.float64)
    inside = [event for event in events if event.kind in _IN_SEGMENT]

    consistency = 1.0
    finite = ssim[np.isfinite(ssim)]
    if finite.size:
        median = finite_median(finite)
        if median > 0:
            consistency = float(np.mean(np.minimum(1.0, finite / median)))
    consistency *= max(0.0, 1.0 - _EVENT_PENALTY * len(inside))

    touched = np.zeros(flow.size, bool)
    for event in inside:
        touched[event.frame : event.end_frame + 2] = True  # the pairs into and out of it
    calm = flow[~touched & np.isfinite(flow)]
    smoothness = 1.0
    if calm.size >= 2:
        smoothness = 1.0 - min(1.0, float(np.std(calm)) / max(float(np.mean(calm)), _MIN_MOTION))

    seam_score: float | None = None
    if seam is not None:
        limit = thresholds.seam_max_jump_ratio
        seam_score = _clip01(1.0 - (seam.jump_ratio - 1.0) / (2.0 * (limit - 1.0)))

    worst = 0.0
    outside = max(1e-6, 1.0 - thresholds.color_min_palette_coverage)
    for sample in color_samples:
        # Statistics count as far as the colours also left the palette (a close-up of
        # the same scene changes the statistics, not the colours).
        left = min(1.0, (1.0 - sample.palette_coverage) / outside)
        worst = max(
            worst,
            left * sample.delta_e / thresholds.color_max_delta_e,
            left * math.log(sample.std_ratio) / math.log(thresholds.color_max_std_ratio),
        )
    color = 1.0 / (1.0 + worst * worst)

    parts = {"consistency": consistency, "smoothness": smoothness, "color": color}
    if seam_score is not None:
        parts["seam"] = seam_score
    total = sum(_WEIGHTS[name] for name in parts)
    overall = sum(_WEIGHTS[name] * value for name, value in parts.items()) / total
    return Scores(
        frame_consistency=_clip01(consistency),
        motion_smoothness=_clip01(smoothness),
        seam_continuity=seam_score,
        color_stability=color,
        overall=_clip01(overall),
    )


def seed_scores(series: FrameSeries) -> SeedScores:
    """The seed system's formulas on this analysis's SSIM and flow series."""
    ssim = np.asarray(series.ssim, np.float64)
    ssim = ssim[np.isfinite(ssim)]
    flow = np.asarray(series.flow, np.float64)
    flow = flow[np.isfinite(flow)]
    consistency = 0.0
    if ssim.size:
        consistency = _clip01(float(np.mean(ssim)) * (1.0 - min(float(np.std(ssim)), 0.5)))
    smoothness = 0.0
    if flow.size and float(np.mean(flow)) > 0:
        smoothness = 1.0 - min(float(np.std(flow)) / float(np.mean(flow)), 1.0)
    return SeedScores(consistency, smoothness, 0.6 * consistency + 0.4 * smoothness)


def decide(
    analysis: VideoAnalysis,
    thresholds: QualityThresholds | None = None,
    *,
    attempt: int,
    max_attempts: int,
) -> QualityDecision:
    """Pass, retry, colour-correct or send a segment to review.

    - No event and ``overall >= min_overall``: pass.
    - Only colour drift against the anchor: colour-correct (one LAB transfer
      per segment, :func:`studio.quality.color_correct`); no new render needed.
    - Anything else, while ``attempt < max_attempts``: retry. The first retry only
      draws a new seed; later ones also add ``retry_extra_steps`` per extra attempt
      and turn speed-ups off (where the template allows).
    - Otherwise: review by a person.

    Args:
        analysis: The attempt's analysis.
        thresholds: The project's thresholds; defaults to those of the analysis.
        attempt: Which attempt this was, counting from 1.
        max_attempts: How many attempts the project allows in total.

    Raises:
        ValueError: ``attempt`` or ``max_attempts`` is below 1.
    """
    if attempt < 1 or max_attempts < 1:
        raise ValueError(f"attempt ({attempt}) and max_attempts ({max_attempts}) count from 1")
    t = thresholds or analysis.thresholds
    reasons = [event.message for event in analysis.events]
    if analysis.scores.overall < t.min_overall:
        reasons.append(
            f"overall score {analysis.scores.overall:.2f} is below {t.min_overall:.2f}"
        )
    if not reasons:
        return QualityDecision(Decision.PASS, [])
    kinds = {event.kind for event in analysis.events}
    only_colour = kinds == {"color_drift"} and analysis.scores.overall >= t.min_overall
    if only_colour and analysis.color_reference == "anchor":
        return QualityDecision(Decision.COLOR_CORRECT, reasons)
    if attempt < max_attempts:
        extra = t.retry_extra_steps * (attempt - 1)
        changes = RetryChanges(new_seed=True, extra_steps=extra, disable_speedups=attempt > 1)
        return QualityDecision(Decision.RETRY, reasons, changes)
    return QualityDecision(Decision.REVIEW, reasons)
