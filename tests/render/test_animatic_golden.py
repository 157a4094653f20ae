"""Golden images: contact sheets of characters, poses, places and light.

Each sheet (see :mod:`tests.render.animatic_sheets`) is rendered and compared with its
PNG in ``tests/render/golden/`` with a tolerance, so antialiasing differences between
OpenCV builds pass and a changed drawing does not. After a deliberate change, look at
the sheets and regenerate them: ``.venv/bin/python -m tests.render.animatic_sheets``.
"""

from __future__ import annotations

import numpy as np
import pytest

from studio._video import read_image
from tests.render.animatic_sheets import GOLDEN_DIR, SHEETS, render_sheet

MEAN_TOLERANCE = 1.5  # mean absolute difference, 8-bit levels
PIXEL_TOLERANCE = 0.01  # share of pixels that may differ by more than 48 levels


def _compare(actual: np.ndarray, golden: np.ndarray) -> tuple[float, float]:
    diff = np.abs(actual.astype(np.int16) - golden).max(axis=2)
    return float(diff.mean()), float((diff > 48).mean())


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_sheet_matches_its_golden_image(name: str) -> None:
    path = GOLDEN_DIR / f"{name}.png"
    golden = read_image(path)
    actual = render_sheet(name)
    assert actual.shape == golden.shape, f"{name}: the sheet's layout changed"
    mean, share = _compare(actual, golden)
    assert mean <= MEAN_TOLERANCE and share <= PIXEL_TOLERANCE, (
        f"{name} differs from {path} (mean {mean:.2f}, {share:.2%} of pixels): if the change is meant, "
        "look at the new sheet and run `.venv/bin/python -m tests.render.animatic_sheets`"
    )


def test_the_tolerance_catches_a_changed_drawing() -> None:
    # A character's hair in another colour, or a place drawn differently, must fail.
    golden = read_image(GOLDEN_DIR / "characters.png")
    changed = golden.copy()
    cell_h, cell_w = golden.shape[0] // 2, golden.shape[1] // 5
    changed[: cell_h // 2, :cell_w] = 255 - changed[: cell_h // 2, :cell_w]
    mean, share = _compare(changed, golden)
    assert mean > MEAN_TOLERANCE or share > PIXEL_TOLERANCE
    shifted = np.roll(golden, 3, axis=1)  # everything moved by 3 pixels
    mean, share = _compare(shifted, golden)
    assert mean > MEAN_TOLERANCE or share > PIXEL_TOLERANCE
