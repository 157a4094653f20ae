"""Renders started from the dashboard: one detached process per render, one JSON record each.

A panel lives in a kernel that dies when its browser tab closes, so a render must not
live there. :func:`launch_render` starts ``python -m studio._renders RECORD`` in its own
session (a kernel shutdown signals the kernel's process group, not this one); that
process calls :func:`studio._pipeline.render_episode` and writes its state to the record
file next to a log. Any later session, in any process, sees the render through
:func:`list_renders`; its progress bar reads the database (:func:`studio._editing.episode_progress`).

Cancelling is cooperative: :meth:`RenderRecord.request_cancel` creates a flag file that
the render checks between segments (``should_cancel``); finished segments are kept, so
:func:`retry_render` resumes instead of starting over.

Files (under ``HOME/renders/dashboard/``): ``<id>.json`` (the record), ``<id>.log``
(the process's output), ``<id>.cancel`` (the flag).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from studio._exceptions import StudioError
from studio._studio import Studio

__all__ = [
    "ACTIVE_STATUSES",
    "RenderRecord",
    "launch_render",
    "list_renders",
    "main",
    "retry_render",
]

RECORDS_DIR = Path("renders") / "dashboard"
# Statuses a record moves through; "running" records whose process is gone read as "failed".
ACTIVE_STATUSES = ("starting", "running")
_PROGRESS_INTERVAL = 0.5  # seconds between record writes; the database carries the detail
# Renders this process started, by record id: polling them reaps their exit status.
_CHILDREN: dict[str, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class RenderRecord:
    """What is known about one dashboard render. Frozen: updates write a new record.

    Attributes:
        id: ``<UTC timestamp>-e<episode>``, also the file stem.
        episode: Episode number.
        project: Project title, or ``None`` for the only project.
        backend: ``animatic`` or ``comfyui``.
        status: starting, running, succeeded, failed or cancelled.
        pid: The render process.
        fraction: The pipeline's own progress, 0..1.
        message: The pipeline's latest progress message, or the error.
        video: The episode video, when it succeeded.
        report: The render report, when there is one.
        retry_of: The record this one retries.
        started_at / ended_at: ISO 8601, UTC.
        path: The record file (not stored in it).
    """

    id: str
    episode: int
    project: str | None
    backend: str
    status: str = "starting"
    pid: int | None = None
    fraction: float = 0.0
    message: str = ""
    video: str | None = None
    report: str | None = None
    retry_of: str | None = None
    started_at: str = ""
    ended_at: str | None = None
    path: Path | None = None

    @property
    def log_path(self) -> Path:
        assert self.path is not None
        return self.path.with_suffix(".log")

    @property
    def cancel_path(self) -> Path:
        assert self.path is not None
        return self.path.with_suffix(".cancel")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_path.exists()

    def request_cancel(self) -> None:
        """Ask the render to stop after the segment it is working on."""
        self.cancel_path.touch()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the render's log (empty when there is none yet)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def save(self) -> None:
        """Write atomically, so a reader never sees half a record."""
        assert self.path is not None
        document = {k: v for k, v in asdict(self).items() if k != "path"}
        temporary = self.path.with_suffix(f".tmp{os.getpid()}")
        temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    @classmethod
    def load(cls, path: Path) -> RenderRecord:
        document: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        fields = {k: v for k, v in document.items() if k in cls.__dataclass_fields__}
        return cls(**fields, path=path)


def launch_render(
    studio: Studio,
    *,
    episode: int,
    project: str | None = None,
    backend: str = "animatic",
    retry_of: str | None = None,
) -> RenderRecord:
    """Start rendering an episode in a detached process and return its record.

    The process gets the studio's home and database through the environment (a URL
    with a password never appears on a command line).
    """
    folder = studio.home / RECORDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    record = RenderRecord(
        id=f"{stamp}-e{episode}",
        episode=episode,
        project=project,
        backend=backend,
        retry_of=retry_of,
        started_at=_now(),
        path=folder / f"{stamp}-e{episode}.json",
    )
    record.save()
    environment = {
        **os.environ,
        "STUDIO_HOME": str(studio.home),
        "STUDIO_DATABASE_URL": studio.settings.database_url,
        # The child's output goes to a file; no buffering so the log is live.
        "PYTHONUNBUFFERED": "1",
    }
    with open(record.log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "studio._renders", str(record.path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            # Its own session: closing the tab (the kernel's process group) never stops it.
            start_new_session=True,
            close_fds=True,
        )
    # Only the child writes the record from now on (it sets its pid first thing), so
    # the two processes never race on the file.
    _CHILDREN[record.id] = process  # keep the handle so this process reaps the exit
    return replace(record, pid=process.pid)


def retry_render(studio: Studio, record: RenderRecord) -> RenderRecord:
    """Start the same render again; finished segments are kept and not redone."""
    if record.active and _alive(record.pid):
        raise StudioError(f"episode {record.episode} is still rendering; cancel it first")
    return launch_render(
        studio, episode=record.episode, project=record.project, backend=record.backend, retry_of=record.id
    )


def list_renders(studio: Studio, *, limit: int = 20) -> list[RenderRecord]:
    """The most recent dashboard renders, newest first.

    A record that says it is running but whose process has ended (killed, machine
    rebooted) is reported as failed, with the end of its log as the message.
    """
    folder = studio.home / RECORDS_DIR
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json"), reverse=True)[:limit]:
        try:
            record = RenderRecord.load(path)
        except (OSError, ValueError, TypeError):
            continue  # being written for the first time, or not ours
        child = _CHILDREN.get(record.id)
        exited = child is not None and child.poll() is not None  # poll() also reaps it
        if record.active and (exited or (record.pid is not None and not _alive(record.pid))):
            record = _reread_after_exit(record)
        records.append(record)
    return records


def _reread_after_exit(record: RenderRecord) -> RenderRecord:
    # The process may have finished writing between our read and the liveness check.
    assert record.path is not None
    fresh = RenderRecord.load(record.path)
    if not fresh.active:
        return fresh
    tail = fresh.log_tail(3).strip().splitlines()
    reason = tail[-1] if tail else "no output"
    return replace(fresh, status="failed", message=f"the render process stopped unexpectedly: {reason}")


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive for our purpose.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


# ------------------------------------------------------------------ the render process


def main(argv: list[str] | None = None) -> int:
    """Run the render a record describes (``python -m studio._renders RECORD``)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m studio._renders RECORD.json", file=sys.stderr)
        return 2
    path = Path(args[0])
    record = replace(RenderRecord.load(path), status="running", pid=os.getpid())
    record.save()
    last_write = 0.0

    def progress(event: Any) -> None:
        nonlocal record, last_write
        record = replace(record, fraction=float(event.fraction), message=str(event.message))
        print(f"{event.fraction:6.1%} {event.message}", flush=True)
        now = time.monotonic()
        if now - last_write >= _PROGRESS_INTERVAL:
            last_write = now
            record.save()

    try:
        from studio._pipeline import render_episode
    except ImportError as error:
        message = f"this studio has no render pipeline yet ({error})"
        record = replace(record, status="failed", message=message, ended_at=_now())
        record.save()
        return 1
    try:
        with Studio.open() as studio:
            summary = render_episode(
                studio,
                episode=record.episode,
                project=record.project,
                backend=record.backend,
                progress=progress,
                should_cancel=lambda: record.cancel_requested,
            )
        record = replace(
            record,
            status="succeeded",
            fraction=1.0,
            message="finished",
            video=str(summary.episode_video),
            report=str(summary.report) if summary.report else None,
            ended_at=_now(),
        )
        code = 0
    except BaseException as error:  # recorded for the panel, whatever it is
        cancelled = record.cancel_requested
        if not isinstance(error, StudioError | KeyboardInterrupt) or not cancelled:
            traceback.print_exc()
        status = "cancelled" if cancelled else "failed"
        message = "cancelled; finished segments are kept" if cancelled else str(error) or type(error).__name__
        record = replace(record, status=status, message=message, ended_at=_now())
        code = 130 if cancelled else 1
    record.save()
    print(f"render {record.status}: {record.message}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
