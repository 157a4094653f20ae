"""Read models for the panels: projects, characters, episodes, scenes, segments, progress.

Small queries shaped for one screen each, so a project of 50 episodes x 20 scenes loads
one episode at a time: the episode list costs three queries, a scene list two, whatever
the size of the project. Media paths come back absolute (they are stored relative to
the studio home). Nothing here writes, and nothing imports ipywidgets or IPython.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from studio._exceptions import NotFoundError
from studio._studio import Studio
from studio.project._screenplay import CharacterSpec, SceneSpec
from studio.storage._models import (
    CharacterModel,
    EpisodeModel,
    ProjectModel,
    SceneModel,
    SegmentModel,
)
from studio.storage._queries import find_episode, find_or_raise_project, find_or_raise_scene
from studio.storage._states import EpisodeState, SegmentState

__all__ = [
    "SCORE_NAMES",
    "EpisodeRow",
    "Progress",
    "QualityRow",
    "SceneDetail",
    "SceneRow",
    "SegmentRow",
    "ServerHealth",
    "absolute_path",
    "episode_progress",
    "list_characters",
    "list_episodes",
    "list_projects",
    "list_scenes",
    "list_segments",
    "quality_rows",
    "review_state",
    "scene_detail",
    "segment_scores",
    "server_health",
]

# The scores a segment's ``scores`` JSON holds (studio.quality.Scores field names).
SCORE_NAMES = ("overall", "frame_consistency", "motion_smoothness", "seam_continuity", "color_stability")


# ------------------------------------------------------------------------ read models


@dataclass(frozen=True)
class EpisodeRow:
    """One episode with its segment counts (for the storyboard's episode list)."""

    number: int
    title: str
    status: str
    scenes: int
    segments_done: int
    segments_planned: int
    video: Path | None


@dataclass(frozen=True)
class SceneRow:
    """One scene of an episode with its segment counts."""

    number: int
    title: str
    status: str
    duration: float
    characters: list[str]
    segments_done: int
    segments_planned: int
    video: Path | None


@dataclass(frozen=True)
class SceneDetail:
    """A scene's screenplay spec and its media, for editing and previews."""

    row: SceneRow
    episode: int
    spec: SceneSpec
    entry_frame: Path | None
    exit_frame: Path | None


@dataclass(frozen=True)
class SegmentRow:
    """One segment: its composed prompt, its frames, its video, its scores and review."""

    id: int
    scene: int
    number: int
    status: str
    prompt: str
    negative_prompt: str
    first_frame: Path | None
    last_frame: Path | None
    video: Path | None
    attempts: int
    error: str | None
    scores: dict[str, float | None]
    seam: dict[str, Any]
    events: list[dict[str, Any]]
    review: dict[str, Any] | None
    decision: dict[str, Any] = field(default_factory=dict)
    preview: Path | None = None

    @property
    def shown_status(self) -> str:
        """The status a person reads: a reviewed segment shows its verdict (see :func:`review_state`)."""
        return review_state(self.status, self.review)


@dataclass(frozen=True)
class Progress:
    """How far an episode's render is, read from the database.

    ``fraction`` is completed segments over planned segments, held below 1.0 until the
    episode itself is completed (its video is stitched), so a full bar means a playable
    result.
    """

    episode: int
    status: str
    done: int
    planned: int
    fraction: float
    segment_statuses: dict[str, int] = field(default_factory=dict)
    video: Path | None = None
    preview: Path | None = None


@dataclass(frozen=True)
class QualityRow:
    """Per-segment scores for the quality charts (``label`` is ``"3.2"``: scene 3, segment 2)."""

    segment_id: int
    scene: int
    segment: int
    label: str
    status: str
    scores: dict[str, float | None]
    seam_jump_ratio: float | None
    events: list[dict[str, Any]]
    review: dict[str, Any] | None
    video: Path | None = None
    preview: Path | None = None

    @property
    def shown_status(self) -> str:
        """The status a person reads: a reviewed segment shows its verdict."""
        return review_state(self.status, self.review)


def review_state(status: str, review: dict[str, Any] | None) -> str:
    """``approved`` or ``rejected`` once a person reviewed a finished segment, else ``status``.

    A segment kept for review (``review``) or completed is what a reviewer judges; a
    segment that is being rendered again shows that instead of an older verdict.
    """
    verdict = (review or {}).get("verdict")
    finished = status in (SegmentState.COMPLETED, SegmentState.REVIEW)
    return str(verdict) if finished and verdict in ("approved", "rejected") else status


def list_projects(studio: Studio) -> list[str]:
    """Every project title, oldest first."""
    with studio.database.session() as session:
        return list(session.scalars(select(ProjectModel.title).order_by(ProjectModel.id)))


def list_characters(studio: Studio, *, project: str | None = None) -> list[CharacterSpec]:
    """The project's characters as screenplay specs (reference images as absolute paths)."""
    with studio.database.session() as session:
        row = find_or_raise_project(session, project)
        rows = session.scalars(
            select(CharacterModel).where(CharacterModel.project_id == row.id).order_by(CharacterModel.id)
        ).all()
        specs = []
        for character in rows:
            spec = CharacterSpec.model_validate(
                (character.meta or {}).get("spec", {"name": character.character_name})
            )
            images = [str(absolute_path(studio, image)) for image in spec.reference_images]
            specs.append(spec.model_copy(update={"reference_images": images}))
        return specs


def list_episodes(studio: Studio, *, project: str | None = None) -> list[EpisodeRow]:
    """Every episode of the project with scene and segment counts (three queries in all)."""
    with studio.database.session() as session:
        row = find_or_raise_project(session, project)
        scene_counts = dict(
            session.execute(
                select(SceneModel.episode_id, func.count())
                .where(SceneModel.movie_id == row.id)
                .group_by(SceneModel.episode_id)
            ).all()
        )
        done: Counter[int | None] = Counter()
        planned: Counter[int | None] = Counter()
        for episode_id, status, count in session.execute(
            select(SceneModel.episode_id, SegmentModel.status, func.count())
            .join(SegmentModel, SegmentModel.scene_id == SceneModel.id)
            .where(SceneModel.movie_id == row.id)
            .group_by(SceneModel.episode_id, SegmentModel.status)
        ):
            planned[episode_id] += count
            if status in (SegmentState.COMPLETED, SegmentState.APPROVED):
                done[episode_id] += count
        episodes = session.scalars(
            select(EpisodeModel).where(EpisodeModel.movie_id == row.id).order_by(EpisodeModel.episode_number)
        ).all()
        return [
            EpisodeRow(
                number=e.episode_number,
                title=e.title or "",
                status=e.status,
                scenes=scene_counts.get(e.id, 0),
                segments_done=done[e.id],
                segments_planned=planned[e.id],
                video=absolute_path(studio, e.final_video_path),
            )
            for e in episodes
        ]


def _scenes_of(session: Session, episode: EpisodeModel) -> list[SceneModel]:
    return list(
        session.scalars(
            select(SceneModel).where(SceneModel.episode_id == episode.id).order_by(SceneModel.scene_number)
        )
    )


def list_scenes(studio: Studio, episode: int, *, project: str | None = None) -> list[SceneRow]:
    """The scenes of one episode, in order, with segment counts (two queries)."""
    with studio.database.session() as session:
        episode_row = _episode(session, episode, project)
        scenes = _scenes_of(session, episode_row)
        counts = _segment_counts(session, [s.id for s in scenes])
        return [_scene_row(studio, s, counts.get(s.id, Counter())) for s in scenes]


def scene_detail(studio: Studio, scene: int, *, project: str | None = None) -> SceneDetail:
    """One scene's spec, status and media paths."""
    with studio.database.session() as session:
        row = _scene(session, scene, project)
        counts = _segment_counts(session, [row.id])
        episode_number = row.episode.episode_number if row.episode is not None else 0
        return SceneDetail(
            row=_scene_row(studio, row, counts.get(row.id, Counter())),
            episode=episode_number,
            spec=SceneSpec.model_validate(row.spec),
            entry_frame=absolute_path(studio, row.entry_keyframe_path),
            exit_frame=absolute_path(studio, row.exit_keyframe_path),
        )


def list_segments(studio: Studio, scene: int, *, project: str | None = None) -> list[SegmentRow]:
    """The segments of one scene, in order."""
    with studio.database.session() as session:
        row = _scene(session, scene, project)
        return [_segment_row(studio, row.scene_number, s) for s in row.segments]


def episode_progress(studio: Studio, episode: int, *, project: str | None = None) -> Progress:
    """Render progress of one episode, from the database alone.

    Another process may be rendering: this reads what it has committed. Planned
    segments per scene are the larger of the scene's ``total_segments`` and its
    segment rows (rows appear as the pipeline plans them).
    """
    with studio.database.session() as session:
        episode_row = _episode(session, episode, project)
        scenes = session.scalars(select(SceneModel).where(SceneModel.episode_id == episode_row.id)).all()
        counts = _segment_counts(session, [s.id for s in scenes])
        statuses: Counter[str] = Counter()
        done = planned = 0
        preview = _latest_preview(studio, session, [s.id for s in scenes])
        for scene in scenes:
            scene_counts = counts.get(scene.id, Counter())
            statuses.update(scene_counts)
            rows = sum(scene_counts.values())
            planned += max(scene.total_segments or 0, rows)
            # A segment kept for review is finished work too: the render has moved on.
            done += sum(
                scene_counts.get(state, 0)
                for state in (SegmentState.COMPLETED, SegmentState.REVIEW, SegmentState.APPROVED)
            )
        video = absolute_path(studio, episode_row.final_video_path)
        finished = episode_row.status == EpisodeState.COMPLETED and video is not None
        if finished:
            fraction = 1.0
        elif planned:
            # Never a full bar before the episode video exists (stitching still runs).
            fraction = min(done / planned, 0.99)
        else:
            fraction = 0.0
        return Progress(
            episode=episode,
            status=episode_row.status,
            done=done,
            planned=planned,
            fraction=fraction,
            segment_statuses=dict(sorted(statuses.items())),
            video=video,
            preview=preview,
        )


def _latest_preview(studio: Studio, session: Session, scene_ids: Sequence[int]) -> Path | None:
    """The newest frame on disk of a render in progress: a segment's preview image
    (``meta["thumbnail"]``, rewritten by a backend such as ComfyUI while it samples),
    else the last frame of the segment that finished last; the newest file wins, so with
    scenes rendering side by side the picture that moved last is shown."""
    if not scene_ids:
        return None
    rows = session.scalars(
        select(SegmentModel)
        .where(SegmentModel.scene_id.in_(list(scene_ids)))
        .where(SegmentModel.status != SegmentState.PENDING)
        .order_by(SegmentModel.updated_at.desc(), SegmentModel.id.desc())
        .limit(8)
    ).all()
    newest: tuple[float, Path] | None = None
    for segment in rows:
        for path in (_thumbnail(studio, segment), absolute_path(studio, segment.last_frame_path)):
            if path is None:
                continue
            try:
                modified = path.stat().st_mtime
            except OSError:  # not written yet, or removed as its segment ended
                continue
            if newest is None or modified > newest[0]:
                newest = (modified, path)
    return newest[1] if newest is not None else None


def _thumbnail(studio: Studio, segment: SegmentModel) -> Path | None:
    value = (segment.meta or {}).get("thumbnail")
    return absolute_path(studio, value) if isinstance(value, str) else None


def quality_rows(studio: Studio, episode: int, *, project: str | None = None) -> list[QualityRow]:
    """Scores, seam jumps, events and the latest review of every segment of an episode."""
    with studio.database.session() as session:
        episode_row = _episode(session, episode, project)
        scenes = _scenes_of(session, episode_row)
        numbers = {s.id: s.scene_number for s in scenes}
        segments = session.scalars(
            select(SegmentModel)
            .where(SegmentModel.scene_id.in_(list(numbers)))
            .order_by(SegmentModel.scene_id, SegmentModel.segment_number)
        ).all()
        rows = []
        for segment in sorted(segments, key=lambda s: (numbers[s.scene_id], s.segment_number)):
            info = _segment_row(studio, numbers[segment.scene_id], segment)
            jump = info.seam.get("jump_ratio")
            rows.append(
                QualityRow(
                    segment_id=info.id,
                    scene=info.scene,
                    segment=info.number,
                    label=f"{info.scene}.{info.number}",
                    status=info.status,
                    scores=info.scores,
                    seam_jump_ratio=float(jump) if isinstance(jump, int | float) else None,
                    events=info.events,
                    review=info.review,
                    video=info.video,
                    preview=info.preview or info.first_frame,
                )
            )
        return rows


def _episode(session: Any, episode: int, project: str | None) -> EpisodeModel:
    row = find_or_raise_project(session, project)
    found = find_episode(session, row, episode)
    if found is None:
        raise NotFoundError(f"there is no episode {episode} in {row.title!r}")
    return found


def _scene(session: Any, scene: int, project: str | None) -> SceneModel:
    return find_or_raise_scene(session, find_or_raise_project(session, project), scene)


def _segment_counts(session: Any, scene_ids: Sequence[int]) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {}
    if not scene_ids:
        return counts
    for scene_id, status, n in session.execute(
        select(SegmentModel.scene_id, SegmentModel.status, func.count())
        .where(SegmentModel.scene_id.in_(list(scene_ids)))
        .group_by(SegmentModel.scene_id, SegmentModel.status)
    ):
        counts.setdefault(scene_id, Counter())[status] = n
    return counts


def _scene_row(studio: Studio, scene: SceneModel, counts: Counter[str]) -> SceneRow:
    spec = scene.spec or {}
    return SceneRow(
        number=scene.scene_number,
        title=scene.scene_title or "",
        status=scene.status,
        duration=scene.target_duration_seconds,
        characters=[c["name"] for c in spec.get("characters", []) if isinstance(c, dict)],
        segments_done=counts.get(SegmentState.COMPLETED, 0) + counts.get(SegmentState.APPROVED, 0),
        segments_planned=max(scene.total_segments or 0, sum(counts.values())),
        video=absolute_path(studio, scene.final_video_path),
    )


def _segment_row(studio: Studio, scene_number: int, segment: SegmentModel) -> SegmentRow:
    raw = segment.scores or {}
    seam = raw.get("seam") if isinstance(raw.get("seam"), dict) else {}
    events = [e for e in raw.get("events", []) if isinstance(e, dict)] if isinstance(raw, dict) else []
    review = (segment.meta or {}).get("review")
    return SegmentRow(
        id=segment.id,
        scene=scene_number,
        number=segment.segment_number,
        status=segment.status,
        prompt=segment.motion_prompt,
        negative_prompt=segment.negative_prompt or "",
        first_frame=absolute_path(studio, segment.first_frame_path),
        last_frame=absolute_path(studio, segment.last_frame_path),
        video=absolute_path(studio, segment.output_video_path),
        attempts=segment.attempts or 0,
        error=segment.error_message,
        scores=segment_scores(segment),
        seam=dict(seam or {}),
        events=events,
        review=review if isinstance(review, dict) else None,
        decision=dict(raw.get("decision") or {}) if isinstance(raw.get("decision"), dict) else {},
        preview=_thumbnail(studio, segment),
    )


def segment_scores(segment: SegmentModel) -> dict[str, float | None]:
    """The segment's scores, wherever the pipeline put them.

    ``scores`` may hold the :class:`studio.quality.Scores` fields at its top level or
    under ``"scores"``; the dedicated columns fill the gaps.
    """
    raw: dict[str, Any] = segment.scores if isinstance(segment.scores, dict) else {}
    inner = raw.get("scores")
    nested: dict[str, Any] = inner if isinstance(inner, dict) else raw
    result: dict[str, float | None] = {}
    for name in SCORE_NAMES:
        value = nested.get(name)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        result[name] = float(value) if numeric and value is not None else None
    columns = {
        "overall": segment.overall_quality_score,
        "frame_consistency": segment.frame_consistency_score,
        "motion_smoothness": segment.motion_smoothness_score,
    }
    for name, value in columns.items():
        if result[name] is None and value is not None:
            result[name] = float(value)
    return result


def absolute_path(studio: Studio, path: str | None) -> Path | None:
    """Media paths are stored relative to the home; absolute ones are kept as they are."""
    if not path:
        return None
    candidate = Path(path)
    return candidate if candidate.is_absolute() else studio.home / candidate


@dataclass(frozen=True)
class ServerHealth:
    """One ComfyUI server's answer to ``GET /system_stats``."""

    url: str
    ok: bool
    detail: str


def server_health(urls: Sequence[str], *, timeout: float = 3.0) -> list[ServerHealth]:
    """Ask every configured ComfyUI server for its system stats (one short request each).

    Never raises: an unreachable server is reported with the reason.
    """
    import httpx

    results = []
    with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
        for url in urls:
            try:
                response = client.get(f"{url.rstrip('/')}/system_stats")
                response.raise_for_status()
                devices = response.json().get("devices") or []
                names = ", ".join(str(d.get("name", "?")) for d in devices if isinstance(d, dict))
                results.append(ServerHealth(url, True, names or "up"))
            except (httpx.HTTPError, ValueError) as error:
                results.append(ServerHealth(url, False, f"{type(error).__name__}: {error}"))
    return results
