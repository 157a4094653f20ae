"""Continuity and quality analysis of rendered segments.

Every frame and every seam is analysed, streaming, with bounded memory::

    from studio.quality import analyze_video, decide

    analysis = analyze_video("seg_003.mp4", previous_last_frame="seg_002.last.png",
                             anchor_frame="scene_anchor.png")
    verdict = decide(analysis, attempt=1, max_attempts=3)

See ``QualityThresholds`` for the per-project thresholds and their defaults.
"""

from __future__ import annotations

import inspect

from studio.quality._analyze import Engine, analyze_video, sharpness
from studio.quality._correct import ColorTransfer, color_correct, fit_color_transfer
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

__all__ = [
    "ColorSample",
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
    "fit_color_transfer",
    "sharpness",
    "ssim",
]

# Show users ``studio.quality.VideoAnalysis``, not the private module (as httpx does).
# Type aliases (Engine, EventKind) are not classes or functions and keep theirs.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or inspect.isfunction(_obj):
        _obj.__module__ = "studio.quality"
