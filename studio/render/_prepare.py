"""Prepare an episode for rendering: memory, segment plans and stored prompts.

Everything here is decided before a pixel is generated, from the database alone, so
``studio prompts`` can show exactly what ``studio render`` will send.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio._exceptions import RenderError
from studio.backends import Backend
from studio.render._compose import compose_negative, compose_prompt
from studio.render._memory import SceneBrief, load_scene_brief, propagate_memory, segment_action
from studio.render._plan import plan_segments
from studio.render._takes import pending_retake
from studio.storage._models import SceneModel, SegmentModel
from studio.storage._queries import find_or_raise_episode, find_or_raise_project
from studio.storage._states import SceneState, SegmentState

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["base_seed", "episode_dir", "prepare_episode", "slug"]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "project"


def episode_dir(home: Path, project: str, episode: int) -> Path:
    return home / "renders" / slug(project) / f"episode_{episode:02d}"


def prepare_episode(
    studio: Studio,
    *,
    episode: int,
    project: str | None = None,
    backend: Backend | None = None,
    parameters: Mapping[str, Any] | None = None,
    scene_seconds: Mapping[int, float] | None = None,
) -> list[SceneBrief]:
    """Propagate memory, plan every scene and store each segment's prompts.

    ``scene_seconds`` lengthens scenes (by number) whose dialogue outlasts them
    (:func:`studio.sound.speak_episode`); the longer duration is kept on the scene
    (``target_duration_seconds``) until the screenplay changes it. A finished scene that
    is now too short is planned again.

    Idempotent: completed segments are kept; stale scenes lose their old segments (rows
    and files) and are planned again. Returns the scenes in order.

    Args:
        backend: The backend that will render; its limit for ``parameters`` (e.g. a
            ComfyUI template's longest segment) splits the scenes. Without one, the
            animatic's limit.

    Raises:
        NotFoundError: the project or episode does not exist.
        RenderError: the episode has no scenes.
    """
    backend_limit = _max_segment_seconds(backend, parameters or {})
    with studio.database.session() as session:
        project_row = find_or_raise_project(session, project)
        episode_row = find_or_raise_episode(session, project_row, episode)
        if not episode_row.scenes:
            raise RenderError(
                f"episode {episode} of {project_row.title!r} has no scenes; add scenes to the "
                "screenplay and import it again",
                episode=episode,
            )
        propagate_memory(session, project_row)
        session.flush()
        briefs = []
        for scene in episode_row.scenes:
            brief = load_scene_brief(session, scene)
            # An extension is kept on the scene row, so every later plan (`studio prompts`,
            # a report's fail-fast check) agrees with the render that extended it.
            seconds = max(
                (scene_seconds or {}).get(scene.scene_number, 0.0), scene.target_duration_seconds or 0.0
            )
            if seconds > brief.spec.duration:
                scene.target_duration_seconds = seconds
                brief = dataclasses.replace(
                    brief,
                    spec=brief.spec.model_copy(update={"duration": seconds}),
                    context=dataclasses.replace(brief.context, duration_seconds=seconds),
                )
                too_short = (scene.actual_duration_seconds or 0.0) < seconds - 0.5 / brief.defaults.fps
                if scene.status in ("completed", "review") and too_short:
                    scene.status = "stale"
            _plan_scene_without_commit(session, studio.home, scene, brief, backend_limit)
            briefs.append(brief)
        return briefs


def _plan_scene_without_commit(
    session: Any, home: Path, scene: SceneModel, brief: SceneBrief, max_segment_seconds: float
) -> None:
    if scene.status == SceneState.STALE:
        for segment in list(scene.segments):
            _remove_files(home, segment)
            session.delete(segment)
        scene.segments.clear()
        scene.final_video_path = None
        scene.exit_keyframe_path = None
        scene.status = SceneState.PENDING
        session.flush()
    fps = brief.defaults.fps
    plan = plan_segments(brief.spec.duration, max_segment_seconds=max_segment_seconds, fps=fps)
    existing = {s.segment_number: s for s in scene.segments}
    for planned in plan:
        prompt = compose_prompt(brief.inputs, action=segment_action(brief.spec, planned.number))
        negative = compose_negative(brief.inputs)
        row = existing.pop(planned.number, None)
        if row is None:
            row = SegmentModel(scene_id=scene.id, segment_number=planned.number, status=SegmentState.PENDING)
            session.add(row)
        finished = row.status in (SegmentState.COMPLETED, SegmentState.REVIEW, SegmentState.APPROVED)
        if (finished and row.duration_seconds == planned.duration_seconds) or pending_retake(row):
            continue  # finished work, or a queued retake with its own seed and notes
        accepted = (row.meta or {}).get("assistant_prompt")
        if accepted:  # an accepted Echo Brain suggestion (a stale scene starts over without it)
            prompt, negative = accepted["prompt"], accepted["negative_prompt"]
        row.motion_prompt = prompt
        row.negative_prompt = negative
        row.duration_seconds = planned.duration_seconds
        row.fps = fps
        row.seed = base_seed(brief.project, scene.scene_number, planned.number)
    for leftover in existing.values():  # the plan shrank (a different backend limit)
        _remove_files(home, leftover)
        session.delete(leftover)
    scene.total_segments = len(plan)


def _remove_files(home: Path, segment: SegmentModel) -> None:
    """A segment's files, every take's included (take folders go with them)."""
    for path in (segment.output_video_path, segment.first_frame_path, segment.last_frame_path):
        if path:
            (home / path).unlink(missing_ok=True)
    for take in segment.takes:
        for path in (take.output_video_path, take.first_frame_path, take.last_frame_path):
            if path:
                (home / path).unlink(missing_ok=True)
        if take.output_dir:
            shutil.rmtree(home / take.output_dir, ignore_errors=True)


def base_seed(project: str, scene: int, segment: int) -> int:
    """A stable seed per segment: the same screenplay renders the same frames."""
    text = f"{project}/{scene}/{segment}".encode()
    value = 2166136261
    for byte in text:  # FNV-1a: stable across processes, unlike hash()
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def _max_segment_seconds(backend: Backend | None, parameters: Mapping[str, Any]) -> float:
    if backend is not None:
        return backend.segment_limit(parameters)
    from studio.backends._animatic import MAX_SEGMENT_SECONDS

    return float(MAX_SEGMENT_SECONDS)
