"""Better prompts for one segment, from scene memory and learned elements.

The request shows the model everything the deterministic composer used (the scene,
each character's look as scene memory resolved it, the learned elements that worked
for each character, the elements that keep failing), the segment's stored prompt, and
the feedback on earlier attempts. The answer is a :class:`PromptSuggestion` with one
reason per change; :func:`check_suggestion` then looks for what would break continuity
(a character on screen left out, an element known to fail put back in).

Applying a suggestion stores it as the segment's ``motion_prompt`` (and negative
prompt) only while the segment has not been rendered. A segment that is ``completed``
or ``review`` already has its video, and rendering keeps finished segments, so a new
prompt there would silently never be used: it is refused with
:class:`SegmentLockedError`, which says how to get a new render. A segment being
rendered (``processing``) is refused too, until the render finishes. The previous
prompt and the suggestion's provenance are kept in the segment's metadata under
``"assistant_prompt"``.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio._exceptions import NotFoundError
from studio.assistant._exceptions import SegmentLockedError, StaleProposalError
from studio.assistant._schemas import PromptSuggestion
from studio.assistant._types import Message
from studio.render._compose import compose_negative, compose_prompt
from studio.render._memory import SceneBrief, load_scene_brief, segment_action
from studio.storage._database import Database
from studio.storage._models import QualityFeedbackModel, SceneModel, SegmentModel, utcnow
from studio.storage._queries import find_or_raise_project
from studio.storage._states import SegmentState

__all__ = [
    "PromptProposal",
    "SegmentPromptContext",
    "apply_prompt",
    "check_suggestion",
    "find_segment_id",
    "load_segment_context",
    "prompt_request",
]

#: Statuses whose video exists (or is being made): their prompt is no longer used.
LOCKED_STATUSES = (
    SegmentState.COMPLETED,
    SegmentState.REVIEW,
    SegmentState.APPROVED,
    SegmentState.PROCESSING,
)
#: Feedback rows shown to the model, newest first.
FEEDBACK_SHOWN = 5
META_KEY = "assistant_prompt"


@dataclass(frozen=True)
class SegmentPromptContext:
    """What the model is told about one segment, detached from any session."""

    segment_id: int
    segment_number: int
    status: str
    scene_id: int
    scene_number: int
    project_id: int
    project: str
    prompt: str
    negative_prompt: str
    composed_prompt: str
    composed_negative: str
    action: str
    brief: SceneBrief
    feedback: tuple[dict[str, Any], ...] = ()

    @property
    def learned(self) -> dict[str, list[str]]:
        """Learned elements per character name (from :func:`studio.render._memory.learned_elements`)."""
        return {name: list(items) for name, items in self.brief.inputs.learned.items()}

    @property
    def failed(self) -> tuple[str, ...]:
        """Elements that failed for every character on screen, often enough to drop."""
        return tuple(self.brief.inputs.failed)


@dataclass(frozen=True)
class PromptProposal:
    """A suggested prompt for one segment, ready to show and to accept.

    Attributes:
        context: The segment as it was when the suggestion was made.
        suggestion: The validated answer.
        issues: Continuity problems found in it; accepting is refused while any remain.
        model: The model that proposed it.
        conversation_id: The stored conversation holding the request and the answer.
        position: The answer's position in that conversation.
    """

    context: SegmentPromptContext
    suggestion: PromptSuggestion
    issues: tuple[str, ...] = ()
    model: str = ""
    conversation_id: int | None = None
    position: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not self.issues

    @property
    def changed(self) -> bool:
        return (self.suggestion.prompt, self.negative_prompt) != (
            self.context.prompt,
            self.context.negative_prompt,
        )

    @property
    def negative_prompt(self) -> str:
        """The negative prompt to store: the suggestion's, or the current one if it gave none."""
        return self.suggestion.negative_prompt or self.context.negative_prompt

    @property
    def locked(self) -> bool:
        """Whether applying is refused because the segment is rendered or rendering."""
        return self.context.status in LOCKED_STATUSES

    @property
    def diff(self) -> str:
        """Element-by-element diff (one comma-separated element per line)."""
        parts: list[str] = []
        for label, before, after in (
            ("prompt", self.context.prompt, self.suggestion.prompt),
            ("negative", self.context.negative_prompt, self.negative_prompt),
        ):
            parts.extend(
                difflib.unified_diff(
                    _elements(before), _elements(after),
                    fromfile=f"current {label}", tofile=f"proposed {label}", lineterm="",
                )
            )
        return "\n".join(parts) + ("\n" if parts else "")

    def as_data(self) -> dict[str, Any]:
        """JSON-ready data, as stored with the conversation and printed by ``--json``."""
        return {
            "kind": "prompt",
            "segment_id": self.context.segment_id,
            "scene": self.context.scene_number,
            "segment": self.context.segment_number,
            "status": self.context.status,
            "before": {"prompt": self.context.prompt, "negative_prompt": self.context.negative_prompt},
            "after": {"prompt": self.suggestion.prompt, "negative_prompt": self.negative_prompt},
            "reasons": list(self.suggestion.reasons),
            "used_elements": list(self.suggestion.used_elements),
            "issues": list(self.issues),
            "model": self.model,
        }


