"""The animatic's cast: each character of a scene laid out as a :class:`Figure`.

Where a character stands (``position``), which way they face, how they look (the
character sheet's words, :func:`~studio.backends._animatic_words.read_look`), their
colours (the palette, lit for the scene) and what they do over the scene: a pose from
their ``pose`` and ``action``, changed by the scene's ``actions`` that name them (or
"they", "both"...), spread evenly over the scene; a walk across the frame where the
words say so; an entrance from the edge ("enters", "arrives"); and an exit when the
character ``exits`` or the words say "leaves": they walk (or run) out of the frame and
are gone before the scene's last frame.
"""

from __future__ import annotations

import math
import re

from studio.backends._animatic_figures import Figure, Paint, PoseSpan, Travel
from studio.backends._animatic_light import Atmosphere, scene_hash
from studio.backends._animatic_words import Look, Pose, find_color, read_look, read_pose, read_travel
from studio.backends._base import CharacterInShot, SceneContext

__all__ = ["lay_out_cast"]

Color = tuple[int, int, int]

_SKIN = (246, 214, 186)
_SLOTS = {"far left": 0.16, "left": 0.28, "center": 0.5, "centre": 0.5, "middle": 0.5,
          "right": 0.72, "far right": 0.84}  # fmt: skip
_GROUP = re.compile(r"\b(they|both|everyone|all|together|the two|the group|we)\b", re.IGNORECASE)
_WALK, _RUN = 0.12, 0.3  # frame widths per second


def _parse_color(text: str) -> Color | None:
    text = text.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return ((value >> 16) & 255, (value >> 8) & 255, value & 255)


def _hsv_hash(name: str, sat: float, val: float, shift: float = 0.0) -> Color:
    import colorsys

    hue = ((scene_hash("palette", name) % 360) / 360.0 + shift) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255))


def _luma(c: Color) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _paint(character: CharacterInShot, look: Look, atm: Atmosphere) -> Paint:
    """Colours: the written look first (hair, a fox's coat), then the palette, then a hash."""
    palette = [c for c in (_parse_color(p) for p in character.palette) if c is not None]
    top = palette[0] if palette else (find_color(character.outfit) or _hsv_hash(character.name, 0.6, 0.85))
    rest = palette[1:]
    hair = look.hair_color
    if hair is None:  # nothing written: the palette's second colour, as before
        hair = rest.pop(0) if rest else _hsv_hash(character.name, 0.5, 0.35, 0.5)
    if len(rest) >= 2:
        bottom = min(rest, key=_luma)  # the darker of the two is the trousers
        accent = next(c for c in rest if c is not bottom)
    elif rest:
        bottom, accent = rest[0], rest[0]
    else:
        bottom = tuple(round(c * 0.45) for c in top)  # type: ignore[assignment]
        accent = tuple(round(c * 0.7) for c in top)  # type: ignore[assignment]
    if look.kind not in ("human", "robot"):  # an animal is the colour its words give it
        top = look.coat or look.hair_color or top
    elif look.kind == "robot" and not palette:
        top = look.coat or (168, 174, 186)
    lit = atm.figure
    body = lit(top)
    return Paint(
        skin=lit(_SKIN),
        hair=lit(hair),
        top=body,
        accent=lit(accent),
        bottom=lit(bottom),
        outline=(round(body[0] * 0.45), round(body[1] * 0.45), round(body[2] * 0.45)),
    )


def _merge(over: Pose | None, base: Pose) -> Pose:
    """``over``'s legs and arms where it names them, ``base``'s elsewhere."""
    if over is None:
        return base
    legs = over.legs if over.legs != "stand" or over.arms == "rest" else base.legs
    arms = over.arms if over.arms != "rest" else base.arms
    return Pose(legs, arms)


def _names_in(text: str, names: list[str]) -> list[str]:
    found = [(m.start(), n) for n in names if (m := re.search(rf"\b{re.escape(n)}\b", text, re.I))]
    return [n for _, n in sorted(found)]


