"""A real PostgreSQL server for the test session.

Order of preference:
1. ``STUDIO_TEST_DATABASE_URL``: an existing server (a database per test is created on it);
2. the machine's ``initdb``/``pg_ctl`` (on PATH or under /usr/lib/postgresql/*/bin);
3. the ``pgserver`` PyPI package, which ships the server binaries.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg


@dataclass
class PostgresServer:
    admin_url: str  # psycopg conninfo URL of the maintenance database
    how: str

    def create_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = "studio_test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        base = self.admin_url.rsplit("/", 1)[0]
        return f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_binaries() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresServer | None]:
    """Yield a running server, or ``None`` when none can be had on this machine."""
    existing = os.environ.get("STUDIO_TEST_DATABASE_URL")
    if existing:
        url = existing.replace("postgresql+psycopg://", "postgresql://")
        yield PostgresServer(admin_url=url, how=f"existing server {existing.split('@')[-1]}")
        return
    bindir = find_binaries()
    if bindir is not None:
        with _run_local_server(bindir) as server:
            yield server
        return
    try:
        import pgserver  # type: ignore[import-not-found]
    except ImportError:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="studio-pgserver-"))
    server = pgserver.get_server(root, cleanup_mode="stop")
    try:
        yield PostgresServer(admin_url=server.get_uri(), how="pgserver package")
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _run_local_server(bindir: Path) -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    run_as: str | None = None
    if os.geteuid() == 0:
        run_as = "postgres"
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(sockets, entry.pw_uid, entry.pw_gid)
    port = free_port()
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        user=run_as,
        cwd=root,
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(bindir / "pg_ctl")
    # -w waits until the server accepts connections: no sleeping.
    subprocess.run(
        [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"],
        check=True,
        capture_output=True,
        user=run_as,
        cwd=root,
    )
    try:
        yield PostgresServer(
            admin_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
            how=f"local server from {bindir} on port {port}",
        )
    finally:
        subprocess.run(
            [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            user=run_as,
            cwd=root,
        )
        shutil.rmtree(root, ignore_errors=True)
