"""``Studio``: one handle on a studio home and its database, for the CLI, notebooks and panels."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from studio._config import Settings, load_settings
from studio.project._importer import ImportSummary, dump_screenplay, export_screenplay, import_file
from studio.project._screenplay import Screenplay
from studio.project._status import format_status, project_status
from studio.storage._database import Database, open_database

__all__ = ["DEMO_SCREENPLAY", "Studio"]

DEMO_SCREENPLAY = Path(__file__).parent / "_data" / "demo.yaml"


class Studio:
    """A studio home and its database.

    Open it with :meth:`open`; close it with :meth:`close` or use it as a context manager.
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database

    @classmethod
    def open(
        cls,
        *,
        home: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        settings: Settings | None = None,
        upgrade: bool | None = None,
    ) -> Studio:
        """Resolve the settings and open (creating or upgrading as needed) the database."""
        settings = settings or load_settings(home=home, database_url=database_url)
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(settings, open_database(settings, upgrade=upgrade))

    @property
    def home(self) -> Path:
        return self.settings.home

    def import_file(self, path: str | os.PathLike[str]) -> ImportSummary:
        """Import a screenplay file (idempotent; changed scenes are marked stale)."""
        return import_file(self.database, Path(path), home=self.home)

    def import_demo(self) -> ImportSummary:
        return self.import_file(DEMO_SCREENPLAY)

    def export(self, *, project: str | None = None) -> Screenplay:
        return export_screenplay(self.database, project=project, home=self.home)

    def export_text(self, *, project: str | None = None) -> str:
        return dump_screenplay(self.export(project=project))

    def status(self, *, project: str | None = None) -> list[dict[str, Any]]:
        return project_status(self.database, project=project)

    def status_text(self, *, project: str | None = None) -> str:
        return format_status(self.status(project=project))

    def close(self) -> None:
        self.database.dispose()

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Studio(home={str(self.home)!r}, database={self.database.display_url!r})"
