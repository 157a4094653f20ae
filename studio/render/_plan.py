"""Plan a scene's segments from its duration and the backend's longest segment."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PlannedSegment", "plan_segments"]


@dataclass(frozen=True)
class PlannedSegment:
    number: int  # 0-based within the scene
    frames: int  # frames this segment adds to the scene
    start_frame: int  # first frame of this segment within the scene
    fps: int

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.fps

    @property
    def start_seconds(self) -> float:
        return self.start_frame / self.fps


def plan_segments(duration_seconds: float, *, max_segment_seconds: float, fps: int) -> list[PlannedSegment]:
    """Split a scene into the fewest segments no longer than ``max_segment_seconds``.

    Frames are the unit, so the segments add up to exactly ``round(duration * fps)``
    frames; they differ by at most one frame, so no segment is a stub.
    """
    if duration_seconds <= 0:
        raise ValueError(f"a scene needs a positive duration, got {duration_seconds}")
    if max_segment_seconds <= 0:
        raise ValueError(f"max_segment_seconds must be positive, got {max_segment_seconds}")
    total = max(1, round(duration_seconds * fps))
    per_segment = max(1, math.floor(max_segment_seconds * fps))
    count = math.ceil(total / per_segment)
    base, extra = divmod(total, count)
    plan, start = [], 0
    for number in range(count):
        frames = base + (1 if number < extra else 0)
        plan.append(PlannedSegment(number=number, frames=frames, start_frame=start, fps=fps))
        start += frames
    return plan
