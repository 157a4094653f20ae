"""Reviews close the loop: list a segment's takes, choose one, approve, reject with notes.

- Approve: the segment becomes ``approved`` (a state of its own, shown by the views,
  ``studio status`` and the panels), and its chosen take is the one approved.
- Reject: the chosen take is marked ``rejected`` and a retake is queued with the notes
  (``studio retake --resume``, :func:`studio.render.render_retakes` or a ``retake`` job
  renders it); the notes are added to the retake's prompt.
- A rating (1-5) is stored as user feedback, one row per character present, with that
  character's own prompt elements. Its score is the rating's (1 → 0.0 ... 5 → 1.0), not
  the measured one, and it takes the place of the measured rows of that segment when
  learned elements are computed (:func:`studio.render.learned_elements`).

Nothing here renders: the project package knows nothing of rendering or jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio._exceptions import NotFoundError, StudioError
from studio._studio import Studio
from studio.storage._models import (
    CharacterModel,
    QualityFeedbackModel,
    SceneModel,
    SegmentModel,
    TakeModel,
    utcnow,
)
from studio.storage._states import ChosenBy, SceneState, SegmentState, TakeState
from studio.storage._takes import (
    choose_take_without_commit,
    find_chosen_take,
    find_or_raise_take,
    mark_for_retake_without_commit,
    where_takes_of_segment,
)

__all__ = [
    "ReviewError",
    "TakeInfo",
    "approve_segment",
    "choose_take",
    "list_takes",
    "rating_score",
    "record_rating",
    "reject_segment",
]


class ReviewError(StudioError):
    """A review the studio refuses (a rating outside 1-5, a take without a file...)."""

    exit_code = 2


@dataclass(frozen=True)
class TakeInfo:
    """One take of a segment, as the panels and ``studio takes`` show it."""

    id: int
    segment_id: int
    take: int
    render_pass: str  # previs | final
    status: str
    attempt: int
    backend: str
    template: str | None
    seed: int | None
    parameters: dict[str, Any]
    prompt: str
    notes: str | None
    scores: dict[str, Any]
    overall: float | None
    video: Path | None
    first_frame: Path | None
    last_frame: Path | None
    chosen: bool
    chosen_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "segment_id": self.segment_id,
            "take": self.take,
            "pass": self.render_pass,
            "status": self.status,
            "attempt": self.attempt,
            "backend": self.backend,
            "template": self.template,
            "seed": self.seed,
            "parameters": self.parameters,
            "prompt": self.prompt,
            "notes": self.notes,
            "scores": (self.scores or {}).get("scores"),
            "decision": ((self.scores or {}).get("decision") or {}).get("action"),
            "overall": self.overall,
            "video": str(self.video) if self.video else None,
            "last_frame": str(self.last_frame) if self.last_frame else None,
            "chosen": self.chosen,
            "chosen_by": self.chosen_by,
        }


def rating_score(rating: int) -> float:
    """A person's 1-5 rating as a score: 1 → 0.0, 3 → 0.5, 5 → 1.0."""
    return (rating - 1) / 4


def list_takes(studio: Studio, segment_id: int) -> list[TakeInfo]:
    """Every take of a segment, oldest first (previs and final, retries, retakes).

    Raises:
        NotFoundError: there is no such segment.
    """
    with studio.database.session() as session:
        _segment(session, segment_id)
        return [_info(studio.home, t) for t in where_takes_of_segment(session, segment_id)]


def choose_take(studio: Studio, take_id: int) -> TakeInfo:
    """Make a take its segment's chosen take (a person's choice: ``chosen_by="user"``).

    The segment shows and stitches that take from now on, and the chain check keeps it
    as it is. The next ``studio render`` stitches the scene again; segments after it
    that no longer continue its last frame are regenerated from it. Choosing another
    take than the approved one takes the approval back.

    Raises:
        NotFoundError: there is no such take.
        ReviewError: the take has no video (it failed, or is still generating).
    """
    with studio.database.session() as session:
        take = find_or_raise_take(session, take_id)
        segment = _segment(session, take.segment_id)
        if take.status in (TakeState.GENERATING, TakeState.FAILED) or not take.output_video_path:
            raise ReviewError(
                f"take {take.take_number} of segment {segment.id} is {take.status} and has no video; "
                "choose a finished take"
            )
        previous = find_chosen_take(session, segment.id)
        choose_take_without_commit(session, segment, take, chosen_by=ChosenBy.USER)
        if previous is None or previous.id != take.id:
            segment.status = (
                SegmentState.REVIEW.value if take.status == TakeState.REVIEW else SegmentState.COMPLETED.value
            )
            _restitch_later_without_commit(session, segment)
        session.flush()
        return _info(studio.home, take)


def approve_segment(
    studio: Studio, segment_id: int, *, rating: int | None = None, notes: str = ""
) -> int | None:
    """Approve a segment's chosen take; returns the first feedback id when rated.

    Raises:
        NotFoundError: there is no such segment.
        ReviewError: the segment has no take to approve, or the rating is not 1-5.
    """
    _check_rating(rating)
    with studio.database.session() as session:
        segment = _segment(session, segment_id)
        chosen = find_chosen_take(session, segment.id)
        if chosen is None and not segment.output_video_path:
            raise ReviewError(f"segment {segment_id} has nothing to approve yet; render it first")
        segment.status = SegmentState.APPROVED.value
        # Approving settles it: a retake still queued for it is called off.
        segment.meta = {k: v for k, v in (segment.meta or {}).items() if k != "retake"}
        if chosen is not None and chosen.status == TakeState.REVIEW:
            chosen.status = TakeState.PASSED.value
        ids = _record_without_commit(session, segment, rating, notes, verdict="approved")
        scene = session.get(SceneModel, segment.scene_id)
        settled = not any(s.status == SegmentState.REVIEW for s in scene.segments) if scene else False
        if scene is not None and scene.status == SceneState.REVIEW and settled:
            scene.status = SceneState.COMPLETED.value
        return ids[0] if ids else None


