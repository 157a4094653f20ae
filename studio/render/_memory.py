"""Scene memory: what each scene knows about its characters, story and look.

Memory rows start from the screenplay (the importer writes them) and are completed
here, scene by scene in project order, as the seed's ``propagate_to_next_scene`` did:

- a character who appears again and has not exited keeps outfit, hair and accessories
  unless the new scene says otherwise (the character sheet supplies the first values);
- the previous scene's plot summary becomes the next scene's prior context;
- the exit keyframe becomes the next scene's entry keyframe (done by the pipeline when
  the scene finishes, for scenes joined by a non-cut transition).

Learned elements are per character (the seed did it globally): the five most frequent
successful elements from that character's feedback at >= 0.7, minus elements that
failed for that character (< 0.4) three or more times. A feedback row attributes to a
character only that character's own look (:func:`character_elements`), never the scene's
location, lighting or style, nor the scene's performance (expression, pose, action); and
the composer leaves out any learned element that contradicts the character's current
outfit, hair, accessories or expression.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.backends import CharacterInShot, DialogueLine, SceneContext
from studio.project._screenplay import CharacterSpec, DefaultsSpec, SceneSpec
from studio.render._compose import CharacterState, PromptInputs, character_parts, placement
from studio.storage._models import (
    CharacterSceneMemoryModel,
    ProjectModel,
    QualityFeedbackModel,
    SceneModel,
    StoryStateMemoryModel,
    VisualStyleMemoryModel,
)

__all__ = ["SceneBrief", "learned_elements", "load_scene_brief", "propagate_memory"]

SUCCESS_SCORE = 0.7
FAILURE_SCORE = 0.4
FAILURES_TO_REMOVE = 3
LEARNED_PER_CHARACTER = 5


@dataclass(frozen=True)
class SceneBrief:
    """Everything the pipeline needs about one scene, detached from any session."""

    scene_id: int
    number: int
    episode: int
    project: str
    spec: SceneSpec
    defaults: DefaultsSpec
    inputs: PromptInputs
    context: SceneContext
    character_ids: dict[str, int] = field(default_factory=dict)
    entry_keyframe: str | None = None


def propagate_memory(session: Session, project: ProjectModel) -> None:
    """Complete every scene's memory from the ones before it (idempotent, no commit)."""
    characters = {c.id: c for c in project.characters}
    scenes = list(
        session.scalars(
            select(SceneModel).where(SceneModel.movie_id == project.id).order_by(SceneModel.scene_number)
        )
    )
    carried: dict[int, tuple[str | None, str | None, list[str], int]] = {}
    previous_story: StoryStateMemoryModel | None = None
    for scene in scenes:
        spec = SceneSpec.model_validate(scene.spec)
        stated = {c.name: c for c in spec.characters}
        memories = session.scalars(
            select(CharacterSceneMemoryModel).where(CharacterSceneMemoryModel.scene_id == scene.id)
        ).all()
        next_carried: dict[int, tuple[str | None, str | None, list[str], int]] = {}
        for memory in memories:
            character = characters[memory.character_id]
            sheet = CharacterSpec.model_validate(
                (character.meta or {}).get("spec", {"name": character.character_name})
            )
            own = stated.get(character.character_name)
            outfit, hair, accessories, source = carried.get(
                character.id, (sheet.outfit or None, sheet.hair or None, list(sheet.accessories), None)
            )
            resolved_outfit = (own.outfit if own else "") or outfit
            resolved_hair = (own.hair if own else "") or hair
            resolved_accessories = list(own.accessories) if own and own.accessories else accessories
            memory.outfit_description = resolved_outfit
            memory.hair_style = resolved_hair
            memory.accessories = resolved_accessories
            memory.carried_from_scene = source if own is None or not own.outfit else None
            if memory.exited_scene_at is None:
                next_carried[character.id] = (
                    resolved_outfit,
                    resolved_hair,
                    resolved_accessories,
                    scene.scene_number,
                )
        # Characters absent from this scene keep what they had.
        carried = {
            **{k: v for k, v in carried.items() if k not in {m.character_id for m in memories}},
            **next_carried,
        }
        story = session.scalars(
            select(StoryStateMemoryModel).where(StoryStateMemoryModel.scene_id == scene.id)
        ).one_or_none()
        if story is not None:
            if previous_story is not None:
                story.prior_context = previous_story.plot_summary
                story.transition_from_previous = previous_story.transition_to_next
                previous_story.upcoming_context = story.plot_summary
            else:
                story.prior_context = None
            previous_story = story


def learned_elements(session: Session, character_ids: Iterable[int]) -> tuple[dict[int, list[str]], set[str]]:
    """Per-character learned elements, and the elements that failed for every one of them.

    Returns:
        ``({character_id: [element, ...]}, {element failed for all characters present})``.
    """
    learned: dict[int, list[str]] = {}
    failed_sets: list[set[str]] = []
    for character_id in character_ids:
        rows = _rated_rows(session, character_id)
        successes: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        for score, good, bad in rows:
            if score >= SUCCESS_SCORE:
                successes.update(e.lower() for e in good or [])
            if score < FAILURE_SCORE:
                failures.update(e.lower() for e in bad or [])
        removed = {e for e, n in failures.items() if n >= FAILURES_TO_REMOVE}
        ranked = sorted((e for e in successes if e not in removed), key=lambda e: (-successes[e], e))
        learned[character_id] = ranked[:LEARNED_PER_CHARACTER]
        failed_sets.append(removed)
    failed = set.intersection(*failed_sets) if failed_sets else set()
    return learned, failed


