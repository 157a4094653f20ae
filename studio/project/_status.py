"""What is in the studio: projects, episodes, scenes and segments with their states."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from studio.storage._database import Database
from studio.storage._models import (
    CharacterModel,
    EpisodeModel,
    ProjectModel,
    SceneModel,
    SegmentModel,
)
from studio.storage._queries import find_or_raise_project
from studio.storage._states import EpisodeState, ProjectState

__all__ = ["format_status", "project_status"]


def project_status(database: Database, *, project: str | None = None) -> list[dict[str, Any]]:
    """A JSON-ready tree: projects → characters, episodes → scenes → segment counts.

    Segment counts come from one grouped query, so a project of 50 episodes × 20 scenes
    costs four queries, not a thousand.
    """
    with database.session() as session:
        query = select(ProjectModel).order_by(ProjectModel.id)
        if project is not None:
            # Any case, and a did-you-mean when nothing matches, as every --project.
            query = query.where(ProjectModel.id == find_or_raise_project(session, project).id)
        projects = list(session.scalars(query))
        counts: dict[int, Counter[str]] = {}
        for scene_id, status, n in session.execute(
            select(SegmentModel.scene_id, SegmentModel.status, func.count()).group_by(
                SegmentModel.scene_id, SegmentModel.status
            )
        ):
            counts.setdefault(scene_id, Counter())[status] = n
        result = []
        for row in projects:
            characters = session.scalars(
                select(CharacterModel.character_name)
                .where(CharacterModel.project_id == row.id)
                .order_by(CharacterModel.id)
            ).all()
            scenes_by_episode: dict[int | None, list[SceneModel]] = {}
            for scene in session.scalars(
                select(SceneModel).where(SceneModel.movie_id == row.id).order_by(SceneModel.scene_number)
            ):
                scenes_by_episode.setdefault(scene.episode_id, []).append(scene)
            episodes = session.scalars(
                select(EpisodeModel)
                .where(EpisodeModel.movie_id == row.id)
                .order_by(EpisodeModel.episode_number)
            ).all()
            result.append(
                {
                    "project": row.title,
                    "status": _project_state(
                        row.status,
                        [e.status for e in episodes],
                        started=any(counts.get(s.id) for group in scenes_by_episode.values() for s in group),
                    ),
                    "fps": row.target_fps,
                    "size": [row.resolution_width, row.resolution_height],
                    "characters": list(characters),
                    "episodes": [
                        {
                            "number": episode.episode_number,
                            "title": episode.title,
                            "status": episode.status,
                            "video": episode.final_video_path,
                            "report": episode.report_path,
                            "scenes": [
                                _scene_entry(scene, counts.get(scene.id, Counter()))
                                for scene in scenes_by_episode.get(episode.id, [])
                            ],
                        }
                        for episode in episodes
                    ],
                }
            )
        return result


def _project_state(stored: str, episodes: list[str], *, started: bool) -> str:
    """What the project's episodes say: nothing rendered yet is ``planning``; every
    episode rendered is ``completed``; anything in between (``started``: some segment
    exists) is ``in_production``.

    A project row keeps ``planning`` from its import (no render writes it); an archived
    project stays archived.
    """
    if stored == ProjectState.ARCHIVED or not episodes:
        return stored
    if all(status == EpisodeState.COMPLETED for status in episodes):
        return ProjectState.COMPLETED.value
    if started or any(status != EpisodeState.PENDING for status in episodes):
        return ProjectState.IN_PRODUCTION.value
    return stored


def _scene_entry(scene: SceneModel, counts: Counter[str]) -> dict[str, Any]:
    return {
        "number": scene.scene_number,
        "title": scene.scene_title,
        "status": scene.status,
        "duration": scene.target_duration_seconds,
        "characters": [c["name"] for c in (scene.spec or {}).get("characters", [])],
        "segments": dict(sorted(counts.items())),
        "video": scene.final_video_path,
    }


def format_status(projects: list[dict[str, Any]]) -> str:
    """A plain-text table for the terminal."""
    if not projects:
        return "No projects yet. Import a screenplay with `studio import FILE` or run `studio demo`."
    lines: list[str] = []
    for project in projects:
        width, height = project["size"]
        lines.append(f"{project['project']}  [{project['status']}]  {width}x{height} @ {project['fps']} fps")
        lines.append(f"  characters: {', '.join(project['characters']) or '-'}")
        for episode in project["episodes"]:
            title = f" {episode['title']}" if episode["title"] else ""
            lines.append(f"  episode {episode['number']}:{title}  [{episode['status']}]")
            lines.append(f"    {'scene':>5}  {'status':<10} {'secs':>5}  {'segments':<24} characters")
            for scene in episode["scenes"]:
                segments = ", ".join(f"{n} {s}" for s, n in scene["segments"].items()) or "-"
                lines.append(
                    f"    {scene['number']:>5}  {scene['status']:<10} {scene['duration']:>5g}  "
                    f"{segments:<24} {', '.join(scene['characters']) or '-'}"
                )
            if episode["video"]:
                lines.append(f"    video: {episode['video']}")
    return "\n".join(lines)
