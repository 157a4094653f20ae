"""Opening the database: engines, sessions, and the schema-version gate.

SQLite is the embedded default (one file in the studio home); PostgreSQL through
psycopg 3 serves many users and machines. Dialect differences live here and only here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from studio._config import Settings, mask_password
from studio._exceptions import SchemaOutdatedError, StorageError
from studio.storage import _migrations

__all__ = ["Database", "open_database"]

log = logging.getLogger("studio.storage")


class Database:
    """An engine plus a session factory. Thread-safe; share one per process.

    Use :meth:`session` for every unit of work: it commits on success, rolls back on
    error and always closes; SQLAlchemy errors come out as :class:`StorageError`. On
    SQLite every transaction takes the write lock when it begins, so concurrent
    processes (workers, a notebook kernel, a dashboard) queue up instead of failing.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = _create_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        return mask_password(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except IntegrityError as error:
            session.rollback()
            raise StorageError(f"the database refused a change: {error.orig}") from error
        except DBAPIError as error:
            session.rollback()
            raise StorageError(f"database error on {self.display_url}: {error.orig}") from error
        except SQLAlchemyError as error:
            session.rollback()
            raise StorageError(f"database error on {self.display_url}: {error}") from error
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def schema_state(self) -> _migrations.SchemaState:
        return _migrations.schema_state(self.engine)

    def upgrade(self) -> str:
        """Apply every pending migration; returns the new revision."""
        return _migrations.upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"


def open_database(settings: Settings, *, upgrade: bool | None = None) -> Database:
    """Open the configured database and make sure its schema is current.

    An empty database is always created. A database that is behind is upgraded when
    ``upgrade`` is true; by default that is the embedded SQLite file (one user), while a
    shared PostgreSQL database must be upgraded deliberately with ``studio db upgrade``.

    Raises:
        SchemaOutdatedError: the schema is behind (and not upgraded here) or ahead of
            this version of the studio.
        StorageError: the server cannot be reached.
    """
    if settings.is_embedded_database:
        settings.home.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        state = database.schema_state()
    except SQLAlchemyError as error:
        database.dispose()
        raise StorageError(
            f"cannot open the database {database.display_url}: {getattr(error, 'orig', error)}"
        ) from error
    if state.current == state.head:
        return database
    if state.ahead:
        database.dispose()
        raise SchemaOutdatedError(
            f"the database {database.display_url} is at schema {state.current}, newer than "
            f"this studio ({state.head}); upgrade the studio package"
        )
    if state.current is None or (upgrade if upgrade is not None else settings.is_embedded_database):
        log.info("upgrading %s from %s to %s", database.display_url, state.current, state.head)
        database.upgrade()
        return database
    database.dispose()
    raise SchemaOutdatedError(
        f"the database {database.display_url} is at schema {state.current} but this studio "
        f"needs {state.head}; run `studio db upgrade`"
    )


def _create_engine(url: str, *, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves. Every
        # transaction takes the write lock up front (BEGIN IMMEDIATE): a deferred
        # transaction that reads and then writes while another process committed fails
        # at once with "database is locked" (SQLite cannot wait on a stale snapshot), while
        # an immediate one simply waits its turn through busy_timeout.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.info.pop("sqlite_begin", "BEGIN IMMEDIATE")
    connection.exec_driver_sql(mode)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