def _rated_rows(session: Session, character_id: int) -> list[tuple[float, list[str], list[str]]]:
    """A character's feedback as (score, successful, failed); where a person rated a
    segment, their latest rating stands for it and its measured rows are left out."""
    rows = session.execute(
        select(
            QualityFeedbackModel.segment_id,
            QualityFeedbackModel.feedback_type,
            QualityFeedbackModel.overall_score,
            QualityFeedbackModel.successful_elements,
            QualityFeedbackModel.failed_elements,
        )
        .where(QualityFeedbackModel.character_id == character_id)
        .order_by(QualityFeedbackModel.id)
    ).all()
    rated = {segment: (score, good, bad) for segment, kind, score, good, bad in rows if kind == "user"}
    measured = [(score, good, bad) for segment, kind, score, good, bad in rows if segment not in rated]
    return measured + list(rated.values())


def load_scene_brief(session: Session, scene: SceneModel, *, learn: bool = True) -> SceneBrief:
    """Gather the scene's spec and memory into prompt inputs and a backend context."""
    project = session.get(ProjectModel, scene.movie_id)
    assert project is not None
    defaults = DefaultsSpec.model_validate((project.meta or {}).get("defaults", {}))
    spec = SceneSpec.model_validate(scene.spec)
    story = session.scalars(
        select(StoryStateMemoryModel).where(StoryStateMemoryModel.scene_id == scene.id)
    ).one_or_none()
    style = session.scalars(
        select(VisualStyleMemoryModel).where(VisualStyleMemoryModel.scene_id == scene.id)
    ).one_or_none()
    memories = {
        m.character_id: m
        for m in session.scalars(
            select(CharacterSceneMemoryModel).where(CharacterSceneMemoryModel.scene_id == scene.id)
        )
    }
    rows = {c.character_name: c for c in project.characters}
    states: list[CharacterState] = []
    shots: list[CharacterInShot] = []
    ids: dict[str, int] = {}
    for present in spec.characters:
        row = rows[present.name]
        memory = memories.get(row.id)
        ids[present.name] = row.id
        state = CharacterState(
            name=present.name,
            prompt_tokens=row.character_prompt or "",
            negative_tokens=row.negative_prompt or "",
            outfit=(memory.outfit_description if memory else None) or present.outfit,
            hair=(memory.hair_style if memory else None) or present.hair,
            accessories=tuple((memory.accessories if memory else None) or present.accessories),
            expression=present.expression,
            pose=present.pose,
            position=present.position,
            facing=present.facing,
            action=present.action,
        )
        states.append(state)
        shots.append(
            CharacterInShot(
                name=present.name,
                palette=tuple(row.palette or ()),
                outfit=state.outfit,
                expression=state.expression,
                pose=state.pose,
                position=present.position,
                facing=present.facing,
                action=present.action,
                hair=state.hair,
                description=f"{row.description or ''}, {row.character_prompt or ''}".strip(", "),
                exits=present.exits,
                lora=row.lora_name,
                lora_strength=row.lora_strength or 1.0,
                lora_family=row.lora_family,
            )
        )
    learned_by_id, failed = learned_elements(session, ids.values()) if learn else ({}, set())
    inputs = PromptInputs(
        location=spec.location,
        time_of_day=spec.time_of_day,
        weather=spec.weather,
        mood=spec.mood,
        characters=tuple(states),
        lighting=(style.lighting_type if style else None) or spec.lighting,
        camera_angle=spec.camera.angle,
        camera_movement=spec.camera.movement,
        style_keywords=tuple(spec.style),
        negative_style_keywords=tuple(spec.negative),
        tension=story.tension_level if story else spec.tension,
        style_preset=defaults.style_preset,
        negative_base=defaults.negative_prompt,
        learned={name: tuple(learned_by_id.get(cid, ())) for name, cid in ids.items()},
        failed=tuple(sorted(failed)),
    )
    episode_number = scene.episode.episode_number if scene.episode else 0
    context = SceneContext(
        project=project.title,
        episode=episode_number,
        scene=scene.scene_number,
        title=spec.title,
        description=spec.description,
        location=spec.location,
        time_of_day=spec.time_of_day,
        weather=spec.weather,
        mood=spec.mood,
        lighting=inputs.lighting,
        camera_angle=spec.camera.angle,
        camera_movement=spec.camera.movement,
        style_keywords=tuple(spec.style),
        characters=tuple(shots),
        dialogue=tuple(DialogueLine(d.speaker, d.line) for d in spec.dialogue),
        duration_seconds=spec.duration,
        actions=tuple(spec.actions),
    )
    return SceneBrief(
        scene_id=scene.id,
        number=scene.scene_number,
        episode=episode_number,
        project=project.title,
        spec=spec,
        defaults=defaults,
        inputs=inputs,
        context=context,
        character_ids=ids,
        entry_keyframe=scene.entry_keyframe_path,
    )


def segment_action(spec: SceneSpec, number: int) -> str:
    """The per-segment action: the scene's ``actions`` list, the last one repeating."""
    if spec.actions:
        return spec.actions[min(number, len(spec.actions) - 1)]
    return ""


def character_elements(state: CharacterState) -> Sequence[str]:
    """The prompt elements that are one character's look, as the prompt says them: their
    prompt tokens, outfit, hair and accessories. Only these are learned for them.

    Not their name, nor where they stand; and not their expression, pose or action either:
    those are this scene's performance, and a learned "waves to Bo" or "running" appended
    to a later scene would contradict what that scene asks for.
    """
    performance = {f"{state.expression} expression" if state.expression else "", state.pose, state.action}
    where = placement(state) if state.position else None
    return [e for e in character_parts(state)[1:] if e != where and e not in performance]
