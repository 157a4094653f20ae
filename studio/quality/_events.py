"""Turn per-frame series into flagged events. Pure functions over numbers.

The detectors are built for animation (see ``_changes.py`` for what they read):

- **black / constant**: frames whose luma std is under ``constant_max_std``. Found
  first and kept out of everything else (a black frame is not also two cuts).
- **flicker**: the picture leaves and comes back within 1-4 frames: a big step
  into the plateau, a big step out of it, and the frame after it is close to the
  frame before it again (closer than the shot's own motion over that many frames
  allows). A lightning flash decays over several frames, so its way back is no
  big step: it is content, not flicker.
- **cut**: a thumbnail step that a colour gain and offset cannot explain (the
  *residual*), several times larger than any step of the shot around it, and the
  picture does not come back. Colour layout, not SSIM: between smooth pictures
  SSIM hardly moves.
- **colour shift**: a step the fitted gain and offset make (so not an object
  jumping), several times larger than the steps around it, after which the
  picture stays shifted and stable. A
  fade or a dissolve is many similar small steps; a flash comes back.
- **freeze**: a hold (every tile within ``freeze_max_tile_change`` of the hold's
  first frame) of at least ``freeze_min_frames``, in a shot that moves elsewhere.
  Holds on twos and threes are two or three frames long; a still shot has no motion
  to stop.
- **seam jump**: the step across the seam against the shot's own steps (their
  90th percentile, so that the identical pairs of animation on twos do not count).
- **colour drift** (against the scene's anchor): samples over the Delta E or
  contrast threshold whose colours have also left the anchor's palette (see
  ``_palette.py``), and that stay so, located at the frame where the colour moved.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from studio.quality._changes import BACK_FRAMES
from studio.quality._metrics import finite_median
from studio.quality._thresholds import QualityThresholds
from studio.quality._types import ColorSample, FrameSeries, QualityEvent, SeamAnalysis

__all__ = ["confidence", "detect_events", "robust_stats", "shot_step"]

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its sigma
_SIGMA_FLOOR = 1e-6
_CONTEXT = 4  # frames each side that make "the shot around" a step
_MAX_FLICKER = 4
_STEP_FLOOR = 1.0  # thumbnail steps below this are noise, whatever the shot


def robust_stats(values: Array) -> tuple[float, float]:
    """``(median, sigma)`` of the finite values, sigma estimated from the MAD."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    median = finite_median(finite)
    sigma = _MAD_TO_SIGMA * finite_median(np.abs(finite - median))
    return median, max(sigma, _SIGMA_FLOOR)


def confidence(value: float, threshold: float) -> float:
    """0.5 at the threshold, towards 1 as ``value`` goes past it (``value / threshold`` = 2: 0.75)."""
    if not math.isfinite(value) or threshold <= 0:
        return 1.0
    return round(min(0.99, max(0.5, 1.0 - 0.5 * threshold / max(value, 1e-9))), 3)


def shot_step(series: FrameSeries, *, local: bool = False) -> float:
    """The shot's own large step: 90th percentile of its thumbnail steps (at least 1).

    ``local``: of its largest tile changes instead (at least ``2 * _STEP_FLOOR``).
    """
    if local:
        tiles = np.asarray(series.tile_change, np.float64)
        tiles = tiles[np.isfinite(tiles)]
        return max(2 * _STEP_FLOOR, float(np.percentile(tiles, 90)) if tiles.size else 0.0)
    steps = _back(series)[:, 0]
    steps = steps[np.isfinite(steps)]
    if steps.size == 0:
        return _STEP_FLOOR
    return max(_STEP_FLOOR, float(np.percentile(steps, 90)))


def _back(series: FrameSeries) -> Array:
    n = len(series.mean_luma)
    if len(series.back) != n:  # series made without the local measurements
        return np.full((n, BACK_FRAMES), np.nan)
    return np.asarray(series.back, np.float64).reshape(n, BACK_FRAMES)


