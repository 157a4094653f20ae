"""A PNG plot of an analysis: per-frame metrics with the events marked.

matplotlib is imported here only, so analysing never pays for it. We build a
``Figure`` directly and render it with the Agg canvas instead of using pyplot:
no global backend switch, which would disturb a notebook's inline plots.
"""

from __future__ import annotations

from pathlib import Path

from studio._exceptions import AnalysisError
from studio.quality._types import VideoAnalysis

__all__ = ["plot_analysis"]

_COLOURS = {
    "cut": "red",
    "color_shift": "purple",
    "freeze": "steelblue",
    "flicker": "orange",
    "black": "black",
    "constant": "gray",
    "seam_jump": "crimson",
    "color_drift": "magenta",
    "sharpness_decay": "brown",
}


def plot_analysis(analysis: VideoAnalysis, out_path: Path | str) -> Path:
    """Save the per-frame metrics against frame number, and the events on a timeline.

    The top row is the timeline: one bar per event, labelled with its kind and
    confidence; the rows below (SSIM, frame difference, the largest tile change,
    flow, mean luma) have the events shaded.

    Raises:
        AnalysisError: The plot cannot be written to ``out_path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frames = analysis.frames
    x = list(range(analysis.frame_count))
    rows = [
        ("SSIM", frames.ssim),
        ("difference", frames.mad),
        ("largest tile\nchange", frames.tile_change),
        ("flow (px/frame)", frames.flow),
        ("mean luma", frames.mean_luma),
    ]
    rows = [(label, values) for label, values in rows if len(values) == analysis.frame_count]
    figure = Figure(figsize=(10, 9))
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        len(rows) + 1, 1, sharex=True, gridspec_kw={"height_ratios": [1.2] + [1] * len(rows)}
    )
    timeline, metrics = axes[0], axes[1:]
    kinds = sorted({event.kind for event in analysis.events})
    for event in analysis.events:
        lane = kinds.index(event.kind)
        colour = _COLOURS.get(event.kind, "red")
        timeline.barh(
            lane, event.end_frame - event.frame + 1, left=event.frame - 0.5, height=0.6,
            color=colour, alpha=0.3 + 0.7 * event.confidence,
        )
        timeline.annotate(
            f"{event.kind} {event.confidence:.2f}", (event.frame, lane), xytext=(2, 6),
            textcoords="offset points", fontsize=7,
        )
    timeline.set_yticks(range(len(kinds)), kinds, fontsize=7)
    timeline.set_ylim(-0.7, max(len(kinds), 1) - 0.3)
    timeline.set_ylabel("events")
    if not kinds:
        timeline.text(0.5, 0.5, "no events", transform=timeline.transAxes, ha="center", va="center")
    for axis, (label, values) in zip(metrics, rows, strict=True):
        axis.plot(x, values, linewidth=0.8)
        axis.set_ylabel(label)
        for event in analysis.events:
            axis.axvspan(
                event.frame - 0.5, event.end_frame + 0.5,
                color=_COLOURS.get(event.kind, "red"), alpha=0.25,
            )
    timeline.set_title(
        f"{Path(analysis.path).name}: overall {analysis.scores.overall:.2f}, "
        f"{len(analysis.events)} event(s)"
    )
    axes[-1].set_xlabel("frame")
    figure.tight_layout()
    out = Path(out_path)
    try:
        figure.savefig(out, dpi=100)
    except OSError as error:
        raise AnalysisError(f"cannot write the plot to {out}: {error}") from error
    return out
