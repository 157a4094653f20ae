"""Where SQLite and PostgreSQL differ, in one place: the database clock.

Leases and heartbeats are measured against the database server's clock, never a
worker's, so machines with skewed clocks still agree on who holds a job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from studio._exceptions import StorageError
from studio.storage._database import Database

__all__ = ["database_now", "naive_utc", "now_sql", "session_now"]



def now_sql(dialect: str, *, plus_seconds: float = 0) -> ColumnElement[datetime]:
    """The database's current time (plus an offset) as a naive-UTC SQL expression.

    PostgreSQL's ``now()`` is time-zone aware; ``timezone('UTC', now())`` turns it into
    naive UTC, which is what every column here stores. SQLite has no datetime type:
    SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff`` strings, so we produce exactly that
    shape (``%f`` gives milliseconds; three zeros pad to microseconds) and string
    comparison stays chronological.
    """
    if dialect == "postgresql":
        now: ColumnElement[Any] = func.timezone("UTC", func.now())
        if plus_seconds:
            now = now + func.make_interval(0, 0, 0, 0, 0, 0, literal(float(plus_seconds)))
        return type_coerce(now, DateTime())
    modifier = f"{float(plus_seconds):+.3f} seconds"
    text = func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier) + literal("000")
    return type_coerce(text, DateTime())


def naive_utc(value: Any) -> datetime:
    """Normalise whatever the driver returned for a timestamp to a naive UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise StorageError(f"the database returned {value!r} where a timestamp was expected")
    moment: datetime = value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def database_now(database: Database) -> datetime:
    """The database server's clock as naive UTC: the clock leases are measured against."""
    with database.session() as session:
        return naive_utc(session.execute(select(now_sql(database.dialect))).scalar_one())


def session_now(session: Session) -> datetime:
    """The database clock, read inside ``session``'s transaction."""
    return naive_utc(session.execute(select(now_sql(session.get_bind().dialect.name))).scalar_one())
