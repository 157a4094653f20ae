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
    from studio._importer import ImportSummary
    from studio._screenplay import Screenplay, load_screenplay
    from studio._studio import Studio

# Heavier parts (SQLAlchemy, Alembic, pydantic models) load on first use, so commands
# such as `studio analyze` start fast (PEP 562).
_LAZY = {
    "ImportSummary": "_importer",
    "Screenplay": "_screenplay",
    "Studio": "_studio",
    "load_screenplay": "_screenplay",
}

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


__getattr__, __dir__ = _lazy_names(globals(), _LAZY)

for _name in __all__:
    if _name not in _LAZY:
        _present_as(globals()[_name], "studio")
