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
    """Save SSIM, frame difference, flow and mean luma against frame number.

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
        ("flow (px/frame)", frames.flow),
        ("mean luma", frames.mean_luma),
    ]
    figure = Figure(figsize=(10, 8))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(rows), 1, sharex=True)
    for axis, (label, values) in zip(axes, rows, strict=True):
        axis.plot(x, values, linewidth=0.8)
        axis.set_ylabel(label)
        for event in analysis.events:
            axis.axvspan(
                event.frame - 0.5, event.end_frame + 0.5,
                color=_COLOURS.get(event.kind, "red"), alpha=0.25,
            )
    axes[0].set_title(
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
