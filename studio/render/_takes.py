"""The render's side of takes: where a take's files go, when a segment is finished for a
pass, and whether a kept take still continues the picture before it.

Each take has its own folder, ``scene_NNN/segment_NNN/<pass>_take_NN/``, so a retake
never overwrites the picture it may lose to, and every take keeps its file and last
frame. A take is written to the database (``generating``) before the backend starts; a
run killed mid-take finds that row on resume and regenerates into the same take and
folder, emptied first, so a kill never leaves a duplicate take or a stray file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.storage._models import SegmentModel, TakeModel, utcnow
from studio.storage._states import ChosenBy, RenderPass, SegmentState, TakeState
from studio.storage._takes import next_take_number

__all__ = [
    "TakeStart",
    "begin_take_without_commit",
    "continues_from",
    "finish_take_without_commit",
    "finished_for_pass",
    "pending_retake",
    "retake_prompt",
    "kill_point",
    "take_folder",
    "takes_summary",
]

FINISHED_SEGMENT_STATES = (SegmentState.COMPLETED, SegmentState.APPROVED, SegmentState.REVIEW)


def take_folder(scene_dir: Path, segment_number: int, take_number: int, render_pass: RenderPass) -> Path:
    return scene_dir / f"segment_{segment_number:03d}" / f"{render_pass.value}_take_{take_number:02d}"


def pending_retake(segment: SegmentModel) -> dict[str, Any] | None:
    """The retake queued for this segment (``meta["retake"]``), if any."""
    retake = (segment.meta or {}).get("retake")
    return retake if isinstance(retake, dict) else None


def retake_prompt(segment: SegmentModel) -> str:
    """The prompt a (re)take sends: the stored prompt, plus the director's notes of a
    queued retake, so a rejection's notes reach the generator."""
    retake = pending_retake(segment)
    notes = str(retake.get("notes") or "").strip() if retake else ""
    return f"{segment.motion_prompt}, {notes}" if notes else segment.motion_prompt


@dataclass(frozen=True)
class TakeStart:
    take_id: int
    take_number: int
    folder: Path


