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

if _typing.TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers
    from studio._importer import ImportSummary
    from studio._screenplay import Screenplay, load_screenplay
    from studio._studio import Studio

# Heavier parts (SQLAlchemy, Alembic, pydantic models) load on first use, so commands
# such as `studio analyze` start fast (PEP 562).
_LAZY = {
    "ImportSummary": "studio._importer",
    "Screenplay": "studio._screenplay",
    "Studio": "studio._studio",
    "load_screenplay": "studio._screenplay",
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



def _present_as_studio(obj: object) -> object:
    if isinstance(obj, type) and obj.__module__.startswith("studio._"):
        obj.__module__ = "studio"
    return obj


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = _present_as_studio(getattr(importlib.import_module(_LAZY[name]), name))
        globals()[name] = value
        return value
    raise AttributeError(f"module 'studio' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


for _name in __all__:
    if _name not in _LAZY:
        _present_as_studio(globals()[_name])
