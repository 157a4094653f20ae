"""CIE L*a*b* colour: conversions and the statistics colour drift is judged on.

Colour is measured on a small RGB copy of each sampled frame (longest side
:data:`studio.quality._frames.COLOR_SIDE`), so it does not depend on the analysis
resolution.

The conversion is the CIE definition (sRGB, D65 white), written out here rather
than taken from OpenCV: OpenCV's float ``COLOR_RGB2Lab`` approximates the sRGB
curve and the cube root with tables, off by up to 0.45 from the definition (this
module agrees with scikit-image's ``rgb2lab`` within 0.005), and it builds those
tables on a process's first conversion, about 70 ms of CPU, a tenth of a whole
``studio analyze`` run on a 300-frame clip. Because the input is 8-bit, the sRGB
curve is a 256-entry lookup table; the rest is two 3x3 transforms and a cube root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["LabMeter", "LabStats", "lab_stats", "lab_to_rgb", "rgb_to_lab", "stats_of"]

RGB = npt.NDArray[np.uint8]
Float32 = npt.NDArray[np.float32]

# sRGB (IEC 61966-2-1) to linear light, for every 8-bit value.
_V = np.arange(256) / 255.0
_LINEAR = np.where(_V <= 0.04045, _V / 12.92, ((_V + 0.055) / 1.055) ** 2.4).astype(np.float32)

# Linear sRGB to CIE XYZ, each row divided by the D65 white point's X, Y, Z, so
# that white is (1, 1, 1).
_SRGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_TO_XYZ = (_SRGB_TO_XYZ / _SRGB_TO_XYZ.sum(axis=1, keepdims=True)).astype(np.float32)
_FROM_XYZ = np.linalg.inv(_TO_XYZ.astype(np.float64)).astype(np.float32)

# f(t) = cbrt(t) above (6/29)^3, else the linear segment t / (3 (6/29)^2) + 4/29.
_DELTA = 6.0 / 29.0
_SLOPE = np.float32(1.0 / (3.0 * _DELTA**2))
_KNEE = np.float32(4.0 / 29.0)
# (fX, fY, fZ) -> (L*, a*, b*), and back; the last column is the offset.
_TO_LAB = np.array([[0, 116, 0, -16], [500, -500, 0, 0], [0, 200, -200, 0]], np.float32)
_FROM_LAB = np.array(
    [[1 / 116, 1 / 500, 0, 16 / 116], [1 / 116, 0, 0, 16 / 116], [1 / 116, 0, -1 / 200, 16 / 116]],
    np.float32,
)


@dataclass(frozen=True)
class LabStats:
    """CIE L*a*b* statistics of one image (L in 0-100, a and b roughly -128..127)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def rgb_to_lab(rgb: RGB, work: _Buffers | None = None) -> Float32:
    """CIE L*a*b* (D65) of an 8-bit sRGB image, as float32.

    ``work`` (see :class:`LabMeter`) saves the allocations; the result is then
    one of its arrays, valid until the next call.
    """
    w = work or _Buffers.allocate(rgb.shape[:2])
    cv2.LUT(rgb, _LINEAR, dst=w.linear)
    cv2.transform(w.linear, _TO_XYZ, dst=w.xyz)
    # cv2.pow, not np.cbrt: 0.24 against 3.0 ms at 256x171 (XYZ of an RGB image is never negative).
    cv2.pow(w.xyz, 1.0 / 3.0, w.linear)
    np.less_equal(w.xyz, _DELTA**3, out=w.dark)
    np.multiply(w.xyz, _SLOPE, out=w.xyz)
    w.xyz += _KNEE
    np.copyto(w.linear, w.xyz, where=w.dark)  # the linear segment, near black
    return cast(Float32, cv2.transform(w.linear, _TO_LAB, dst=w.xyz))


def lab_to_rgb(lab: Float32) -> RGB:
    """The 8-bit sRGB image of CIE L*a*b* values (out-of-gamut colours are clipped)."""
    f = cv2.transform(lab, _FROM_LAB)
    xyz = f * f * f
    dark = f <= _DELTA
    xyz[dark] = (f[dark] - _KNEE) / _SLOPE
    linear = np.clip(cv2.transform(xyz, _FROM_XYZ), 0.0, 1.0)
    encoded = cv2.pow(linear, 1.0 / 2.4) * np.float32(1.055) - np.float32(0.055)
    np.copyto(encoded, linear * np.float32(12.92), where=linear <= 0.0031308)
    return cast(RGB, np.clip(np.rint(encoded * np.float32(255.0)), 0, 255).astype(np.uint8))


def lab_stats(rgb: RGB) -> LabStats:
    """L*a*b* mean and standard deviation of an 8-bit RGB image."""
    return _stats_of(rgb_to_lab(rgb))


@dataclass
class _Buffers:
    linear: Float32
    xyz: Float32
    dark: npt.NDArray[np.bool_]

    @classmethod
    def allocate(cls, shape: tuple[int, ...]) -> _Buffers:
        height, width = shape
        return cls(
            np.empty((height, width, 3), np.float32),
            np.empty((height, width, 3), np.float32),
            np.empty((height, width, 3), np.bool_),
        )


class LabMeter:
    """:func:`lab_stats` of many images of one size, with its buffers allocated once.

    Allocated per image, the buffers (0.5 MB each) make the allocator return pages
    to the system and fault them in again: thousands of page faults per clip (see
    reference/quality-baselines.md, "Allocator pitfall").
    """

    def __init__(self, size: tuple[int, int]) -> None:
        self._shape = (size[1], size[0], 3)
        self._work = _Buffers.allocate(self._shape[:2])

    def stats(self, rgb: RGB) -> LabStats:
        return _stats_of(self.lab(rgb))

    def lab(self, rgb: RGB) -> Float32:
        """L*a*b* of ``rgb``, in this meter's buffer (valid until its next call)."""
        if rgb.shape != self._shape:
            return rgb_to_lab(rgb)
        return rgb_to_lab(rgb, self._work)


def stats_of(lab: Float32) -> LabStats:
    """L*a*b* mean and standard deviation of an L*a*b* image."""
    return _stats_of(lab)


def _stats_of(lab: Float32) -> LabStats:
    mean, std = cv2.meanStdDev(lab)
    m, s = mean.ravel(), std.ravel()
    return LabStats((float(m[0]), float(m[1]), float(m[2])), (float(s[0]), float(s[1]), float(s[2])))