def _elements(prompt: str) -> list[str]:
    return [e.strip() for e in prompt.split(",") if e.strip()]


def find_segment_id(
    database: Database, *, scene: int, number: int = 0, project: str | None = None
) -> int:
    """The id of segment ``number`` of scene ``scene`` (what ``--scene``/``--number`` name).

    Raises:
        NotFoundError: no such project, scene, or segment (the episode is not planned yet).
    """
    with database.session() as session:
        project_row = find_or_raise_project(session, project)
        scene_row = session.scalars(
            select(SceneModel).where(SceneModel.movie_id == project_row.id, SceneModel.scene_number == scene)
        ).one_or_none()
        if scene_row is None:
            raise NotFoundError(f"no scene number {scene} in {project_row.title!r}")
        segment_id = session.scalar(
            select(SegmentModel.id).where(
                SegmentModel.scene_id == scene_row.id, SegmentModel.segment_number == number
            )
        )
        if segment_id is None:
            planned = len(scene_row.segments)
            hint = (
                f"it has segments 0 to {planned - 1}"
                if planned
                else "it is not planned yet: `studio prompts --episode N` plans and shows its segments"
            )
            raise NotFoundError(f"scene {scene} has no segment {number}; {hint}")
        return int(segment_id)


def load_segment_context(session: Session, segment_id: int) -> SegmentPromptContext:
    """Gather a segment, its scene memory, learned elements and feedback (no commit).

    Raises:
        NotFoundError: no segment has that id.
    """
    segment = session.get(SegmentModel, segment_id)
    if segment is None:
        raise NotFoundError(
            f"there is no segment with id {segment_id}; segments exist once an episode is "
            "planned (`studio prompts --episode N`); name one by scene instead with "
            "`--scene N --number K`"
        )
    scene = session.get(SceneModel, segment.scene_id)
    assert scene is not None  # the foreign key guarantees it
    brief = load_scene_brief(session, scene)
    action = segment_action(brief.spec, segment.segment_number)
    rows = session.scalars(
        select(QualityFeedbackModel)
        .where(QualityFeedbackModel.segment_id == segment.id)
        .order_by(QualityFeedbackModel.id.desc())
        .limit(FEEDBACK_SHOWN)
    ).all()
    feedback = tuple(
        {
            key: value
            for key, value in {
                "attempt": row.attempt,
                "score": round(row.overall_score, 3),
                "rating": row.user_rating,
                "notes": row.user_notes,
                "failed_elements": row.failed_elements or None,
            }.items()
            if value not in (None, "", [])
        }
        for row in rows
    )
    return SegmentPromptContext(
        segment_id=segment.id,
        segment_number=segment.segment_number,
        status=segment.status,
        scene_id=scene.id,
        scene_number=scene.scene_number,
        project_id=scene.movie_id,
        project=brief.project,
        prompt=segment.motion_prompt,
        negative_prompt=segment.negative_prompt or "",
        composed_prompt=compose_prompt(brief.inputs, action=action),
        composed_negative=compose_negative(brief.inputs),
        action=action,
        brief=brief,
        feedback=feedback,
    )


