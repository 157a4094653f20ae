"""Per-frame and per-pair metrics with OpenCV and numpy.

Every function here works on *luma*: a 2-D ``uint8`` array of full-range Y'
(0 = black, 255 = white) at the analysis resolution. ``_frames.py`` produces it.

SSIM is the Gaussian formulation of Wang et al. (2004): an 11x11 window with
sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, population (not sample) covariance,
and the mean of the SSIM map over the *valid* region, i.e. with 5 pixels cropped
from every border. That is exactly what ``skimage.metrics.structural_similarity(
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``
computes: scikit-image filters with ``truncate=3.5`` (radius 5, 11 taps) and crops
``(win_size - 1) // 2 = 5`` pixels before averaging. Because of that crop, the
border mode of the blur never reaches the average, so OpenCV's default border
gives the same number as scikit-image's ``reflect``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "SSIM_C1",
    "SSIM_C2",
    "SSIM_CROP",
    "SSIM_SIGMA",
    "SSIM_WINDOW",
    "SsimStream",
    "finite_median",
    "laplacian_variance",
    "mean_absolute_difference",
    "ssim",
]

Luma = npt.NDArray[np.uint8]
Float32 = npt.NDArray[np.float32]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_CROP = (SSIM_WINDOW - 1) // 2
SSIM_C1 = (0.01 * 255.0) ** 2
SSIM_C2 = (0.03 * 255.0) ** 2

# float32 with every frame centred on its own mean level. The variance is
# E[x^2] - E[x]^2, a cancellation: on raw 0-255 values in float32 it shifts SSIM by
# up to 8e-5 on flat frames, too close to the 1e-4 we promise. Variance and
# covariance do not change when a constant is subtracted, so each frame is
# centred on its rounded mean (exact in float32), which shrinks the squares the
# blurs sum by 4x at worst (frames of pure black and pure white) and by far more
# on real frames. Measured error against scikit-image: 4.3e-5 on the worst case we
# could construct (blocks of 0 and 255 with one-level changes), 2e-6 on anime
# frames. float64 would be safer still but costs twice as much (0.86 against
# 0.42 ms per 384x256 frame), and SSIM is the largest share of the analysis after
# decoding.
_KERNEL = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA, cv2.CV_32F)
_C1_HALF = np.float32(SSIM_C1 / 2)
_C2_HALF = np.float32(SSIM_C2 / 2)


def _blur(src: Float32, dst: Float32) -> None:
    """The 11x11 sigma-1.5 Gaussian window, separable, written into ``dst``."""
    cv2.sepFilter2D(src, cv2.CV_32F, _KERNEL, _KERNEL, dst=dst)


@dataclass
class _FrameTerms:
    """What one frame contributes to every pair it is part of."""

    centred: Float32  # x - c, c the frame's rounded mean level
    local: Float32  # blurred (x - c): the local mean, centred
    mean: Float32  # blurred x: the local mean
    p: Float32  # mean^2 + C1/2
    q: Float32  # local variance + C2/2
    level: float = 0.0  # c

    @classmethod
    def allocate(cls, shape: tuple[int, int]) -> _FrameTerms:
        def buf() -> Float32:
            return np.empty(shape, np.float32)

        return cls(centred=buf(), local=buf(), mean=buf(), p=buf(), q=buf())


class SsimStream:
    """SSIM between consecutive frames, three blurs per pair, no allocation per frame.

    A frame's local mean and variance are computed once and reused when it
    becomes the "previous" frame of the next pair; only the cross term is new.
    Per frame it keeps ``P = mu^2 + C1/2`` and ``Q = sigma^2 + C2/2``, so the
    denominator of a pair, ``(mux^2 + muy^2 + C1)(vx + vy + C2)``, is two additions
    and a product. All buffers are allocated once (allocation per frame costs more
    than the maths: see reference/quality-baselines.md, "Allocator pitfall").

    Args:
        shape: ``(height, width)`` of every frame that will be pushed. Both must
            exceed 2 * 5 pixels so the valid region is not empty.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        height, width = shape
        if height <= 2 * SSIM_CROP or width <= 2 * SSIM_CROP:
            raise ValueError(f"SSIM needs frames larger than 10x10 pixels, got {width}x{height}")
        self._shape = shape
        self._current = _FrameTerms.allocate(shape)
        self._previous = _FrameTerms.allocate(shape)
        self._t1, self._t2, self._t3 = (np.empty(shape, np.float32) for _ in range(3))
        self._has_previous = False
        c = SSIM_CROP
        self._valid = (slice(c, height - c), slice(c, width - c))

    def reset(self) -> None:
        """Forget the previous frame (the next push starts a new sequence)."""
        self._has_previous = False

    def push(self, luma: Luma) -> float | None:
        """Add the next frame; return SSIM(previous, this) or ``None`` for the first frame.

        ``luma`` is not kept, so the caller may reuse its buffer as soon as this returns.
        """
        if luma.shape != self._shape:
            raise ValueError(f"frame shape {luma.shape} differs from the stream's {self._shape}")
        # Rotate buffers: what was current becomes previous, without copying.
        self._current, self._previous = self._previous, self._current
        f, t = self._current, self._t1
        f.level = float(round(cv2.mean(luma)[0]))
        np.subtract(luma, np.float32(f.level), out=f.centred, dtype=np.float32)
        _blur(f.centred, f.local)
        np.multiply(f.centred, f.centred, out=t)
        _blur(t, f.q)  # E[(x - c)^2]
        np.multiply(f.local, f.local, out=t)
        np.subtract(f.q, t, out=f.q)  # the variance
        f.q += _C2_HALF
        np.add(f.local, np.float32(f.level), out=f.mean)
        np.multiply(f.mean, f.mean, out=f.p)
        f.p += _C1_HALF
        if not self._has_previous:
            self._has_previous = True
            return None
        return self._pair(self._previous, f)

    def _pair(self, x: _FrameTerms, y: _FrameTerms) -> float:
        t1, t2, t3 = self._t1, self._t2, self._t3
        # covariance: E[(x - a)(y - b)] - (mux - a)(muy - b), for any constants a, b
        np.multiply(x.centred, y.centred, out=t1)
        _blur(t1, t2)
        np.multiply(x.local, y.local, out=t1)
        np.subtract(t2, t1, out=t2)
        # numerator / 4: (mux muy + C1/2) (cov + C2/2)
        np.multiply(x.mean, y.mean, out=t1)
        t1 += _C1_HALF
        t2 += _C2_HALF
        np.multiply(t1, t2, out=t1)
        # denominator: (Px + Py) (Qx + Qy)
        np.add(x.p, y.p, out=t2)
        np.add(x.q, y.q, out=t3)
        np.multiply(t2, t3, out=t2)
        np.divide(t1, t2, out=t1)
        return 4.0 * float(cv2.mean(t1[self._valid])[0])


