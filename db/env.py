"""Alembic environment. The studio passes its engine in ``config.attributes["engine"]``;
``alembic -x url=...`` works too for hand-run migrations.

Batch mode is always on so that SQLite can follow ALTER TABLE changes. On SQLite, a
batch change rebuilds the table (create a copy, DROP the original, rename), and with
foreign keys on, that DROP deletes every row that references the table through
``ON DELETE CASCADE`` (feedback rows, takes). So foreign keys are off while migrations
run -- the pragma only works outside a transaction, hence here, before it begins -- and
``PRAGMA foreign_key_check`` must find nothing before they are turned back on.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass the database with: alembic -x url=sqlite:///studio-home/studio.db")
    engine = create_engine(url)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # On the DBAPI connection, so no transaction begins first (the pragma would be ignored).
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        context.configure(connection=connection, render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"a migration left rows that reference missing rows: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            _sqlite_foreign_keys(connection, on=True)