def detect_events(
    series: FrameSeries,
    thresholds: QualityThresholds,
    *,
    seam: SeamAnalysis | None = None,
    color_samples: list[ColorSample] | None = None,
    sharpness_ratio: float | None = None,
) -> list[QualityEvent]:
    """Every event in one segment, sorted by frame.

    Args:
        series: The segment's per-frame measurements.
        thresholds: The project's thresholds.
        seam: The seam measurements, when there was a previous segment.
        color_samples: L*a*b* samples measured against the scene's anchor frame;
            pass ``None`` when there is no anchor (no colour-drift event then).
        sharpness_ratio: Segment sharpness over segment 0's, when known.
    """
    t = thresholds
    n = len(series.mean_luma)
    events: list[QualityEvent] = []
    back = _back(series)
    residual = np.asarray(series.residual, np.float64) if len(series.residual) == n else np.full(n, np.nan)
    colour = np.asarray(series.color_step, np.float64) if len(series.color_step) == n else np.full(n, np.nan)

    blank = _blank_frames(series, t, events)
    flicker = _flickers(back, t, blank, events)
    frozen = _freezes(series, t, blank, events)
    excluded = blank | flicker | frozen
    excluded[1:] |= excluded[:-1].copy()  # the step out of a run, too (a freeze ends with a jump)
    if seam is not None and seam.seam_frame == 1 and n > 1:
        excluded[1] = True  # frame 0 repeats the start image: step 0 -> 1 is the seam's to judge
    _cuts_and_shifts(back, residual, colour, t, excluded, events)
    if seam is not None:
        _seam_jump(seam, t, events)
    if color_samples:
        _colour_drift(series, color_samples, t, events)
    if sharpness_ratio is not None and sharpness_ratio < t.sharpness_min_ratio:
        events.append(
            QualityEvent(
                "sharpness_decay", 0, n - 1, sharpness_ratio,
                f"sharpness is {sharpness_ratio:.0%} of segment 0's",
                confidence(t.sharpness_min_ratio, sharpness_ratio),
                f"sharpness ratio {sharpness_ratio:.2f} < {t.sharpness_min_ratio:.2f}",
            )
        )
    events.sort(key=lambda event: (event.frame, event.kind))
    return events


