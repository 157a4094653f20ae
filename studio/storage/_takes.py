"""Takes: the queries and the one transition that chooses a take.

Every function runs inside the caller's session and never commits (``*_without_commit``
where it writes). Choosing a take is the only way a segment's picture changes: the old
chosen take is released and flushed before the new one is marked, so the UNIQUE
``chosen_for`` constraint holds at every statement on both databases, and the segment
row is given the chosen take's file, frames and scores in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from studio._exceptions import NotFoundError
from studio.storage._models import SceneModel, SegmentModel, TakeModel, utcnow
from studio.storage._states import ChosenBy, RenderPass, SceneState, SegmentState, TakeState

__all__ = [
    "FINISHED_TAKE_STATES",
    "RETAKE_SEED_STEP",
    "mark_for_retake_without_commit",
    "choose_take_without_commit",
    "find_chosen_take",
    "find_or_raise_take",
    "next_take_number",
    "where_takes_of_segment",
]

RETAKE_SEED_STEP = 7919  # a retake's seeds stay clear of the retries' (base + 1000 * k)

#: Takes that hold a file a segment can show.
FINISHED_TAKE_STATES = (TakeState.PASSED, TakeState.REVIEW, TakeState.RETRIED, TakeState.REJECTED)


def find_chosen_take(session: Session, segment_id: int) -> TakeModel | None:
    return session.scalars(select(TakeModel).where(TakeModel.chosen_for == segment_id)).one_or_none()


def find_or_raise_take(session: Session, take_id: int) -> TakeModel:
    """Raises:
    NotFoundError: there is no take with that id.
    """
    take = session.get(TakeModel, take_id)
    if take is None:
        raise NotFoundError(f"there is no take with id {take_id}; `studio takes --segment ID` lists them")
    return take


def where_takes_of_segment(session: Session, segment_id: int) -> list[TakeModel]:
    return list(
        session.scalars(
            select(TakeModel).where(TakeModel.segment_id == segment_id).order_by(TakeModel.take_number)
        )
    )


def next_take_number(session: Session, segment_id: int) -> int:
    highest = session.scalar(
        select(func.max(TakeModel.take_number)).where(TakeModel.segment_id == segment_id)
    )
    return int(highest or 0) + 1


def choose_take_without_commit(
    session: Session, segment: SegmentModel, take: TakeModel, *, chosen_by: ChosenBy
) -> None:
    """Make ``take`` the segment's chosen take and mirror it onto the segment row.

    Raises:
        ValueError: the take belongs to another segment or holds no file.
    """
    if take.segment_id != segment.id:
        raise ValueError(f"take {take.id} belongs to segment {take.segment_id}, not {segment.id}")
    if not take.output_video_path or not take.last_frame_path:
        raise ValueError(f"take {take.take_number} of segment {segment.id} has no video; it cannot be chosen")
    current = find_chosen_take(session, segment.id)
    if current is not None and current.id != take.id:
        current.chosen_for = None
        current.chosen_by = None
        session.flush()  # release first: UNIQUE(chosen_for) is checked per statement
    take.chosen_for = segment.id
    take.chosen_by = chosen_by.value
    segment.output_video_path = take.output_video_path
    segment.first_frame_path = take.first_frame_path
    segment.last_frame_path = take.last_frame_path
    segment.frame_count = take.frame_count
    segment.leading_duplicate = take.leading_duplicate
    segment.scores = dict(take.scores or {})
    segment.overall_quality_score = take.overall_quality_score
    inner = (take.scores or {}).get("scores") or {}
    segment.frame_consistency_score = inner.get("frame_consistency")
    segment.motion_smoothness_score = inner.get("motion_smoothness")
    segment.seed = take.seed
    segment.backend = take.backend
    session.flush()


def mark_for_retake_without_commit(
    session: Session,
    segment: SegmentModel,
    *,
    notes: str = "",
    backend: str | None = None,
    render_pass: RenderPass | None = None,
) -> None:
    """Queue a retake of ``segment``: it keeps showing its chosen take until a new one
    replaces it. The request (notes, backend, pass and a fresh seed) is stored on the
    segment (``meta["retake"]``), so an interrupted retake resumes with the same seed
    and notes. Queuing twice keeps the first seed and joins the notes.

    ``backend`` and ``render_pass`` default to those of the chosen take (or the animatic's
    previs when there is none).
    """
    chosen = find_chosen_take(session, segment.id)
    existing = (segment.meta or {}).get("retake")
    if isinstance(existing, dict):
        joined = "; ".join(n for n in (str(existing.get("notes") or ""), notes.strip()) if n)
        request = {**existing, "notes": joined}
    else:
        takes = len(where_takes_of_segment(session, segment.id))
        base = chosen.seed if chosen is not None and chosen.seed is not None else segment.seed or 0
        name = backend or (chosen.backend if chosen is not None else "animatic")
        chosen_pass = RenderPass(chosen.render_pass) if chosen is not None else RenderPass.default_for(name)
        request = {
            "notes": notes.strip(),
            "backend": name,
            "pass": (render_pass or chosen_pass).value,
            "seed": (base + RETAKE_SEED_STEP * max(takes, 1)) % 2**32,
            "requested_at": utcnow().isoformat(timespec="seconds"),
        }
    segment.meta = {**(segment.meta or {}), "retake": request}
    segment.status = SegmentState.QUEUED.value
    scene = session.get(SceneModel, segment.scene_id)
    if scene is not None and scene.status in (SceneState.COMPLETED, SceneState.REVIEW):
        scene.status = SceneState.PENDING.value
