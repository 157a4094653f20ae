"""Migrations create the schema from empty, go down and up again, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from studio import SchemaOutdatedError
from studio._config import Settings
from studio.storage import _migrations
from studio.storage._database import Database, open_database
from studio.storage._models import Base

EXPECTED_TABLES = {
    "production_jobs",
    "anime_characters",
    "workflow_configs",
    "movie_projects",
    "movie_episodes",
    "movie_scenes",
    "generation_segments",
    "character_scene_memory",
    "story_state_memory",
    "visual_style_memory",
    "generation_quality_feedback",
    "generation_takes",
}


def test_upgrade_from_empty_creates_every_table(settings: Settings) -> None:
    database = open_database(settings)
    try:
        tables = set(inspect(database.engine).get_table_names())
        assert tables >= EXPECTED_TABLES
        assert set(Base.metadata.tables) <= tables
        state = database.schema_state()
        assert state.current == state.head
    finally:
        database.dispose()


def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    """Autogenerate finds nothing to do: the migrations and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    database = open_database(settings)
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        database.dispose()


def test_downgrade_to_base_and_upgrade_again(settings: Settings) -> None:
    database = open_database(settings)
    try:
        _migrations.downgrade(database.engine, "base")
        assert not EXPECTED_TABLES & set(inspect(database.engine).get_table_names())
        database.upgrade()
        assert set(inspect(database.engine).get_table_names()) >= EXPECTED_TABLES
    finally:
        database.dispose()


def test_upgrade_twice_is_a_no_op(settings: Settings) -> None:
    database = open_database(settings)
    try:
        before = database.schema_state()
        database.upgrade()
        assert database.schema_state() == before
    finally:
        database.dispose()


def test_a_database_behind_is_upgraded_or_refused_with_the_command(settings: Settings) -> None:
    database = open_database(settings)
    _migrations.downgrade(database.engine, "base")
    # An empty-but-versioned database (alembic_version empty) counts as empty: created.
    database.dispose()
    reopened = open_database(settings, upgrade=False)
    assert reopened.schema_state().current == reopened.schema_state().head
    reopened.dispose()


def test_a_database_from_the_future_is_refused(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        database.upgrade()
        with database.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'v99.0.0.z'")
    finally:
        database.dispose()
    with pytest.raises(SchemaOutdatedError, match="newer than this studio"):
        open_database(settings)
