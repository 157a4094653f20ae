"""Every error the studio raises on purpose.

The hierarchy::

    StudioError
    ├── ConfigurationError          bad environment / settings
    ├── ScreenplayError             a screenplay file that cannot be imported
    ├── StorageError                the database
    │   ├── SchemaOutdatedError     the database is behind the code: run `studio db upgrade`
    │   └── NotFoundError           a project / episode / scene / segment that does not exist
    ├── RenderError                 the render pipeline (carries scene / segment / attempt ids)
    ├── BackendError                a generation backend failed
    └── AnalysisError               a video that cannot be analysed

Subsystems (ComfyUI, the assistant, the job queue) add their own subtrees under
``StudioError`` in their own modules. Foreign exceptions (httpx, websockets,
SQLAlchemy, yaml) are translated at the boundary and chained with ``from``.

Every error has an ``exit_code`` the CLI uses: 2 for bad input, 1 for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AnalysisError",
    "BackendError",
    "ConfigurationError",
    "NotFoundError",
    "RenderError",
    "SchemaOutdatedError",
    "ScreenplayError",
    "ScreenplayIssue",
    "StorageError",
    "StudioError",
]


class StudioError(Exception):
    """Root of every error the studio raises on purpose."""

    exit_code: int = 1


class ConfigurationError(StudioError):
    """A setting or environment variable is missing or malformed."""

    exit_code = 2


@dataclass(frozen=True)
class ScreenplayIssue:
    """One problem in a screenplay file, located as precisely as we can.

    Attributes:
        path: The file it came from (as the user named it).
        line: 1-based line number, or ``None`` when no line applies (unreadable file).
        location: The YAML path, e.g. ``episodes[0].scenes[3].characters[1]``.
        message: What is wrong and, where possible, what to do.
    """

    path: str
    line: int | None
    location: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.location:
            return f"{where}: {self.location}: {self.message}"
        return f"{where}: {self.message}"


class ScreenplayError(StudioError):
    """A screenplay cannot be imported. ``issues`` lists every problem found."""

    exit_code = 2

    def __init__(self, issues: list[ScreenplayIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


class StorageError(StudioError):
    """The database refused an operation or could not be reached."""


class SchemaOutdatedError(StorageError):
    """The database schema is older (or newer) than this version of the studio."""

    exit_code = 2


class NotFoundError(StorageError, LookupError):
    """A named object does not exist in the database."""

    exit_code = 2


class RenderError(StudioError):
    """A render could not finish. Carries the ids of what failed."""

    def __init__(
        self,
        message: str,
        *,
        episode: int | None = None,
        scene: int | None = None,
        segment: int | None = None,
        attempt: int | None = None,
        report_path: str | None = None,
    ) -> None:
        self.episode = episode
        self.scene = scene
        self.segment = segment
        self.attempt = attempt
        self.report_path = report_path
        super().__init__(message)


class BackendError(StudioError):
    """A generation backend could not produce a segment."""

    def __init__(self, message: str, *, backend: str = "", transient: bool = False) -> None:
        self.backend = backend
        self.transient = transient
        super().__init__(message)


class AnalysisError(StudioError):
    """A video or image could not be analysed (missing, unreadable, empty)."""

    exit_code = 2
