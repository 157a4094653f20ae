"""Render an episode: plan, compose, generate, check, retry, propagate, stitch.

``render_episode`` reads as the recipe in DESIGN.md. Every state change is committed
as it happens, and nothing is marked complete before its file exists and has been
checked, so a render killed at any moment resumes where it stopped: finished segments
are kept (one row, one file each) and the rest are generated.

Concurrency: scenes run concurrently, bounded by ``scene_concurrency``; the segments of
a scene run in order, each starting from the previous segment's lossless last frame. A
scene reached by a ``fade``, ``dissolve`` or ``wipe`` continues the previous scene's
picture (its entry keyframe is that scene's exit keyframe), so it waits for it; a scene
after a ``cut`` is a new shot and starts at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from studio._video import (
    remove_abandoned,
)
from studio.backends import Backend, create_backend
from studio.render._attempt import (
    SegmentSnapshot,
    generate_with_retries,
    home_relative,
)
from studio.render._cancel import CancelWatch
from studio.render._check import thresholds_for
from studio.render._correction import remove_abandoned_corrections
from studio.render._holds import thresholds_on
from studio.render._memory import SceneBrief
from studio.render._prepare import episode_dir, prepare_episode, slug
from studio.render._progress import ProgressSink, RenderCancelled, RenderProgress, RenderTracker
from studio.render._stitch import SceneClip, stitch_episode, stitch_scene
from studio.render._takes import (
    continues_from,
    finished_for_pass,
    takes_summary,
)
from studio.sound._render import finish_sound, speak_episode
from studio.storage._models import SceneModel, SegmentModel, utcnow
from studio.storage._states import EpisodeState, RenderPass, SceneState, SegmentState
from studio.storage._takes import find_chosen_take

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = [
    "RenderCancelled",
    "RenderProgress",
    "RenderSummary",
    "prepare_episode",
    "render_episode",
    "slug",
]

log = logging.getLogger("studio.pipeline")
T = TypeVar("T")

TRANSITION_SECONDS = 0.5  # fade / dissolve / wipe between scenes (the seed's scene crossfade)
DEFAULT_SCENE_CONCURRENCY = 2




@dataclass
class RenderSummary:
    project: str
    episode: int
    episode_video: Path
    backend: str
    seconds: float
    scenes: list[dict[str, Any]] = field(default_factory=list)
    report: Path | None = None
    report_html: Path | None = None
    sound: dict[str, Any] | None = None  # the sound record (studio.sound.read_sound_record)
    render_pass: str = ""  # previs or final

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "episode": self.episode,
            "backend": self.backend,
            "pass": self.render_pass,
            "video": str(self.episode_video),
            "report": str(self.report) if self.report else None,
            "report_html": str(self.report_html) if self.report_html else None,
            "seconds": round(self.seconds, 2),
            "scenes": self.scenes,
            "sound": self.sound,
        }


# ------------------------------------------------------------------------------ render


def render_episode(
    studio: Studio,
    *,
    episode: int,
    project: str | None = None,
    backend: str = "animatic",
    template: str | None = None,
    max_attempts: int | None = None,
    progress: ProgressSink | None = None,
    should_cancel: Callable[[], bool] | None = None,
    scene_concurrency: int = DEFAULT_SCENE_CONCURRENCY,
    render_pass: RenderPass | str | None = None,
    retry_review: bool = False,
    only_scenes: Collection[int] | None = None,
) -> RenderSummary:
    """Render (or finish rendering) one episode and return where everything is.

    ``template`` names the ComfyUI workflow template (``studio workflows list``); the
    animatic ignores it.

    Every generation is a take (:func:`studio.project.list_takes`). ``render_pass`` is
    ``previs`` or ``final`` (default: previs on the animatic, final on any other
    backend): a segment whose chosen take is of a lower pass gets a new take, chained
    from the new takes' last frames, and its earlier takes stay as they are. Segments
    in review are kept unless ``retry_review``. ``only_scenes`` (scene numbers) limits
    the render to those scenes; the episode is stitched again when every scene has a
    video.

    Raises:
        NotFoundError: unknown project or episode.
        RenderError: a segment could not be produced after every attempt, or stitching
            failed; carries the episode, scene, segment and attempt.
        RenderCancelled: ``should_cancel`` returned true. It is asked between segments
            and, every quarter second, while a segment is generated: that segment is
            cut off (the backend stops and removes its files) and goes back to pending.
    """
    started = time.perf_counter()

    async def run() -> RenderSummary:
        engine = create_backend(backend, studio.settings)
        try:
            return await _render(
                studio,
                engine,
                episode=episode,
                project=project,
                max_attempts=max_attempts,
                parameters={"template": template} if template else {},
                progress=progress or (lambda _: None),
                should_cancel=should_cancel or (lambda: False),
                scene_concurrency=max(1, scene_concurrency),
                started=started,
                render_pass=RenderPass(render_pass) if render_pass else RenderPass.default_for(engine.name),
                retry_review=retry_review,
                only_scenes=set(only_scenes) if only_scenes is not None else None,
            )
        finally:
            await engine.aclose()

    return run_coroutine(run)


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop
    (a Jupyter kernel has one), by giving it a loop of its own in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-render") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def _render(
    studio: Studio,
    backend: Backend,
    *,
    episode: int,
    project: str | None,
    max_attempts: int | None,
    parameters: dict[str, Any],
    progress: ProgressSink,
    should_cancel: Callable[[], bool],
    scene_concurrency: int,
    started: float,
    render_pass: RenderPass = RenderPass.PREVIS,
    retry_review: bool = False,
    only_scenes: set[int] | None = None,
) -> RenderSummary:
    watch = CancelWatch(should_cancel)
    if watch.check():  # cancelled before it began (the job's kernel took seconds to start)
        raise RenderCancelled("render cancelled before it started; nothing was changed", episode=episode)
    speech = await speak_episode(studio, episode=episode, project=project)
    briefs = prepare_episode(
        studio,
        episode=episode,
        project=project,
        backend=backend,
        parameters=parameters,
        scene_seconds=speech.scene_seconds,
    )
    project_title = briefs[0].project
    out_dir = episode_dir(studio.home, project_title, episode)
    # Scene videos are written in out_dir, the episode's beside it: a render killed while
    # stitching left its temporary files there.
    remove_abandoned(out_dir)
    remove_abandoned(out_dir.parent)
    tracker = RenderTracker(studio, [b.scene_id for b in briefs], progress, watch)
    _set_episode_status(studio, briefs[0], EpisodeState.GENERATING)
    done_events = {b.number: asyncio.Event() for b in briefs}
    limit = asyncio.Semaphore(scene_concurrency)
    chained_from = {
        b.number: prev.number for prev, b in zip(briefs, briefs[1:], strict=False) if continues(prev, b)
    }

    async def run_scene(brief: SceneBrief) -> None:
        before = chained_from.get(brief.number)
        if before is not None:
            await done_events[before].wait()
        if only_scenes is not None and brief.number not in only_scenes:
            tracker.scene_done(brief.scene_id)
            done_events[brief.number].set()
            return
        async with limit:
            await _render_scene(
                studio,
                backend,
                brief,
                out_dir,
                chained_from=before,
                max_attempts=max_attempts or brief.defaults.max_attempts,
                parameters=parameters,
                tracker=tracker,
                watch=watch,
                render_pass=render_pass,
                retry_review=retry_review,
            )
        done_events[brief.number].set()

    tasks = [asyncio.create_task(run_scene(b)) for b in briefs]
    try:
        await asyncio.gather(*tasks)
    except BaseException as error:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A cancelled render did not fail: the episode is simply not finished (its
        # finished segments are kept), and must not show `failed`.
        stopped = isinstance(error, RenderCancelled)
        _set_episode_status(studio, briefs[0], EpisodeState.PENDING if stopped else EpisodeState.FAILED)
        _settle_interrupted(studio, [b.scene_id for b in briefs])
        raise
    video = (
        _stitch_episode(studio, briefs, out_dir)
        if _all_scenes_stitched(studio, briefs)
        else out_dir.parent / f"{out_dir.name}.mp4"
    )
    tracker.emit(0.999, f"episode {episode}: mixing sound and subtitles")
    sound = (
        finish_sound(studio, briefs, video, speech, transition_seconds=TRANSITION_SECONDS)
        if video.is_file()
        else None
    )
    tracker.emit(1.0, f"episode {episode} finished")
    return RenderSummary(
        project=project_title,
        episode=episode,
        episode_video=video,
        backend=backend.name,
        seconds=time.perf_counter() - started,
        scenes=scene_summaries(studio, [b.scene_id for b in briefs]),
        sound=sound,
        render_pass=render_pass.value,
    )


def _all_scenes_stitched(studio: Studio, briefs: list[SceneBrief]) -> bool:
    """Whether every scene has a video (a render of some scenes may leave others unrendered)."""
    with studio.database.session() as session:
        return all(
            (scene := session.get(SceneModel, b.scene_id)) is not None and bool(scene.final_video_path)
            for b in briefs
        )


def continues(previous: SceneBrief, scene: SceneBrief) -> bool:
    """Whether ``scene`` continues ``previous``'s picture: one take across a soft
    transition at the same location. Its entry keyframe is then the previous exit keyframe."""
    same_place = previous.spec.location.strip().lower() == scene.spec.location.strip().lower()
    return previous.spec.transition != "cut" and same_place and bool(scene.spec.location)


async def _render_scene(
    studio: Studio,
    backend: Backend,
    brief: SceneBrief,
    out_dir: Path,
    *,
    chained_from: int | None,
    max_attempts: int,
    parameters: dict[str, Any],
    tracker: RenderTracker,
    watch: CancelWatch,
    render_pass: RenderPass = RenderPass.PREVIS,
    retry_review: bool = False,
) -> None:
    home = studio.home
    scene_dir = out_dir / f"scene_{brief.number:03d}"
    scene_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned(scene_dir, recursive=True)  # take folders too
    remove_abandoned_corrections(scene_dir)
    with studio.database.session() as session:
        scene = session.get(SceneModel, brief.scene_id)
        assert scene is not None
        if chained_from is not None:
            previous = session.scalars(
                select(SceneModel).where(
                    SceneModel.movie_id == scene.movie_id, SceneModel.scene_number == chained_from
                )
            ).one()
            scene.entry_keyframe_path = previous.exit_keyframe_path
        entry = scene.entry_keyframe_path
        if (
            scene.status in (SceneState.COMPLETED, SceneState.REVIEW)
            and scene.final_video_path
            and (home / scene.final_video_path).is_file()
            and all(
                finished_for_pass(
                    s,
                    find_chosen_take(session, s.id),
                    home,
                    render_pass=render_pass,
                    retry_review=retry_review,
                )
                for s in scene.segments
            )
        ):
            tracker.scene_done(brief.scene_id)
            return
        scene.status = SceneState.GENERATING
        segments = [(s.id, s.segment_number) for s in scene.segments]
    thresholds = thresholds_on(thresholds_for(brief.defaults.quality), brief.defaults.animate_on)
    start_image: Path | None = home / entry if entry else None
    anchor: Path | None = start_image
    reference_sharpness: float | None = None
    time_offset = 0.0
    for segment_id, number in segments:
        with studio.database.session() as session:
            row = session.get(SegmentModel, segment_id)
            assert row is not None
            chosen = find_chosen_take(session, row.id)
            # Kept: finished for this pass, and still continuing the picture before it
            # (a retake upstream may have changed it: then this one is regenerated).
            done = (
                chosen is not None
                and finished_for_pass(row, chosen, home, render_pass=render_pass, retry_review=retry_review)
                and continues_from(chosen, start_image, home)
            )
            snapshot = SegmentSnapshot.of(row)
        if done and snapshot.last_frame_path:
            start_image = home / snapshot.last_frame_path
            anchor = anchor or (home / snapshot.first_frame_path if snapshot.first_frame_path else None)
            reference_sharpness = reference_sharpness or snapshot.sharpness
            time_offset += snapshot.duration_seconds
            tracker.segment_done(brief.scene_id, number)
            continue
        if watch.check():
            _set_scene_status(studio, brief.scene_id, SceneState.PENDING)
            raise RenderCancelled(
                "render cancelled; finished segments are kept", episode=brief.episode, scene=brief.number
            )
        result, check = await generate_with_retries(
            studio,
            backend,
            brief,
            snapshot,
            scene_dir,
            start_image=start_image,
            anchor=anchor,
            reference_sharpness=reference_sharpness,
            time_offset=time_offset,
            thresholds=thresholds,
            max_attempts=max_attempts,
            parameters=parameters,
            tracker=tracker,
            render_pass=render_pass,
            watch=watch,
        )
        start_image = result.last_frame_path
        anchor = anchor or result.first_frame_path
        reference_sharpness = reference_sharpness or check.analysis.sharpness
        time_offset += snapshot.duration_seconds
        tracker.segment_done(brief.scene_id, number)
    _stitch_scene(studio, brief, scene_dir)


def _settle_interrupted(studio: Studio, scene_ids: list[int]) -> None:
    """After a failure, nothing may stay ``generating``/``processing``: scenes and segments
    that were cut off (not failed themselves) go back to ``pending``, to resume later."""
    with studio.database.session() as session:
        for scene_id in scene_ids:
            scene = session.get(SceneModel, scene_id)
            if scene is None:
                continue
            for segment in scene.segments:
                if segment.status == SegmentState.PROCESSING:
                    segment.status = SegmentState.PENDING
            if scene.status == SceneState.GENERATING:
                scene.status = SceneState.PENDING


def _stitch_scene(studio: Studio, brief: SceneBrief, scene_dir: Path) -> None:
    # Stitch between two short transactions: on SQLite a transaction holds the write lock,
    # and workers' heartbeats must not wait for a video to be written.
    home = studio.home
    with studio.database.session() as session:
        scene = session.get(SceneModel, brief.scene_id)
        assert scene is not None
        chosen = [find_chosen_take(session, s.id) for s in scene.segments]
        parts = [
            (home / take.output_video_path, bool(take.leading_duplicate))
            for take in chosen
            if take is not None and take.output_video_path
        ]
    video = stitch_scene(parts, scene_dir.with_suffix(".mp4"))
    with studio.database.session() as session:
        scene = session.get(SceneModel, brief.scene_id)
        assert scene is not None
        scene.final_video_path = home_relative(home, video)
        scene.exit_keyframe_path = scene.segments[-1].last_frame_path
        scene.actual_duration_seconds = sum(s.duration_seconds for s in scene.segments)
        scene.status = (
            SceneState.REVIEW
            if any(s.status == SegmentState.REVIEW for s in scene.segments)
            else SceneState.COMPLETED
        )


def _stitch_episode(studio: Studio, briefs: list[SceneBrief], out_dir: Path) -> Path:
    home = studio.home
    clips = []
    with studio.database.session() as session:
        for brief in briefs:
            scene = session.get(SceneModel, brief.scene_id)
            assert scene is not None and scene.final_video_path
            transition = brief.spec.transition if brief is not briefs[-1] else "cut"
            seconds = TRANSITION_SECONDS if transition != "cut" else 0.0
            clips.append(SceneClip(home / scene.final_video_path, transition, seconds))
    video = stitch_episode(clips, out_dir.parent / f"{out_dir.name}.mp4")
    with studio.database.session() as session:
        episode_row = session.get(SceneModel, briefs[0].scene_id).episode  # type: ignore[union-attr]
        assert episode_row is not None
        episode_row.final_video_path = home_relative(home, video)
        episode_row.status = EpisodeState.COMPLETED
        episode_row.completed_at = utcnow()
    return video


def _set_episode_status(studio: Studio, brief: SceneBrief, status: EpisodeState) -> None:
    with studio.database.session() as session:
        scene = session.get(SceneModel, brief.scene_id)
        if scene is not None and scene.episode is not None:
            scene.episode.status = status


def _set_scene_status(studio: Studio, scene_id: int, status: SceneState) -> None:
    with studio.database.session() as session:
        scene = session.get(SceneModel, scene_id)
        if scene is not None:
            scene.status = status


def scene_summaries(studio: Studio, scene_ids: list[int]) -> list[dict[str, Any]]:
    """Per scene: its video; per segment: status, seed, attempts, prompt and scores."""
    with studio.database.session() as session:
        result = []
        for scene_id in scene_ids:
            scene = session.get(SceneModel, scene_id)
            assert scene is not None
            result.append(
                {
                    "scene": scene.scene_number,
                    "title": scene.scene_title,
                    "status": scene.status,
                    "video": str(studio.home / scene.final_video_path) if scene.final_video_path else None,
                    "segments": [
                        {
                            "id": s.id,
                            "segment": s.segment_number,
                            "status": s.status,
                            "seed": s.seed,
                            "attempts": s.attempts,
                            "prompt": s.motion_prompt,
                            "negative_prompt": s.negative_prompt,
                            "video": str(studio.home / s.output_video_path) if s.output_video_path else None,
                            "scores": (s.scores or {}).get("scores"),
                            "decision": ((s.scores or {}).get("decision") or {}).get("action"),
                            "reasons": ((s.scores or {}).get("decision") or {}).get("reasons", []),
                            # Per attempt: seed, what the escalation ladder changed, the
                            # decision, and any colour correction (kept or rejected).
                            "attempt_log": (s.meta or {}).get("attempts", []),
                            **takes_summary(studio.home, s.takes),
                        }
                        for s in scene.segments
                    ],
                }
            )
        return result
