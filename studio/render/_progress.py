"""A render's progress: the events it emits, and the tracker that turns segment events into
episode-wide progress (by planned frames, never by time, and never backwards)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio._exceptions import RenderError
from studio.backends import ProgressEvent
from studio.render._cancel import CancelWatch
from studio.storage._models import SceneModel

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["ProgressSink", "RenderCancelled", "RenderProgress", "RenderTracker"]


class RenderCancelled(RenderError):
    """The render stopped because cancellation was requested; finished work is kept."""


@dataclass(frozen=True)
class RenderProgress:
    fraction: float  # of the whole episode, 0..1
    message: str
    scene: int | None = None
    segment: int | None = None


ProgressSink = Callable[[RenderProgress], None]


class RenderTracker:
    """Turns segment events into episode-wide progress (by planned frames, not by time)."""

    def __init__(
        self, studio: Studio, scene_ids: list[int], sink: ProgressSink, watch: CancelWatch | None = None
    ) -> None:
        self._sink = sink
        self._watch = watch
        self._frames: dict[tuple[int, int], int] = {}
        self._numbers: dict[int, int] = {}
        with studio.database.session() as session:
            for scene_id in scene_ids:
                scene = session.get(SceneModel, scene_id)
                assert scene is not None
                for s in scene.segments:
                    self._frames[(scene_id, s.segment_number)] = max(1, round(s.duration_seconds * s.fps))
                self._numbers[scene_id] = scene.scene_number
        self._total = sum(self._frames.values())
        self._done: dict[tuple[int, int], float] = {}

    def segment_count(self, scene_id: int) -> int:
        return sum(1 for key in self._frames if key[0] == scene_id)

    def segment_progress(self, scene_id: int, number: int, event: ProgressEvent) -> None:
        # Never back: a retried attempt (or a job resumed on another server) counts up from
        # zero again, and the bar, the CLI and the job row must not jump down.
        key = (scene_id, number)
        self._done[key] = max(self._done.get(key, 0.0), min(1.0, max(0.0, event.fraction)))
        self.emit(self._fraction(), event.message, scene_id, number)
        if self._watch is not None:
            self._watch.check()  # a cancel is seen at the next frame, not the next poll

    def segment_done(self, scene_id: int, number: int) -> None:
        self._done[(scene_id, number)] = 1.0
        self.emit(
            self._fraction(), f"scene {self._numbers[scene_id]} segment {number} done", scene_id, number
        )

    def scene_done(self, scene_id: int) -> None:
        for key in self._frames:
            if key[0] == scene_id:
                self._done[key] = 1.0
        self.emit(self._fraction(), f"scene {self._numbers[scene_id]} already rendered", scene_id)

    def _fraction(self) -> float:
        done = sum(self._frames[key] * f for key, f in self._done.items() if key in self._frames)
        return min(0.999, done / self._total) if self._total else 0.0

    def emit(
        self, fraction: float, message: str, scene_id: int | None = None, segment: int | None = None
    ) -> None:
        scene = self._numbers.get(scene_id) if scene_id is not None else None
        self._sink(RenderProgress(fraction=fraction, message=message, scene=scene, segment=segment))
