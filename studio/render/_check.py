"""Check a generated segment and record what was learned from it.

Every attempt is analysed on every frame and at its seam (``studio.quality``), gets a
decision (pass, retry, colour-correct, review), and writes one
``generation_quality_feedback`` row per character present, so learned elements are
attributed to each character rather than to the first one only (the seed's mistake).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from studio._exceptions import ConfigurationError
from studio._video import write_text_atomic
from studio.quality import Decision, QualityDecision, QualityThresholds, VideoAnalysis, analyze_video, decide
from studio.render._compose import CharacterState
from studio.render._memory import FAILURE_SCORE, SUCCESS_SCORE, character_elements
from studio.storage._models import QualityFeedbackModel

__all__ = ["SegmentCheck", "check_segment", "record_feedback_without_commit", "thresholds_for"]


@dataclass(frozen=True)
class SegmentCheck:
    analysis: VideoAnalysis
    decision: QualityDecision

    @property
    def passed(self) -> bool:
        return self.decision.action is Decision.PASS

    def summary(self) -> dict[str, Any]:
        """What the segment row keeps: scores, seed scores, events and the decision."""
        document = self.analysis.to_json()
        return {
            "scores": document["scores"],
            "seed_scores": document["seed_scores"],
            "events": document["events"],
            "seam": document["seam"],
            "sharpness": document["sharpness"],
            "decision": self.decision.to_json(),
        }


def thresholds_for(quality: dict[str, float]) -> QualityThresholds:
    """The project's thresholds: screenplay ``defaults.quality`` over the documented defaults.

    Raises:
        ConfigurationError: A stored threshold is unknown or out of bounds.
    """
    try:
        return QualityThresholds.from_dict(quality)
    except ValueError as error:
        raise ConfigurationError(
            f"screenplay defaults.quality: {error}. Fix it in the screenplay and run `studio import` again."
        ) from error


def check_segment(
    video: Path,
    *,
    previous_last_frame: Path | None,
    anchor_frame: Path | None,
    reference_sharpness: float | None,
    thresholds: QualityThresholds,
    attempt: int,
    max_attempts: int,
    series_path: Path | None = None,
) -> SegmentCheck:
    """Analyse one attempt and decide what to do with it.

    The full per-frame series is written to ``series_path`` (JSON) for the quality panel.
    """
    analysis = analyze_video(
        video,
        previous_last_frame=previous_last_frame,
        anchor_frame=anchor_frame,
        reference_sharpness=reference_sharpness,
        thresholds=thresholds,
    )
    if series_path is not None:
        write_text_atomic(series_path, json.dumps(analysis.to_json()))
    decision = decide(analysis, thresholds, attempt=attempt, max_attempts=max_attempts)
    return SegmentCheck(analysis=analysis, decision=decision)


def record_feedback_without_commit(
    session: Session,
    *,
    segment_id: int,
    attempt: int,
    prompt: str,
    check: SegmentCheck,
    characters: list[tuple[int, CharacterState]],
    parameters: dict[str, Any],
) -> list[QualityFeedbackModel]:
    """One automatic feedback row per character present (one without a character if none).

    Each character's row names that character's own look and action elements only
    (:func:`~studio.render._memory.character_elements`): those are what is learned for
    them, as far as the prompt sent carried them. A row without a character (a scene
    nobody is in) names the prompt's elements.
    At >= 0.7 they count as successful, below 0.4 as failed.
    """
    scores = check.analysis.scores
    everything = [e.strip() for e in prompt.split(",") if e.strip()]
    sent = {e.lower() for e in everything}  # an element the prompt did not carry taught nothing
    rows = []
    for character_id, state in characters or [(None, None)]:  # type: ignore[list-item]
        if state is None:
            elements = everything
        else:
            elements = [e for e in character_elements(state) if e.lower() in sent]
        good = elements if scores.overall >= SUCCESS_SCORE else []
        bad = elements if scores.overall < FAILURE_SCORE else []
        row = QualityFeedbackModel(
            segment_id=segment_id,
            character_id=character_id,
            attempt=attempt,
            overall_score=scores.overall,
            frame_consistency_score=scores.frame_consistency,
            motion_smoothness_score=scores.motion_smoothness,
            style_consistency_score=scores.color_stability,
            full_prompt=prompt,
            successful_elements=good,
            failed_elements=bad,
            generation_parameters={**parameters, "decision": check.decision.to_json()},
            feedback_type="automatic",
        )
        session.add(row)
        rows.append(row)
    return rows
