"""Fixtures for the queue's tests: a PostgreSQL-only database and worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studio._config import Settings, load_settings
from tests._postgres import PostgresServer
from tests.jobs._helpers import Workers


@pytest.fixture
def pg_settings(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[Settings]:
    url = postgres_server.create_database()
    try:
        yield load_settings(home=tmp_path / "home", database_url=url, environ={})
    finally:
        postgres_server.drop_database(url)


@pytest.fixture
def workers_for(tmp_path: Path) -> Iterator[Callable[[Settings], Workers]]:
    made: list[Workers] = []

    def make(settings: Settings) -> Workers:
        settings.home.mkdir(parents=True, exist_ok=True)
        made.append(Workers(settings.database_url, settings.home))
        return made[-1]

    yield make
    for workers in made:
        workers.stop_all()
