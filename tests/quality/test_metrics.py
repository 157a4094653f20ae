"""SSIM agrees with scikit-image; the simple metrics mean what they say."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from studio.quality import sharpness, ssim
from studio.quality._metrics import SsimStream, finite_median, mean_absolute_difference
from tests.quality._clips import make_frames


def _skimage(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )
    )


def _pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (64, 96), dtype=np.uint8)
    noisy = np.clip(noise.astype(np.int16) + rng.integers(-30, 31, noise.shape), 0, 255)
    white = np.full((40, 50), 254, np.uint8)
    step = white.copy()
    step[20:] = 255
    black = np.zeros((33, 47), np.uint8)
    speck = black.copy()
    speck[10:12, 10:12] = 3
    a, b = (cv2_luma(frame) for frame in make_frames(2))
    # The float32 worst case: flat blocks of 0 and 255 (the largest squares after
    # centring) with one-level changes.
    blocks = np.kron(rng.integers(0, 2, (12, 16)), np.ones((22, 24), np.int64)).astype(np.uint8) * 255
    nudged = np.where(rng.random(blocks.shape) < 0.01, blocks ^ 1, blocks).astype(np.uint8)
    return [
        ("noise", noise, noisy.astype(np.uint8)),
        ("flat white", white, step),  # variances of flat extremes: float32 would drift
        ("flat black", black, speck),
        ("anime frames", a, b),
        ("identical", a, a.copy()),
        ("black and white blocks", blocks, nudged),
        ("smallest", noise[:11, :11], noisy[:11, :11].astype(np.uint8)),
    ]


def cv2_luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb.mean(axis=2), np.uint8)


@pytest.mark.parametrize(("name", "a", "b"), _pairs(), ids=[p[0] for p in _pairs()])
def test_ssim_matches_skimage_gaussian_wang(name: str, a: np.ndarray, b: np.ndarray) -> None:
    assert ssim(a, b) == pytest.approx(_skimage(a, b), abs=1e-4)


def test_streaming_ssim_equals_pairwise_ssim() -> None:
    frames = [cv2_luma(f) for f in make_frames(5)]
    stream = SsimStream(frames[0].shape)
    values = [stream.push(f) for f in frames]
    assert values[0] is None
    for k in range(1, 5):
        assert values[k] == pytest.approx(_skimage(frames[k - 1], frames[k]), abs=1e-4)


def test_ssim_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        ssim(np.zeros((20, 20), np.uint8), np.zeros((20, 21), np.uint8))
    with pytest.raises(ValueError, match="larger than 10x10"):
        ssim(np.zeros((10, 20), np.uint8), np.zeros((10, 20), np.uint8))


def test_mean_absolute_difference_in_luma_levels() -> None:
    a = np.full((8, 8), 10, np.uint8)
    b = a.copy()
    b[:4] = 30  # half the pixels differ by 20
    assert mean_absolute_difference(a, b) == pytest.approx(10.0)


def test_sharpness_drops_when_blurred() -> None:
    import cv2

    frame = make_frames(1)[0]
    blurred = cv2.GaussianBlur(frame, (0, 0), 2.0)
    assert sharpness(blurred) < 0.5 * sharpness(frame)


@pytest.mark.parametrize(
    "values",
    [[3.0, 1.0, 2.0], [4.0, 1.0, 3.0, 2.0], [np.nan, 5.0, 1.0, np.inf], [7.0]],
)
def test_finite_median_is_numpys_median_of_the_finite_values(values: list[float]) -> None:
    array = np.asarray(values)
    assert finite_median(array) == np.median(array[np.isfinite(array)])


def test_finite_median_of_nothing_finite_is_nan() -> None:
    assert np.isnan(finite_median([np.nan, np.inf]))
    assert np.isnan(finite_median([]))


@pytest.mark.parametrize("seed", range(8))
def test_float32_ssim_stays_within_1e4_on_black_and_white_frames(seed: int) -> None:
    """The float32 worst case, at a real analysis size: flat blocks of 0 and 255
    (largest squares after centring), one-level changes, a one-level global shift."""
    rng = np.random.default_rng(seed)
    block = int(rng.integers(2, 40))
    grid = rng.integers(0, 2, (256 // block + 1, 384 // block + 1))
    a = (np.kron(grid, np.ones((block, block), np.int64))[:256, :384] * 255).astype(np.uint8)
    if seed % 3 == 0:
        a = np.where(a > 0, 255 - seed % 2, seed % 2).astype(np.uint8)
    b = np.where(rng.random(a.shape) < [0.001, 0.01, 0.1][seed % 3], a ^ 1, a)
    if seed % 2:
        b = np.clip(b.astype(np.int16) + int(rng.integers(-1, 2)), 0, 255)
    b = b.astype(np.uint8)
    assert ssim(a, b) == pytest.approx(_skimage(a, b), abs=1e-4)
