"""The animatic's characters: people, animals, robots and creatures in a pose, at a time.

A :class:`Figure` is laid out once per scene (see :mod:`studio.backends._animatic_render`);
:func:`draw_figure` draws it at scene time ``t`` with its feet at a screen point and a
height in pixels. Figure coordinates are in units of the figure's height, ``x`` to the
right of the feet and ``y`` up from the ground; a facing ``d`` of +1 looks right, -1
left, 0 at the camera (or away from it).

A pose is a set of joints computed from a :class:`~studio.backends._animatic_words.Pose`
and the time (walk and run cycles, a jump's arc, a wave); arms and legs reach their
targets by two-bone inverse kinematics, and a change of pose blends the joints over a
quarter of a second, so nothing snaps. Everything is a pure function of its arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from studio.backends._animatic_creatures import draw_animal, draw_bird, draw_creature, draw_robot
from studio.backends._animatic_pen import INK, MOUTH, Pen, limb, shade, shadow
from studio.backends._animatic_words import Look, Pose

__all__ = [
    "Figure",
    "Paint",
    "PoseSpan",
    "Travel",
    "draw_figure",
    "figure_head",
    "figure_top",
    "pose_at",
    "tag_height",
    "x_at",
]

Color = tuple[int, int, int]
Point = tuple[float, float]

_BLEND_SECONDS = 0.25
_LETTER = (246, 240, 222)


@dataclass(frozen=True)
class Paint:
    """A figure's colours, already lit for the scene."""

    skin: Color
    hair: Color
    top: Color  # the outfit's main colour
    accent: Color  # a trim: collar, belt, visor
    bottom: Color  # trousers, or an animal's legs
    outline: Color


@dataclass(frozen=True)
class PoseSpan:
    """From ``start`` seconds on (until the next span), the figure holds ``pose`` facing ``facing``."""

    start: float
    pose: Pose
    facing: int  # -1, 0 or +1
    away: bool = False


@dataclass(frozen=True)
class Travel:
    """Between ``start`` and ``end`` the figure moves ``dx`` world pixels, at an even pace."""

    start: float
    end: float
    dx: float


@dataclass(frozen=True)
class Figure:
    """One character, laid out in world coordinates.

    Attributes:
        name: The name on the tag.
        look: Kind, hair, build and stature (from the character sheet's words).
        paint: The colours.
        x: Where the feet are at time 0 (world pixels).
        feet_y: The ground line under the figure (world pixels).
        height: The height of an average adult at this depth (world pixels).
        spans: The poses over the scene, in time order (at least one, starting at -inf).
        travel: Moves across the frame, in time order.
        expression: Free text ("smiling", "worried").
        phase: A per-character offset so two figures never move in lockstep.
        on_stage: When the figure is in the scene: after its entrance, before its exit.
    """

    name: str
    look: Look
    paint: Paint
    x: float
    feet_y: float
    height: float
    spans: tuple[PoseSpan, ...]
    travel: tuple[Travel, ...]
    expression: str
    phase: float
    on_stage: tuple[float, float] = (-math.inf, math.inf)


def x_at(fig: Figure, t: float) -> float:
    """The figure's feet position at time ``t`` (world pixels)."""
    x = fig.x
    for move in fig.travel:
        span = max(1e-6, move.end - move.start)
        x += move.dx * min(1.0, max(0.0, (t - move.start) / span))
    return x


def pose_at(fig: Figure, t: float) -> tuple[PoseSpan, PoseSpan, float]:
    """The span before, the span now and how far (0..1) the blend between them has come."""
    index = 0
    for i, span in enumerate(fig.spans):
        if span.start <= t:
            index = i
    now = fig.spans[index]
    before = fig.spans[max(0, index - 1)]
    blend = 1.0 if index == 0 else min(1.0, (t - now.start) / _BLEND_SECONDS)
    return before, now, blend


