"""Widget tests run without a kernel: widgets get a dummy comm, clicks call handlers.

ipywidgets swallows exceptions raised in ``on_click`` handlers (they are only logged to
the ``traitlets`` logger), and the panels log unexpected errors to the ``widgets``
logger. ``fail_on_handler_errors`` turns any logged exception during a test into a
failure, so a broken handler cannot pass silently.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ipywidgets import Widget

from studio._config import Settings
from studio._studio import Studio


@pytest.fixture(autouse=True)
def fail_on_handler_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    errors = [record for record in caplog.get_records("call") if record.exc_info]
    if errors:
        details = "\n".join(f"{r.name}: {r.getMessage()}: {r.exc_info[1]!r}" for r in errors if r.exc_info)
        pytest.fail(f"a widget handler raised:\n{details}")


@pytest.fixture(autouse=True)
def close_widgets() -> Iterator[None]:
    yield
    Widget.close_all()


@pytest.fixture
def studio(sqlite_settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=sqlite_settings) as opened:
        opened.import_demo()
        yield opened


@pytest.fixture
def empty_studio(sqlite_settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=sqlite_settings) as opened:
        yield opened


class FakeWorkers:
    """Stands in for ``studio worker --once``: a process alive until :meth:`exit_all`."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, _settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
        log_path.write_text("fake worker\n", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
        )
        self.processes.append(process)
        return process

    def exit_all(self) -> None:
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()
            process.wait(timeout=60)


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWorkers]:
    fakes = FakeWorkers()
    monkeypatch.setattr("studio.jobs._dashboard._spawn", fakes.spawn)
    yield fakes
    fakes.exit_all()