def ssim(a: Luma, b: Luma) -> float:
    """Gaussian SSIM (Wang et al.) between two luma images of the same shape.

    Matches ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255)`` within 1e-4 (in
    practice within about 1e-6 on real frames).

    Raises:
        ValueError: The shapes differ, or an image is not larger than 10x10.
    """
    if a.shape != b.shape:
        raise ValueError(f"SSIM needs images of the same shape, got {a.shape} and {b.shape}")
    stream = SsimStream((a.shape[0], a.shape[1]))
    stream.push(a)
    value = stream.push(b)
    assert value is not None
    return value


def finite_median(values: npt.ArrayLike) -> float:
    """Median of the finite values; NaN when there are none.

    Not ``np.median``: its first call in a process imports ``numpy.ma``, about
    9 ms, a fiftieth of a whole ``studio analyze`` run on a 300-frame clip.
    """
    finite = np.asarray(values, np.float64)
    finite = np.sort(finite[np.isfinite(finite)])
    middle = finite.size // 2
    if finite.size == 0:
        return math.nan
    if finite.size % 2:
        return float(finite[middle])
    return float((finite[middle - 1] + finite[middle]) / 2)


def mean_absolute_difference(a: Luma, b: Luma) -> float:
    """Mean absolute difference of two luma images, in luma levels (0-255)."""
    return float(cv2.norm(a, b, cv2.NORM_L1)) / a.size


def laplacian_variance(luma: Luma, scratch: Float32 | None = None) -> float:
    """Sharpness: variance of the 3x3 Laplacian of the luma image.

    Resolution-dependent by nature, so it is only ever compared with values
    measured at the same analysis resolution. ``scratch``, a float32 array of the
    image's shape, saves an allocation per call.
    """
    lap = cv2.Laplacian(luma, cv2.CV_32F, dst=scratch)
    _mean, std = cv2.meanStdDev(lap)
    return float(std[0, 0]) ** 2
