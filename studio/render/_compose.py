"""Deterministic prompt composition from scene memory, in the seed system's order.

The order (``reference/seed-system.md`` §2): location; "{time_of_day} lighting";
weather (unless clear); "{mood} atmosphere"; for each character: name, "wearing
{outfit}", "{expression} expression", pose, position; "{lighting} lighting",
"{angle} shot", "{movement} camera"; style keywords; the segment's action; tension
words ("intense" above 0.7, "calm" below 0.3); learned elements. The same inputs always
give the same prompt, so prompts can be stored, inspected and diffed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["CharacterState", "PromptInputs", "compose_negative", "compose_prompt"]

DEFAULT_NEGATIVE = "low quality, blurry, distorted, deformed"


@dataclass(frozen=True)
class CharacterState:
    """A character as the prompt describes them in one scene (spec + carried memory)."""

    name: str
    prompt_tokens: str = ""
    negative_tokens: str = ""
    outfit: str = ""
    hair: str = ""
    accessories: tuple[str, ...] = ()
    expression: str = ""
    pose: str = ""
    position: str = ""
    facing: str = ""
    action: str = ""


@dataclass(frozen=True)
class PromptInputs:
    location: str = ""
    time_of_day: str = ""
    weather: str = ""
    mood: str = ""
    characters: Sequence[CharacterState] = ()
    lighting: str = ""
    camera_angle: str = ""
    camera_movement: str = ""
    style_keywords: Sequence[str] = ()
    negative_style_keywords: Sequence[str] = ()
    tension: float = 0.5
    style_preset: str = ""
    negative_base: str = DEFAULT_NEGATIVE
    # Learned elements per character name (successful at >= 0.7, failures removed).
    learned: Mapping[str, Sequence[str]] = field(default_factory=dict)
    failed: Iterable[str] = ()


def compose_prompt(inputs: PromptInputs, *, action: str = "") -> str:
    """The positive prompt for one segment."""
    parts: list[str] = []
    add = parts.append
    if inputs.location:
        add(inputs.location)
    if inputs.time_of_day:
        add(f"{inputs.time_of_day} lighting")
    if inputs.weather and inputs.weather.lower() != "clear":
        add(inputs.weather)
    if inputs.mood:
        add(f"{inputs.mood} atmosphere")
    for character in inputs.characters:
        add(character.name)
        if character.prompt_tokens:
            add(character.prompt_tokens)
        if character.outfit:
            add(f"wearing {character.outfit}")
        if character.hair:
            add(f"{character.hair} hair")
        if character.accessories:
            add("with " + " and ".join(character.accessories))
        if character.expression:
            add(f"{character.expression} expression")
        if character.pose:
            add(character.pose)
        if character.position:
            add(
                f"on the {character.position}"
                if character.position in ("left", "right")
                else character.position
            )
    if inputs.lighting:
        add(f"{inputs.lighting} lighting")
    if inputs.camera_angle:
        add(f"{inputs.camera_angle} shot")
    if inputs.camera_movement:
        add(f"{inputs.camera_movement} camera")
    parts.extend(inputs.style_keywords)
    if inputs.style_preset and inputs.style_preset not in inputs.style_keywords:
        add(f"{inputs.style_preset} style")
    if action:
        add(action)
    if inputs.tension > 0.7:
        add("intense")
    elif inputs.tension < 0.3:
        add("calm")
    for character in inputs.characters:
        parts.extend(inputs.learned.get(character.name, ()))
    return _join(parts, remove=set(inputs.failed))


def compose_negative(inputs: PromptInputs) -> str:
    """The negative prompt: the project's base, the scene's and the characters' negatives."""
    parts = [inputs.negative_base] if inputs.negative_base else []
    parts.extend(inputs.negative_style_keywords)
    parts.extend(c.negative_tokens for c in inputs.characters if c.negative_tokens)
    return _join(parts)


def _join(parts: Iterable[str], *, remove: set[str] | None = None) -> str:
    """Comma-join, dropping blanks, repeats and removed elements (compared case-insensitively)."""
    removed = {r.strip().lower() for r in remove or ()}
    seen: set[str] = set()
    kept: list[str] = []
    for part in parts:
        for element in part.split(","):
            element = element.strip()
            key = element.lower()
            if element and key not in seen and key not in removed:
                seen.add(key)
                kept.append(element)
    return ", ".join(kept)
