"""Alembic, driven from code: where the scripts are, what revision a database is at."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty database
    head: str
    ahead: bool  # the database knows a revision this code does not


def script_location() -> Path:
    return Path(str(resources.files("studio._migrations")))


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "db/versions holds no migration"
    return head


def schema_state(engine: Engine) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    known = {rev.revision for rev in script.walk_revisions()}
    ahead = current is not None and current not in known
    return SchemaState(current=current, head=head, ahead=ahead)


def upgrade(engine: Engine, revision: str = "head") -> str:
    command.upgrade(alembic_config(engine), revision)
    return schema_state(engine).current or ""


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)
