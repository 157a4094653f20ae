"""Anime Studio: long-form anime video from a screenplay, on ComfyUI or the built-in animatic.

The public API is what ``__all__`` lists; everything else lives in private modules.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "BackendError",
    "ConfigurationError",
    "NotFoundError",
    "RenderError",
    "SchemaOutdatedError",
    "ScreenplayError",
    "ScreenplayIssue",
    "Settings",
    "StorageError",
    "StudioError",
    "__version__",
    "load_settings",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and _obj.__module__.startswith("studio._"):
        _obj.__module__ = "studio"