def figure_top(look: Look) -> float:
    """The top of the figure (figure units): where the name tag goes."""
    hair = {"spiky": 0.1, "bun": 0.05, "curly": 0.03}.get(look.hair_style, 0.0)
    if look.kind != "human":
        hair = 0.0
    return {"fox": 0.38, "dog": 0.43, "cat": 0.28, "bird": 0.4, "creature": 0.62}.get(look.kind, 1.0 + hair)


_LOWER = {"sit": 0.74, "kneel": 0.74, "crouch": 0.78}  # how much of the height a low pose keeps


def tag_height(fig: Figure, t: float) -> float:
    """Where the name tag goes at time ``t`` (figure units): above the head, lower when
    the figure sits or kneels, moving with the pose's blend."""
    before, now, blend = pose_at(fig, t)
    if fig.look.kind not in ("human", "robot"):
        return figure_top(fig.look)
    low = (
        _LOWER.get(before.pose.legs, 1.0)
        + (_LOWER.get(now.pose.legs, 1.0) - _LOWER.get(before.pose.legs, 1.0)) * blend
    )
    return figure_top(fig.look) * low


def figure_head(look: Look) -> float:
    """The head's height (figure units): what a close-up frames."""
    return {"fox": 0.27, "dog": 0.31, "cat": 0.2, "bird": 0.3, "creature": 0.4}.get(look.kind, 0.88)


# --------------------------------------------------------------------------- joints


def _reach(root: Point, target: Point, a: float, b: float, bend: float) -> tuple[Point, Point]:
    """Two-bone inverse kinematics: the middle joint and the (reachable) end point."""
    dx, dy = target[0] - root[0], target[1] - root[1]
    dist = math.hypot(dx, dy)
    reach = min(max(dist, 1e-6, abs(a - b) + 1e-6), a + b - 1e-6)
    ux, uy = (dx / dist, dy / dist) if dist > 1e-9 else (0.0, -1.0)
    cos_a = (a * a + reach * reach - b * b) / (2 * a * reach)
    alpha = math.acos(min(1.0, max(-1.0, cos_a))) * (1 if bend >= 0 else -1)
    ca, sa = math.cos(alpha), math.sin(alpha)
    mid = (root[0] + a * (ux * ca - uy * sa), root[1] + a * (ux * sa + uy * ca))
    return mid, (root[0] + ux * reach, root[1] + uy * reach)


_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.17, 0.16, 0.235, 0.235
_WIDTHS = {"slim": (0.11, 0.085), "average": (0.13, 0.1), "athletic": (0.16, 0.1), "heavy": (0.16, 0.15)}


