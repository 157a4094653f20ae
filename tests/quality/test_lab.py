"""L*a*b* conversions follow the CIE definition (scikit-image's) and invert exactly."""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2lab

from studio.quality._lab import LabMeter, lab_stats, lab_to_rgb, rgb_to_lab


def _image() -> np.ndarray:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
    image[:10] = rng.integers(0, 8, (10, 90, 3))  # near black: the linear segment of f(t)
    return image


def test_rgb_to_lab_matches_the_cie_definition() -> None:
    image = _image()
    assert np.abs(rgb_to_lab(image) - rgb2lab(image)).max() < 0.01


def test_lab_to_rgb_inverts_rgb_to_lab() -> None:
    image = _image()
    assert np.array_equal(lab_to_rgb(rgb_to_lab(image).copy()), image)


def test_the_meter_reuses_buffers_and_gives_the_same_statistics() -> None:
    image = _image()
    meter = LabMeter((90, 60))
    first = meter.stats(image)
    meter.stats(image[::-1].copy())
    assert meter.stats(image) == first == lab_stats(image)
    assert meter.stats(image[:30]) == lab_stats(image[:30])  # another size: no shared buffers