def _runs(mask: Mask, *, max_gap: int = 1) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` runs of True, merging runs less than ``max_gap`` apart."""
    runs: list[tuple[int, int]] = []
    for index in np.flatnonzero(mask):
        i = int(index)
        if runs and i - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _blank_frames(series: FrameSeries, t: QualityThresholds, events: list[QualityEvent]) -> Mask:
    mean = np.asarray(series.mean_luma, np.float64)
    std = np.asarray(series.std_luma, np.float64)
    constant = std <= t.constant_max_std
    black = constant & (mean <= t.black_max_luma)
    for start, end in _runs(black):
        worst = float(std[start : end + 1].max())
        events.append(
            QualityEvent(
                "black", start, end, float(mean[start]),
                f"{end - start + 1} black frame(s) (mean luma {mean[start]:.0f})",
                confidence(t.constant_max_std + 1.0, worst + 1.0),
                f"luma std {worst:.1f} <= {t.constant_max_std:g}, mean {mean[start]:.0f} <= "
                f"{t.black_max_luma:g}",
            )
        )
    for start, end in _runs(constant & ~black):
        worst = float(std[start : end + 1].max())
        events.append(
            QualityEvent(
                "constant", start, end, float(mean[start]),
                f"{end - start + 1} constant frame(s) with no picture (luma {mean[start]:.0f})",
                confidence(t.constant_max_std + 1.0, worst + 1.0),
                f"luma std {worst:.1f} <= {t.constant_max_std:g}",
            )
        )
    return constant


def _around(values: Array, k: int, skip: Mask, *, before_only: bool = False) -> float:
    """The largest finite value within ``_CONTEXT`` frames of ``k`` (not ``k``, not skipped)."""
    n = values.size
    lo, hi = max(1, k - _CONTEXT), k if before_only else min(n, k + _CONTEXT + 1)
    best = 0.0
    for j in range(lo, hi):
        if j != k and not skip[j] and math.isfinite(values[j]):
            best = max(best, float(values[j]))
    return best


def _typical(back: Array, k: int, lag: int) -> float:
    """Median distance over ``lag`` frames in the 8 frames before ``k``: the shot's own motion."""
    values = back[max(0, k - 8) : k, lag - 1]
    values = values[np.isfinite(values)]
    return finite_median(values) if values.size else 0.0


def _flickers(back: Array, t: QualityThresholds, blank: Mask, events: list[QualityEvent]) -> Mask:
    n = back.shape[0]
    step = back[:, 0]
    flicker = np.zeros(n, bool)
    k = 1
    while k < n - 1:
        entry = step[k]
        if not (math.isfinite(entry) and entry >= t.flicker_min_change) or blank[k - 1 : k + 2].any():
            k += 1
            continue
        found = 0
        before = _around(step, k, blank, before_only=True)
        if entry < t.change_spike_ratio * max(before, 0.5 * _STEP_FLOOR):
            k += 1  # no spike: the shot changes this fast anyway (a fade, a pan, rain)
            continue
        for length in range(1, _MAX_FLICKER + 1):
            end = k + length  # the first frame back
            if end >= n or blank[end]:
                break
            leave = min(entry, step[end])
            away = all(back[k + i, i] >= 0.5 * entry for i in range(length))
            still = length == 1 or float(np.nanmax(step[k + 1 : end])) <= 0.5 * entry
            returned = back[end, length]  # frame `end` against frame k - 1
            allowance = 0.4 * leave + _typical(back, k, length + 1)
            if away and still and step[end] >= 0.5 * entry and returned <= allowance:
                found = length
                break
            if not away:
                break
        if found:
            flicker[k : k + found] = True
            size = float(entry)
            events.append(
                QualityEvent(
                    "flicker", k, k + found - 1, size,
                    f"frames {k}-{k + found - 1} flicker (they jump away from and back to their "
                    "neighbours)",
                    confidence(size, t.flicker_min_change),
                    f"jump {size:.1f} >= {t.flicker_min_change:g} and back within {found} frame(s) "
                    f"(to {float(back[k + found, found]):.1f})",
                )
            )
            k += found + 1
        else:
            k += 1
    return flicker


def _stays(back: Array, k: int, size: float, fraction: float, frames: int) -> bool:
    """Whether frames ``k + 1 ..`` stay at least ``fraction * size`` from frame ``k - 1``."""
    n = back.shape[0]
    for m in range(1, min(frames, BACK_FRAMES - 1, n - 1 - k) + 1):
        if not back[k + m, m] >= fraction * size:
            return False
    return True


def _cuts_and_shifts(
    back: Array, residual: Array, colour: Array, t: QualityThresholds, excluded: Mask,
    events: list[QualityEvent],
) -> None:
    step = back[:, 0]
    ratio = t.change_spike_ratio
    for k in range(1, step.size):
        s, r = step[k], residual[k]
        if excluded[k] or not math.isfinite(s):
            continue
        if math.isfinite(r) and r >= t.cut_min_change:
            around = max(_around(residual, k, excluded), 0.5 * _STEP_FLOOR)
            # In busy shots (rain) the layout changes a little all the time: then a step
            # that stands out as a whole and has twice the usual layout change is a cut too.
            spike = s >= ratio * max(_around(step, k, excluded), 0.5 * _STEP_FLOOR)
            stands_out = r >= ratio * around or (spike and r >= 0.5 * ratio * around)
            if stands_out and _stays(back, k, s, 0.5, 3):
                events.append(
                    QualityEvent(
                        "cut", k, k, r,
                        f"hard cut at frame {k} (the picture's layout changes by {r:.1f}, "
                        f"{r / around:.0f}x the shot's own steps)",
                        min(confidence(r, t.cut_min_change), confidence(r / around, ratio)),
                        f"layout change {r:.1f} >= {t.cut_min_change:g} and {r / around:.1f}x the "
                        f"steps around it >= {ratio:g}x",
                    )
                )
                continue
        c = colour[k]  # the step the colour gain and offset make (not an object's jump)
        if not c >= t.color_shift_min_delta or (math.isfinite(r) and r > 0.5 * s):
            continue
        around = max(_around(step, k, excluded), 0.5 * _STEP_FLOOR)
        if c >= ratio * around and _stays(back, k, s, 0.6, 4):
            s = c
            events.append(
                QualityEvent(
                    "color_shift", k, k, s,
                    f"sudden colour shift at frame {k} (mean Y'CbCr moves {s:.1f}, and stays)",
                    min(confidence(s, t.color_shift_min_delta), confidence(s / around, ratio)),
                    f"colour step {s:.1f} >= {t.color_shift_min_delta:g} and {s / around:.1f}x the "
                    f"steps around it >= {ratio:g}x",
                )
            )


def _freezes(series: FrameSeries, t: QualityThresholds, blank: Mask, events: list[QualityEvent]) -> Mask:
    n = len(series.mean_luma)
    frozen = np.zeros(n, bool)
    if len(series.hold_start) != n or n < 2:
        return frozen
    hold = np.asarray(series.hold_start, np.int64)
    tile = np.asarray(series.tile_change, np.float64)
    tolerance = t.freeze_max_tile_change
    starts = np.flatnonzero(np.diff(hold, prepend=-1))
    ends = np.append(starts[1:] - 1, n - 1)
    for first, end in zip(starts.tolist(), ends.tolist(), strict=True):
        length = end - first + 1
        if length < t.freeze_min_frames or blank[first : end + 1].all():
            continue
        outside = np.concatenate([tile[1 : first + 1], tile[end + 1 :]])
        if not (outside[np.isfinite(outside)] > tolerance).any():
            continue  # a still shot: nothing moves anywhere, so nothing stopped
        worst = float(np.nanmax(tile[first + 1 : end + 1]))
        frozen[first : end + 1] = True
        events.append(
            QualityEvent(
                "freeze", first, end, float(length),
                f"the picture is frozen for {length} frames ({first}-{end})",
                confidence(length, t.freeze_min_frames),
                f"{length} frames >= {t.freeze_min_frames} with every tile within "
                f"{tolerance:g} of frame {first} (largest step {worst:.1f})",
            )
        )
    return frozen


def _seam_jump(seam: SeamAnalysis, t: QualityThresholds, events: list[QualityEvent]) -> None:
    if seam.jump_ratio > t.seam_max_jump_ratio and seam.tile_change >= t.seam_min_mad:
        events.append(
            QualityEvent(
                "seam_jump", seam.seam_frame, seam.seam_frame, seam.jump_ratio,
                f"the seam changes the picture {seam.jump_ratio:.1f}x as much as the shot's own "
                f"large steps (mean difference {seam.difference:.1f})",
                confidence(seam.jump_ratio, t.seam_max_jump_ratio),
                f"seam step {seam.jump_ratio:.1f}x the shot's > {t.seam_max_jump_ratio:g}x, "
                f"tile difference {seam.tile_change:.1f} >= {t.seam_min_mad:g}",
            )
        )


def _colour_drift(
    series: FrameSeries, samples: list[ColorSample], t: QualityThresholds, events: list[QualityEvent]
) -> None:
    """The first over-threshold sample that later samples confirm, located at its start."""
    over = [
        (s.delta_e > t.color_max_delta_e or s.std_ratio > t.color_max_std_ratio)
        and s.palette_coverage < t.color_min_palette_coverage
        for s in samples
    ]
    n = len(series.mean_luma)
    for i, sample in enumerate(samples):
        following = over[i : i + 3]
        if not all(following):
            continue
        start = sample.frame
        if i > 0:  # between the last good sample and this one: where did the colour move?
            lo = samples[i - 1].frame + 1
            colour = np.stack([np.asarray(getattr(series, name), np.float64)
                               for name in ("mean_luma", "mean_cb", "mean_cr")])
            steps = np.abs(np.diff(colour, axis=1)).sum(axis=0)  # steps[j] is j -> j + 1
            window = steps[lo - 1 : sample.frame]
            if window.size and np.isfinite(window).any():
                start = lo + int(np.nanargmax(window))
        worst = max(samples[i:], key=lambda s: s.delta_e)
        events.append(
            QualityEvent(
                "color_drift", start, n - 1, sample.delta_e,
                f"colour drifted from the anchor frame: Delta E {sample.delta_e:.1f}, "
                f"contrast ratio {sample.std_ratio:.2f}",
                max(confidence(sample.delta_e, t.color_max_delta_e),
                    confidence(sample.std_ratio - 1.0, t.color_max_std_ratio - 1.0)),
                f"Delta E {sample.delta_e:.1f} (worst {worst.delta_e:.1f}) vs {t.color_max_delta_e:g}, "
                f"std ratio {sample.std_ratio:.2f} vs {t.color_max_std_ratio:g}, palette "
                f"{sample.palette_coverage:.0%} < {t.color_min_palette_coverage:.0%}, on "
                f"{len(samples) - i} sample(s) from frame {sample.frame}",
            )
        )
        return