def reject_segment(
    studio: Studio,
    segment_id: int,
    *,
    rating: int | None = None,
    notes: str = "",
    backend: str | None = None,
) -> int | None:
    """Reject a segment's chosen take and queue a retake with ``notes``; returns the
    first feedback id when rated.

    The segment keeps showing the rejected take until the retake replaces it.

    Raises:
        NotFoundError: there is no such segment.
        ReviewError: the rating is not 1-5.
    """
    _check_rating(rating)
    with studio.database.session() as session:
        segment = _segment(session, segment_id)
        chosen = find_chosen_take(session, segment.id)
        if chosen is not None:
            chosen.status = TakeState.REJECTED.value
        ids = _record_without_commit(session, segment, rating, notes, verdict="rejected")
        mark_for_retake_without_commit(session, segment, notes=notes, backend=backend)
        return ids[0] if ids else None


def record_rating(
    studio: Studio, segment_id: int, *, rating: int, verdict: str, notes: str = ""
) -> list[int]:
    """Store a rating as user feedback only (no state change); returns the row ids."""
    _check_rating(rating)
    with studio.database.session() as session:
        return _record_without_commit(session, _segment(session, segment_id), rating, notes, verdict=verdict)


# -------------------------------------------------------------------------- helpers


def _check_rating(rating: int | None) -> None:
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
    ):
        raise ReviewError(f"a rating is a whole number from 1 to 5, got {rating!r}")


def _segment(session: Session, segment_id: int) -> SegmentModel:
    segment = session.get(SegmentModel, segment_id)
    if segment is None:
        raise NotFoundError(f"there is no segment with id {segment_id}")
    return segment


def _record_without_commit(
    session: Session, segment: SegmentModel, rating: int | None, notes: str, *, verdict: str
) -> list[int]:
    """User feedback rows (one per character present) and the latest review on the segment."""
    ids: list[int] = []
    if rating is not None:
        score = rating_score(rating)
        chosen = find_chosen_take(session, segment.id)
        for character_id, elements in _elements_by_character(session, segment):
            row = QualityFeedbackModel(
                segment_id=segment.id,
                character_id=character_id,
                attempt=chosen.attempt if chosen is not None else max(segment.attempts or 0, 1),
                overall_score=score,  # the person's judgement, not the measured score
                frame_consistency_score=segment.frame_consistency_score,
                motion_smoothness_score=segment.motion_smoothness_score,
                full_prompt=chosen.prompt if chosen is not None else segment.motion_prompt,
                successful_elements=elements if verdict == "approved" and rating >= 4 else [],
                failed_elements=elements if verdict == "rejected" or rating <= 2 else [],
                generation_parameters={
                    "take_id": chosen.id if chosen is not None else None,
                    "measured_overall": segment.overall_quality_score,
                    "verdict": verdict,
                },
                user_rating=rating,
                user_notes=notes.strip() or None,
                feedback_type="user",
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    review = {
        "verdict": verdict,
        "rating": rating,
        "notes": notes.strip(),
        "feedback_id": ids[0] if ids else None,
        "at": utcnow().isoformat(timespec="seconds"),
    }
    # Reassign (not mutate) the JSON column so SQLAlchemy sees the change.
    segment.meta = {**(segment.meta or {}), "review": review}
    return ids


def _elements_by_character(session: Session, segment: SegmentModel) -> list[tuple[int | None, list[str]]]:
    """Each character present with their own elements: those of the segment's latest
    automatic row for that character, else the prompt's elements."""
    names = [c.get("name") for c in (segment.scene.spec or {}).get("characters", []) if isinstance(c, dict)]
    characters = session.scalars(
        select(CharacterModel).where(
            CharacterModel.project_id == segment.scene.movie_id, CharacterModel.character_name.in_(names)
        )
    ).all()
    prompt_elements = [e.strip() for e in segment.motion_prompt.split(",") if e.strip()]
    result: list[tuple[int | None, list[str]]] = []
    for character in sorted(characters, key=lambda c: names.index(c.character_name)):
        latest = session.scalars(
            select(QualityFeedbackModel)
            .where(
                QualityFeedbackModel.segment_id == segment.id,
                QualityFeedbackModel.character_id == character.id,
                QualityFeedbackModel.feedback_type == "automatic",
            )
            .order_by(QualityFeedbackModel.id.desc())
        ).first()
        own = list((latest.successful_elements or []) + (latest.failed_elements or [])) if latest else []
        result.append((character.id, own or prompt_elements))
    return result or [(None, prompt_elements)]


def _restitch_later_without_commit(session: Session, segment: SegmentModel) -> None:
    scene = session.get(SceneModel, segment.scene_id)
    if scene is not None:
        scene.status = SceneState.PENDING.value  # the next render stitches it again


def _info(home: Path, take: TakeModel) -> TakeInfo:
    def path(value: str | None) -> Path | None:
        return home / value if value else None

    return TakeInfo(
        id=take.id,
        segment_id=take.segment_id,
        take=take.take_number,
        render_pass=take.render_pass,
        status=take.status,
        attempt=take.attempt,
        backend=take.backend,
        template=take.template,
        seed=take.seed,
        parameters=dict(take.parameters or {}),
        prompt=take.prompt,
        notes=take.notes,
        scores=dict(take.scores or {}),
        overall=take.overall_quality_score,
        video=path(take.output_video_path),
        first_frame=path(take.first_frame_path),
        last_frame=path(take.last_frame_path),
        chosen=take.chosen,
        chosen_by=take.chosen_by,
    )
