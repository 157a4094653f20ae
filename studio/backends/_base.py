"""The contract every generation backend fulfils.

A backend turns one :class:`SegmentRequest` into one :class:`SegmentResult`: a video
file, its exact last frame as a lossless PNG, its frame count and metadata, reporting
:class:`ProgressEvent` values along the way. The pipeline owns statuses, retries and
the database; a backend only generates.

Seam convention: when a request has a ``start_image``, frame 0 of the result *is* that
image (``leading_duplicate=True``) and the video has ``planned_frames + 1`` frames.
Scene stitching drops that duplicated frame, so a scene's frame count is exactly the
sum of its segments' planned frames.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from studio._config import Settings
from studio._registry import Registry

__all__ = [
    "Backend",
    "CharacterInShot",
    "DialogueLine",
    "ProgressCallback",
    "ProgressEvent",
    "SceneContext",
    "SegmentRequest",
    "SegmentResult",
    "available_backends",
    "create_backend",
    "preview_path",
    "register_backend",
]


@dataclass(frozen=True)
class CharacterInShot:
    """A character as they appear in one scene."""

    name: str
    palette: tuple[str, ...] = ()  # "#rrggbb" colours, most prominent first
    outfit: str = ""
    expression: str = ""
    pose: str = ""
    position: str = "center"  # left | center | right (or free text)
    facing: str = "camera"  # left | right | camera | away
    action: str = ""
    hair: str = ""  # as written: "silver bob", "spiky red"
    description: str = ""  # the character sheet's description and prompt tokens
    exits: bool = False  # leaves during this scene
    lora: str | None = None
    lora_strength: float = 1.0
    lora_family: str | None = None


@dataclass(frozen=True)
class DialogueLine:
    speaker: str
    text: str


@dataclass(frozen=True)
class SceneContext:
    """What a backend needs to know about the scene a segment belongs to."""

    project: str
    episode: int
    scene: int
    title: str = ""
    description: str = ""
    location: str = ""
    time_of_day: str = ""
    weather: str = ""
    mood: str = ""
    lighting: str = ""
    camera_angle: str = ""
    camera_movement: str = "static"  # static | pan | tilt | zoom | dolly
    style_keywords: tuple[str, ...] = ()
    characters: tuple[CharacterInShot, ...] = ()
    dialogue: tuple[DialogueLine, ...] = ()
    duration_seconds: float = 0.0  # the whole scene
    actions: tuple[str, ...] = ()  # the scene's actions, in order (one per segment)


@dataclass(frozen=True)
class SegmentRequest:
    """Everything needed to generate one segment.

    ``time_offset`` is where the segment starts inside its scene, in seconds, so
    camera moves and captions continue across segments.
    """

    scene: SceneContext
    segment_number: int
    segment_count: int
    prompt: str
    negative_prompt: str
    seed: int
    duration_seconds: float
    fps: int
    width: int
    height: int
    output_dir: Path
    start_image: Path | None = None
    end_image: Path | None = None
    time_offset: float = 0.0
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def planned_frames(self) -> int:
        return max(1, round(self.duration_seconds * self.fps))


@dataclass(frozen=True)
class SegmentResult:
    video_path: Path
    last_frame_path: Path  # lossless PNG of the exact last frame
    first_frame_path: Path
    frame_count: int
    leading_duplicate: bool  # frame 0 repeats the start image (see module docstring)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgressEvent:
    fraction: float  # 0..1 within this segment
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@runtime_checkable
class Backend(Protocol):
    """A generation backend. Implementations are registered by name."""

    name: str
    max_segment_seconds: float

    def segment_limit(self, parameters: Mapping[str, Any]) -> float:
        """The longest segment, in seconds, this backend renders with these template
        parameters (planning splits scenes by it)."""
        ...

    def generate(
        self, request: SegmentRequest, progress: ProgressCallback
    ) -> Awaitable[SegmentResult]:
        """Produce the segment; raise :class:`studio.BackendError` on failure."""
        ...

    async def aclose(self) -> None: ...


def preview_path(output_dir: Path, segment_number: int) -> Path:
    """Where a backend may keep the newest preview of a segment while it generates it
    (``segment_NNN_preview.png``, replaced atomically, removed when the segment ends);
    the pipeline records it as the segment's ``meta["thumbnail"]`` for the dashboard."""
    return output_dir / f"segment_{segment_number:03d}_preview.png"


BackendFactory = Callable[[Settings], Backend]
_REGISTRY: Registry[Backend] = Registry("unknown backend {name}; known backends: {known}")


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a backend available to ``studio render --backend NAME``."""
    _REGISTRY.register(name, factory)


def available_backends() -> list[str]:
    return _REGISTRY.names()


def create_backend(name: str, settings: Settings) -> Backend:
    """Build the backend registered as ``name``.

    Raises:
        ConfigurationError: no backend has that name (the message lists the known ones).
    """
    return _REGISTRY.create(name, settings)