def _joints(look: Look, span: PoseSpan, t: float, phase: float) -> dict[str, Point]:
    """A person's joints (figure units) in ``span``'s pose at time ``t``."""
    d, pose = span.facing, span.pose
    f = d if d else 1  # the forward direction of bends
    spread = 1.0 if d == 0 else 0.2
    hip_x, hip_y, lean, lift = 0.0, 0.46, 0.0, 0.0
    feet: list[Point] = [(-0.07 * spread, 0.0), (0.07 * spread, 0.0)]
    knees: list[Point | None] = [None, None]
    legs = pose.legs
    if legs == "walk":
        phi = 2 * math.pi * 1.1 * t + phase
        hip_y = 0.45 + 0.012 * abs(math.cos(phi))
        for k in (0, 1):
            swing = math.sin(phi + k * math.pi)
            feet[k] = (
                d * 0.15 * swing + (k * 2 - 1) * 0.06 * spread,
                0.06 * max(0.0, math.cos(phi + k * math.pi)),
            )
    elif legs == "run":
        phi = 2 * math.pi * 1.7 * t + phase
        hip_x, hip_y, lean = d * 0.03, 0.41 + 0.035 * abs(math.sin(phi)), 0.22 * abs(d)
        for k in (0, 1):
            swing = math.sin(phi + k * math.pi)
            feet[k] = (hip_x + d * 0.25 * swing + (k * 2 - 1) * 0.07 * spread,
                       0.15 * max(0.0, math.cos(phi + k * math.pi)) + 0.02)  # fmt: skip
    elif legs == "jump":
        u = (t * 0.9 + phase / (2 * math.pi)) % 1.0
        lift = 0.24 * math.sin(math.pi * u) ** 0.8
        tuck = math.sin(math.pi * u)
        hip_y = 0.44 - 0.06 * tuck
        for k in (0, 1):
            side = (k * 2 - 1) * 0.08 * spread
            feet[k] = (side - d * 0.08 * tuck, 0.16 * tuck)
    elif legs == "sit":
        hip_x, hip_y = -d * 0.03, 0.28
        if d:
            knees = [(d * 0.2, 0.3), (d * 0.22, 0.29)]
            feet = [(d * 0.2, 0.0), (d * 0.24, 0.0)]
        else:
            knees = [(-0.11, 0.27), (0.11, 0.27)]
            feet = [(-0.1, 0.0), (0.1, 0.0)]
    elif legs == "kneel":
        hip_y = 0.3
        if d:
            knees = [(-d * 0.04, 0.04), (d * 0.2, 0.27)]
            feet = [(-d * 0.26, 0.02), (d * 0.2, 0.0)]
        else:
            knees = [(-0.08, 0.04), (0.08, 0.04)]
            feet = [(-0.1, -0.0), (0.1, 0.0)]
    elif legs == "crouch":
        breath = 0.01 * math.sin(2 * math.pi * 0.8 * t + phase)
        hip_x, hip_y, lean = -d * 0.1, 0.36 + breath, 0.78 if d else 0.35
        if d:
            knees = [(d * 0.05, 0.2), (d * 0.08, 0.21)]
            feet = [(-d * 0.03, 0.0), (d * 0.0, 0.0)]
        else:
            knees = [(-0.12, 0.2), (0.12, 0.2)]
            feet = [(-0.08, 0.0), (0.08, 0.0)]
    else:  # stand: breathing
        hip_y = 0.46 + 0.004 * math.sin(2 * math.pi * 0.35 * t + phase)

    hip = (hip_x, hip_y)
    torso = 0.32
    if d:
        neck = (hip_x + d * torso * math.sin(lean), hip_y + torso * math.cos(lean))
    else:  # leaning towards the camera: the torso looks shorter
        neck = (hip_x, hip_y + torso * (1 - 0.35 * lean))
    head_dir = (neck[0] - hip_x, neck[1] - hip_y)
    norm = math.hypot(*head_dir) or 1.0
    head = (neck[0] + head_dir[0] / norm * 0.11, neck[1] + head_dir[1] / norm * 0.11)
    joints: dict[str, Point] = {"hip": hip, "neck": neck, "head": head}
    hip_w = _WIDTHS[look.build][1] * 0.6
    for k, name in enumerate(("l", "r")):
        side = k * 2 - 1
        root = (hip_x + side * hip_w * spread, hip_y)
        knee = knees[k]
        if knee is None:
            knee, foot = _reach(root, feet[k], _THIGH, _SHIN, f if d else side * 0.2)
        else:
            foot = feet[k]
        joints[f"knee_{name}"], joints[f"foot_{name}"] = knee, foot

    shoulder_w = _WIDTHS[look.build][0] * 0.85 * (1.0 if d == 0 else 0.25)
    shoulder_y = neck[1] - 0.03
    arms = "up" if legs == "jump" and pose.arms in ("rest", "up") else pose.arms
    for k, name in enumerate(("l", "r")):
        side = k * 2 - 1
        shoulder = (neck[0] + side * shoulder_w, shoulder_y)
        sway = 0.015 * math.sin(2 * math.pi * 0.35 * t + phase + k)
        front = side == (d if d else 1)  # the arm that gestures
        hand = (shoulder[0] + side * 0.05 * (1.0 if d == 0 else 0.2) + sway, shoulder[1] - 0.31)
        bend = -f if d else side
        if legs in ("walk", "run"):
            phi = 2 * math.pi * (1.1 if legs == "walk" else 1.7) * t + phase
            reach = 0.12 if legs == "walk" else 0.2
            hand = (
                shoulder[0] - d * reach * math.sin(phi + k * math.pi),
                shoulder[1] - (0.3 if legs == "walk" else 0.2),
            )
        if legs == "crouch":
            hand = joints[f"knee_{name}"]
            hand = (hand[0] + (0.0 if d else -side * 0.02), hand[1] + 0.04)
        elif arms == "hold":
            hand = (shoulder[0] + d * 0.22, shoulder[1] - 0.16) if d else (side * 0.04, shoulder[1] - 0.18)
            bend = -f if d else -side
        elif arms == "point" and front:
            hand = (shoulder[0] + (d or 1) * 0.34, shoulder[1] + 0.03)
        elif arms == "wave" and front:
            hand = (
                shoulder[0] + (d or 1) * 0.12 + 0.05 * math.sin(2 * math.pi * 2.0 * t),
                shoulder[1] + 0.27,
            )
            bend = -(d or 1)
        elif arms == "up":
            hand = (shoulder[0] + side * 0.14 + d * 0.06, shoulder[1] + 0.27)
        elbow, hand = _reach(shoulder, hand, _UPPER_ARM, _FOREARM, bend)
        joints[f"shoulder_{name}"], joints[f"elbow_{name}"], joints[f"hand_{name}"] = shoulder, elbow, hand
    joints["lift"] = (0.0, lift)
    return joints


