"""Retakes: regenerate chosen segments, re-chain what follows in their scene, restitch.

A retake is two durable steps, so it resumes after any interruption:

1. :func:`queue_retake` marks the segments (``queued``, with notes, backend, pass and a
   fresh seed in ``meta["retake"]``). They keep showing their chosen take meanwhile.
2. :func:`render_retakes` renders the episode's queued retakes -- only the scenes that
   hold them. Inside such a scene the render keeps every segment before the first
   queued one, gives each queued segment a new take starting from the previous chosen
   take's last frame (the first seam), then checks the segment after it: kept when it
   still starts from the same picture (its first frame, a lossless copy of its start,
   has the same pixels), otherwise regenerated from the new last frame, and so on to the
   end of the scene (the second seam). Other scenes keep their pictures; the scene and
   the episode are stitched again.

Run again after a crash, step 2 finds the queued segments still queued (or a take
still ``generating``, which it regenerates in place) and finishes them; nothing is
generated twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from studio._exceptions import NotFoundError, RenderError
from studio.render._pipeline import TRANSITION_SECONDS, RenderProgress, RenderSummary, render_episode
from studio.render._takes import pending_retake
from studio.storage._models import EpisodeModel, SceneModel, SegmentModel
from studio.storage._queries import find_or_raise_episode, find_or_raise_project
from studio.storage._states import RenderPass, SceneState
from studio.storage._takes import mark_for_retake_without_commit

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = [
    "RetakeSelection",
    "parse_timecode",
    "queue_retake",
    "has_queued_retakes",
    "render_retakes",
    "retake",
    "select_segments",
]

_TIMECODE = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class RetakeSelection:
    """Segments chosen for a retake, all in one episode."""

    project: str
    episode: int
    segment_ids: tuple[int, ...]
    scenes: tuple[int, ...]  # scene numbers that hold them

    def as_dict(self) -> dict[str, object]:
        return {
            "project": self.project,
            "episode": self.episode,
            "segments": list(self.segment_ids),
            "scenes": list(self.scenes),
        }


def parse_timecode(text: str) -> float:
    """Seconds from ``"00:12"``, ``"1:02:03"``, ``"12"`` or ``"12.5"``.

    Raises:
        RenderError: not a timecode (the message shows the accepted forms).
    """
    match = _TIMECODE.match(text or "")
    if match is None:
        raise RenderError(f"bad time {text!r}: write seconds (12.5), MM:SS (00:12) or HH:MM:SS (0:01:05)")
    first, second, seconds = match.groups()
    hours, minutes = (int(first), int(second)) if second is not None else (0, int(first or 0))
    return hours * 3600 + minutes * 60 + float(seconds)


def select_segments(
    studio: Studio,
    *,
    project: str | None = None,
    segment: int | None = None,
    scene: int | None = None,
    episode: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> RetakeSelection:
    """The segments a retake names: one segment id, a whole scene, or the segments of
    an episode that overlap ``[start, end)`` seconds of its video (as the player shows
    it: soft transitions overlap the scenes by half a second).

    Raises:
        RenderError: no selection, several at once, or an empty or backwards range.
        NotFoundError: the project, episode, scene or segment does not exist.
    """
    given = [segment is not None, scene is not None, start is not None or end is not None]
    if sum(given) != 1:
        raise RenderError(
            "name what to retake with exactly one of: --segment ID, --scene N, "
            "or --episode N --from MM:SS --to MM:SS"
        )
    with studio.database.session() as session:
        project_row = find_or_raise_project(session, project)
        if segment is not None:
            row = session.get(SegmentModel, segment)
            if row is None or row.scene.movie_id != project_row.id:
                raise NotFoundError(f"there is no segment with id {segment} in {project_row.title!r}")
            return _selection(project_row.title, [row])
        if scene is not None:
            scene_row = session.scalars(
                select(SceneModel).where(
                    SceneModel.movie_id == project_row.id, SceneModel.scene_number == scene
                )
            ).one_or_none()
            if scene_row is None:
                raise NotFoundError(f"there is no scene {scene} in {project_row.title!r}")
            if not scene_row.segments:
                raise RenderError(f"scene {scene} has no segments yet; render it first with `studio render`")
            return _selection(project_row.title, list(scene_row.segments))
        if episode is None:
            raise RenderError("a time range needs its episode: --episode N --from MM:SS --to MM:SS")
        episode_row = find_or_raise_episode(session, project_row, episode)
        low = start or 0.0
        high = end if end is not None else float("inf")
        if high <= low:
            raise RenderError(
                f"the range ends ({high:g} s) before it starts ({low:g} s); swap --from and --to"
            )
        chosen = [s for s, (a, b) in _timeline(episode_row) if a < high and b > low]
        if not chosen:
            raise RenderError(
                f"no segment of episode {episode} lies between {low:g} s and {high:g} s "
                "(render the episode first, or check the range)"
            )
        return _selection(project_row.title, chosen)


def _timeline(episode: EpisodeModel) -> list[tuple[SegmentModel, tuple[float, float]]]:
    """Each segment's span in the episode video, in seconds."""
    spans = []
    at = 0.0
    scenes = list(episode.scenes)
    for index, scene in enumerate(scenes):
        offset = at
        for segment in scene.segments:
            spans.append((segment, (offset, offset + segment.duration_seconds)))
            offset += segment.duration_seconds
        at += sum(s.duration_seconds for s in scene.segments) or scene.target_duration_seconds
        transition = (scene.spec or {}).get("transition", "cut")
        if index < len(scenes) - 1 and transition != "cut":
            at -= TRANSITION_SECONDS
    return spans


