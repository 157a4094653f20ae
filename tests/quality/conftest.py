"""Clips shared by the quality tests (made once per session: encoding costs time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.quality._clips import RGB, grade, make_frames, write_clip, write_png

FRAMES = 48
EVENT_AT = 24  # where cut and colour-shift clips change


@pytest.fixture(scope="session")
def clean_frames() -> list[RGB]:
    return make_frames(FRAMES, start=1)


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def clean_clip(clip_dir: Path, clean_frames: list[RGB]) -> Path:
    return write_clip(clip_dir / "clean.mp4", clean_frames)


@pytest.fixture(scope="session")
def previous_last_frame(clip_dir: Path) -> Path:
    """The frame just before the clean clip: a seamless previous segment's last frame."""
    return write_png(clip_dir / "previous.png", make_frames(1, start=0)[0])


@pytest.fixture(scope="session")
def graded_anchor(clip_dir: Path, clean_frames: list[RGB]) -> Path:
    """An anchor whose colours the clean clip has drifted away from."""
    return write_png(clip_dir / "graded_anchor.png", grade(clean_frames[0]))


@pytest.fixture(scope="session")
def events_clips(clip_dir: Path, clean_frames: list[RGB]) -> dict[str, Path]:
    clean = clean_frames
    brighter = np.clip(clean[30].astype(np.int16) + 30, 0, 255).astype(np.uint8)
    clips = {
        "cut": clean[:EVENT_AT] + make_frames(FRAMES - EVENT_AT, seed=5, start=EVENT_AT),
        "color_shift": clean[:EVENT_AT] + [grade(f) for f in clean[EVENT_AT:]],
        "freeze": clean[:20] + [clean[20]] * 15 + clean[21 : FRAMES - 14],  # hold, then go on
        "flicker": clean[:30] + [brighter] + clean[31:],
        "black": clean[:20] + [np.zeros_like(clean[0])] * 3 + clean[23:],
    }
    return {name: write_clip(clip_dir / f"{name}.mp4", frames) for name, frames in clips.items()}
