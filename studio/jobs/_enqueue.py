"""Turning "render episodes 1-12" into validated queue rows.

Everything is checked before anything is queued: the range syntax, the project, that
each episode exists, the backend name. Either every requested episode gets a job or
none does, with a message that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.backends import available_backends as registered_backends
from studio.jobs._records import InvalidJobError, JobStatus
from studio.jobs._store import DEFAULT_MAX_ATTEMPTS, enqueue
from studio.storage._database import Database
from studio.storage._models import EpisodeModel, JobModel, ProjectModel
from studio.storage._queries import find_or_raise_project

if TYPE_CHECKING:
    from studio._studio import Studio
    from studio.render import RetakeSelection

__all__ = [
    "EnqueueResult",
    "RETAKE_JOB_TYPE",
    "enqueue_renders",
    "enqueue_retake",
    "format_episodes",
    "parse_episodes",
    "resolve_episodes",
]

RENDER_JOB_TYPE = "render_episode"
RETAKE_JOB_TYPE = "retake"

_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_episodes(spec: str) -> list[int]:
    """Episode numbers from ``"3"``, ``"1-12"`` or ``"1,3,5-7"`` (sorted, no duplicates).

    Raises:
        InvalidJobError: empty, not numbers, a number below 1, or a range that runs
            backwards such as ``5-2`` (the message quotes the bad part).
    """
    if not spec or not spec.strip():
        raise InvalidJobError("no episodes given; write e.g. --episodes 1-12 or --episodes 1,3,5-7")
    numbers: set[int] = set()
    for part in spec.split(","):
        match = _PART.match(part)
        if match is None:
            raise InvalidJobError(
                f"bad episode list {spec!r}: {part.strip()!r} is not a number or a range like 1-12"
            )
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) is not None else start
        if start < 1:
            raise InvalidJobError(f"bad episode list {spec!r}: episode numbers start at 1")
        if end < start:
            raise InvalidJobError(
                f"bad episode range {part.strip()!r}: it runs backwards; write {end}-{start}"
            )
        numbers.update(range(start, end + 1))
    return sorted(numbers)


def format_episodes(numbers: Sequence[int]) -> str:
    """The inverse of :func:`parse_episodes`: ``[1, 2, 3, 5]`` → ``"1-3, 5"``."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


def resolve_episodes(database: Database, numbers: Sequence[int], *, project: str | None) -> str:
    """Check that the project exists and has every episode; return the project's title.

    Raises:
        InvalidJobError: an episode does not exist (the message lists those that do).
        NotFoundError: no such project, or several and none chosen.
    """
    with database.session() as session:
        found, _ = _resolve_without_commit(session, numbers, project)
        return found.title


def _resolve_without_commit(
    session: Session, numbers: Sequence[int], project: str | None
) -> tuple[ProjectModel, dict[int, EpisodeModel]]:
    found = find_or_raise_project(session, project)
    rows = session.scalars(select(EpisodeModel).where(EpisodeModel.movie_id == found.id)).all()
    by_number = {row.episode_number: row for row in rows}
    missing = [n for n in numbers if n not in by_number]
    if missing:
        have = format_episodes(list(by_number)) or "none"
        raise InvalidJobError(
            f"{found.title!r} has no episode {format_episodes(missing)} (it has {have}); nothing was queued"
        )
    return found, by_number


@dataclass(frozen=True)
class EnqueueResult:
    """Jobs created (episode → job id) and episodes skipped because a render job for
    them is already queued or running (episode → that job's id)."""

    project: str
    created: dict[int, int] = field(default_factory=dict)
    already_active: dict[int, int] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"{self.project}: queued {len(self.created)} render job(s)"]
        for episode, job_id in self.created.items():
            lines.append(f"  episode {episode}: job {job_id}")
        for episode, job_id in self.already_active.items():
            lines.append(f"  episode {episode}: skipped, job {job_id} is already queued or running")
        return "\n".join(lines)