def _blend(a: dict[str, Point], b: dict[str, Point], w: float) -> dict[str, Point]:
    if w >= 1.0:
        return b
    w = w * w * (3 - 2 * w)
    return {k: (a[k][0] + (b[k][0] - a[k][0]) * w, a[k][1] + (b[k][1] - a[k][1]) * w) for k in b}


def draw_figure(
    img: np.ndarray, fig: Figure, sx: float, sy: float, h: float, t: float, *, speaking: bool
) -> None:
    """Draw ``fig`` at time ``t`` with its feet at ``(sx, sy)``, an average adult ``h`` px tall.

    ``speaking`` moves the mouth: the figure's line is on screen.
    """
    h *= fig.look.stature
    if h < 2 or sx < -h or sx > img.shape[1] + h:
        return  # too small to see, or well outside the frame
    before, now, blend = pose_at(fig, t)
    kind = fig.look.kind
    if kind in ("human", "robot"):
        joints = _joints(fig.look, now, t, fig.phase)
        if blend < 1.0:
            joints = _blend(_joints(fig.look, before, t, fig.phase), joints, blend)
        lift = joints["lift"][1]
        shadow(img, sx, sy, h, 0.16 * (1 - lift))
        pen = Pen(img, sx, sy - lift * h, h)
        if kind == "robot":
            draw_robot(pen, fig, now, joints, t)
        else:
            _draw_person(pen, fig, now, joints, t, speaking)
    else:
        d = now.facing or 1
        pen = Pen(img, sx, sy, h)
        shadow(img, sx, sy, h, 0.2 if kind != "bird" else 0.08)
        if kind in ("fox", "cat", "dog"):
            draw_animal(pen, fig, now.pose, d, t, speaking)
        elif kind == "bird":
            draw_bird(pen, fig, now.pose, d, t)
        else:
            draw_creature(pen, fig, now.pose, t, speaking)


