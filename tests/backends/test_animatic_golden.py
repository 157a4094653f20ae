"""Golden images: contact sheets of characters, poses, places and light.

Each sheet (see :mod:`tests.backends.animatic_sheets`) is rendered and compared with its
PNG in ``tests/backends/golden/`` with a tolerance, so antialiasing differences between
OpenCV builds pass and a changed drawing does not. After a deliberate change, look at
the sheets and regenerate them: ``.venv/bin/python -m tests.backends.animatic_sheets``.
"""

from __future__ import annotations

import numpy as np
import pytest

from studio._video import read_image
from tests.backends.animatic_sheets import CELL, GOLDEN_DIR, SHEETS, render_sheet

MEAN_TOLERANCE = 1.5  # mean absolute difference, 8-bit levels
PIXEL_TOLERANCE = 0.01  # share of pixels that may differ by more than 48 levels


def _compare(actual: np.ndarray, golden: np.ndarray) -> tuple[float, float]:
    diff = np.abs(actual.astype(np.int16) - golden).max(axis=2)
    return float(diff.mean()), float((diff > 48).mean())


def _cells(sheet: np.ndarray) -> list[np.ndarray]:
    """The sheet's stills, each with its label: a change in one still is not diluted by the rest."""
    w, h = CELL
    h += max(12, h // 9)  # the label band
    return [
        sheet[y : y + h, x : x + w] for y in range(0, sheet.shape[0], h) for x in range(0, sheet.shape[1], w)
    ]


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_sheet_matches_its_golden_image(name: str) -> None:
    path = GOLDEN_DIR / f"{name}.png"
    golden = read_image(path)
    actual = render_sheet(name)
    assert actual.shape == golden.shape, f"{name}: the sheet's layout changed"
    labels = [*SHEETS[name][0]]
    for i, (got, want) in enumerate(zip(_cells(actual), _cells(golden), strict=True)):
        mean, share = _compare(got, want)
        label = labels[i] if i < len(labels) else "(empty)"
        assert mean <= MEAN_TOLERANCE and share <= PIXEL_TOLERANCE, (
            f"{name} / {label} differs from {path} (mean {mean:.2f}, {share:.2%} of pixels): if the change "
            "is meant, look at the new sheet and run `.venv/bin/python -m tests.backends.animatic_sheets`"
        )


def test_the_tolerance_catches_a_changed_drawing() -> None:
    # A character's hair in another colour, or a figure moved by a few pixels, must fail.
    golden = _cells(read_image(GOLDEN_DIR / "characters.png"))[0]
    changed = golden.copy()
    hair = (slice(30, 45), slice(85, 105))  # Luna's head, in the first still
    changed[hair] = 255 - changed[hair]
    mean, share = _compare(changed, golden)
    assert mean > MEAN_TOLERANCE or share > PIXEL_TOLERANCE
    shifted = np.roll(golden, 3, axis=1)
    mean, share = _compare(shifted, golden)
    assert mean > MEAN_TOLERANCE or share > PIXEL_TOLERANCE
