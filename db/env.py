"""Alembic environment. The studio passes its engine in ``config.attributes["engine"]``;
``alembic -x url=...`` works too for hand-run migrations.

Batch mode is always on so that SQLite can follow ALTER TABLE changes.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass the database with: alembic -x url=sqlite:///studio-home/studio.db")
    engine = create_engine(url)

with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
