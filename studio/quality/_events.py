"""Turn per-frame series into flagged events. Pure functions over numbers.

Order matters and is deliberate: black and constant frames are found first and
then excluded from everything else (a black frame is not also a flicker and two
cuts); flicker is found before cuts (a one-frame glitch is not two cuts); a pair
that changes the picture is a *cut* when structure breaks (SSIM drops) and a
*colour shift* when only the colour means move.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from studio.quality._metrics import finite_median
from studio.quality._thresholds import QualityThresholds
from studio.quality._types import ColorSample, FrameSeries, QualityEvent, SeamAnalysis

__all__ = ["detect_events", "robust_stats"]

Array = npt.NDArray[np.float64]

_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its sigma
_SIGMA_FLOOR = 1e-6


def robust_stats(values: Array) -> tuple[float, float]:
    """``(median, sigma)`` of the finite values, sigma estimated from the MAD."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    median = finite_median(finite)
    sigma = _MAD_TO_SIGMA * finite_median(np.abs(finite - median))
    return median, max(sigma, _SIGMA_FLOOR)


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
    mean = np.asarray(series.mean_luma, np.float64)
    n = mean.size
    events: list[QualityEvent] = []

    blank = _blank_frames(series, t, events)
    flicker = _flicker_frames(series, t, blank, events)
    _cuts_and_shifts(series, t, blank | flicker, events)
    _freezes(series, t, blank, events)

    if seam is not None and _seam_jumps(seam, t):
        events.append(
            QualityEvent(
                "seam_jump",
                seam.seam_frame,
                seam.seam_frame,
                seam.jump_ratio,
                f"the seam changes the picture {seam.jump_ratio:.1f}x as much as a typical "
                f"frame step (mean difference {seam.difference:.1f})",
            )
        )
    for sample in color_samples or []:
        if sample.delta_e > t.color_max_delta_e or sample.std_ratio > t.color_max_std_ratio:
            events.append(
                QualityEvent(
                    "color_drift",
                    sample.frame,
                    n - 1,
                    sample.delta_e,
                    f"colour drifted from the anchor frame: Delta E {sample.delta_e:.1f}, "
                    f"contrast ratio {sample.std_ratio:.2f}",
                )
            )
            break  # the first drifting sample locates it; later ones add nothing
    if sharpness_ratio is not None and sharpness_ratio < t.sharpness_min_ratio:
        events.append(
            QualityEvent(
                "sharpness_decay",
                0,
                n - 1,
                sharpness_ratio,
                f"sharpness is {sharpness_ratio:.0%} of segment 0's",
            )
        )
    events.sort(key=lambda event: (event.frame, event.kind))
    return events


