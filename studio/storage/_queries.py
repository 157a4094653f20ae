"""Lookups by the names users type: ``find_*`` may return ``None``, ``find_or_raise_*``
raises :class:`~studio.NotFoundError` with a message that lists what does exist.

Every function runs inside the caller's session and never commits.
"""

from __future__ import annotations

import difflib

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio._exceptions import NotFoundError
from studio.storage._models import EpisodeModel, ProjectModel, SceneModel

__all__ = [
    "find_episode",
    "find_or_raise_episode",
    "find_or_raise_project",
    "find_or_raise_scene",
    "find_scene",
]


def find_or_raise_project(session: Session, title: str | None) -> ProjectModel:
    """The project titled ``title`` (any case), or the only project when ``title`` is None.

    Raises:
        NotFoundError: no project matches (the message suggests the closest title and
            lists the others), the title matches several projects only by case, or
            ``title`` is None and there is not exactly one project.
    """
    projects = list(session.scalars(select(ProjectModel).order_by(ProjectModel.id)))
    if title is not None:
        return _project_titled(projects, title)
    if not projects:
        raise NotFoundError("the database holds no project yet; run `studio import FILE` or `studio demo`")
    if len(projects) > 1:
        titles = ", ".join(repr(p.title) for p in projects)
        raise NotFoundError(
            f"several projects exist ({titles}); name the one you mean "
            "(--project on the command line, project=... in Python)"
        )
    return projects[0]


def _project_titled(projects: list[ProjectModel], title: str) -> ProjectModel:
    exact = [p for p in projects if p.title == title]
    if exact:
        return exact[0]
    wanted = title.strip().casefold()
    folded = [p for p in projects if p.title.casefold() == wanted]
    if len(folded) == 1:
        return folded[0]
    if folded:
        titles = ", ".join(repr(p.title) for p in folded)
        raise NotFoundError(f"{title!r} matches several projects by case ({titles}); give the exact title")
    by_fold = {p.title.casefold(): p.title for p in projects}
    close = difflib.get_close_matches(wanted, list(by_fold), n=1, cutoff=0.6)
    hint = f" (did you mean {by_fold[close[0]]!r}?)" if close else ""
    known = ", ".join(repr(p.title) for p in projects) or "none (run `studio import FILE`)"
    raise NotFoundError(f"no project titled {title!r}{hint}; projects: {known}")


def find_episode(session: Session, project: ProjectModel, number: int) -> EpisodeModel | None:
    return session.scalars(
        select(EpisodeModel).where(EpisodeModel.movie_id == project.id, EpisodeModel.episode_number == number)
    ).one_or_none()


def find_or_raise_episode(session: Session, project: ProjectModel, number: int) -> EpisodeModel:
    """Episode ``number`` of ``project``.

    Raises:
        NotFoundError: it does not exist (the message lists the episodes that do).
    """
    episode = find_episode(session, project, number)
    if episode is None:
        known = [
            str(n)
            for n in session.scalars(
                select(EpisodeModel.episode_number)
                .where(EpisodeModel.movie_id == project.id)
                .order_by(EpisodeModel.episode_number)
            )
        ]
        listed = ", ".join(known) if known else "none"
        raise NotFoundError(f"episode {number} does not exist in {project.title!r}; episodes: {listed}")
    return episode


def find_scene(session: Session, project: ProjectModel, number: int) -> SceneModel | None:
    return session.scalars(
        select(SceneModel).where(SceneModel.movie_id == project.id, SceneModel.scene_number == number)
    ).one_or_none()


def find_or_raise_scene(session: Session, project: ProjectModel, number: int) -> SceneModel:
    """Scene ``number`` of ``project`` (scene numbers are unique within a project).

    Raises:
        NotFoundError: it does not exist.
    """
    scene = find_scene(session, project, number)
    if scene is None:
        raise NotFoundError(f"there is no scene {number} in {project.title!r}")
    return scene
