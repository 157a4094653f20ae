"""Retries that change the graph, and review when nothing can change.

A failing segment is retried with a new seed *and* the next rung of its template's
escalation ladder (more steps, speed-ups off, cfg, shift, a different sampler...: see
``studio/backends/comfyui/_escalation.py``). Each attempt's parameters are the base
parameters plus that attempt's rung, never the previous attempt's, so nothing
accumulates. A backend says what a retry can change:

- ``deterministic = True`` (the animatic): the same request always draws the same
  frames, so a failing check goes straight to review with a note saying why;
- ``retry_changes(parameters, attempt)`` (ComfyUI): the rung's changes, or ``None`` when
  the graph would be one already sent (the segment then goes to review too);
- neither: a new seed is the only change.

What each attempt changed is kept in the segment's ``meta["attempts"]`` (and in its
feedback rows), so ``studio render --json`` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.backends import Backend
from studio.quality import Decision, QualityDecision
from studio.render._check import SegmentCheck

__all__ = ["SEED_STEP", "AttemptPlan", "attempt_record", "first_attempt", "next_attempt", "to_review"]

SEED_STEP = 1000  # attempt k uses base seed + 1000 * (k - 1)


@dataclass(frozen=True)
class AttemptPlan:
    """One attempt at a segment: its seed and what it changes from the base parameters."""

    attempt: int
    seed: int
    changes: Mapping[str, Any] = field(default_factory=dict)

    def parameters(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters this attempt sends: the base with this attempt's rung on top."""
        return {**base, **self.changes}


def first_attempt(base_seed: int) -> AttemptPlan:
    return AttemptPlan(attempt=1, seed=base_seed)


def next_attempt(
    backend: Backend, parameters: Mapping[str, Any], base_seed: int, attempt: int
) -> AttemptPlan | str:
    """The plan for attempt ``attempt`` (>= 2), or a sentence saying why no retry can
    give different frames."""
    if getattr(backend, "deterministic", False):
        return (
            f"the {backend.name} backend is deterministic: a retry would draw the same frames, "
            "so this segment goes to review; approve it, change the scene, or render with "
            "--backend comfyui"
        )
    ladder = getattr(backend, "retry_changes", None)
    changes: Mapping[str, Any] | None = {} if ladder is None else ladder(parameters, attempt)
    if changes is None:
        template = parameters.get("template") or getattr(backend, "template_name", "the template")
        return (
            f"template {template} has no seed input and its escalation ladder has nothing new "
            f"for attempt {attempt}: a retry would send the same graph, so this segment goes "
            "to review; add rungs to its \"escalation\" list to retry it"
        )
    return AttemptPlan(attempt=attempt, seed=base_seed + SEED_STEP * (attempt - 1), changes=dict(changes))


def to_review(check: SegmentCheck, note: str) -> SegmentCheck:
    """The same analysis, sent to review, with ``note`` after the check's reasons."""
    decision = QualityDecision(Decision.REVIEW, [*check.decision.reasons, note])
    return SegmentCheck(analysis=check.analysis, decision=decision)


def attempt_record(
    plan: AttemptPlan, check: SegmentCheck, *, correction: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What ``meta["attempts"]`` keeps of one attempt (JSON-ready)."""
    record: dict[str, Any] = {
        "attempt": plan.attempt,
        "seed": plan.seed,
        "changes": dict(plan.changes),
        "decision": check.decision.action.value,
        "reasons": list(check.decision.reasons),
        "overall": round(check.analysis.scores.overall, 4),
    }
    if correction is not None:
        record["correction"] = dict(correction)
    return record
