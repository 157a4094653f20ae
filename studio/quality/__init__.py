"""Continuity and quality analysis of rendered segments.

Every frame and every seam is analysed, streaming, with bounded memory::

    from studio.quality import analyze_video, decide

    analysis = analyze_video("seg_003.mp4", previous_last_frame="seg_002.last.png",
                             anchor_frame="scene_anchor.png")
    verdict = decide(analysis, attempt=1, max_attempts=3)

See ``QualityThresholds`` for the per-project thresholds and their defaults.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers
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

# Each public name and the private module it lives in. They load on first use
# (PEP 562), so a screenplay can validate its thresholds without OpenCV and PyAV.
_LAZY = {
    "ColorSample": "_types",
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
    "fit_color_transfer": "_correct",
    "sharpness": "_analyze",
    "ssim": "_metrics",
}

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


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'studio.quality' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"studio.quality.{_LAZY[name]}"), name)
    # Show users ``studio.quality.VideoAnalysis``, not the private module (as httpx does).
    # Type aliases (Engine, EventKind) are not classes or functions and keep theirs.
    if isinstance(value, type) or inspect.isfunction(value):
        value.__module__ = "studio.quality"
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
