"""The torch engine gives the OpenCV engine's numbers (on CPU torch in CI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.quality import analyze_video

pytest.importorskip("torch")


@pytest.mark.parametrize("clip", ["clean", "cut", "black"])
def test_torch_matches_opencv(
    clip: str, clean_clip: Path, events_clips: dict[str, Path], previous_last_frame: Path
) -> None:
    path = clean_clip if clip == "clean" else events_clips[clip]
    cv = analyze_video(path, previous_last_frame=previous_last_frame)
    th = analyze_video(path, previous_last_frame=previous_last_frame, engine="torch")
    assert th.engine == "torch" and cv.engine == "opencv"
    for name in ("ssim", "mad", "skip_mad"):
        np.testing.assert_allclose(
            getattr(th.frames, name), getattr(cv.frames, name), atol=1e-4, equal_nan=True
        )
    assert th.seam is not None and cv.seam is not None
    np.testing.assert_allclose(th.seam.ssim, cv.seam.ssim, atol=1e-4)
    assert [(e.kind, e.frame, e.end_frame) for e in th.events] == [
        (e.kind, e.frame, e.end_frame) for e in cv.events
    ]


def test_auto_uses_opencv_without_a_gpu(clean_clip: Path) -> None:
    import torch

    expected = "torch" if torch.cuda.is_available() else "opencv"
    assert analyze_video(clean_clip, engine="auto").engine == expected
