"""Where each line sits in its scene, and how long the scene must then be.

Pure arithmetic on spoken durations. A line with ``at`` starts there; a line without
starts :data:`GAP_SECONDS` after the previous one ends (the first at
:data:`LEAD_SECONDS`). A line whose ``at`` falls inside the previous line waits for it
(voices never overlap), and the plan says so. A scene is never shorter than its lines:
it must last until the last line ends plus :data:`TAIL_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["GAP_SECONDS", "LEAD_SECONDS", "TAIL_SECONDS", "PlacedLine", "ScenePlacement", "place_lines"]

LEAD_SECONDS = 0.3
GAP_SECONDS = 0.25
TAIL_SECONDS = 0.4


@dataclass(frozen=True)
class PlacedLine:
    index: int  # within the scene's dialogue
    start: float  # seconds into the scene
    end: float


@dataclass(frozen=True)
class ScenePlacement:
    lines: tuple[PlacedLine, ...]
    needed_seconds: float  # the shortest the scene may be
    notes: tuple[str, ...] = field(default=())


def place_lines(durations: Sequence[float], ats: Sequence[float | None]) -> ScenePlacement:
    """Place lines of the given spoken ``durations`` (``ats``: each line's ``at`` or None)."""
    placed: list[PlacedLine] = []
    notes: list[str] = []
    cursor = LEAD_SECONDS
    previous_end = 0.0
    for index, (duration, at) in enumerate(zip(durations, ats, strict=True)):
        start = cursor if at is None else at
        if at is not None and placed and at < previous_end:
            notes.append(
                f"line {index + 1} at {at:.2f} s would overlap line {index} (speaking until "
                f"{previous_end:.2f} s); it starts at {previous_end:.2f} s instead"
            )
            start = previous_end
        end = start + duration
        placed.append(PlacedLine(index=index, start=start, end=end))
        previous_end = end
        cursor = end + GAP_SECONDS
    needed = previous_end + TAIL_SECONDS if placed else 0.0
    return ScenePlacement(lines=tuple(placed), needed_seconds=needed, notes=tuple(notes))
