"""Helpers for the queue's tests: bounded polling, worker processes, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from studio._cli import main
from studio._config import Settings
from studio.storage._database import Database, open_database

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0
LEASE = "2"


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.05)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class Workers:
    """Starts worker processes and makes sure none outlives the test."""

    def __init__(self, url: str, home: Path) -> None:
        self.url, self.home = url, home
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, environ: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DB_"))}
        env.update(environ or {})
        log = open(self.home / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115 - closed by the child's exit
        command = [sys.executable, "-m", "studio", "--home", str(self.home), "--database-url", self.url]
        command += ["worker", "--import", "tests.jobs._test_jobs", "--poll-seconds", "0.05", *args]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        return process

    def wait(self, process: subprocess.Popen[bytes], *, timeout: float = DEADLINE) -> int:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {process.pid} did not exit:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.home.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def open_db(settings: Settings) -> Database:
    settings.home.mkdir(parents=True, exist_ok=True)
    return open_database(settings, upgrade=True)


def run_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    """Run ``studio`` in-process against ``settings``; returns (exit code, stdout, stderr)."""
    base = ["--home", str(settings.home), "--database-url", settings.database_url]
    result = CliRunner().invoke(main, [*base, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