def lay_out_cast(
    scene: SceneContext, width: int, height: int, ww: int, wh: int, seconds: float
) -> tuple[Figure, ...]:
    """The scene's characters as figures in world coordinates (``ww`` x ``wh`` canvas)."""
    atm = Atmosphere.of(scene)
    names = [c.name for c in scene.characters]
    slots: dict[float, int] = {}
    figures = []
    for character in scene.characters:
        position = character.position.lower().strip()
        slot = _SLOTS.get(position)
        if slot is None:  # free text: a stable place of its own between the slots
            slot = 0.2 + 0.6 * ((scene_hash("position", position or character.name) % 1000) / 1000)
        nth = slots.get(slot, 0)  # characters sharing a slot stand side by side
        slots[slot] = nth + 1
        x_frac = slot + 0.1 * ((nth + 1) // 2) * (1 if nth % 2 else -1)
        x = (ww - width) / 2 + x_frac * width
        look = read_look(character.hair.lower(), character.description)
        facing = {"left": -1, "right": 1}.get(character.facing.lower(), 0)
        away = character.facing.lower() == "away"
        if look.kind in ("fox", "cat", "dog", "bird") and facing == 0:
            facing = 1 if x_frac <= 0.5 else -1  # animals are drawn in profile, towards the middle
        own = f"{character.action} {character.pose}"
        base = _merge(read_pose(character.action.lower()), read_pose(character.pose.lower()) or Pose())
        spans = [PoseSpan(-math.inf, base, facing, away)]
        travel: list[Travel] = []
        windows = _windows(scene, character.name, names, seconds)
        for start, end, text in windows:
            pose = _merge(read_pose(text.lower()), base) if text else base
            if pose != spans[-1].pose:
                spans.append(PoseSpan(start, pose, facing, away))
            move, direction = read_travel(text.lower()) if text else ("", 0)
            if move == "across":
                _across(spans, travel, pose, facing, direction, x_frac, width, start, end, away)
        move, direction = read_travel(own.lower())
        if move == "across":
            _across(spans, travel, base, facing, direction, x_frac, width, 0.0, seconds, away, replace=True)
        elif move == "enter":
            _enter(spans, travel, base, facing, direction, x, ww, width, seconds, away)
            x -= travel[0].dx  # it starts at the edge
        on_stage = (travel[0].end if move == "enter" else -math.inf, math.inf)
        if character.exits or move == "exit":
            _exit(spans, travel, base, facing, direction, x, ww, width, seconds)
            on_stage = (on_stage[0], travel[-1].start)
        figures.append(
            Figure(
                name=character.name,
                look=look,
                paint=_paint(character, look, atm),
                x=x,
                feet_y=wh / 2 + 0.3 * height,
                height=0.5 * height,
                spans=tuple(sorted(spans, key=lambda s: s.start)),
                travel=tuple(travel),
                expression=character.expression.lower(),
                phase=(scene_hash("phase", character.name) % 1000) / 1000 * 2 * math.pi,
                on_stage=on_stage,
            )
        )
    return tuple(figures)


def _windows(
    scene: SceneContext, name: str, names: list[str], seconds: float
) -> list[tuple[float, float, str]]:
    """The scene's actions as ``(start, end, text)`` for this character ("" when not theirs)."""
    n = len(scene.actions)
    windows = []
    for i, text in enumerate(scene.actions):
        named = _names_in(text, names)
        mine = (named[:1] == [name]) or _GROUP.search(text) is not None or not named
        windows.append((i * seconds / n, (i + 1) * seconds / n, text if mine else ""))
    return windows


def _direction(direction: int, facing: int, x_frac: float) -> int:
    return direction or facing or (1 if x_frac < 0.5 else -1)


def _settled(pose: Pose) -> Pose:
    """The pose once a move is over: the walk was the move ("walks in"), so stand."""
    return Pose("stand", pose.arms) if pose.legs in ("walk", "run") else pose


def _moving(pose: Pose, speed: float) -> Pose:
    legs = "run" if pose.legs == "run" or speed > 1.8 * _WALK else "walk"
    return Pose(legs, pose.arms if pose.arms in ("hold", "wave") else "rest")


def _across(
    spans: list[PoseSpan],
    travel: list[Travel],
    pose: Pose,
    facing: int,
    direction: int,
    x_frac: float,
    width: int,
    start: float,
    end: float,
    away: bool,
    *,
    replace: bool = False,
) -> None:
    d = _direction(direction, facing, x_frac)
    speed = _RUN if pose.legs == "run" else _WALK
    room = (0.88 - x_frac) if d > 0 else (x_frac - 0.12)  # stay in the frame
    distance = max(0.0, min(speed * (end - start), room))
    if distance <= 0:
        return
    arrival = start + distance / speed
    if replace:  # the whole scene: every pose walks (or runs) until the figure arrives
        walking = [PoseSpan(s.start, _moving(s.pose, speed), d, False) for s in spans if s.start < arrival]
        settled = [s for s in spans if s.start >= arrival]
        spans[:] = [*walking, PoseSpan(arrival, _settled(pose), facing, away), *settled]
    else:
        spans.append(PoseSpan(start, _moving(pose, speed), d, False))
        spans.append(PoseSpan(arrival, _settled(pose), facing, away))
    travel.append(Travel(start, arrival, d * distance * width))


def _enter(spans: list[PoseSpan], travel: list[Travel], pose: Pose, facing: int, direction: int, x: float,
           ww: int, width: int, seconds: float, away: bool) -> None:  # fmt: skip
    d = direction or facing or (1 if x > ww / 2 else -1)
    edge = -0.06 * ww if d > 0 else 1.06 * ww
    distance = abs(x - edge)
    speed = _RUN if pose.legs == "run" else _WALK
    duration = min(0.45 * seconds, distance / (speed * width))
    # Walking in first; then whatever pose the scene has reached by then.
    settled = max((s for s in spans if s.start <= duration), key=lambda s: s.start)
    later = [s for s in spans if s.start > duration]
    spans[:] = [
        PoseSpan(-math.inf, _moving(pose, speed), d, False),
        PoseSpan(duration, _settled(settled.pose), facing, away),
        *later,
    ]
    travel.insert(0, Travel(0.0, duration, d * distance))


def _exit(spans: list[PoseSpan], travel: list[Travel], pose: Pose, facing: int, direction: int, x: float,
          ww: int, width: int, seconds: float) -> None:  # fmt: skip
    moves = list(travel)
    here = x + sum(m.dx for m in moves)
    d = direction or (1 if here > ww / 2 else -1)  # unless told, by the nearest side
    edge = -0.08 * ww if d < 0 else 1.08 * ww  # past the canvas: out of any view
    distance = abs(edge - here)
    end = max(0.2 * seconds, seconds - 0.3)
    walk = distance / (_WALK * width)
    start = max(0.3 * seconds, end - walk)
    if moves:
        start = max(start, moves[-1].end)
    start = min(start, end - 0.2)
    speed = distance / width / max(0.2, end - start)
    spans[:] = [s for s in spans if s.start < start]
    spans.append(PoseSpan(start, _moving(pose, speed), d, False))
    travel.append(Travel(start, end, d * distance))