def _draw_person(
    pen: Pen, fig: Figure, span: PoseSpan, j: dict[str, Point], t: float, speaking: bool
) -> None:
    look, paint, d = fig.look, fig.paint, span.facing
    thick = {"slim": 0.055, "average": 0.065, "athletic": 0.075, "heavy": 0.08}[look.build]
    head, neck, hip = j["head"], j["neck"], j["hip"]
    away = span.away
    shoulder_w, hip_w = _WIDTHS[look.build]
    if d:
        shoulder_w, hip_w = shoulder_w * 0.55, hip_w * 0.6
    far = "r" if d < 0 else "l"
    near = "l" if far == "r" else "r"
    _back_hair(pen, look, paint.hair, head, d, t, fig.phase)
    if d:  # in profile the far arm is behind the body
        limb(
            pen,
            j[f"shoulder_{far}"],
            j[f"elbow_{far}"],
            j[f"hand_{far}"],
            shade(paint.top, 0.8),
            thick * 0.9,
            paint.skin,
        )
    if span.pose.legs == "sit":  # something to sit on
        pen.poly([(hip[0] - 0.14, 0.27), (hip[0] + 0.14, 0.27), (hip[0] + 0.14, 0.0), (hip[0] - 0.14, 0.0)],
                 (96, 84, 78), INK)  # fmt: skip
    for side in ("l", "r"):
        knee, foot = j[f"knee_{side}"], j[f"foot_{side}"]
        root = (hip[0] + (-1 if side == "l" else 1) * hip_w * (0.6 if d == 0 else 0.2), hip[1])
        pen.line(root, knee, paint.bottom, thick * 1.1)
        pen.line(knee, foot, paint.bottom, thick)
        pen.line(foot, (foot[0] + (d or 0) * 0.05, foot[1]), INK, thick * 0.8)
    lean_x = neck[0] - hip[0]
    torso = [(neck[0] - shoulder_w, neck[1] - 0.02), (neck[0] + shoulder_w, neck[1] - 0.02),
             (hip[0] + hip_w + 0.01, hip[1] - 0.03), (hip[0] - hip_w - 0.01, hip[1] - 0.03)]  # fmt: skip
    pen.poly(torso, paint.top, paint.outline)
    pen.line((hip[0] - hip_w, hip[1] + 0.01), (hip[0] + hip_w, hip[1] + 0.01), paint.accent, 0.025)
    if not away:  # a collar in the accent colour
        pen.line((neck[0] - shoulder_w * 0.5, neck[1] - 0.015), (neck[0] + shoulder_w * 0.5, neck[1] - 0.015),
                 paint.accent, 0.022)  # fmt: skip
    pen.line(neck, (neck[0] + lean_x * 0.1, neck[1] + 0.04), paint.skin, 0.05)
    pen.circle(head, 0.1, paint.skin)
    if away:
        pen.circle(head, 0.104, paint.hair)
    elif pen.h >= 24:  # smaller, a face is a pixel or two: not worth drawing
        _face(pen, head, d, fig.expression, t, speaking, fig.phase)
    _front_hair(pen, look, paint.hair, head, d, away, t)
    arms = (near,) if d else ("l", "r")
    for side in arms:
        limb(
            pen,
            j[f"shoulder_{side}"],
            j[f"elbow_{side}"],
            j[f"hand_{side}"],
            paint.top,
            thick * 0.9,
            paint.skin,
        )
    if span.pose.arms == "hold" and span.pose.legs != "crouch":  # a letter or parcel in the hands
        hand = j[f"hand_{near}"] if d else ((j["hand_l"][0] + j["hand_r"][0]) / 2, j["hand_l"][1])
        pen.poly(
            [
                (hand[0] - 0.05, hand[1] + 0.06),
                (hand[0] + 0.05, hand[1] + 0.07),
                (hand[0] + 0.06, hand[1] - 0.0),
                (hand[0] - 0.04, hand[1] - 0.01),
            ],
            _LETTER,
            INK,
        )


