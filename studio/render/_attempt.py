"""One segment, attempt after attempt: generate a take, check it, correct or retry, keep it.

Each attempt is a take (:mod:`studio.render._takes`); retries walk the backend's
escalation ladder (:mod:`studio.render._escalation`); a colour correction is kept only
when it measures better (:mod:`studio.render._correction`). Every state change is
committed as it happens, so a render killed in the middle of an attempt resumes that
same take, and a cancel cuts the attempt off without a trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio._exceptions import RenderError
from studio.backends import Backend, SegmentRequest, SegmentResult
from studio.backends._base import preview_path
from studio.quality import Decision
from studio.render._cancel import CancelRequested, CancelWatch
from studio.render._check import SegmentCheck, check_segment, record_feedback_without_commit
from studio.render._correction import correct_and_verify, settle_correction
from studio.render._escalation import (
    SEED_STEP,
    AttemptPlan,
    attempt_record,
    first_attempt,
    next_attempt,
    to_review,
)
from studio.render._holds import deliver_held
from studio.render._memory import SceneBrief
from studio.render._progress import RenderCancelled, RenderTracker
from studio.render._takes import (
    TakeStart,
    begin_take_without_commit,
    finish_take_without_commit,
    kill_point,
    pending_retake,
    retake_prompt,
)
from studio.storage._models import SceneModel, SegmentModel, TakeModel, utcnow
from studio.storage._states import ChosenBy, RenderPass, SceneState, SegmentState, TakeState
from studio.storage._takes import choose_take_without_commit, find_chosen_take

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["FINISHED", "SegmentSnapshot", "fail_segment", "generate_with_retries", "home_relative"]

log = logging.getLogger("studio.pipeline")


@dataclass(frozen=True)
class SegmentSnapshot:
    id: int
    number: int
    prompt: str
    negative: str
    seed: int
    duration_seconds: float
    fps: int
    attempts: int
    first_frame_path: str | None
    last_frame_path: str | None
    sharpness: float | None
    first_attempt: int = 1  # > 1 when a killed run is resumed mid-retries

    @classmethod
    def of(cls, row: SegmentModel) -> SegmentSnapshot:
        retake = pending_retake(row)
        interrupted = row.status == SegmentState.PROCESSING and (row.attempts or 0) > 0
        return cls(
            id=row.id,
            number=row.segment_number,
            prompt=retake_prompt(row),
            negative=row.negative_prompt or "",
            seed=int(retake["seed"]) if retake and "seed" in retake else row.seed or 0,
            duration_seconds=row.duration_seconds,
            fps=row.fps,
            attempts=row.attempts or 0,
            first_frame_path=row.first_frame_path,
            last_frame_path=row.last_frame_path,
            sharpness=(row.scores or {}).get("sharpness"),
            first_attempt=_resumed_attempt(row) if interrupted else 1,
        )


def _resumed_attempt(row: SegmentModel) -> int:
    """A killed run's attempt: the one whose take was still generating, else the next.
    So ``max_attempts`` counts every take of the run, across kills."""
    attempts = row.attempts or 0
    if any(t.status == TakeState.GENERATING for t in row.takes):
        return max(attempts, 1)
    return attempts + 1


async def generate_with_retries(
    studio: Studio,
    backend: Backend,
    brief: SceneBrief,
    segment: SegmentSnapshot,
    scene_dir: Path,
    *,
    start_image: Path | None,
    anchor: Path | None,
    reference_sharpness: float | None,
    time_offset: float,
    thresholds: Any,
    max_attempts: int,
    parameters: dict[str, Any],
    tracker: RenderTracker,
    watch: CancelWatch,
    render_pass: RenderPass = RenderPass.PREVIS,
) -> tuple[SegmentResult, SegmentCheck]:
    home = studio.home
    characters = [(brief.character_ids[c.name], c) for c in brief.inputs.characters]
    start = min(segment.first_attempt, max_attempts)  # > 1 when a killed run is resumed
    plan = _plan_for(backend, parameters, segment.seed, start)
    for attempt in range(start, max_attempts + 1):
        seed = plan.seed
        sent = plan.parameters(parameters)  # the base plus this attempt's rung, never accumulated
        with studio.database.session() as session:
            row = session.get(SegmentModel, segment.id)
            assert row is not None
            row.status = SegmentState.PROCESSING
            row.attempts = attempt
            row.backend = backend.name
            row.error_message = None
            take = begin_take_without_commit(
                session,
                row,
                home=home,
                scene_dir=scene_dir,
                render_pass=render_pass,
                attempt=attempt,
                backend=backend.name,
                seed=seed,
                parameters=sent,
                prompt=segment.prompt,
                negative_prompt=segment.negative,
                start_image=start_image,
            )
            # Where the backend may keep its newest preview: the dashboard shows it.
            row.meta = {
                **(row.meta or {}),
                "thumbnail": home_relative(home, preview_path(take.folder, segment.number)),
            }
        kill_point("take")
        request = SegmentRequest(
            scene=brief.context,
            segment_number=segment.number,
            segment_count=tracker.segment_count(brief.scene_id),
            prompt=segment.prompt,
            negative_prompt=segment.negative,
            seed=seed,
            duration_seconds=segment.duration_seconds,
            fps=segment.fps // brief.defaults.animate_on,  # on twos: half the frames, held later
            width=brief.defaults.width,
            height=brief.defaults.height,
            output_dir=take.folder,
            start_image=start_image,
            time_offset=time_offset,
            parameters=sent,
        )
        began = time.perf_counter()
        try:
            result = await watch.generate(
                backend.generate(
                    request, lambda event: tracker.segment_progress(brief.scene_id, segment.number, event)
                )
            )
        except (CancelRequested, asyncio.CancelledError) as stopped:
            # Cut off, not failed: nothing of this attempt was kept, so it is not counted.
            _back_to_pending(studio, segment.id, attempt - 1, take)
            if isinstance(stopped, asyncio.CancelledError):
                raise
            raise RenderCancelled(
                f"render cancelled during scene {brief.number}, segment {segment.number}; "
                "finished segments are kept",
                episode=brief.episode,
                scene=brief.number,
                segment=segment.number,
            ) from None
        except Exception as error:
            fail_segment(studio, segment.id, f"{type(error).__name__}: {error}", take_id=take.take_id)
            raise RenderError(
                f"scene {brief.number}, segment {segment.number}, attempt {attempt}: {error}",
                episode=brief.episode,
                scene=brief.number,
                segment=segment.number,
                attempt=attempt,
            ) from error
        kill_point("generated")

        def recheck(video: Path, attempt: int = attempt) -> SegmentCheck:
            return check_segment(
                video,
                previous_last_frame=start_image,
                anchor_frame=anchor,
                reference_sharpness=reference_sharpness,
                thresholds=thresholds,
                attempt=attempt,
                max_attempts=max_attempts,
                series_path=video.with_suffix(".quality.json"),
            )

        check = recheck(result.video_path)
        correction = None
        if check.decision.action is Decision.COLOR_CORRECT and anchor is not None:
            outcome = correct_and_verify(result, check, anchor=anchor, fps=request.fps, recheck=recheck)
            correction = outcome.to_json()
            log.info("scene %s segment %s: %s", brief.number, segment.number, outcome.note)
            check = settle_correction(outcome, attempt=attempt, max_attempts=max_attempts)
        following: AttemptPlan | None = None
        if check.decision.action is Decision.RETRY:
            upcoming = next_attempt(backend, parameters, segment.seed, attempt + 1)
            if isinstance(upcoming, str):
                check = to_review(check, upcoming)
            else:
                following = upcoming
        elapsed = time.perf_counter() - began
        final = check.decision.action in (Decision.PASS, Decision.COLOR_CORRECT, Decision.REVIEW)
        if final:  # checked as generated; delivered at the project's fps
            result = deliver_held(result, animate_on=brief.defaults.animate_on, fps=segment.fps)
        with studio.database.session() as session:
            row = session.get(SegmentModel, segment.id)
            assert row is not None
            record_feedback_without_commit(
                session,
                segment_id=segment.id,
                attempt=attempt,
                prompt=segment.prompt,
                check=check,
                characters=characters,
                parameters={"seed": seed, **sent, "escalation": dict(plan.changes)},
            )
            scores = check.analysis.scores
            kept_for_review = check.decision.action is Decision.REVIEW
            made = finish_take_without_commit(
                session,
                take.take_id,
                status=(TakeState.REVIEW if kept_for_review else TakeState.PASSED)
                if final
                else TakeState.RETRIED,
                files=(
                    home_relative(home, result.video_path),
                    home_relative(home, result.first_frame_path),
                    home_relative(home, result.last_frame_path),
                ),
                frame_count=result.frame_count,
                leading_duplicate=result.leading_duplicate,
                scores=check.summary(),
                overall=scores.overall,
                seconds=elapsed,
            )
            record = attempt_record(plan, check, correction=correction)
            made.meta = {"backend": dict(result.metadata), "attempt": record}
            row.generation_time_seconds = elapsed
            meta = dict(row.meta or {})
            if final:
                meta.pop("thumbnail", None)  # the preview is gone: the last frame shows it
            meta["attempts"] = [
                *[a for a in meta.get("attempts", []) if a.get("attempt") != attempt],
                record,
            ]
            if not final and find_chosen_take(session, row.id) is None:
                # Until a take passes, the segment shows its latest attempt's scores.
                row.scores = check.summary()
                row.overall_quality_score = scores.overall
            if final:
                choose_take_without_commit(session, row, made, chosen_by=ChosenBy.AUTO)
                # A new picture: the queued retake is done, and a review was of the old one.
                meta = {k: v for k, v in meta.items() if k not in ("retake", "review")}
                meta["backend"] = dict(result.metadata)
                row.status = SegmentState.REVIEW if kept_for_review else SegmentState.COMPLETED
                row.completed_at = utcnow()
                scene = session.get(SceneModel, brief.scene_id)
                assert scene is not None
                scene.completed_segments = sum(1 for s in scene.segments if s.status in FINISHED)
            row.meta = meta
        if final:
            if check.decision.action is Decision.REVIEW:
                log.warning(
                    "scene %s segment %s kept for review: %s",
                    brief.number,
                    segment.number,
                    "; ".join(check.decision.reasons),
                )
            return result, check
        log.info(
            "scene %s segment %s attempt %s: %s",
            brief.number,
            segment.number,
            attempt,
            "; ".join(check.decision.reasons),
        )
        assert following is not None
        plan = following
    raise AssertionError("decide() returns a final action on the last attempt")  # pragma: no cover


def _plan_for(backend: Backend, parameters: Mapping[str, Any], seed: int, attempt: int) -> AttemptPlan:
    """The plan of attempt ``attempt``: the first, or the rung a resumed run had reached."""
    if attempt == 1:
        return first_attempt(seed)
    plan = next_attempt(backend, parameters, seed, attempt)
    if isinstance(plan, str):  # no rung left to change: still a take of its own, by its seed
        return AttemptPlan(attempt=attempt, seed=seed + SEED_STEP * (attempt - 1))
    return plan


FINISHED = (SegmentState.COMPLETED, SegmentState.REVIEW, SegmentState.APPROVED)


def fail_segment(studio: Studio, segment_id: int, message: str, *, take_id: int | None = None) -> None:
    with studio.database.session() as session:
        if take_id is not None:
            finish_take_without_commit(session, take_id, status=TakeState.FAILED, error=message)
        row = session.get(SegmentModel, segment_id)
        if row is not None:
            row.status = SegmentState.FAILED
            row.error_message = message
            scene = session.get(SceneModel, row.scene_id)
            if scene is not None:
                scene.status = SceneState.FAILED


def _back_to_pending(studio: Studio, segment_id: int, attempts: int, take: TakeStart) -> None:
    """A segment cut off by a cancel: nothing of the attempt is kept, not even its take."""
    with studio.database.session() as session:
        made = session.get(TakeModel, take.take_id)
        if made is not None and made.status == TakeState.GENERATING:
            session.delete(made)
        row = session.get(SegmentModel, segment_id)
        if row is not None and row.status == SegmentState.PROCESSING:
            row.status = SegmentState.PENDING
            row.attempts = attempts
            row.meta = {k: v for k, v in (row.meta or {}).items() if k != "thumbnail"}
    shutil.rmtree(take.folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        take.folder.parent.rmdir()  # the segment's folder, when it held only this take


def home_relative(home: Path, path: Path) -> str:
    return Path(path).resolve().relative_to(home.resolve()).as_posix()
