"""The animatic's non-human figures: robots, foxes, cats, dogs, birds and other creatures.

Drawn with the same :class:`~studio.backends._animatic_pen.Pen` and conventions as the
people of :mod:`studio.backends._animatic_figures`: figure units, ``d`` the facing.
A creature the vocabulary does not know is a round blob with eyes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from studio.backends._animatic_pen import INK, MOUTH, Pen, limb, mix, shade
from studio.backends._animatic_words import Pose

if TYPE_CHECKING:
    from studio.backends._animatic_figures import Figure, PoseSpan

__all__ = ["draw_animal", "draw_bird", "draw_creature", "draw_robot"]

Point = tuple[float, float]


def draw_robot(pen: Pen, fig: Figure, span: PoseSpan, j: dict[str, Point], t: float) -> None:
    paint, d = fig.paint, span.facing
    metal, dark = paint.top, shade(paint.top, 0.6)
    for side in ("l", "r"):
        pen.line(j["hip"], j[f"knee_{side}"], dark, 0.08)
        pen.line(j[f"knee_{side}"], j[f"foot_{side}"], dark, 0.08)
        pen.circle(j[f"knee_{side}"], 0.04, paint.accent)
    neck, hip, head = j["neck"], j["hip"], j["head"]
    pen.poly([(neck[0] - 0.15, neck[1]), (neck[0] + 0.15, neck[1]), (hip[0] + 0.12, hip[1]),
              (hip[0] - 0.12, hip[1])], metal, paint.outline)  # fmt: skip
    pen.poly(
        [
            (head[0] - 0.1, head[1] - 0.09),
            (head[0] + 0.1, head[1] - 0.09),
            (head[0] + 0.1, head[1] + 0.08),
            (head[0] - 0.1, head[1] + 0.08),
        ],
        metal,
        paint.outline,
    )
    pen.line((head[0], head[1] + 0.08), (head[0], head[1] + 0.15), dark, 0.015)
    blink = 0.5 + 0.5 * math.sin(2 * math.pi * 0.7 * t + fig.phase)
    pen.circle((head[0], head[1] + 0.16), 0.022, mix(paint.accent, (255, 80, 60), blink))
    if not span.away:
        pen.line((head[0] - 0.06 + 0.03 * d, head[1] + 0.01), (head[0] + 0.06 + 0.03 * d, head[1] + 0.01),
                 (110, 230, 255), 0.035)  # fmt: skip
    for side in ("l", "r") if d == 0 else (("l",) if d < 0 else ("r",)):
        limb(pen, j[f"shoulder_{side}"], j[f"elbow_{side}"], j[f"hand_{side}"], dark, 0.07, paint.accent)


def draw_animal(pen: Pen, fig: Figure, pose: Pose, d: int, t: float, speaking: bool) -> None:
    """A fox, cat or dog in profile: tails, body, legs, head, ears, snout."""
    look, paint = fig.look, fig.paint
    k = {"cat": 0.55, "fox": 0.75}.get(look.kind, 0.85)  # beside a person: a cat is small
    coat, dark = paint.top, shade(paint.top, 0.7)
    legs = pose.legs
    rate = {"walk": 1.3, "run": 2.2}.get(legs, 0.0)
    phi = 2 * math.pi * rate * t + fig.phase
    lift = 0.0
    if legs == "jump":
        u = (t * 0.9 + fig.phase / (2 * math.pi)) % 1.0
        lift = 0.22 * math.sin(math.pi * u)
    low = legs in ("kneel", "crouch")  # lying down
    sitting = legs == "sit"
    body_y = (0.1 if low else 0.2 + 0.01 * abs(math.sin(phi))) * k + lift
    tilt = 32.0 if sitting else 0.0
    length = 0.24 * k
    front = (d * length * 0.75, body_y + (0.09 * k if sitting else 0.0))
    rear = (-d * length * 0.8, body_y - (0.06 * k if sitting else 0.0))
    tail_root = (rear[0] - d * 0.03 * k, rear[1] + 0.03 * k)
    sway = 0.25 * math.sin(2 * math.pi * 0.8 * t + fig.phase)
    n = look.tails if look.kind == "fox" else 1
    fan = min(2.4, 0.32 * (n - 1))  # nine tails fan out like a peacock's
    for i in range(n):
        spread = 0.0 if n == 1 else (i / (n - 1) - 0.5) * fan
        angle = math.pi / 2 + d * (0.75 + spread * 0.5) + sway * 0.4 + (0.0 if n == 1 else spread * 0.5 * d)
        length = (0.26 if n == 1 else 0.24 + 0.03 * math.cos(spread * 2)) * k
        tip = (tail_root[0] + math.cos(angle) * length, tail_root[1] + math.sin(angle) * length * 0.9)
        mid = ((tail_root[0] + tip[0]) / 2, (tail_root[1] + tip[1]) / 2)
        deg = -math.degrees(math.atan2(tip[1] - tail_root[1], tip[0] - tail_root[0]))
        if look.kind == "fox":
            thick = (0.055 if n == 1 else 0.04) * k
            pen.ellipse(mid, length * 0.56, thick, deg, coat)
            pen.ellipse(mid, length * 0.56, thick, deg, paint.outline, width=1)
            if sum(coat) > 600:  # a white fox's tips are white already
                continue
            pen.ellipse(
                (tip[0] * 0.8 + mid[0] * 0.2, tip[1] * 0.8 + mid[1] * 0.2),
                0.04 * k,
                thick * 0.7,
                deg,
                mix(coat, (255, 255, 255), 0.7),
            )
        elif look.kind == "cat":
            pen.line(tail_root, mid, coat, 0.03)
            pen.line(mid, (tip[0] + 0.05 * d, tip[1] + 0.04), coat, 0.03)
        else:
            pen.ellipse(mid, 0.08 * k, 0.03 * k, deg, coat)
    for i, base in enumerate((front, rear, front, rear)):
        far = i >= 2
        swing = math.sin(phi + i * math.pi / 2 + (math.pi if far else 0)) * (0.08 if rate else 0.0) * k
        x0 = base[0] + (0.02 if far else -0.02) * d
        if low:
            foot = (x0 + d * 0.1 * k, 0.02)
        elif sitting and base is rear:
            foot = (x0 + d * 0.06 * k, 0.0)
        else:
            foot = (
                x0 + swing * d,
                max(0.0, lift - 0.02 + (0.04 * k * max(0.0, math.cos(phi + i)) if rate else 0)),
            )
        pen.line((x0, base[1]), foot, dark if far else coat, 0.045 * k)
    pen.ellipse(((front[0] + rear[0]) / 2, body_y), length, 0.085 * k, -d * tilt, coat, width=-1)
    pen.ellipse(((front[0] + rear[0]) / 2, body_y), length, 0.085 * k, -d * tilt, paint.outline, width=1)
    pen.ellipse(((front[0] + rear[0]) / 2, body_y - 0.03 * k), length * 0.7, 0.04 * k, -d * tilt,
                mix(coat, (255, 255, 255), 0.15))  # fmt: skip
    head = (front[0] + d * 0.08 * k, front[1] + (0.12 if not low else 0.08) * k)
    ear = 0.1 * k if look.kind == "fox" else 0.07 * k
    for dx in (-0.035, 0.035):
        base_x = head[0] + dx * k - d * 0.01
        pen.poly([(base_x - 0.03 * k, head[1] + 0.05 * k), (base_x + 0.03 * k, head[1] + 0.05 * k),
                  (base_x + d * 0.01, head[1] + 0.05 * k + ear)], coat, paint.outline)  # fmt: skip
    pen.circle(head, 0.075 * k, coat)
    snout = 0.11 * k if look.kind == "fox" else (0.07 * k if look.kind == "dog" else 0.045 * k)
    pen.poly([(head[0] + d * 0.03 * k, head[1] + 0.035 * k), (head[0] + d * snout, head[1] - 0.015 * k),
              (head[0] + d * 0.03 * k, head[1] - 0.045 * k)], coat)  # fmt: skip
    pen.circle((head[0] + d * snout, head[1] - 0.015 * k), 0.015 * k, INK)
    pen.circle((head[0] + d * 0.03 * k, head[1] + 0.02 * k), 0.013 * k, INK)
    if speaking:
        open_ = 0.5 + 0.5 * math.sin(2 * math.pi * 3.2 * t + fig.phase)
        pen.line((head[0] + d * 0.04 * k, head[1] - 0.04 * k),
                 (head[0] + d * snout * 0.8, head[1] - (0.03 + 0.03 * open_) * k), MOUTH, 0.012)  # fmt: skip


def draw_bird(pen: Pen, fig: Figure, pose: Pose, d: int, t: float) -> None:
    coat, dark = fig.paint.top, shade(fig.paint.top, 0.65)
    flying = pose.legs in ("jump", "run")
    lift = 0.18 + 0.03 * math.sin(2 * math.pi * 1.5 * t + fig.phase) if flying else 0.0
    hop = 0.02 * max(0.0, math.sin(2 * math.pi * 1.6 * t + fig.phase)) if pose.legs == "walk" else 0.0
    y = 0.14 + lift + hop
    if not flying:
        for dx in (-0.02, 0.02):
            pen.line((dx, y - 0.05), (dx + 0.01 * d, 0.0), (200, 140, 60), 0.012)
    pen.poly([(-d * 0.08, y), (-d * 0.17, y + 0.03), (-d * 0.16, y - 0.02)], dark)
    pen.ellipse((0.0, y), 0.09, 0.06, -d * 10, coat)
    flap = math.sin(2 * math.pi * (4.0 if flying else 0.3) * t + fig.phase)
    pen.ellipse(
        (-d * 0.02, y + 0.01 + (0.04 * flap if flying else 0)),
        0.07,
        0.03,
        -d * (20 + 35 * flap * flying),
        dark,
    )
    head = (d * 0.08, y + 0.06)
    pen.circle(head, 0.045, coat)
    pen.poly([(head[0] + d * 0.035, head[1] + 0.012), (head[0] + d * 0.09, head[1] - 0.005),
              (head[0] + d * 0.035, head[1] - 0.018)], (236, 170, 40))  # fmt: skip
    pen.circle((head[0] + d * 0.015, head[1] + 0.012), 0.01, INK)


def draw_creature(pen: Pen, fig: Figure, pose: Pose, t: float, speaking: bool) -> None:
    """The fallback for a creature the vocabulary does not know: a blob with eyes."""
    coat = fig.paint.top
    rate = {"walk": 1.2, "run": 2.0, "jump": 0.9}.get(pose.legs, 0.4)
    bounce = abs(math.sin(2 * math.pi * rate * t + fig.phase))
    lift = 0.15 * bounce if pose.legs == "jump" else 0.0
    squash = 1.0 + 0.06 * (bounce - 0.5)
    pen.ellipse((0.0, 0.26 * squash + lift), 0.24 / squash, 0.26 * squash, 0, coat)
    pen.ellipse((0.0, 0.2 * squash + lift), 0.15 / squash, 0.12 * squash, 0, mix(coat, (255, 255, 255), 0.3))
    for side in (-1, 1):
        pen.circle((side * 0.07, 0.38 * squash + lift), 0.04, (250, 250, 250))
        pen.circle((side * 0.07, 0.375 * squash + lift), 0.02, INK)
    open_ = 0.5 + 0.5 * math.sin(2 * math.pi * 3.2 * t + fig.phase) if speaking else 0.0
    pen.ellipse((0.0, 0.28 * squash + lift), 0.05, 0.008 + 0.025 * open_, 0, MOUTH)
