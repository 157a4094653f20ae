"""Edits for the panels: characters, scenes, reference images, reviews.

Every change goes through the screenplay gate: export the project, change the plain
data, run :func:`studio.project._screenplay.validate_screenplay_data`, then
:func:`studio.project._importer.import_screenplay`. So a panel can never write a scene or a
character that a screenplay file could not hold, and changed scenes are marked stale
exactly as a re-imported file would mark them. Validation errors come back as
:class:`studio.ScreenplayError` whose issues are located relative to the edited object
(``scene 3: duration: duration must be greater than 0, got 0``).

The read side lives in :mod:`studio.project._views`. Nothing here imports ipywidgets or IPython.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select

from studio._exceptions import NotFoundError, ScreenplayError, ScreenplayIssue, StudioError
from studio._studio import Studio
from studio.project._importer import (
    REFERENCES_DIR,
    ImportSummary,
    _store_references,
    export_screenplay,
    import_screenplay,
)
from studio.project._screenplay import Screenplay, validate_screenplay_data
from studio.project._views import list_characters
from studio.sound._files import store_sound_files
from studio.storage._models import CharacterModel, SegmentModel
from studio.storage._queries import find_or_raise_project

__all__ = [
    "EditError",
    "Verdict",
    "create_character",
    "delete_character",
    "rate_segment",
    "store_reference_image",
    "update_character",
    "update_scene",
]

Verdict = Literal["approved", "rejected"]

# What an uploaded reference image must start with: PNG, JPEG, GIF, WebP.
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")
_MAX_IMAGE_BYTES = 20 * 1024 * 1024


class EditError(StudioError):
    """An edit the studio refuses (a duplicate name, a character still in use...)."""

    exit_code = 2


# ----------------------------------------------------------------------------- edits


def create_character(studio: Studio, data: Mapping[str, Any], *, project: str | None = None) -> ImportSummary:
    """Add a character to the project.

    Args:
        studio: The open studio.
        data: The character as a screenplay would write it (``name``, ``prompt``,
            ``palette``, ``lora``...). Reference images are paths, e.g. from
            :func:`store_reference_image`.
        project: Project title; may be left out when the database holds one project.

    Raises:
        EditError: a character of that name exists.
        ScreenplayError: the data is invalid; ``issues`` say which field and why.
    """
    name = str(data.get("name", "")).strip()

    def change(play: dict[str, Any]) -> None:
        if any(c["name"] == name for c in play["characters"]):
            raise EditError(f"a character named {name!r} already exists; choose another name")
        play["characters"].append(dict(data))

    index = _character_count(studio, project)
    return _apply(studio, project, change, prefix=f"characters[{index}]", label=f"character {name!r}")


def update_character(
    studio: Studio, name: str, data: Mapping[str, Any], *, project: str | None = None
) -> ImportSummary:
    """Replace character ``name`` with ``data``; a new name is carried into every scene.

    Raises:
        NotFoundError: no character is called ``name``.
        EditError: the new name belongs to another character.
        ScreenplayError: the data is invalid.
    """
    new_name = str(data.get("name", "")).strip()

    def change(play: dict[str, Any]) -> None:
        index = _character_index(play, name)
        if new_name != name and any(c["name"] == new_name for c in play["characters"]):
            raise EditError(f"a character named {new_name!r} already exists; choose another name")
        play["characters"][index] = dict(data)
        if new_name != name:
            for episode in play["episodes"]:
                for scene in episode["scenes"]:
                    for present in scene["characters"]:
                        if present["name"] == name:
                            present["name"] = new_name
                    for line in scene["dialogue"]:
                        if line["speaker"] == name:
                            line["speaker"] = new_name

    position = _character_position(studio, name, project)
    return _apply(studio, project, change, prefix=f"characters[{position}]", label=f"character {name!r}")


def delete_character(studio: Studio, name: str, *, project: str | None = None) -> ImportSummary:
    """Remove a character that no scene uses.

    Raises:
        NotFoundError: no character is called ``name``.
        EditError: scenes still show the character (they are named).
    """

    def change(play: dict[str, Any]) -> None:
        index = _character_index(play, name)
        used = [
            scene["number"]
            for episode in play["episodes"]
            for scene in episode["scenes"]
            if any(present["name"] == name for present in scene["characters"])
        ]
        if used:
            listed = ", ".join(map(str, used))
            raise EditError(
                f"{name!r} appears in scene{'s' if len(used) > 1 else ''} {listed}; "
                "remove the character from those scenes first"
            )
        del play["characters"][index]

    return _apply(studio, project, change, prefix="", label=f"character {name!r}")


def update_scene(
    studio: Studio, number: int, changes: Mapping[str, Any], *, project: str | None = None
) -> ImportSummary:
    """Change fields of scene ``number`` (``{"duration": 8, "camera": {"movement": "pan"}}``).

    Fields left out keep their values; a mapping value (``camera``) is merged one level
    deep. The scene is marked stale when it had been rendered.

    Raises:
        NotFoundError: there is no such scene.
        EditError: ``changes`` tries to renumber the scene.
        ScreenplayError: the result is invalid (e.g. a duration of 0).
    """
    if "number" in changes and changes["number"] != number:
        raise EditError("a scene's number cannot be changed here; edit the screenplay file instead")
    location = ""

    def change(play: dict[str, Any]) -> None:
        nonlocal location
        for e, episode in enumerate(play["episodes"]):
            for s, scene in enumerate(episode["scenes"]):
                if scene["number"] == number:
                    location = f"episodes[{e}].scenes[{s}]"
                    for key, value in changes.items():
                        if isinstance(value, Mapping) and isinstance(scene.get(key), dict):
                            scene[key] = {**scene[key], **value}
                        else:
                            scene[key] = value
                    return
        raise NotFoundError(f"there is no scene {number} in this project")

    def prefix() -> str:
        return location

    return _apply(studio, project, change, prefix=prefix, label=f"scene {number}")


def store_reference_image(studio: Studio, filename: str, content: bytes) -> Path:
    """Save an uploaded image in the home (content-addressed) and return its absolute path.

    Raises:
        EditError: the file is empty, too large, or not a PNG, JPEG, GIF or WebP image.
    """
    if not content:
        raise EditError(f"{filename!r} is empty")
    if len(content) > _MAX_IMAGE_BYTES:
        raise EditError(f"{filename!r} is larger than {_MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    if not content.startswith(_IMAGE_MAGIC) or (content.startswith(b"RIFF") and content[8:12] != b"WEBP"):
        raise EditError(f"{filename!r} is not a PNG, JPEG, GIF or WebP image")
    # Only the base name: an upload's name is user input and must not pick the folder.
    safe = Path(filename).name.replace(" ", "_") or "image"
    digest = hashlib.sha256(content).hexdigest()[:12]
    target = studio.home / REFERENCES_DIR / f"{digest}-{safe}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return target


def rate_segment(studio: Studio, segment_id: int, *, rating: int, verdict: Verdict, notes: str = "") -> int:
    """Record a person's review of a segment; returns the (first) feedback id.

    ``approved`` approves the segment (:func:`studio.project.approve_segment`);
    ``rejected`` rejects its chosen take and queues a retake with the notes
    (:func:`studio.project.reject_segment`). The rating is stored per character present
    and its score is the rating's, not the measured one. The latest review is also kept
    on the segment (``meta["review"]``) for the storyboard and quality panels.

    Raises:
        EditError: the rating is not 1-5 or the verdict is unknown.
        NotFoundError: there is no such segment.
    """
    from studio.project._review import approve_segment, reject_segment

    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise EditError(f"a rating is a whole number from 1 to 5, got {rating!r}")
    if verdict not in ("approved", "rejected"):
        raise EditError(f"verdict must be 'approved' or 'rejected', got {verdict!r}")
    if verdict == "approved":
        with studio.database.session() as session:
            row = session.get(SegmentModel, segment_id)
            if row is None:
                raise NotFoundError(f"there is no segment with id {segment_id}")
            rendered = bool(row.output_video_path)
        if not rendered:  # nothing to approve yet: keep the rating as feedback only
            from studio.project._review import record_rating

            return record_rating(studio, segment_id, rating=rating, verdict=verdict, notes=notes)[0]
        feedback = approve_segment(studio, segment_id, rating=rating, notes=notes)
    else:
        feedback = reject_segment(studio, segment_id, rating=rating, notes=notes)
    assert feedback is not None  # a rating always writes at least one row
    return feedback


# -------------------------------------------------------------------------- helpers


def _apply(
    studio: Studio,
    project: str | None,
    change: Callable[[dict[str, Any]], None],
    *,
    prefix: str | Callable[[], str],
    label: str,
) -> ImportSummary:
    """Export, change the plain data, validate, import: the one way panels write."""
    screenplay = export_screenplay(studio.database, project=project, home=studio.home)
    data = screenplay.model_dump(mode="json")
    before = {scene.number: scene.model_dump(mode="json") for _, scene in screenplay.scenes()}
    change(data)
    try:
        # base_dir checks that reference images exist (they are absolute paths in the home).
        validated = validate_screenplay_data(data, source=label, base_dir=studio.home)
        _check_speakers(validated, label, before)
    except ScreenplayError as error:
        raise _relocate(error, prefix() if callable(prefix) else prefix, label) from None
    stored = _store_references(validated, base_dir=studio.home, home=studio.home)
    stored = store_sound_files(stored, base_dir=studio.home, home=studio.home)  # back to home-relative
    return import_screenplay(studio.database, stored)


def _check_speakers(play: Screenplay, label: str, before: dict[int, dict[str, Any]]) -> None:
    """In an edited scene, a line is spoken by someone in the scene.

    Only scenes this edit changed are checked: a file imported earlier may say
    otherwise, and must not block edits elsewhere.
    """
    issues = []
    for e, episode in enumerate(play.episodes):
        for s, scene in enumerate(episode.scenes):
            if before.get(scene.number) == scene.model_dump(mode="json"):
                continue
            present = [c.name for c in scene.characters]
            for d, line in enumerate(scene.dialogue):
                if line.speaker not in present:
                    shown = ", ".join(present) or "nobody yet"
                    issues.append(
                        ScreenplayIssue(
                            label,
                            None,
                            f"episodes[{e}].scenes[{s}].dialogue[{d}].speaker",
                            f"{line.speaker!r} is not in scene {scene.number} (it shows {shown}); "
                            "add the character to the scene first",
                        )
                    )
    if issues:
        raise ScreenplayError(issues)


def _relocate(error: ScreenplayError, prefix: str, label: str) -> ScreenplayError:
    """Issues relative to the edited object: ``scene 3: duration: ...`` instead of a YAML path."""
    issues = []
    for issue in error.issues:
        location = issue.location
        if prefix and location.startswith(prefix):
            location = location[len(prefix) :].lstrip(".")
        issues.append(ScreenplayIssue(label, None, location, issue.message))
    return ScreenplayError(issues)


def _character_index(play: dict[str, Any], name: str) -> int:
    for i, character in enumerate(play["characters"]):
        if character["name"] == name:
            return i
    known = ", ".join(repr(c["name"]) for c in play["characters"]) or "none"
    raise NotFoundError(f"there is no character {name!r}; characters: {known}")


def _character_count(studio: Studio, project: str | None) -> int:
    with studio.database.session() as session:
        row = find_or_raise_project(session, project)
        count = session.scalar(
            select(func.count()).select_from(CharacterModel).where(CharacterModel.project_id == row.id)
        )
        return int(count or 0)


def _character_position(studio: Studio, name: str, project: str | None) -> int:
    names = [c.name for c in list_characters(studio, project=project)]
    return names.index(name) if name in names else -1
