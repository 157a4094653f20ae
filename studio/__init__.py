"""Anime Studio: long-form anime video from a screenplay, on ComfyUI or the built-in animatic.

The public API is what ``__all__`` lists; everything else lives in private modules.
"""

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
from studio._importer import ImportSummary
from studio._screenplay import Screenplay, load_screenplay
from studio._studio import Studio

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

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and _obj.__module__.startswith("studio._"):
        _obj.__module__ = "studio"
