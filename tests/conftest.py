"""Shared fixtures.

``database_url`` is parametrized over SQLite and a real PostgreSQL server that the
session starts itself (tests/_postgres.py); the same test body runs on both. In CI
(``CI`` set) a missing PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio._config import Settings, load_settings
from studio.storage._database import Database, open_database
from tests._postgres import PostgresServer, start_postgres

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        if server is None:
            message = (
                "no PostgreSQL found: install the server (apt-get install postgresql), "
                "pip install pgserver, or set STUDIO_TEST_DATABASE_URL"
            )
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'studio.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(home=tmp_path / "home", database_url=database_url, environ={})


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = open_database(settings, upgrade=True)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for tests that need only the embedded database."""
    return load_settings(home=tmp_path / "home", environ={})