def _runs(mask: npt.NDArray[np.bool_], *, max_gap: int = 1) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` runs of True, merging runs less than ``max_gap`` apart."""
    runs: list[tuple[int, int]] = []
    for index in np.flatnonzero(mask):
        i = int(index)
        if runs and i - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _blank_frames(
    series: FrameSeries, t: QualityThresholds, events: list[QualityEvent]
) -> npt.NDArray[np.bool_]:
    mean = np.asarray(series.mean_luma, np.float64)
    std = np.asarray(series.std_luma, np.float64)
    constant = std <= t.constant_max_std
    black = constant & (mean <= t.black_max_luma)
    for start, end in _runs(black):
        events.append(
            QualityEvent(
                "black", start, end, float(mean[start]),
                f"{end - start + 1} black frame(s) (mean luma {mean[start]:.0f})",
            )
        )
    for start, end in _runs(constant & ~black):
        events.append(
            QualityEvent(
                "constant", start, end, float(mean[start]),
                f"{end - start + 1} constant frame(s) with no picture (luma {mean[start]:.0f})",
            )
        )
    return constant


def _outliers(values: Array, floor: float, t: QualityThresholds) -> npt.NDArray[np.bool_]:
    """Where ``values`` exceed their median by ``floor`` and, in long clips, by ``outlier_z``.

    NaN entries are never outliers.
    """
    median, sigma = robust_stats(values)
    with np.errstate(invalid="ignore"):
        excess = values - median
        mask = excess >= floor
        if int(np.isfinite(values).sum()) >= t.min_pairs_for_z:
            mask &= excess / sigma >= t.outlier_z
    return mask


def _flicker_frames(
    series: FrameSeries,
    t: QualityThresholds,
    blank: npt.NDArray[np.bool_],
    events: list[QualityEvent],
) -> npt.NDArray[np.bool_]:
    """Frames that differ from both neighbours while the neighbours agree.

    Two signatures: brightness that jumps and comes back (the sign of the mean-luma
    step flips), and a picture that jumps and comes back (both pair differences
    are outliers while frame k-1 and frame k+1 are close).
    """
    mean = np.asarray(series.mean_luma, np.float64)
    mad = np.asarray(series.mad, np.float64)
    skip = np.asarray(series.skip_mad, np.float64)
    n = mean.size
    flicker = np.zeros(n, bool)
    mad_high = _outliers(mad, t.flicker_min_mad, t)
    step = np.diff(mean, prepend=mean[:1])  # step[k] = mean[k] - mean[k-1]
    for k in range(1, n - 1):
        if blank[k - 1 : k + 2].any():
            continue
        up, down = step[k], step[k + 1]
        brightness = up * down < 0 and min(abs(up), abs(down)) >= t.flicker_min_luma_step
        content = (
            mad_high[k]
            and mad_high[k + 1]
            and skip[k + 1] <= 0.5 * min(mad[k], mad[k + 1])
        )
        flicker[k] = brightness or content
    for start, end in _runs(flicker, max_gap=2):
        events.append(
            QualityEvent(
                "flicker", start, end, float(np.nanmax(mad[start : end + 2])),
                f"frames {start}-{end} flicker (they jump away from and back to their "
                "neighbours)",
            )
        )
    return flicker


def _cuts_and_shifts(
    series: FrameSeries,
    t: QualityThresholds,
    excluded: npt.NDArray[np.bool_],
    events: list[QualityEvent],
) -> None:
    mad = np.asarray(series.mad, np.float64)
    ssim = np.asarray(series.ssim, np.float64)
    colour = np.hypot(
        np.hypot(np.diff(series.mean_luma, prepend=np.nan), np.diff(series.mean_cb, prepend=np.nan)),
        np.diff(series.mean_cr, prepend=np.nan),
    )
    # A cut needs both a big difference and an SSIM drop (an outlier of -SSIM).
    cut = _outliers(mad, t.cut_min_mad, t) & _outliers(-ssim, t.cut_min_ssim_drop, t)
    shift = _outliers(colour, t.color_shift_min_delta, t)
    for index in np.flatnonzero(cut | shift):
        k = int(index)
        if excluded[k - 1] or excluded[k]:
            continue
        if cut[k]:
            events.append(
                QualityEvent(
                    "cut", k, k, float(ssim[k]),
                    f"hard cut at frame {k} (SSIM {ssim[k]:.3f}, difference {mad[k]:.1f})",
                )
            )
        else:
            events.append(
                QualityEvent(
                    "color_shift", k, k, float(colour[k]),
                    f"sudden colour shift at frame {k} (mean Y'CbCr moves {colour[k]:.1f})",
                )
            )


def _freezes(
    series: FrameSeries,
    t: QualityThresholds,
    blank: npt.NDArray[np.bool_],
    events: list[QualityEvent],
) -> None:
    mad = np.asarray(series.mad, np.float64)
    same = mad <= t.freeze_max_mad  # same[k]: frame k repeats frame k-1 (NaN -> False)
    for start, end in _runs(same):
        first = start - 1  # the held picture first appears one frame earlier
        length = end - first + 1
        if length >= t.freeze_min_frames and not blank[first : end + 1].all():
            events.append(
                QualityEvent(
                    "freeze", first, end, float(length),
                    f"the picture is frozen for {length} frames ({first}-{end})",
                )
            )


def _seam_jumps(seam: SeamAnalysis, t: QualityThresholds) -> bool:
    return seam.jump_ratio > t.seam_max_jump_ratio and seam.difference >= t.seam_min_mad
