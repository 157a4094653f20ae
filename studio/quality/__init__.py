"""Continuity and quality analysis of rendered segments.

Every frame and every seam is analysed, streaming, with bounded memory::

    from studio.quality import analyze_video, decide

    analysis = analyze_video("seg_003.mp4", previous_last_frame="seg_002.last.png",
                             anchor_frame="scene_anchor.png")
    verdict = decide(analysis, attempt=1, max_attempts=3)

See ``QualityThresholds`` for the per-project thresholds and their defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers
    from studio.quality._analyze import Engine, analyze_video, sharpness
    from studio.quality._correct import (
        ColorSchedule,
        ColorTransfer,
        color_correct,
        fit_color_schedule,
        fit_color_transfer,
        ramp_weight,
    )
    from studio.quality._metrics import ssim
    from studio.quality._scores import decide
    from studio.quality._thresholds import QualityThresholds
    from studio.quality._types import (
        ColorSample,
        Decision,
        EventKind,
        FrameSeries,
        QualityDecision,
        QualityEvent,
        RetryChanges,
        Scores,
        SeamAnalysis,
        SeedScores,
        VideoAnalysis,
    )

# Each public name and the private module it lives in. They load on first use
# (PEP 562), so a screenplay can validate its thresholds without OpenCV and PyAV.
_LAZY = {
    "ColorSample": "_types",
    "ColorSchedule": "_correct",
    "ColorTransfer": "_correct",
    "Decision": "_types",
    "Engine": "_analyze",
    "EventKind": "_types",
    "FrameSeries": "_types",
    "QualityDecision": "_types",
    "QualityEvent": "_types",
    "QualityThresholds": "_thresholds",
    "RetryChanges": "_types",
    "Scores": "_types",
    "SeamAnalysis": "_types",
    "SeedScores": "_types",
    "VideoAnalysis": "_types",
    "analyze_video": "_analyze",
    "color_correct": "_correct",
    "decide": "_scores",
    "fit_color_schedule": "_correct",
    "fit_color_transfer": "_correct",
    "ramp_weight": "_correct",
    "sharpness": "_analyze",
    "ssim": "_metrics",
}

__all__ = [
    "ColorSample",
    "ColorSchedule",
    "ColorTransfer",
    "Decision",
    "Engine",
    "EventKind",
    "FrameSeries",
    "QualityDecision",
    "QualityEvent",
    "QualityThresholds",
    "RetryChanges",
    "Scores",
    "SeamAnalysis",
    "SeedScores",
    "VideoAnalysis",
    "analyze_video",
    "color_correct",
    "decide",
    "fit_color_schedule",
    "fit_color_transfer",
    "ramp_weight",
    "sharpness",
    "ssim",
]


__getattr__, __dir__ = _lazy_names(globals(), _LAZY)
