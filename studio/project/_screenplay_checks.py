"""Cross-reference checks on screenplay data, run on the raw data next to the schema.

They read the plain dicts and lists the YAML gave, not the validated model, so they
run even when the schema check failed: an unknown character shows up in the same
report as a missing duration, as the README promises. Anything the schema rejects
(a name that is not text, a scene that is not a mapping) is skipped here; the schema
check reports it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Loc", "cross_check", "format_loc", "reference_problem", "unknown"]

Loc = tuple[Any, ...]


def cross_check(
    data: dict[str, Any], *, base_dir: Path | None, allowed_dirs: Sequence[Path] = ()
) -> Iterator[tuple[Loc, str]]:
    """Yield ``(location, message)`` for every cross-reference problem in ``data``.

    Args:
        data: The screenplay as plain data.
        base_dir: The screenplay's folder; ``None`` skips the reference-image checks.
        allowed_dirs: Other folders reference images may lie in (the studio home, where
            exported screenplays point).
    """
    characters = list(_mappings(data.get("characters")))
    names: list[str] = []
    for i, character in characters:
        name = _text(character.get("name"))
        if name is None:
            continue
        if name in names:
            yield ("characters", i, "name"), f"duplicate character {name!r}"
        names.append(name)
        if base_dir is not None:
            for j, image in enumerate(_list(character.get("reference_images"))):
                if isinstance(image, str):
                    problem = reference_problem(image, base_dir=base_dir, allowed_dirs=allowed_dirs)
                    if problem:
                        yield ("characters", i, "reference_images", j), problem
    yield from _check_episodes(data, names)
    if base_dir is not None:
        for loc, name in _sound_files(data):
            problem = reference_problem(name, base_dir=base_dir, allowed_dirs=allowed_dirs, what="sound file")
            if problem:
                yield loc, problem


def _sound_files(data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Every music and effect file the data names, with its YAML path."""
    for e, episode in _mappings(data.get("episodes")):
        yield from _sounds_of(episode, ("episodes", e))
        for s, scene in _mappings(episode.get("scenes")):
            yield from _sounds_of(scene, ("episodes", e, "scenes", s))


def _sounds_of(item: dict[str, Any], here: Loc) -> Iterator[tuple[Loc, str]]:
    music = item.get("music")
    name = music.get("file") if isinstance(music, dict) else music
    if isinstance(name, str):
        yield here + ("music", "file"), name
    for k, effect in _mappings(item.get("effects")):
        if isinstance(effect.get("file"), str):
            yield here + ("effects", k, "file"), effect["file"]


def reference_problem(
    image: str, *, base_dir: Path, allowed_dirs: Sequence[Path] = (), what: str = "reference image"
) -> str | None:
    """Why the file ``image`` (a reference image, a sound) cannot be used, or ``None`` when it can.

    An image must resolve, symbolic links followed, inside the screenplay's folder (or
    an allowed folder): a screenplay someone sent you must not make the studio copy
    ``/etc/passwd`` or ``../../.ssh/id_rsa`` into its home.
    """
    roots = [base_dir.resolve(), *(folder.resolve() for folder in allowed_dirs)]
    try:
        target = (base_dir / image).resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a NUL byte
        return f"{what} {image!r} cannot be resolved: {error}"
    if not any(target.is_relative_to(root) for root in roots):
        noun = "image" if what == "reference image" else "file"
        return (
            f"{what} {image!r} is outside the screenplay's folder {roots[0]}; "
            f"copy the {noun} into that folder and name it by a relative path"
        )
    if not target.is_file():
        state = "is not a regular file" if target.exists() else "does not exist"
        return f"{what} {image!r} {state} (paths are relative to the screenplay)"
    return None


def _check_episodes(data: dict[str, Any], names: list[str]) -> Iterator[tuple[Loc, str]]:
    seen_episodes: set[int] = set()
    seen_scenes: dict[int, Loc] = {}
    for e, episode in _mappings(data.get("episodes")):
        number = _number(episode.get("number"))
        if number is not None:
            if number in seen_episodes:
                yield ("episodes", e, "number"), f"duplicate episode number {number}"
            seen_episodes.add(number)
        for s, scene in _mappings(episode.get("scenes")):
            here: Loc = ("episodes", e, "scenes", s)
            number = _number(scene.get("number"))
            if number is not None:
                if number in seen_scenes:
                    first = format_loc(seen_scenes[number])
                    yield (
                        here + ("number",),
                        (
                            f"duplicate scene number {number} (also used by {first}); "
                            "scene numbers are unique within the project"
                        ),
                    )
                seen_scenes.setdefault(number, here)
            yield from _check_scene(scene, here, names)


def _check_scene(scene: dict[str, Any], here: Loc, names: list[str]) -> Iterator[tuple[Loc, str]]:
    present: set[str] = set()
    for c, shown in enumerate(_list(scene.get("characters"))):
        name = _text(shown.get("name") if isinstance(shown, dict) else shown)
        if name is None:
            continue
        if name not in names:
            yield here + ("characters", c), unknown("character", name, names)
        elif name in present:
            yield here + ("characters", c), f"character {name!r} is listed twice"
        present.add(name)
    for d, line in _mappings(scene.get("dialogue")):
        speaker = _text(line.get("speaker"))
        if speaker is not None and speaker not in names:
            yield here + ("dialogue", d, "speaker"), unknown("speaker", speaker, names)


def unknown(kind: str, value: str, known: list[str]) -> str:
    """``unknown character 'Lunna' (did you mean 'Luna'?)``, or the known names listed."""
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    if close:
        return f"unknown {kind} {value!r} (did you mean {close[0]!r}?)"
    listed = ", ".join(repr(k) for k in known) if known else "no characters are defined"
    return f"unknown {kind} {value!r}; known: {listed}"


def format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mappings(value: Any) -> Iterable[tuple[int, dict[str, Any]]]:
    return ((i, item) for i, item in enumerate(_list(value)) if isinstance(item, dict))


def _text(value: Any) -> str | None:
    # The schema strips whitespace from text; compare names as it will store them.
    return value.strip() if isinstance(value, str) and value.strip() else None


def _number(value: Any) -> int | None:
    # The schema reads "3" as 3 (lax mode), so duplicates must too.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        return int(value)
    return None