def _selection(project: str, segments: list[SegmentModel]) -> RetakeSelection:
    episodes = {s.scene.episode.episode_number if s.scene.episode else 0 for s in segments}
    if len(episodes) != 1:
        raise RenderError("a retake stays inside one episode")
    return RetakeSelection(
        project=project,
        episode=episodes.pop(),
        segment_ids=tuple(s.id for s in segments),
        scenes=tuple(sorted({s.scene.scene_number for s in segments})),
    )


def queue_retake(
    studio: Studio,
    selection: RetakeSelection,
    *,
    notes: str = "",
    backend: str | None = None,
    render_pass: RenderPass | str | None = None,
) -> RetakeSelection:
    """Mark the selected segments for a retake (one transaction; nothing rendered yet).

    ``notes`` are the director's: they are added to the retake's prompt and kept on its
    take. ``backend`` and ``render_pass`` default to the chosen take's.
    """
    chosen_pass = RenderPass(render_pass) if render_pass else None
    with studio.database.session() as session:
        for segment_id in selection.segment_ids:
            row = session.get(SegmentModel, segment_id)
            assert row is not None
            mark_for_retake_without_commit(
                session, row, notes=notes, backend=backend, render_pass=chosen_pass
            )
    return selection


def has_queued_retakes(studio: Studio, *, episode: int, project: str | None = None) -> bool:
    """Whether :func:`render_retakes` has anything to do in this episode."""
    return bool(_retake_groups(studio, episode=episode, project=project)[0])


def _retake_groups(
    studio: Studio, *, episode: int, project: str | None
) -> tuple[dict[tuple[str, str], set[int]], str]:
    """Scene numbers to render, by (backend, pass): those with queued retakes, and those
    a retake left unfinished (its queued segments done, the rest of the chain not)."""
    groups: dict[tuple[str, str], set[int]] = {}
    with studio.database.session() as session:
        episode_row = find_or_raise_episode(session, find_or_raise_project(session, project), episode)
        title = episode_row.project.title
        for scene in episode_row.scenes:
            requests = [r for r in (pending_retake(s) for s in scene.segments) if r is not None]
            takes = [t for s in scene.segments for t in s.takes]
            if requests:
                key = (
                    str(requests[0].get("backend") or "animatic"),
                    str(requests[0].get("pass") or "previs"),
                )
            elif scene.status not in (SceneState.COMPLETED, SceneState.REVIEW) and takes:
                # Interrupted after its queued segments were done (re-chaining the ones after
                # them, or before stitching): finish it as its latest take was made.
                latest = max(takes, key=lambda t: t.id)
                key = (latest.backend, latest.render_pass)
            else:
                continue
            groups.setdefault(key, set()).add(scene.scene_number)
    return groups, title


def render_retakes(
    studio: Studio,
    *,
    episode: int,
    project: str | None = None,
    max_attempts: int | None = None,
    template: str | None = None,
    progress: Callable[[RenderProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RenderSummary:
    """Render every queued retake of an episode (also: resume an interrupted retake).

    Each backend and pass named by the queued retakes is rendered in turn, limited to
    the scenes that hold them.

    Raises:
        RenderError: nothing is queued for a retake in this episode, or a render failed.
    """
    groups, title = _retake_groups(studio, episode=episode, project=project)
    if not groups:
        raise RenderError(
            f"nothing is queued for a retake in episode {episode}; name segments with "
            "`studio retake --segment ID`, `--scene N` or `--episode N --from MM:SS --to MM:SS`",
            episode=episode,
        )
    summary: RenderSummary | None = None
    for (backend, pass_name), scenes in sorted(groups.items()):
        summary = render_episode(
            studio,
            episode=episode,
            project=title,
            backend=backend,
            template=template,
            max_attempts=max_attempts,
            progress=progress,
            should_cancel=should_cancel,
            render_pass=RenderPass(pass_name),
            only_scenes=scenes,
        )
    assert summary is not None
    return summary


def retake(
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
    render_pass: RenderPass | str | None = None,
    max_attempts: int | None = None,
    template: str | None = None,
    progress: Callable[[RenderProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> tuple[RetakeSelection, RenderSummary]:
    """Select, queue and render a retake in this process; see the module docstring.

    Raises:
        RenderError: a bad selection, or the render failed (the retake stays queued:
            :func:`render_retakes` resumes it).
        NotFoundError: the project, episode, scene or segment does not exist.
    """
    selection = select_segments(
        studio, project=project, segment=segment, scene=scene, episode=episode, start=start, end=end
    )
    queue_retake(studio, selection, notes=notes, backend=backend, render_pass=render_pass)
    summary = render_retakes(
        studio,
        episode=selection.episode,
        project=selection.project,
        max_attempts=max_attempts,
        template=template,
        progress=progress,
        should_cancel=should_cancel,
    )
    return selection, summary