def enqueue_renders(
    database: Database,
    episodes: str | Sequence[int],
    *,
    project: str | None = None,
    backend: str = "animatic",
    priority: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    available_backends: Sequence[str] = (),
    render_pass: str | None = None,
) -> EnqueueResult:
    """Queue one ``render_episode`` job per episode, in episode order.

    An episode that already has a queued or running render job is skipped (two workers
    rendering one episode at once would fight over its segments).

    Args:
        database: The queue.
        episodes: A spec for :func:`parse_episodes`, or the numbers themselves.
        project: The project's title; may be left out when the database holds one.
        backend: Generation backend for the render.
        priority: Higher runs first; equal priorities run in the order queued.
        max_attempts: Claims allowed before an expired lease fails the job.
        available_backends: Extra backend names to accept besides those registered in
            :mod:`studio.backends` (a worker may load more with ``--import``).
        render_pass: ``previs`` or ``final``; ``None`` for the backend's default (previs
            on the animatic, final otherwise). Travels in the job's parameters.

    Raises:
        InvalidJobError: a bad range, an unknown episode or backend (nothing queued).
        NotFoundError: no such project, or several and none chosen.
    """
    numbers = parse_episodes(episodes) if isinstance(episodes, str) else sorted(set(episodes))
    if not numbers:
        raise InvalidJobError("no episodes given")
    # The registry names every backend (ComfyUI's is registered even where no server is
    # configured), so a job queued here can name what a GPU worker will run.
    backends = sorted(set(registered_backends()) | set(available_backends))
    if backend not in backends:
        raise InvalidJobError(f"unknown backend {backend!r}; choose one of: {', '.join(backends)}")
    if max_attempts < 1:
        raise InvalidJobError(f"max_attempts must be at least 1, got {max_attempts}")
    if render_pass not in (None, "previs", "final"):
        raise InvalidJobError(f"unknown render pass {render_pass!r}; choose previs or final")
    parameters: dict[str, object] = {"backend": backend}
    if render_pass is not None:
        parameters["render_pass"] = render_pass
    with database.session() as session:
        found, by_number = _resolve_without_commit(session, numbers, project)
        active = session.scalars(
            select(JobModel).where(
                JobModel.job_type == RENDER_JOB_TYPE,
                JobModel.status.in_((JobStatus.QUEUED.value, JobStatus.RUNNING.value)),
                JobModel.episode_id.in_([by_number[n].id for n in numbers]),
            )
        ).all()
        busy = {job.episode_id: job.id for job in active}
        result = EnqueueResult(project=found.title)
        pending: list[tuple[int, JobModel]] = []
        for number in numbers:
            episode = by_number[number]
            if episode.id in busy:
                result.already_active[number] = busy[episode.id]
                continue
            job = JobModel(
                job_type=RENDER_JOB_TYPE,
                status=JobStatus.QUEUED.value,
                priority=priority,
                progress=0,
                attempts=0,
                max_attempts=max_attempts,
                project_id=found.id,
                episode_id=episode.id,
                parameters={"episode": number, "project": found.title, **parameters},
                cancel_requested=False,
                meta={},
            )
            session.add(job)
            pending.append((number, job))
        session.flush()
        for number, job in pending:
            result.created[number] = job.id
        return result


def enqueue_retake(
    studio: Studio,
    *,
    project: str | None = None,
    segment: int | None = None,
    scene: int | None = None,
    episode: int | None = None,
    start: float | None = None,
    end: float | None = None,
    notes: str = "",
    backend: str | None = None,
    render_pass: str | None = None,
    max_attempts: int | None = None,
    priority: int = 0,
) -> tuple[int, RetakeSelection]:
    """Mark a retake (as :func:`studio.render.retake` does) and queue a ``retake`` job
    that renders it; returns the job id and the selection.

    The marks are committed before the job exists, so a worker that dies mid-retake
    leaves them for the next claim. With no selection at all (only ``episode``), the
    job renders whatever is already queued (e.g. by rejections in the panels).

    Raises:
        RenderError: a bad selection.
        NotFoundError: the project, episode, scene or segment does not exist.
        InvalidJobError: ``backend`` is not a known backend.
    """
    from studio.render import RetakeSelection, queue_retake, select_segments
    from studio.storage import find_or_raise_episode

    if backend is not None and backend not in registered_backends():
        known = ", ".join(registered_backends())
        raise InvalidJobError(f"unknown backend {backend!r}; known backends: {known}")
    if segment is None and scene is None and start is None and end is None:
        if episode is None:
            raise InvalidJobError("name the episode whose queued retakes to render: --episode N")
        with studio.database.session() as session:
            title = find_or_raise_project(session, project).title
        selection = RetakeSelection(project=title, episode=episode, segment_ids=(), scenes=())
    else:
        selection = select_segments(
            studio, project=project, segment=segment, scene=scene, episode=episode, start=start, end=end
        )
        queue_retake(studio, selection, notes=notes, backend=backend, render_pass=render_pass)
    with studio.database.session() as session:
        project_row = find_or_raise_project(session, selection.project)
        episode_id = find_or_raise_episode(session, project_row, selection.episode).id
        project_id = project_row.id
    parameters: dict[str, object] = {"episode": selection.episode, "project": selection.project}
    if max_attempts:
        parameters["max_attempts"] = max_attempts
    job_id = enqueue(
        studio.database,
        RETAKE_JOB_TYPE,
        parameters=parameters,
        priority=priority,
        project_id=project_id,
        episode_id=episode_id,
    )
    return job_id, selection
