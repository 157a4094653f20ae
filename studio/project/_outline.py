"""Edits of a show's outline for the panels: projects, episodes, scenes, a scene's cast and lines.

Every edit goes through the same gate as :mod:`studio.project._editing`: export the
project, change the plain data, validate it as a screenplay, import it. So a panel can
only write what a screenplay file could hold, and the import marks changed scenes stale.

Scene numbers are unique within the project and give the order that memory flows in
(scene N hands its state to scene N + 1, across episodes). Adding a scene takes the next
number after its episode's last scene; when that number is taken, the later scenes move
up by one. Moving a scene or an episode swaps scene numbers so they still ascend in story
order. Renumbered scenes are marked stale: what they inherit from the scene before them
has changed, so they must render again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import select

from studio._exceptions import NotFoundError
from studio._studio import Studio
from studio.project._editing import EditError, _apply
from studio.project._importer import ImportSummary, import_screenplay
from studio.project._screenplay import validate_screenplay_data
from studio.storage._models import ProjectModel

__all__ = [
    "SCENE_CHARACTER_FIELDS",
    "add_episode",
    "add_scene",
    "add_scene_character",
    "create_project",
    "delete_episode",
    "delete_scene",
    "move_episode",
    "move_scene",
    "remove_scene_character",
    "update_episode",
    "update_scene_character",
]

Offset = Literal[-1, 1]
DEFAULT_SCENE_SECONDS = 4.0
# What a scene may say about each character in it (studio.project.CharacterInScene).
SCENE_CHARACTER_FIELDS = (
    "outfit",
    "hair",
    "accessories",
    "expression",
    "pose",
    "position",
    "facing",
    "action",
    "exits",
)


def create_project(studio: Studio, title: str, *, description: str = "") -> ImportSummary:
    """Start a new, empty show called ``title``.

    Raises:
        EditError: a project of that title exists.
        ScreenplayError: the title is empty or too long.
    """
    title = title.strip()
    with studio.database.session() as session:
        if session.scalars(select(ProjectModel.id).where(ProjectModel.title == title)).first() is not None:
            raise EditError(f"a show called {title!r} already exists; choose another title")
    data = {"title": title, "description": description}
    return import_screenplay(studio.database, validate_screenplay_data(data, source="new show"))


# --------------------------------------------------------------------------- episodes


def add_episode(studio: Studio, *, title: str = "", synopsis: str = "", project: str | None = None) -> int:
    """Add an episode after the last one; returns its number."""
    number = 0

    def change(play: dict[str, Any]) -> None:
        nonlocal number
        number = max((e["number"] for e in play["episodes"]), default=0) + 1
        play["episodes"].append({"number": number, "title": title, "synopsis": synopsis, "scenes": []})

    _apply(studio, project, change, prefix=lambda: f"episodes[{number - 1}]", label="new episode")
    return number


def update_episode(
    studio: Studio, number: int, changes: Mapping[str, Any], *, project: str | None = None
) -> ImportSummary:
    """Change an episode's ``title`` or ``synopsis``.

    Raises:
        NotFoundError: there is no such episode.
        EditError: ``changes`` names anything else (scenes have their own edits).
    """
    unknown = sorted(set(changes) - {"title", "synopsis"})
    if unknown:
        raise EditError(f"an episode's {', '.join(unknown)} cannot be changed here; only title and synopsis")
    index = 0

    def change(play: dict[str, Any]) -> None:
        nonlocal index
        index, episode = _find_episode(play, number)
        episode.update(changes)

    return _apply(studio, project, change, prefix=lambda: f"episodes[{index}]", label=f"episode {number}")


def delete_episode(studio: Studio, number: int, *, project: str | None = None) -> ImportSummary:
    """Remove an episode and its scenes (their rendered files stay on disk).

    Raises:
        NotFoundError: there is no such episode.
    """

    def change(play: dict[str, Any]) -> None:
        index, _ = _find_episode(play, number)
        del play["episodes"][index]

    return _apply(studio, project, change, prefix="", label=f"episode {number}")


def move_episode(studio: Studio, number: int, offset: Offset, *, project: str | None = None) -> ImportSummary:
    """Swap an episode with the one before (``offset=-1``) or after (``+1``) it.

    The two episodes exchange numbers, and their scenes are renumbered so scene numbers
    still ascend in story order.

    Raises:
        NotFoundError: there is no such episode.
        EditError: it is already first or last.
    """

    def change(play: dict[str, Any]) -> None:
        episodes = sorted(play["episodes"], key=lambda e: e["number"])
        index = next((i for i, e in enumerate(episodes) if e["number"] == number), None)
        if index is None:
            raise _no_episode(play, number)
        other = index + offset
        if not 0 <= other < len(episodes):
            raise EditError(f"episode {number} is already the {'first' if offset < 0 else 'last'}")
        first, second = sorted((index, other))
        early, late = episodes[first], episodes[second]
        early["number"], late["number"] = late["number"], early["number"]
        slots = sorted(s["number"] for s in early["scenes"] + late["scenes"])
        for scene, slot in zip(late["scenes"] + early["scenes"], slots, strict=True):
            scene["number"] = slot
        episodes[first], episodes[second] = late, early
        play["episodes"] = episodes

    return _apply(studio, project, change, prefix="", label=f"episode {number}")


# ----------------------------------------------------------------------------- scenes


def add_scene(
    studio: Studio,
    episode: int,
    *,
    title: str = "",
    duration: float = DEFAULT_SCENE_SECONDS,
    project: str | None = None,
) -> int:
    """Add a scene at the end of ``episode``; returns its number.

    It takes the number after the episode's last scene (or after the previous
    episodes' scenes); later scenes move up by one when that number is taken.

    Raises:
        NotFoundError: there is no such episode.
        ScreenplayError: the duration is not a positive number of seconds.
    """
    number = 0
    location = ""

    def change(play: dict[str, Any]) -> None:
        nonlocal number, location
        index, target = _find_episode(play, episode)
        earlier = [s["number"] for e in play["episodes"] if e["number"] <= episode for s in e["scenes"]]
        number = max(earlier, default=0) + 1
        for other in play["episodes"]:
            for scene in other["scenes"]:
                if scene["number"] >= number and other is not target:
                    scene["number"] += 1
        location = f"episodes[{index}].scenes[{len(target['scenes'])}]"
        target["scenes"].append({"number": number, "title": title, "duration": duration})

    _apply(studio, project, change, prefix=lambda: location, label="new scene")
    return number


def delete_scene(studio: Studio, number: int, *, project: str | None = None) -> ImportSummary:
    """Remove a scene (its rendered files stay on disk).

    Raises:
        NotFoundError: there is no such scene.
    """

    def change(play: dict[str, Any]) -> None:
        episode, index, _ = _find_scene(play, number)
        del episode["scenes"][index]

    return _apply(studio, project, change, prefix="", label=f"scene {number}")


def move_scene(studio: Studio, number: int, offset: Offset, *, project: str | None = None) -> ImportSummary:
    """Swap a scene with the one before (``offset=-1``) or after (``+1``) it in its episode.

    The two scenes exchange numbers (both are marked stale).

    Raises:
        NotFoundError: there is no such scene.
        EditError: it is already the episode's first or last scene.
    """

    def change(play: dict[str, Any]) -> None:
        episode, index, scene = _find_scene(play, number)
        scenes = episode["scenes"]
        other = index + offset
        if not 0 <= other < len(scenes):
            where = "first" if offset < 0 else "last"
            raise EditError(f"scene {number} is already the {where} of episode {episode['number']}")
        neighbour = scenes[other]
        scene["number"], neighbour["number"] = neighbour["number"], scene["number"]
        scenes[index], scenes[other] = neighbour, scene

    return _apply(studio, project, change, prefix="", label=f"scene {number}")


# -------------------------------------------------------------------- a scene's cast


def add_scene_character(
    studio: Studio,
    scene: int,
    name: str,
    details: Mapping[str, Any] | None = None,
    *,
    project: str | None = None,
) -> ImportSummary:
    """Put character ``name`` in ``scene``, with optional per-scene ``details``.

    Raises:
        NotFoundError: there is no such scene.
        EditError: the character is already in the scene.
        ScreenplayError: no character is called ``name``, or a detail is invalid.
    """
    location = ""

    def change(play: dict[str, Any]) -> None:
        nonlocal location
        _, _, found = _find_scene(play, scene)
        cast = found["characters"]
        if any(c["name"] == name for c in cast):
            raise EditError(f"{name!r} is already in scene {scene}")
        location = _scene_location(play, scene) + f".characters[{len(cast)}]"
        cast.append({**(details or {}), "name": name})

    return _apply(studio, project, change, prefix=lambda: location, label=f"{name} in scene {scene}")


def update_scene_character(
    studio: Studio, scene: int, name: str, details: Mapping[str, Any], *, project: str | None = None
) -> ImportSummary:
    """Change what ``scene`` says about character ``name`` (outfit, expression, exits...).

    Raises:
        NotFoundError: the scene does not exist or does not show ``name``.
        ScreenplayError: a detail is invalid (e.g. ``facing: up``).
    """
    location = ""

    def change(play: dict[str, Any]) -> None:
        nonlocal location
        _, _, found = _find_scene(play, scene)
        index = _cast_index(found, name)
        location = _scene_location(play, scene) + f".characters[{index}]"
        found["characters"][index] = {**found["characters"][index], **details, "name": name}

    return _apply(studio, project, change, prefix=lambda: location, label=f"{name} in scene {scene}")


def remove_scene_character(
    studio: Studio, scene: int, name: str, *, project: str | None = None
) -> ImportSummary:
    """Take character ``name`` out of ``scene``.

    Raises:
        NotFoundError: the scene does not exist or does not show ``name``.
        EditError: the character still speaks in the scene (remove those lines first).
    """

    def change(play: dict[str, Any]) -> None:
        _, _, found = _find_scene(play, scene)
        index = _cast_index(found, name)
        lines = [i + 1 for i, d in enumerate(found["dialogue"]) if d["speaker"] == name]
        if lines:
            listed = ", ".join(map(str, lines))
            raise EditError(
                f"{name} speaks in scene {scene} (line{'s' if len(lines) > 1 else ''} {listed}); "
                "remove or reassign those lines first"
            )
        del found["characters"][index]

    return _apply(studio, project, change, prefix="", label=f"{name} in scene {scene}")


# -------------------------------------------------------------------------- helpers


def _no_episode(play: dict[str, Any], number: int) -> NotFoundError:
    known = ", ".join(str(e["number"]) for e in play["episodes"]) or "none"
    return NotFoundError(f"there is no episode {number}; episodes: {known}")


def _find_episode(play: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
    for index, episode in enumerate(play["episodes"]):
        if episode["number"] == number:
            return index, episode
    raise _no_episode(play, number)


def _find_scene(play: dict[str, Any], number: int) -> tuple[dict[str, Any], int, dict[str, Any]]:
    for episode in play["episodes"]:
        for index, scene in enumerate(episode["scenes"]):
            if scene["number"] == number:
                return episode, index, scene
    raise NotFoundError(f"there is no scene {number} in this project")


def _scene_location(play: dict[str, Any], number: int) -> str:
    for e, episode in enumerate(play["episodes"]):
        for s, scene in enumerate(episode["scenes"]):
            if scene["number"] == number:
                return f"episodes[{e}].scenes[{s}]"
    return ""


def _cast_index(scene: dict[str, Any], name: str) -> int:
    for index, present in enumerate(scene["characters"]):
        if present["name"] == name:
            return index
    shown = ", ".join(c["name"] for c in scene["characters"]) or "nobody"
    raise NotFoundError(f"{name!r} is not in scene {scene['number']} (it shows {shown})")
