"""Test backends for takes and retakes: the animatic with short segments, and a variant
whose pictures depend on the seed (as a real generator's do), so a retake really changes
the frames and the seam after it must be repaired."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from studio._video import VideoWriter, iter_frames, read_image, write_png
from studio.backends import SegmentRequest, SegmentResult
from studio.backends._animatic import AnimaticBackend


class ShortAnimatic(AnimaticBackend):
    """The animatic, planned in 2-second segments (the demo's 7 s scene 3 gets four)."""

    name = "short"
    max_segment_seconds = 2.0


class SeededAnimatic(ShortAnimatic):
    """Short segments whose frames after the start image are tinted by the seed and by the
    start image, as a real generator's pictures depend on both (the animatic draws the
    same frames whatever it starts from)."""

    name = "seeded"
    deterministic = False

    async def generate(self, request: SegmentRequest, progress) -> SegmentResult:  # type: ignore[no-untyped-def]
        result = await super().generate(request, progress)
        started = int(read_image(request.start_image).sum()) if request.start_image is not None else 0
        tint = int((request.seed + started) % 3) + 1  # small: a different picture, not a colour event
        frames = list(iter_frames(result.video_path))
        tinted = result.video_path.with_name("tinted.mp4")
        keep_first = result.leading_duplicate
        with VideoWriter(tinted, width=request.width, height=request.height, fps=request.fps) as writer:
            for i, frame in enumerate(frames):
                if not (keep_first and i == 0):
                    frame = np.clip(frame.astype(np.int16) + tint, 0, 255).astype(np.uint8)
                writer.write(frame, keyframe=i == 1 and keep_first)
        os.replace(tinted, result.video_path)
        last = read_image(result.last_frame_path)
        write_png(result.last_frame_path, np.clip(last.astype(np.int16) + tint, 0, 255).astype(np.uint8))
        if not keep_first:
            first = read_image(result.first_frame_path)
            write_png(result.first_frame_path, np.clip(first.astype(np.int16) + tint, 0, 255).astype(np.uint8))
        return result


class BlackAnimatic(AnimaticBackend):
    """The animatic, except that scene 1 segment 0 always has black frames (never passes)."""

    name = "blackout"
    # Retried as a generator would be (the animatic itself sends a failing check straight to
    # review): these tests are about attempts and review, not about determinism.
    deterministic = False

    async def generate(self, request: SegmentRequest, progress) -> SegmentResult:  # type: ignore[no-untyped-def]
        result = await super().generate(request, progress)
        if request.scene.scene == 1 and request.segment_number == 0:
            frames = list(iter_frames(result.video_path))
            for i in range(20, 40):
                frames[i] = np.zeros_like(frames[i])
            broken = result.video_path.with_name("broken.mp4")
            with VideoWriter(broken, width=request.width, height=request.height, fps=request.fps) as writer:
                for i, frame in enumerate(frames):
                    writer.write(frame, keyframe=i == 1)
            os.replace(broken, result.video_path)
        return result


@pytest.fixture
def test_backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registered for one test only, so other tests see the real registry."""
    from studio.backends import _base

    for backend in (ShortAnimatic, SeededAnimatic, BlackAnimatic):
        monkeypatch.setitem(_base._REGISTRY, backend.name, lambda settings, b=backend: b())
    yield
