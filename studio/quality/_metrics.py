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
    "laplacian_variance",
    "mean_absolute_difference",
    "ssim",
]

Luma = npt.NDArray[np.uint8]
Float64 = npt.NDArray[np.float64]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_CROP = (SSIM_WINDOW - 1) // 2
SSIM_C1 = (0.01 * 255.0) ** 2
SSIM_C2 = (0.03 * 255.0) ** 2

# float64, not float32: on a flat cel colour the variance E[x^2] - E[x]^2 cancels
# two numbers near 65,000. In float32 that cancellation shifts SSIM by up to 8e-5
# (measured on flat frames), too close to the 1e-4 we promise; in float64 the error
# is about 1e-11, so no centring or compensation is needed. The cost is in the
# three blurs per pair (about 0.2 ms each at 384x256); everything else is a few
# in-place passes over preallocated buffers.
_KERNEL = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA, cv2.CV_64F)


def _blur(src: npt.NDArray[np.uint8] | Float64, dst: Float64) -> None:
    """The 11x11 sigma-1.5 Gaussian window, separable, written into ``dst`` (float64)."""
    cv2.sepFilter2D(src, cv2.CV_64F, _KERNEL, _KERNEL, dst=dst)


class SsimStream:
    """SSIM between consecutive frames, three blurs per pair, no allocation per frame.

    A frame's blurred mean and blurred square are computed once and reused when it
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

        def buf() -> Float64:
            return np.empty(shape, np.float64)

        # current frame: its luma, blurred mean, P and Q (see the class docstring)
        self._x, self._mu, self._p, self._q = np.empty(shape, np.uint8), buf(), buf(), buf()
        # previous frame: the same four, swapped in by push()
        self._px, self._pmu, self._pp, self._pq = np.empty(shape, np.uint8), buf(), buf(), buf()
        self._t1, self._t2 = buf(), buf()
        self._has_previous = False
        c = SSIM_CROP
        self._valid = (slice(c, height - c), slice(c, width - c))

    def reset(self) -> None:
        """Forget the previous frame (the next push starts a new sequence)."""
        self._has_previous = False

    def push(self, luma: Luma) -> float | None:
        """Add the next frame; return SSIM(previous, this) or ``None`` for the first frame.

        ``luma`` is copied, so the caller may reuse its buffer as soon as this returns.
        """
        if luma.shape != self._shape:
            raise ValueError(f"frame shape {luma.shape} differs from the stream's {self._shape}")
        # Rotate buffers: what was current becomes previous, without copying.
        self._x, self._px = self._px, self._x
        self._mu, self._pmu = self._pmu, self._mu
        self._p, self._pp = self._pp, self._p
        self._q, self._pq = self._pq, self._q

        x, mu, p, q, t = self._x, self._mu, self._p, self._q, self._t1
        np.copyto(x, luma)
        _blur(x, mu)  # uint8 in, float64 out: no conversion pass
        np.multiply(x, x, out=t, dtype=np.float64)
        _blur(t, q)  # E[x^2]
        np.multiply(mu, mu, out=p)
        np.subtract(q, p, out=q)  # variance
        p += SSIM_C1 / 2
        q += SSIM_C2 / 2
        if not self._has_previous:
            self._has_previous = True
            return None
        return self._pair()

    def _pair(self) -> float:
        mux, muy, t1, t2 = self._pmu, self._mu, self._t1, self._t2
        # covariance: E[xy] - mux muy
        np.multiply(self._px, self._x, out=t1, dtype=np.float64)
        _blur(t1, t2)
        np.multiply(mux, muy, out=t1)
        np.subtract(t2, t1, out=t2)
        # numerator / 4: (mux muy + C1/2) (cov + C2/2)
        t1 += SSIM_C1 / 2
        t2 += SSIM_C2 / 2
        np.multiply(t1, t2, out=t1)
        # denominator: (Px + Py) (Qx + Qy)
        np.add(self._pp, self._p, out=t2)
        np.add(self._pq, self._q, out=self._pq)  # the previous frame's Q is not needed again
        np.multiply(t2, self._pq, out=t2)
        np.divide(t1, t2, out=t1)
        return 4.0 * float(cv2.mean(t1[self._valid])[0])


def ssim(a: Luma, b: Luma) -> float:
    """Gaussian SSIM (Wang et al.) between two luma images of the same shape.

    Matches ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255)`` within 1e-4 (in
    practice within about 1e-6).

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


def mean_absolute_difference(a: Luma, b: Luma) -> float:
    """Mean absolute difference of two luma images, in luma levels (0-255)."""
    return float(cv2.norm(a, b, cv2.NORM_L1)) / a.size


def laplacian_variance(luma: Luma) -> float:
    """Sharpness: variance of the 3x3 Laplacian of the luma image.

    Resolution-dependent by nature, so it is only ever compared with values
    measured at the same analysis resolution.
    """
    lap = cv2.Laplacian(luma, cv2.CV_32F)
    _mean, std = cv2.meanStdDev(lap)
    return float(std[0, 0]) ** 2