def prompt_request(context: SegmentPromptContext) -> str:
    """The user message asking for a better prompt for ``context``'s segment."""
    inputs = context.brief.inputs
    characters = [
        {
            key: value
            for key, value in {
                "name": c.name,
                "look": c.prompt_tokens,
                "outfit": c.outfit,
                "hair": c.hair,
                "accessories": list(c.accessories),
                "expression": c.expression,
                "pose": c.pose,
                "position": c.position,
                "action": c.action,
                "learned_elements": list(inputs.learned.get(c.name, ())),
            }.items()
            if value not in ("", [], None)
        }
        for c in inputs.characters
    ]
    spec = context.brief.spec
    scene = {
        key: value
        for key, value in {
            "title": spec.title,
            "description": spec.description,
            "location": inputs.location,
            "time_of_day": inputs.time_of_day,
            "weather": inputs.weather,
            "mood": inputs.mood,
            "lighting": inputs.lighting,
            "camera": f"{inputs.camera_angle} {inputs.camera_movement}".strip(),
            "style": list(inputs.style_keywords),
            "tension": inputs.tension,
        }.items()
        if value not in ("", [], None)
    }
    facts: dict[str, Any] = {
        "scene": scene,
        "characters": characters,
        "segment": {"number": context.segment_number, "action": context.action},
        "current_prompt": context.prompt,
        "current_negative_prompt": context.negative_prompt,
        "deterministic_prompt": context.composed_prompt,
        "elements_that_keep_failing": list(context.failed),
        "feedback_on_earlier_attempts": list(context.feedback),
    }
    return (
        f"Improve the generation prompt for segment {context.segment_number} of scene "
        f"{context.scene_number}, for an image-to-video model that continues from the previous "
        "segment's last frame. Keep every character's look exactly as the scene memory gives it "
        "(outfit, hair, accessories) and name every character on screen; keep the learned "
        "elements, which scored well before; leave out the elements that keep failing; describe "
        "motion concretely. Give one reason per change, and list the memory items and learned "
        "elements you relied on.\n\nThe segment (JSON):\n"
        f"{json.dumps(facts, ensure_ascii=False, indent=1)}"
    )


def prompt_messages(system: str, context: SegmentPromptContext) -> list[Message]:
    return [Message.system(system), Message.user(prompt_request(context))]


def check_suggestion(context: SegmentPromptContext, suggestion: PromptSuggestion) -> tuple[str, ...]:
    """Continuity problems in a suggestion (an empty tuple when there are none)."""
    issues = []
    text = suggestion.prompt.lower()
    for character in context.brief.inputs.characters:
        if character.name.lower() not in text:
            issues.append(
                f"the prompt leaves out {character.name}, who is on screen in scene "
                f"{context.scene_number}"
            )
    elements = {e.lower() for e in _elements(suggestion.prompt)}
    for failed in context.failed:
        if failed.lower() in elements:
            issues.append(f"the prompt puts back {failed!r}, an element that keeps failing")
    return tuple(issues)


def apply_prompt(database: Database, proposal: PromptProposal) -> None:
    """Store an accepted suggestion as the segment's prompts, in one transaction.

    Raises:
        NotFoundError: the segment no longer exists (its scene was re-planned).
        SegmentLockedError: the segment is rendered or being rendered (see the module).
        StaleProposalError: the segment's prompt changed after the suggestion was made.
        ValueError: the suggestion has continuity issues (they are listed).
    """
    context = proposal.context
    if proposal.issues:
        listed = "; ".join(proposal.issues)
        raise ValueError(f"the suggestion for segment {context.segment_id} was not applied: {listed}")
    with database.session() as session:
        segment = session.get(SegmentModel, context.segment_id)
        if segment is None:
            raise NotFoundError(
                f"segment {context.segment_id} no longer exists (its scene was planned again); "
                "ask for a suggestion for the new segment"
            )
        if segment.status in LOCKED_STATUSES:
            raise SegmentLockedError(
                segment_id=segment.id,
                segment=segment.segment_number,
                scene=context.scene_number,
                status=segment.status,
            )
        if (segment.motion_prompt, segment.negative_prompt or "") != (
            context.prompt,
            context.negative_prompt,
        ):
            raise StaleProposalError(
                f"the prompt of segment {segment.id} changed after this suggestion was made; "
                "ask the assistant again so it improves the current prompt"
            )
        segment.motion_prompt = proposal.suggestion.prompt
        segment.negative_prompt = proposal.negative_prompt
        segment.meta = {
            **(segment.meta or {}),
            META_KEY: {
                "prompt": proposal.suggestion.prompt,
                "negative_prompt": proposal.negative_prompt,
                "replaced": {"prompt": context.prompt, "negative_prompt": context.negative_prompt},
                "model": proposal.model,
                "conversation_id": proposal.conversation_id,
                "accepted_at": utcnow().isoformat(),
            },
        }
