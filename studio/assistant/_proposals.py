"""Proposals: what the assistant suggests, as a change to the screenplay, shown as a diff.

A proposal never touches the database. It holds the whole proposed screenplay as plain
data (``after``), the unified diff of its YAML against the current screenplay, and the
problems the screenplay validator found in it. Accepting it
(:meth:`studio.assistant.EchoBrain.accept`) writes that YAML to a file and imports it
exactly like ``studio import``: the same validation, the same transaction, and an
invalid proposal is rejected with the validator's message, nothing written.

Both sides of a diff are the screenplay's JSON form with default values left out, the
shape ``studio export`` writes, so the diff shows only what the proposal changes.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from studio._exceptions import ScreenplayError
from studio.assistant._schemas import CharacterSheet, SceneBreakdown, SceneExpansion
from studio.project._screenplay import Screenplay, validate_screenplay_data

__all__ = [
    "Proposal",
    "ProposalKind",
    "propose_breakdown",
    "propose_character",
    "propose_expansion",
    "screenplay_data",
    "screenplay_yaml",
]

ProposalKind = Literal["breakdown", "expand", "character"]


@dataclass(frozen=True)
class Proposal:
    """A proposed screenplay change, ready to show and to accept or reject.

    Attributes:
        kind: What produced it.
        title: One line saying what it changes.
        before: The screenplay's data now.
        after: The proposed screenplay's data (not necessarily valid: see ``issues``).
        diff: Unified diff of ``before`` to ``after`` as YAML; empty when nothing changes.
        issues: The screenplay validator's messages for ``after``; accepting a proposal
            with issues is refused with these messages.
        model: The model that proposed it.
    """

    kind: ProposalKind
    title: str
    before: dict[str, Any]
    after: dict[str, Any]
    diff: str
    issues: tuple[str, ...] = ()
    model: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.diff)

    @property
    def valid(self) -> bool:
        return not self.issues

    def yaml(self) -> str:
        """The proposed screenplay as YAML (what accepting it imports)."""
        return screenplay_yaml(self.after)


def screenplay_yaml(data: dict[str, Any]) -> str:
    """YAML text of screenplay data, in the layout ``studio export`` uses."""
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def screenplay_data(screenplay: Screenplay) -> dict[str, Any]:
    data = screenplay.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("title", screenplay.title)
    return data


def _finish(
    kind: ProposalKind,
    title: str,
    before: Screenplay,
    after: dict[str, Any],
    *,
    model: str,
    notes: Sequence[str] = (),
) -> Proposal:
    before_data = screenplay_data(before)
    diff = "".join(
        difflib.unified_diff(
            screenplay_yaml(before_data).splitlines(keepends=True),
            screenplay_yaml(after).splitlines(keepends=True),
            fromfile="current",
            tofile="proposed",
        )
    )
    try:
        validate_screenplay_data(after, source="proposal")
        issues: tuple[str, ...] = ()
    except ScreenplayError as error:
        issues = tuple(str(issue) for issue in error.issues)
    return Proposal(
        kind=kind,
        title=title,
        before=before_data,
        after=after,
        diff=diff,
        issues=issues,
        model=model,
        notes=tuple(n for n in notes if n),
    )


def _non_empty(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in ("", [], None)}


def propose_breakdown(
    screenplay: Screenplay,
    episode: int,
    breakdown: SceneBreakdown,
    *,
    synopsis: str,
    model: str = "",
) -> Proposal:
    """Replace episode ``episode``'s scenes with ``breakdown`` (creating the episode).

    Scene numbers are unique within a project: the new scenes start at the episode's
    first scene number, or after the last scene of the episodes before it. Scenes of
    later episodes are never renumbered; if the new scenes reach their numbers, the
    validator reports the duplicate.
    """
    after = screenplay_data(screenplay)
    episodes: list[dict[str, Any]] = after.setdefault("episodes", [])
    existing = next((e for e in screenplay.episodes if e.number == episode), None)
    if existing is not None and existing.scenes:
        first = existing.scenes[0].number
    else:
        earlier = [s.number for e in screenplay.episodes if e.number < episode for s in e.scenes]
        first = max(earlier, default=0) + 1
    scenes = [
        _non_empty(
            number=first + index,
            title=plan.title,
            description=plan.description,
            location=plan.location,
            time_of_day=plan.time_of_day,
            weather=plan.weather,
            mood=plan.mood,
            duration=plan.duration,
            characters=[{"name": name} for name in plan.characters],
            camera=_non_empty(angle=plan.camera_angle, movement=plan.camera_movement),
            lighting=plan.lighting,
            dialogue=[{"speaker": d.speaker, "line": d.line} for d in plan.dialogue],
        )
        for index, plan in enumerate(breakdown.scenes)
    ]
    entry = next((e for e in episodes if e.get("number") == episode), None)
    if entry is None:
        entry = {"number": episode}
        episodes.append(entry)
        episodes.sort(key=lambda e: int(e.get("number", 0)))
    if breakdown.episode_title and not entry.get("title"):
        entry["title"] = breakdown.episode_title
    entry["synopsis"] = synopsis
    entry["scenes"] = scenes
    return _finish(
        "breakdown",
        f"episode {episode}: {len(scenes)} scenes from the synopsis",
        screenplay,
        after,
        model=model,
        notes=[breakdown.notes],
    )


def propose_expansion(
    screenplay: Screenplay, scene: int, expansion: SceneExpansion, *, model: str = ""
) -> Proposal:
    """Set each character's action, expression and pose, the camera and the lighting.

    Characters already in the scene are updated field by field (empty proposals keep
    the current value); new names are added, and must exist in the project.

    Raises:
        KeyError: no scene has that number.
    """
    after = screenplay_data(screenplay)
    target = next(
        (s for e in after.get("episodes", []) for s in e.get("scenes", []) if s["number"] == scene),
        None,
    )
    if target is None:
        raise KeyError(f"no scene number {scene} in {screenplay.title!r}")
    cast: list[dict[str, Any]] = target.setdefault("characters", [])
    by_name = {c["name"]: c for c in cast}
    for direction in expansion.characters:
        entry = by_name.get(direction.name)
        if entry is None:
            entry = {"name": direction.name}
            cast.append(entry)
            by_name[direction.name] = entry
        entry.update(
            _non_empty(
                action=direction.action,
                expression=direction.expression,
                pose=direction.pose,
                position=direction.position,
                facing=direction.facing,
            )
        )
    camera = {**target.get("camera", {}), **_non_empty(angle=expansion.camera_angle)}
    camera["movement"] = expansion.camera_movement
    target["camera"] = camera
    target.update(_non_empty(lighting=expansion.lighting, mood=expansion.mood))
    return _finish(
        "expand",
        f"scene {scene}: direction for {len(expansion.characters)} characters, camera, lighting",
        screenplay,
        after,
        model=model,
        notes=[expansion.notes],
    )


def propose_character(
    screenplay: Screenplay, sheet: CharacterSheet, *, model: str = ""
) -> Proposal:
    """Add the character, or update the one with that name (reference images and LoRA kept)."""
    after = screenplay_data(screenplay)
    characters: list[dict[str, Any]] = after.setdefault("characters", [])
    description = sheet.description
    if sheet.personality:
        description = f"{description} Personality: {sheet.personality}"
    values = _non_empty(
        description=description,
        prompt=", ".join(sheet.prompt_tokens),
        negative=", ".join(sheet.negative_tokens),
        outfit=sheet.outfit,
        hair=sheet.hair,
        accessories=list(sheet.accessories),
        palette=[c.lower() for c in sheet.palette],
    )
    entry = next((c for c in characters if c.get("name") == sheet.name), None)
    verb = "update"
    if entry is None:
        entry = {"name": sheet.name}
        characters.append(entry)
        verb = "new"
    entry.update(values)
    return _finish("character", f"{verb} character {sheet.name}", screenplay, after, model=model)