def begin_take_without_commit(
    session: Session,
    segment: SegmentModel,
    *,
    home: Path,
    scene_dir: Path,
    render_pass: RenderPass,
    attempt: int,
    backend: str,
    seed: int,
    parameters: dict[str, Any],
    prompt: str,
    negative_prompt: str,
    start_image: Path | None,
) -> TakeStart:
    """The take this attempt generates: the segment's unfinished take left by a killed
    run (folder emptied), else a new one numbered after the others."""
    take = session.scalars(
        select(TakeModel).where(TakeModel.segment_id == segment.id, TakeModel.status == TakeState.GENERATING)
    ).first()
    if take is None:
        take = TakeModel(segment_id=segment.id, take_number=next_take_number(session, segment.id))
        session.add(take)
    retake = pending_retake(segment)
    folder = take_folder(scene_dir, segment.segment_number, take.take_number, render_pass)
    if take.output_dir:  # a killed run's folder (maybe of another pass): its half-written files
        shutil.rmtree(home / take.output_dir, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    take.render_pass = render_pass.value
    take.status = TakeState.GENERATING.value
    take.attempt = attempt
    take.backend = backend
    take.template = parameters.get("template")
    take.seed = seed
    take.parameters = {"seed": seed, **parameters}
    take.prompt = prompt
    take.negative_prompt = negative_prompt
    take.notes = (str(retake.get("notes") or "") or None) if retake else None
    take.output_dir = _relative(home, folder)
    take.start_frame_path = _relative(home, start_image) if start_image is not None else None
    take.error_message = None
    session.flush()
    return TakeStart(take.id, take.take_number, folder)


def finish_take_without_commit(
    session: Session,
    take_id: int,
    *,
    status: TakeState,
    files: tuple[str, str, str] | None = None,
    frame_count: int | None = None,
    leading_duplicate: bool = False,
    scores: dict[str, Any] | None = None,
    overall: float | None = None,
    seconds: float | None = None,
    error: str | None = None,
) -> TakeModel:
    take = session.get(TakeModel, take_id)
    assert take is not None
    take.status = status.value
    if files is not None:
        take.output_video_path, take.first_frame_path, take.last_frame_path = files
    take.frame_count = frame_count
    take.leading_duplicate = leading_duplicate
    take.scores = scores or {}
    take.overall_quality_score = overall
    take.generation_time_seconds = seconds
    take.error_message = error
    take.completed_at = utcnow()
    return take


def finished_for_pass(
    segment: SegmentModel,
    chosen: TakeModel | None,
    home: Path,
    *,
    render_pass: RenderPass,
    retry_review: bool,
) -> bool:
    """Whether a render of ``render_pass`` keeps this segment as it is.

    Kept: a chosen take whose files exist, of this pass or a higher one (a previs
    render never replaces a final take) or chosen by a person, on a segment that is
    completed, approved, or in review (unless ``retry_review``). A queued retake is
    never kept.
    """
    if chosen is None or pending_retake(segment) is not None:
        return False
    if segment.status not in FINISHED_SEGMENT_STATES:
        return False
    if segment.status == SegmentState.REVIEW and retry_review:
        return False
    if RenderPass(chosen.render_pass).rank < render_pass.rank and chosen.chosen_by != ChosenBy.USER:
        return False  # a lower pass's take, unless a person chose it
    return all(p and (home / p).is_file() for p in (chosen.output_video_path, chosen.last_frame_path))


def continues_from(chosen: TakeModel, start_image: Path | None, home: Path) -> bool:
    """Whether a kept take still continues the picture it now follows.

    True when it started from that very file, or from a picture with the same pixels
    (the animatic, being deterministic, redraws a retaken segment's last frame exactly).
    The picture it started from is its ``start_frame_path``, kept with the earlier take
    it came from (a picture that is gone means regenerate, rather than guess). A take a
    person chose is kept as it is.
    """
    if start_image is None or chosen.chosen_by == ChosenBy.USER:
        return True
    if chosen.start_frame_path is not None and chosen.start_frame_path == _relative(home, start_image):
        return True
    if chosen.start_frame_path is None:
        return True  # it started from nothing (a scene's first shot): nothing to continue
    started_from = home / chosen.start_frame_path  # kept with the take it came from
    if not started_from.is_file() or not start_image.is_file():
        return False
    from studio._video import read_image

    return bool(np.array_equal(read_image(started_from), read_image(start_image)))


def takes_summary(home: Path, takes: list[TakeModel]) -> dict[str, Any]:
    """What ``--json`` and the report show of a segment's takes."""
    chosen = next((t for t in takes if t.chosen), None)
    return {
        "pass": chosen.render_pass if chosen else None,
        "take": chosen.take_number if chosen else None,
        "takes": [
            {
                "id": t.id,
                "take": t.take_number,
                "pass": t.render_pass,
                "status": t.status,
                "attempt": t.attempt,
                "backend": t.backend,
                "template": t.template,
                "seed": t.seed,
                "overall": t.overall_quality_score,
                "chosen": t.chosen,
                "chosen_by": t.chosen_by,
                "notes": t.notes,
                "video": str(home / t.output_video_path) if t.output_video_path else None,
            }
            for t in takes
        ],
    }


def kill_point(name: str) -> None:
    """Test hook: ``STUDIO_TEST_KILL_AT=take:N`` kills this process (SIGKILL) at the Nth
    take begun, right after its row is committed; ``generated:N`` once the Nth take's
    files are written but not yet checked or recorded. A deterministic ``kill -9``."""
    spec = os.environ.get("STUDIO_TEST_KILL_AT", "")
    if not spec.startswith(f"{name}:"):
        return
    _KILL_COUNTS[name] = _KILL_COUNTS.get(name, 0) + 1
    if _KILL_COUNTS[name] >= int(spec.split(":", 1)[1]):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


_KILL_COUNTS: dict[str, int] = {}


def _relative(home: Path, path: Path) -> str:
    return Path(path).resolve().relative_to(home.resolve()).as_posix()