def _face(pen: Pen, head: Point, d: int, expression: str, t: float, speaking: bool, phase: float) -> None:
    look = 0.045 * d
    for side in (-1, 1) if d == 0 else (0.3,):
        pen.circle((head[0] + look + side * 0.038, head[1] + 0.005), 0.014, INK)
    mouth = (head[0] + look * 1.2, head[1] - 0.052)
    if speaking:  # the mouth opens and closes while the line is on screen
        open_ = 0.5 + 0.5 * math.sin(2 * math.pi * 3.2 * t + phase)
        pen.ellipse(mouth, 0.024, 0.006 + 0.02 * open_, 0, MOUTH)
    elif any(w in expression for w in ("smil", "happy", "laugh", "joy", "grin")):
        pen.ellipse((mouth[0], mouth[1] + 0.012), 0.03, 0.016, 0, MOUTH, 10, 170, pen.px(0.012))
    elif any(w in expression for w in ("sad", "worr", "angry", "upset", "cry", "tired", "afraid")):
        pen.ellipse((mouth[0], mouth[1] - 0.012), 0.028, 0.012, 0, MOUTH, 190, 350, pen.px(0.012))
    else:
        pen.line((mouth[0] - 0.022, mouth[1]), (mouth[0] + 0.022, mouth[1]), MOUTH, 0.011)


def _back_hair(pen: Pen, look: Look, color: Color, head: Point, d: int, t: float, phase: float) -> None:
    """Hair behind the head and the body: long hair, a bob's sides, tails."""
    x, y = head
    style = look.hair_style
    if style == "long":
        pen.poly([(x - 0.11 - 0.02 * (d < 0), y + 0.04), (x + 0.11 + 0.02 * (d > 0), y + 0.04),
                  (x + 0.12 - 0.1 * d, y - 0.26), (x - 0.12 - 0.1 * d, y - 0.26)], color)  # fmt: skip
    elif style == "bob":
        pen.ellipse((x - 0.025 * d, y - 0.015), 0.13, 0.118, 0, color)
    elif style in ("ponytail", "twintails"):
        sway = 0.03 * math.sin(2 * math.pi * 0.9 * t + phase)
        sides = ((-d or 1),) if style == "ponytail" else (-1, 1)
        for side in sides:
            root = (x + side * 0.1, y + 0.05)
            pen.ellipse((root[0] + side * 0.05 + sway, root[1] - 0.13), 0.045, 0.14, -side * 12, color)
    elif style == "braid":
        for i in range(4):
            pen.circle((x - 0.09 * (d or 1), y - 0.06 - 0.06 * i), 0.035, color)


def _front_hair(pen: Pen, look: Look, color: Color, head: Point, d: int, away: bool, t: float) -> None:
    """Hair on top of the head: the cap, a fringe, spikes, a bun, curls."""
    x, y = head
    style = look.hair_style
    if style == "bald":
        return
    back = -0.02 * d
    if not away:
        pen.ellipse((x + back, y + 0.03), 0.112, 0.09, 0, color, 180, 360)
        if style in ("short", "bob", "long", "ponytail", "twintails", "braid"):  # a fringe
            pen.ellipse((x + 0.03 * d, y + 0.062), 0.09 - 0.03 * abs(d), 0.03, 0, color, 0, 180)
    if style == "spiky":
        spikes = []
        for i in range(6):
            a = math.pi * (0.1 + 0.8 * i / 5)
            base = (x + back + 0.1 * math.cos(a), y + 0.03 + 0.09 * math.sin(a))
            tip = (x + back + 0.19 * math.cos(a) - 0.04 * d, y + 0.04 + 0.17 * math.sin(a))
            spikes += [base, tip]
        pen.poly([(x + back - 0.11, y + 0.02), *spikes, (x + back + 0.11, y + 0.02)], color)
    elif style == "bun":
        pen.circle((x + back * 2, y + 0.13), 0.05, color)
    elif style == "curly":
        for i in range(7):
            a = math.pi * i / 6
            pen.circle((x + back + 0.1 * math.cos(a), y + 0.03 + 0.08 * math.sin(a)), 0.04, color)
