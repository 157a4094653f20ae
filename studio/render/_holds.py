"""Animating on twos: generate at a fraction of the frame rate, deliver by holding frames.

Hand-drawn anime often shows each drawing for two frames ("on twos") at 24 fps. A
screenplay asks for it with ``defaults.animate_on: twos`` (or ``2``; ``threes``/``3``,
``fours``/``4``): every segment is then generated at ``fps / animate_on`` (12 fps on twos),
so a backend makes half the frames, and is delivered at ``fps`` with each generated frame
shown ``animate_on`` times. Nothing downstream changes: scenes and the episode stitch at
the project's fps, with the same frame counts as a render on ones.

The quality check runs on the generated frames, before the holds are added, so a held
drawing is never mistaken for a freeze and motion smoothness is measured between
drawings. Thresholds counted in frames are scaled to the generated rate so they keep
their meaning in seconds (:func:`thresholds_on`).
"""

from __future__ import annotations

import dataclasses
import math

from studio._video import VideoWriter, iter_frames, probe
from studio.backends import SegmentResult
from studio.quality import QualityThresholds

__all__ = ["deliver_held", "thresholds_on"]


def thresholds_on(thresholds: QualityThresholds, animate_on: int) -> QualityThresholds:
    """The thresholds for frames generated on ``animate_on``s.

    ``freeze_min_frames`` counts frames of the delivered rate (12 = 0.5 s at 24 fps); at
    the generated rate the same half second is ``12 / animate_on`` frames.
    """
    if animate_on <= 1:
        return thresholds
    frames = max(2, math.ceil(thresholds.freeze_min_frames / animate_on))
    return dataclasses.replace(thresholds, freeze_min_frames=frames)


def deliver_held(result: SegmentResult, *, animate_on: int, fps: int) -> SegmentResult:
    """Rewrite a segment generated at ``fps / animate_on`` at ``fps``, each frame held
    ``animate_on`` times (in place, atomically). The seam duplicate (frame 0 when
    ``result.leading_duplicate``) is kept once, since stitching drops it, so a scene's
    drawings each last exactly ``animate_on`` frames across seams too. The first- and
    last-frame PNGs are unchanged (they are the same drawings).
    """
    if animate_on <= 1:
        return result
    video = result.video_path
    info = probe(video)
    count = 0
    # The writer encodes to a temporary file and renames it over the video when done,
    # after the last frame has been read from it.
    with VideoWriter(video, width=info.width, height=info.height, fps=fps) as writer:
        for index, frame in enumerate(iter_frames(video)):
            copies = 1 if index == 0 and result.leading_duplicate else animate_on
            for _ in range(copies):
                # Frame 1 is a keyframe after a seam duplicate, so the scene stitches by copy.
                writer.write(frame, keyframe=count == 1 and result.leading_duplicate)
                count += 1
    metadata = {**result.metadata, "animate_on": animate_on, "generated_fps": fps // animate_on, "fps": fps}
    return dataclasses.replace(result, frame_count=count, metadata=metadata)
