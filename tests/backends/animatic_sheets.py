"""Contact sheets of the animatic: characters, poses, places and light, as golden images.

Each sheet is a grid of small stills (:func:`studio.backends.render_still`), one scene
per cell, labelled by what it shows. ``tests/backends/test_animatic_golden.py`` compares
them with the PNGs in ``tests/backends/golden/`` with a tolerance. After a deliberate
change to the drawing, look at the new sheets, then regenerate them and the README's
contact sheet with::

    .venv/bin/python -m tests.backends.animatic_sheets            # writes tests/backends/golden/*.png
    .venv/bin/python -m tests.backends.animatic_sheets --docs     # and docs/animatic-sheet.png
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from studio._video import write_png
from studio.backends import CharacterInShot, DialogueLine, SceneContext, render_still

__all__ = ["CELL", "GOLDEN_DIR", "README_PICKS", "SHEETS", "render_readme_sheet", "render_sheet"]

GOLDEN_DIR = Path(__file__).parent / "golden"
CELL = (192, 128)  # width, height of one still

_DAY = SceneContext(project="sheet", episode=1, scene=1, location="open field", time_of_day="day",
                    camera_angle="full shot", duration_seconds=4.0)  # fmt: skip


def _one(character: CharacterInShot, **scene: object) -> SceneContext:
    return dataclasses.replace(_DAY, characters=(character,), **scene)  # type: ignore[arg-type]


_CAST = {
    "silver bob": _one(CharacterInShot("Luna", ("#3fb7b0", "#f4d35e", "#1b2a41"), hair="silver bob",
                                       description="A quiet courier, slim build")),
    "spiky red": _one(CharacterInShot("Kai", ("#ee6c4d", "#293241", "#e0fbfc"), hair="spiky red",
                                      description="rooftop runner, athletic")),
    "black ponytail": _one(CharacterInShot("Mei", ("#e9c46a",), description="a tall girl, long black ponytail")),
    "blonde twintails": _one(CharacterInShot("Ria", ("#e76f51", "#264653"), hair="blonde twin tails",
                                             description="small and lively")),
    "brown bun": _one(CharacterInShot("Oda", ("#6d597a", "#355070"), hair="brown bun",
                                      description="stocky baker")),
    "white fox": _one(CharacterInShot("Hoshi", ("#f1faee",), description="A white fox, nine tails")),
    "black cat": _one(CharacterInShot("Nori", (), description="a black cat", pose="sitting")),
    "robot": _one(CharacterInShot("Unit 7", ("#8d99ae", "#ef233c"), description="a helpful robot",
                                  action="waves")),
    "blue bird": _one(CharacterInShot("Pip", (), description="a small blue bird")),
    "green spirit": _one(CharacterInShot("Moss", (), description="a green forest spirit")),
}  # fmt: skip

_POSER = CharacterInShot("Aiko", ("#e63946", "#1d3557"), hair="long brown", facing="right",
                         description="a student")  # fmt: skip
_POSES = {
    word: _one(dataclasses.replace(_POSER, action=word), location="city street")
    for word in ("standing", "walking", "running", "sitting", "kneeling", "jumping", "pointing",
                 "holding a letter", "waving", "hands on knees")
}  # fmt: skip

_PAIR = (CharacterInShot("Luna", ("#3fb7b0", "#f4d35e", "#1b2a41"), hair="silver bob", position="left"),
         CharacterInShot("Kai", ("#ee6c4d", "#293241"), hair="spiky red", position="right"))  # fmt: skip
_PLACES = {
    location: dataclasses.replace(_DAY, location=location, characters=_PAIR, camera_angle="wide")
    for location in ("city street", "school rooftop", "rooftop garden", "mountain town stone steps",
                     "harbour docks", "forest path", "mountain pass", "bedroom", "corner shop",
                     "train station")
}  # fmt: skip

_STREET = dataclasses.replace(_DAY, location="old town street", characters=_PAIR, camera_angle="wide")
_LIGHT = {
    "day": _STREET,
    "sunset": dataclasses.replace(_STREET, time_of_day="sunset", lighting="golden hour"),
    "night": dataclasses.replace(_STREET, time_of_day="night"),
    "rain": dataclasses.replace(_STREET, weather="heavy rain"),
    "fog": dataclasses.replace(_STREET, weather="thick fog"),
    "night fog": dataclasses.replace(_STREET, time_of_day="night", weather="fog"),
    "snow": dataclasses.replace(_STREET, weather="snow", time_of_day="morning"),
    "dim room": dataclasses.replace(_STREET, location="bedroom", lighting="dim"),
    "wide": dataclasses.replace(_STREET, dialogue=(DialogueLine("Kai", "Here."),)),
    "medium": dataclasses.replace(_STREET, camera_angle="medium", dialogue=(DialogueLine("Kai", "Here."),)),
    "close-up": dataclasses.replace(_STREET, camera_angle="close-up", dialogue=(DialogueLine("Kai", "Here."),)),
    "exit at 3s": dataclasses.replace(_STREET, camera_angle="medium", characters=(
        _PAIR[0], dataclasses.replace(_PAIR[1], exits=True))),
}  # fmt: skip

SHEETS: dict[str, tuple[dict[str, SceneContext], float]] = {
    "characters": (_CAST, 1.0),
    "poses": (_POSES, 0.3),
    "places": (_PLACES, 1.0),
    "light": (_LIGHT, 3.0),
}
"""Sheet name -> (label -> scene, the scene time every still shows)."""


def render_sheet(name: str, cell: tuple[int, int] = CELL, columns: int = 5) -> np.ndarray:
    """One sheet as an RGB image: its stills in a grid, each labelled underneath."""
    scenes, t = SHEETS[name]
    return _grid(scenes, t, cell, columns)


def _grid(scenes: dict[str, SceneContext], t: float, cell: tuple[int, int], columns: int) -> np.ndarray:
    w, h = cell
    band = max(12, h // 9)
    tiles = []
    for label, scene in scenes.items():
        still = render_still(scene, w, h, t)
        tile = np.vstack([still, np.full((band, w, 3), 24, np.uint8)])
        cv2.putText(tile, label, (4, h + band - 4), cv2.FONT_HERSHEY_SIMPLEX, band / 32, (235, 235, 235), 1,
                    cv2.LINE_AA)  # fmt: skip
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


README_PICKS = (
    ("characters", ("silver bob", "spiky red", "white fox", "black cat", "robot")),
    ("poses", ("running", "sitting", "kneeling", "jumping", "waving")),
    (
        "places",
        ("rooftop garden", "mountain town stone steps", "harbour docks", "forest path", "train station"),
    ),
    ("light", ("sunset", "night", "rain", "night fog", "close-up")),
)
"""The README's contact sheet: one row per sheet, five stills each."""


def render_readme_sheet(cell: tuple[int, int] = (240, 150)) -> np.ndarray:
    """The contact sheet shown in the README (``docs/animatic-sheet.png``)."""
    rows = []
    for name, labels in README_PICKS:
        scenes, t = SHEETS[name]
        picked = {label: scenes[label] for label in labels}
        rows.append(_grid(picked, t, cell, len(labels)))
    return np.vstack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="also write docs/animatic-sheet.png")
    args = parser.parse_args()
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in SHEETS:
        print(write_png(GOLDEN_DIR / f"{name}.png", render_sheet(name)))
    if args.docs:
        docs = Path(__file__).parents[2] / "docs" / "animatic-sheet.png"
        docs.parent.mkdir(exist_ok=True)
        print(write_png(docs, render_readme_sheet()))


if __name__ == "__main__":
    main()
