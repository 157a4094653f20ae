"""Deterministic prompt composition from scene memory, in the seed system's order.

The order (``reference/seed-system.md`` §2): location; "{time_of_day} lighting";
weather (unless clear); "{mood} atmosphere"; for each character: name, "wearing
{outfit}", "{expression} expression", pose, position; "{lighting} lighting",
"{angle} shot", "{movement} camera"; style keywords; the segment's action; tension
words ("intense" above 0.7, "calm" below 0.3); learned elements. The same inputs always
give the same prompt, so prompts can be stored, inspected and diffed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CharacterState",
    "PromptInputs",
    "character_parts",
    "compose_negative",
    "compose_prompt",
    "contradicts",
    "look_attribute",
    "placement",
]

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
        parts.extend(character_parts(character))
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
        learned = inputs.learned.get(character.name, ())
        parts.extend(e for e in learned if not contradicts(e, character))
    return _join(parts, remove=set(inputs.failed))


def character_parts(character: CharacterState) -> list[str]:
    """The parts of the prompt that describe one character, in prompt order.

    The character's own prompt tokens come first, less any that contradict the scene's
    (or the memory's) current outfit, hair or accessories: a sheet saying "silver bob
    haircut" does not survive a scene that gives the character a long braid.
    """
    tokens = [t.strip() for t in character.prompt_tokens.split(",") if t.strip()]
    parts = [character.name, *(t for t in tokens if not contradicts(t, character))]
    if character.outfit:
        parts.append(f"wearing {character.outfit}")
    if character.hair:
        parts.append(f"{character.hair} hair")
    if character.accessories:
        parts.append("with " + " and ".join(character.accessories))
    if character.expression:
        parts.append(f"{character.expression} expression")
    if character.pose:
        parts.append(character.pose)
    if character.position:
        parts.append(placement(character))
    if character.action:
        parts.append(character.action)
    return parts


def placement(character: CharacterState) -> str:
    """Where the character stands in the frame, as the prompt says it."""
    position = character.position
    return f"on the {position}" if position in ("left", "right") else position


_HAIR = re.compile(r"\b(hair|haircut|hairstyle|hairdo)$")


def look_attribute(element: str) -> str | None:
    """Which look attribute an element describes, by its form: ``wearing ...`` (outfit),
    ``with ...`` (accessories), ``... hair``/``haircut``/``hairstyle`` (hair),
    ``... expression``; ``None`` for anything else."""
    text = element.strip().lower()
    if text.startswith("wearing "):
        return "outfit"
    if text.startswith("with "):
        return "accessories"
    if _HAIR.search(text):
        return "hair"
    if text.endswith(" expression"):
        return "expression"
    return None


def contradicts(element: str, character: CharacterState) -> bool:
    """Whether ``element`` describes an outfit, hair, accessories or expression other than
    the character's current one (an attribute the character does not set contradicts
    nothing)."""
    attribute = look_attribute(element)
    text = element.strip().lower()
    if attribute == "accessories":
        if not character.accessories:
            return False
        return text != ("with " + " and ".join(character.accessories)).lower()
    current = {"outfit": character.outfit, "hair": character.hair, "expression": character.expression}.get(
        attribute or "", ""
    )
    return bool(current) and current.strip().lower() not in text


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
