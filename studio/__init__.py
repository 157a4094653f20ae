"""Anime Studio: long-form anime video from a screenplay, on ComfyUI or the built-in animatic.

The public API is what ``__all__`` lists; everything else lives in private modules.
"""

import typing as _typing

from studio._config import Settings, load_settings
from studio._exceptions import (
    AnalysisError,
    BackendError,
    ConfigurationError,
    NotFoundError,
    RenderError,
    SchemaOutdatedError,
    ScreenplayError,
    ScreenplayIssue,
    StorageError,
    StudioError,
)
from studio._lazy import lazy_names as _lazy_names
from studio._lazy import present_as as _present_as

if _typing.TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers
    from studio._studio import Studio
    from studio.project._importer import ImportSummary
    from studio.project._screenplay import Screenplay, load_screenplay

# Heavier parts (SQLAlchemy, Alembic, pydantic models) load on first use, so commands
# such as `studio analyze` start fast (PEP 562).
_LAZY = {
    "EnqueueResult": "jobs",
    "EpisodeState": "storage",
    "ImportSummary": "project",
    "JobStatus": "jobs",
    "ProjectState": "storage",
    "RenderCancelled": "render",
    "RenderPass": "storage",
    "RenderProgress": "render",
    "RenderSummary": "render",
    "SceneState": "storage",
    "Screenplay": "project",
    "SegmentState": "storage",
    "TakeState": "storage",
    "Studio": "_studio",
    "Worker": "jobs",
    "enqueue_renders": "jobs",
    "load_screenplay": "project",
    "render_episode": "render",
    "retake": "render",
    "run_render_report": "render",
}

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "EnqueueResult",
    "EpisodeState",
    "JobStatus",
    "ProjectState",
    "RenderCancelled",
    "RenderPass",
    "RenderProgress",
    "RenderSummary",
    "SceneState",
    "SegmentState",
    "TakeState",
    "Worker",
    "enqueue_renders",
    "render_episode",
    "retake",
    "run_render_report",
    "BackendError",
    "ConfigurationError",
    "NotFoundError",
    "RenderError",
    "SchemaOutdatedError",
    "ScreenplayError",
    "ScreenplayIssue",
    "ImportSummary",
    "Screenplay",
    "Settings",
    "StorageError",
    "Studio",
    "StudioError",
    "__version__",
    "load_screenplay",
    "load_settings",
]


__getattr__, __dir__ = _lazy_names(globals(), _LAZY)

for _name in __all__:
    if _name not in _LAZY:
        _present_as(globals()[_name], "studio")
