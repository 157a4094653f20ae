"""Upgrades keep data: a database at an older schema, with a project in it, reaches head.

Two sources of old databases, as optuna keeps them:

- built here, on SQLite and PostgreSQL: migrate an empty database to ``v0.1.0.a`` and
  fill it through the ORM, touching only tables that existed at that revision;
- saved: ``upgrade_assets/v0.1.0.a.db``, a SQLite file made at that schema with the demo
  imported and episode 1 planned. It never changes; a new released schema adds a new
  file (``python -m tests.storage.test_upgrade`` writes the one for the oldest schema).

On SQLite, ``open_database`` upgrades by itself (one user, one file); on PostgreSQL it
refuses with the command to run, ``studio db upgrade``.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select, update

from studio import SchemaOutdatedError
from studio._config import Settings, load_settings
from studio._studio import DEMO_SCREENPLAY
from studio.project._importer import dump_screenplay, export_screenplay, import_file
from studio.storage import _migrations
from studio.storage._database import Database, open_database
from studio.storage._models import (
    AssistantConversationModel,
    AssistantMessageModel,
    CharacterModel,
    QualityFeedbackModel,
    SegmentModel,
)

ASSETS = Path(__file__).parent / "upgrade_assets"
FIRST_REVISION = "v0.1.0.a"
#: Tables this change adds; everything else must come through an upgrade untouched.
NEW_TABLES = {"assistant_conversations", "assistant_messages", "generation_takes"}
#: Columns added to existing tables (v0.3.0.b: voices and episode sound).
NEW_COLUMNS = {"anime_characters": {"voice_id", "voice_speed", "voice_pitch"}, "movie_episodes": {"sound"}}
FEEDBACK_NOTE = "Luna's teal jacket flickers green in the rain"


def populate_first_schema(database: Database, home: Path) -> str:
    """Import the demo, plan episode 1 and add one user note, on a v0.1.0.a database.

    Today's ORM reads and writes columns added since (character voices), so the work is
    done on a scratch database at head, and its rows are then copied, column by column
    as the old schema has them, into ``database``. Returns the screenplay exported from
    the scratch database (today's ORM cannot read the old schema to export it).
    """
    scratch = Database(f"sqlite:///{home.parent / 'scratch-at-head.db'}")
    try:
        _migrations.upgrade(scratch.engine, "head")
        _populate_today(scratch, home)
        old = MetaData()
        old.reflect(database.engine)
        today = MetaData()
        today.reflect(scratch.engine)
        with scratch.engine.connect() as source, database.engine.begin() as target:
            for table in old.sorted_tables:
                if table.name == "alembic_version":
                    continue
                columns = [today.tables[table.name].c[c.name] for c in table.columns]
                rows = [dict(r._mapping) for r in source.execute(select(*columns))]
                if rows:
                    target.execute(table.insert(), rows)
        return dump_screenplay(export_screenplay(scratch, home=home))
    finally:
        scratch.dispose()


def _populate_today(database: Database, home: Path) -> None:
    from studio._studio import Studio
    from studio.render._pipeline import prepare_episode

    import_file(database, DEMO_SCREENPLAY, home=home)
    studio = Studio(load_settings(home=home, database_url=database.url, environ={}), database)
    prepare_episode(studio, episode=1)
    with database.session() as session:
        segment = session.scalars(select(SegmentModel).order_by(SegmentModel.id)).first()
        assert segment is not None
        session.add(
            QualityFeedbackModel(
                segment_id=segment.id,
                overall_score=0.5,
                full_prompt=segment.motion_prompt,
                user_rating=3,
                user_notes=FEEDBACK_NOTE,
                feedback_type="user",
            )
        )


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table except Alembic's and the new ones, ordered by id."""
    metadata = MetaData()
    metadata.reflect(database.engine)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with database.engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name == "alembic_version" or name in NEW_TABLES:
                continue
            old = [c for c in table.columns if c.name not in NEW_COLUMNS.get(name, set())]
            query = select(*old).order_by(*table.primary_key)
            rows[name] = [tuple(r) for r in connection.execute(query)]
    return rows


def new_columns(database: Database) -> dict[str, set[str]]:
    inspector = inspect(database.engine)
    return {
        table: {c["name"] for c in inspector.get_columns(table)} & columns
        for table, columns in NEW_COLUMNS.items()
    }


def use_the_new_tables(database: Database) -> None:
    """The upgraded schema takes a conversation with a message, and a character's voice,
    through today's models."""
    with database.session() as session:
        character = session.scalars(select(CharacterModel).order_by(CharacterModel.id)).first()
        assert character is not None and character.voice_id is None  # upgraded rows have no voice
        stamp = character.updated_at
        character.voice_id, character.voice_speed, character.voice_pitch = "en-us+f3", 1.1, 2.0
    with database.session() as session:
        character = session.scalars(select(CharacterModel).order_by(CharacterModel.id)).first()
        assert character is not None and (character.voice_id, character.voice_speed) == ("en-us+f3", 1.1)
        # Put the row back as it was, so the downgrade's check sees only old columns' values.
        character.voice_id = character.voice_speed = character.voice_pitch = None
        character.updated_at = stamp
    with database.session() as session:
        conversation = AssistantConversationModel(project_id=1, title="after the upgrade", task="chat")
        conversation.messages.append(AssistantMessageModel(position=0, role="user", content="Hello"))
        session.add(conversation)
    with database.session() as session:
        stored = session.scalars(select(AssistantMessageModel)).one()
        assert (stored.content, stored.conversation.title) == ("Hello", "after the upgrade")


def test_an_old_database_is_upgraded_with_its_data(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        _migrations.upgrade(database.engine, FIRST_REVISION)
        assert not NEW_TABLES & set(inspect(database.engine).get_table_names())
        assert new_columns(database) == {table: set() for table in NEW_COLUMNS}
        exported = populate_first_schema(database, settings.home)
        before = snapshot(database)
    finally:
        database.dispose()
    assert before["generation_segments"] and before["generation_quality_feedback"]

    if settings.is_embedded_database:
        upgraded = open_database(settings)  # the embedded file upgrades by itself
    else:
        with pytest.raises(SchemaOutdatedError, match=r"run `studio db upgrade`") as info:
            open_database(settings)
        assert f"at schema {FIRST_REVISION}" in str(info.value)
        from click.testing import CliRunner

        from studio._cli import main

        args = ["--home", str(settings.home), "--database-url", settings.database_url, "db", "upgrade"]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        upgraded = open_database(settings)
    try:
        state = upgraded.schema_state()
        assert state.current == state.head != FIRST_REVISION
        assert set(inspect(upgraded.engine).get_table_names()) >= NEW_TABLES
        assert new_columns(upgraded) == NEW_COLUMNS
        assert snapshot(upgraded) == before
        assert dump_screenplay(export_screenplay(upgraded, home=settings.home)) == exported
        use_the_new_tables(upgraded)

        # And back: the downgrade drops only what the upgrade added.
        _migrations.downgrade(upgraded.engine, FIRST_REVISION)
        assert not NEW_TABLES & set(inspect(upgraded.engine).get_table_names())
        assert new_columns(upgraded) == {table: set() for table in NEW_COLUMNS}
        assert snapshot(upgraded) == before
    finally:
        upgraded.dispose()


def test_the_saved_first_schema_database_upgrades(tmp_path: Path) -> None:
    asset = ASSETS / f"{FIRST_REVISION}.db"
    copy = tmp_path / "home" / "studio.db"
    copy.parent.mkdir()
    shutil.copyfile(asset, copy)  # never upgrade the committed file itself
    with sqlite3.connect(copy) as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert version == FIRST_REVISION

    settings = load_settings(home=tmp_path / "home", database_url=f"sqlite:///{copy}", environ={})
    database = open_database(settings)
    try:
        state = database.schema_state()
        assert state.current == state.head
        screenplay = export_screenplay(database, home=settings.home)
        assert screenplay.title == "Neon Tide"
        assert [c.name for c in screenplay.characters] == ["Luna", "Kai"]
        assert [s.number for _, s in screenplay.scenes()] == [1, 2, 3]
        with database.session() as session:
            prompts = session.scalars(select(SegmentModel.motion_prompt)).all()
            notes = session.scalars(select(QualityFeedbackModel.user_notes)).all()
        assert prompts and all("Luna" in p or "Kai" in p for p in prompts)
        assert notes == [FEEDBACK_NOTE]
        use_the_new_tables(database)
    finally:
        database.dispose()


def write_asset(path: Path) -> None:
    """(Re)write the saved v0.1.0.a database. Run only with the code of that schema."""
    import tempfile

    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as home:
        database = Database(f"sqlite:///{path}")
        try:
            _migrations.upgrade(database.engine, FIRST_REVISION)
            populate_first_schema(database, Path(home))
        finally:
            database.dispose()
    # One self-contained, compact file: no WAL beside it.
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("VACUUM")
    connection.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS / f"{FIRST_REVISION}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_asset(target)
    print(f"wrote {target}")


def test_finished_segments_get_one_chosen_take_when_takes_arrive(settings: Settings) -> None:
    """v0.2.0.a → v0.3.0.a: each completed or review segment with a video gets one chosen
    take made from its own columns; unfinished ones get none; the downgrade drops them."""
    from studio.storage._models import TakeModel

    database = Database(settings.database_url)
    try:
        _migrations.upgrade(database.engine, "v0.2.0.a")
        populate_first_schema(database, settings.home)
        with database.engine.begin() as connection:  # as v0.2.0.a's pipeline left them
            ids = [r[0] for r in connection.exec_driver_sql("SELECT id FROM generation_segments ORDER BY id")]
            for segment_id, (status, backend) in zip(
                ids, [("completed", "animatic"), ("review", "comfyui"), ("failed", "animatic")], strict=False
            ):
                connection.execute(
                    update(SegmentModel.__table__)
                    .where(SegmentModel.__table__.c.id == segment_id)
                    .values(
                        status=status,
                        backend=backend,
                        seed=7,
                        output_video_path=f"renders/s{segment_id}.mp4",
                        last_frame_path=f"renders/s{segment_id}_last.png",
                        overall_quality_score=0.8,
                    )
                )
        before = snapshot(database)
        _migrations.upgrade(database.engine, "v0.3.0.a")
        assert snapshot(database) == before  # the segments and their feedback are untouched
        with database.session() as session:
            takes = session.scalars(select(TakeModel).order_by(TakeModel.segment_id)).all()
            assert [(t.segment_id, t.status, t.render_pass, t.chosen_for, t.chosen_by) for t in takes] == [
                (ids[0], "passed", "previs", ids[0], "auto"),
                (ids[1], "review", "final", ids[1], "auto"),
            ]
            assert takes[0].output_video_path == f"renders/s{ids[0]}.mp4" and takes[0].seed == 7
            # What each started from: nothing for the scene's first, the previous last frame next.
            assert takes[0].start_frame_path is None
            assert takes[1].start_frame_path == f"renders/s{ids[0]}_last.png"
            # The new state exists: a segment can be approved.
            segment = session.get(SegmentModel, ids[0])
            assert segment is not None
            segment.status = "approved"
        _migrations.downgrade(database.engine, "v0.2.0.a")
        assert "generation_takes" not in inspect(database.engine).get_table_names()
        with database.session() as session:
            segment = session.get(SegmentModel, ids[0])
            assert segment is not None and segment.status == "completed"
        feedback_rows = before["generation_quality_feedback"]
        assert snapshot(database)["generation_quality_feedback"] == feedback_rows  # no cascade on rebuild
    finally:
        database.dispose()
