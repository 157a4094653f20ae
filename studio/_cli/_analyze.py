"""``studio analyze``: continuity and quality analysis of one video."""

from __future__ import annotations

import gc
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from studio._cli._common import emit_json, wants_json

if TYPE_CHECKING:
    from studio.quality import VideoAnalysis

COMMANDS: list[click.Command] = []

_SERIES = (
    ("SSIM", "ssim", "{:.4f}"),
    ("difference", "mad", "{:.2f}"),
    ("flow px/frame", "flow", "{:.2f}"),
    ("mean luma", "mean_luma", "{:.1f}"),
    ("sharpness", "sharpness", "{:.0f}"),
)


@click.command("analyze")
@click.argument("video", type=click.Path(path_type=Path))
@click.option(
    "--previous-last-frame", type=click.Path(path_type=Path), metavar="PNG",
    help="The previous segment's last frame: measure the seam.",
)
@click.option(
    "--anchor", type=click.Path(path_type=Path), metavar="PNG",
    help="The scene's anchor frame: measure and flag colour drift against it.",
)
@click.option(
    "--reference-sharpness", type=float, metavar="VALUE",
    help="Segment 0's sharpness: flag sharpness decay against it.",
)
@click.option(
    "--scale", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.5, show_default=True,
    help="Analysis resolution as a fraction of the source.",
)
@click.option("--full-resolution", is_flag=True, help="Analyse at full resolution (--scale 1).")
@click.option(
    "--engine", type=click.Choice(["opencv", "torch", "auto"]), default="opencv",
    show_default=True, help="Metric engine; torch runs on CUDA when available.",
)
@click.option(
    "--attempt", type=click.IntRange(min=1), default=1, show_default=True,
    help="Which attempt at the segment this is (for the verdict).",
)
@click.option(
    "--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
    help="Attempts the project allows (for the verdict).",
)
@click.option("--per-frame", is_flag=True, help="Also print one line per frame.")
@click.option(
    "--plot", type=click.Path(path_type=Path), metavar="OUT.png",
    help="Save a plot of the per-frame metrics, with the events on a timeline.",
)
def analyze_command(
    video: Path,
    previous_last_frame: Path | None,
    anchor: Path | None,
    reference_sharpness: float | None,
    scale: float,
    full_resolution: bool,
    engine: str,
    attempt: int,
    max_attempts: int,
    per_frame: bool,
    plot: Path | None,
) -> None:
    """Analyse VIDEO: every frame and the seam; print a summary and the flagged events.

    Exit code 0 when the analysis ran (whatever it found), 2 when the input
    cannot be analysed.
    """
    with _one_blas_thread():
        from studio.quality import analyze_video, decide
    # What is loaded now lives until exit: keep the garbage collector from walking it
    # again, in collections during the analysis and in the teardown at exit (about
    # 20 ms, a thirtieth of the whole command on a 300-frame clip).
    gc.freeze()

    analysis = analyze_video(
        video,
        previous_last_frame=previous_last_frame,
        anchor_frame=anchor,
        reference_sharpness=reference_sharpness,
        scale=1.0 if full_resolution else scale,
        engine=engine,  # type: ignore[arg-type]  # click.Choice guarantees the literal
    )
    decision = decide(analysis, attempt=attempt, max_attempts=max_attempts)
    if plot is not None:
        from studio.quality._plot import plot_analysis

        plot_analysis(analysis, plot)
    if wants_json():
        emit_json({"analysis": analysis.to_json(), "decision": decision.to_json()})
        return
    _print_summary(analysis, per_frame=per_frame)
    click.echo(f"verdict: {decision.action.value}")
    if decision.retry is not None:
        r = decision.retry
        click.echo(
            f"retry with: new seed, {r.extra_steps} extra steps, "
            f"speed-ups {'off' if r.disable_speedups else 'unchanged'}"
        )
    if plot is not None:
        click.echo(f"plot: {plot}")


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Load numpy with a single OpenBLAS thread.

    On import, OpenBLAS starts a thread per core, and they spin for about 0.1 s
    waiting for work; the analysis has none for them (it does no linear algebra),
    so that is a core's worth of CPU taken from decoding. The variable is read
    once, when the library loads, and removed again so child processes do not
    inherit it.
    """
    if "numpy" in sys.modules or "OPENBLAS_NUM_THREADS" in os.environ:
        yield
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


def _stats(values: list[float]) -> tuple[float, float, float, float] | None:
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return None
    return finite[0], finite[len(finite) // 2], sum(finite) / len(finite), finite[-1]


def _print_summary(analysis: VideoAnalysis, *, per_frame: bool) -> None:
    a = analysis
    click.echo(
        f"{a.path}: {a.frame_count} frames, {a.width}x{a.height} at {a.fps:g} fps; "
        f"analysed at {a.analysis_width}x{a.analysis_height} ({a.engine})"
    )
    click.echo(f"{'per frame':<14} {'min':>9} {'median':>9} {'mean':>9} {'max':>9}")
    for label, name, fmt in _SERIES:
        stats = _stats(getattr(a.frames, name))
        if stats is not None:
            click.echo(f"{label:<14} " + " ".join(f"{fmt.format(v):>9}" for v in stats))
    if a.seam is not None:
        click.echo(
            f"seam: SSIM {a.seam.ssim[0]:.4f}, difference {a.seam.difference:.2f} at frame "
            f"{a.seam.seam_frame}, jump ratio {a.seam.jump_ratio:.2f}"
        )
    worst = max(a.color_samples, key=lambda sample: sample.delta_e)
    click.echo(
        f"colour vs {a.color_reference.replace('_', ' ')}: worst Delta E {worst.delta_e:.2f} "
        f"at frame {worst.frame}, std ratio {worst.std_ratio:.2f}"
    )
    s, seed = a.scores, a.seed_scores
    seam = "-" if s.seam_continuity is None else f"{s.seam_continuity:.3f}"
    click.echo(
        f"scores: consistency {s.frame_consistency:.3f}, smoothness {s.motion_smoothness:.3f}, "
        f"seam {seam}, colour {s.color_stability:.3f}, overall {s.overall:.3f}"
    )
    click.echo(
        f"seed formulas: consistency {seed.frame_consistency:.3f}, "
        f"smoothness {seed.motion_smoothness:.3f}, overall {seed.overall:.3f}"
    )
    if per_frame:
        click.echo(f"{'frame':>6} {'SSIM':>8} {'diff':>7} {'flow':>6} {'luma':>6}")
        f = a.frames
        for k in range(a.frame_count):
            click.echo(
                f"{k:>6} {f.ssim[k]:>8.4f} {f.mad[k]:>7.2f} {f.flow[k]:>6.2f} {f.mean_luma[k]:>6.1f}"
            )
    if not a.events:
        click.echo("events: none")
    for event in a.events:
        where = f"{event.frame}" if event.frame == event.end_frame else (
            f"{event.frame}-{event.end_frame}"
        )
        click.echo(f"  {event.kind:<16} frame {where:<9} {event.message}")
        click.echo(f"  {'':<16} {'':<15} confidence {event.confidence:.2f}: {event.reason}")


COMMANDS.append(analyze_command)
