"""The animatic's places: a location's layout, its time of day, its weather and its light.

:func:`paint_world` paints the background canvas once per scene. The layout comes from
the location's words (:func:`studio.backends._animatic_words.read_place`): a rooftop
has a parapet and a skyline below it, stairs climb to the horizon, a harbour has water,
boats and a dock. Other named features become the backdrop ("mountain town stone
steps": mountains, then houses, then the steps).

The canvas is painted back to front in three depths. After each depth, fog is laid
over everything painted so far, so in fog the far layer almost vanishes and the near
one barely changes: fog hides depth. Colours are lit as they are painted
(:mod:`studio.backends._animatic_light`).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from studio.backends._animatic_light import SKIES, Atmosphere, Painter, hsv, scene_hash
from studio.backends._animatic_words import read_place
from studio.backends._base import SceneContext

__all__ = ["paint_world"]

Color = tuple[int, int, int]


def paint_world(scene: SceneContext, ww: int, wh: int, horizon: int) -> np.ndarray:
    """The background canvas, ``wh`` x ``ww`` RGB, with the horizon at row ``horizon``."""
    location = scene.location or scene.title or "somewhere"
    place = read_place(location.lower())
    atm = Atmosphere.of(scene)
    rng = np.random.default_rng(scene_hash("layout", location))
    hue = (scene_hash("hue", location) % 360) / 360.0
    p = Painter(ww, wh, horizon, atm, rng, hue, place)
    _sky(p)
    far, (mid, near) = _backdrop(p), _LAYOUTS[place.layout]
    for painter in far:
        painter(p)
    p.fog(1.0)
    mid(p)
    p.fog(0.7)
    near(p)
    p.fog(0.25)
    return p.done()


def _sky(p: Painter) -> None:
    zenith, low = SKIES[p.atm.time]
    if p.place.indoor:
        wall = hsv(p.hue, 0.22, 0.8)
        p.gradient(0, p.horizon, wall, hsv(p.hue, 0.26, 0.7))
        return
    k = p.atm.gain
    sky = [tuple(min(255, round(c * g)) for c, g in zip(col, k, strict=True)) for col in (zenith, low)]
    rows = np.linspace(0.0, 1.0, p.horizon, dtype=np.float32)[:, None]
    grey = p.atm.grey
    colors = np.asarray(sky[0], np.float32) * (1 - rows) + np.asarray(sky[1], np.float32) * rows
    colors += (colors.mean(axis=1, keepdims=True) - colors) * grey
    p.img[: p.horizon] = np.rint(np.clip(colors, 0, 255)).astype(np.uint8)[:, None, :]
    x = p.ww * (0.2 + 0.6 * p.rng.random())
    if p.night:
        for sx, sy in p.rng.random((60, 2)):
            cv2.circle(p.glow, (round(sx * p.ww), round(sy * p.horizon * 0.8)), 1, (200, 200, 220), -1)
        cv2.circle(
            p.glow, (round(x), round(p.horizon * 0.22)), max(4, p.wh // 22), (236, 236, 220), -1, cv2.LINE_AA
        )
    elif not grey:
        y = p.horizon * (0.75 if p.atm.time in ("sunset", "dawn") else 0.25)
        sun = (255, 190, 110) if p.atm.time in ("sunset", "dawn") else (255, 244, 200)
        cv2.circle(p.img, (round(x), round(y)), max(4, p.wh // 16), sun, -1, cv2.LINE_AA)
    if grey:  # low clouds
        for _ in range(7):
            cx, cy = p.rng.random() * p.ww, p.rng.uniform(0.1, 0.6) * p.horizon
            shade = (120, 124, 134) if not p.night else (34, 38, 50)
            cv2.ellipse(p.img, (round(cx), round(cy)), (round(p.ww * 0.12), round(p.wh * 0.04)), 0, 0, 360,
                        tuple(float(c * p.atm.gain[0]) for c in shade), -1, cv2.LINE_AA)  # fmt: skip


# --------------------------------------------------------------------------- backdrops


def _backdrop(p: Painter) -> list[Callable[[Painter], None]]:
    features, layout = p.place.features, p.place.layout
    if p.place.indoor:
        return []
    far: list[Callable[[Painter], None]] = []
    if "mountain" in features:
        far.append(_mountains)
    if "forest" in features and layout != "forest":
        far.append(_treeline)
    if "harbour" in features and layout != "harbour":
        far.append(_sea_band)
    if ("street" in features and layout != "street") or layout in ("rooftop", "station"):
        # By the sea, the city stands on one side and the water shows on the other.
        far.append(_skyline if "harbour" not in features else _half_skyline)
    return far


def _mountains(p: Painter) -> None:
    h, ww = p.horizon, p.ww
    for i in range(5):
        cx, top = ww * (i / 4 + p.rng.uniform(-0.08, 0.08)), h * p.rng.uniform(0.3, 0.55)
        half = ww * p.rng.uniform(0.16, 0.26)
        p.poly([(cx - half, h), (cx, top), (cx + half, h)], hsv(0.62, 0.25, 0.55 + 0.05 * (i % 2)))
        cap = (h - top) * 0.22
        p.poly(
            [(cx - half * cap / (h - top), top + cap), (cx, top), (cx + half * cap / (h - top), top + cap)],
            (236, 240, 246),
        )


def _treeline(p: Painter) -> None:
    for i in range(24):
        x = p.ww * i / 23
        p.circle(x, p.horizon - p.wh * 0.02, p.wh * p.rng.uniform(0.04, 0.07), hsv(0.33, 0.45, 0.35))


def _sea_band(p: Painter) -> None:
    top = p.horizon - round(p.wh * 0.03)
    p.gradient(top, p.horizon + 2, hsv(0.56, 0.45, 0.6), hsv(0.58, 0.5, 0.45))
    for _ in range(4):  # distant cranes
        x = p.rng.random() * p.ww
        p.line((x, top), (x, top - p.wh * 0.12), (70, 70, 80), 3)
        p.line((x - p.ww * 0.03, top - p.wh * 0.11), (x + p.ww * 0.05, top - p.wh * 0.11), (70, 70, 80), 3)


def _half_skyline(p: Painter) -> None:
    _skyline(p, end=0.5)


def _skyline(p: Painter, *, top: float = 0.62, bottom: float = 0.2, end: float = 1.0) -> None:
    x = 0.0
    while x < p.ww * end:
        bw, bh = p.ww * p.rng.uniform(0.04, 0.09), p.horizon * p.rng.uniform(bottom, top)
        shade = hsv(p.hue + 0.5, 0.12, p.rng.uniform(0.4, 0.6))
        p.rect(x, p.horizon - bh, x + bw - 2, p.horizon, shade)
        step = max(3, p.wh // 60)
        for wy in np.arange(p.horizon - bh + step, p.horizon - step, step * 2.5):
            for wx in np.arange(x + step / 2, x + bw - step, step * 2):
                p.lit_window(wx, wy, wx + step * 0.6, wy + step * 0.8, hsv(0.58, 0.2, 0.75))
        x += bw + p.ww * p.rng.uniform(0.0, 0.02)


# --------------------------------------------------------------------------- layouts: (mid, near)


def _ground(p: Painter, top: Color, bottom: Color, start: int | None = None) -> None:
    p.gradient(p.horizon if start is None else start, p.wh, top, bottom)


def _street_mid(p: Painter) -> None:
    _ground(p, (178, 172, 164), (150, 144, 138))
    x = 0.0
    while x < p.ww:  # shop fronts and houses on the far side of the street
        bw, bh = p.ww * p.rng.uniform(0.08, 0.14), p.horizon * p.rng.uniform(0.35, 0.75)
        body = hsv(p.hue + p.rng.uniform(-0.1, 0.1), 0.25, p.rng.uniform(0.55, 0.8))
        p.rect(x, p.horizon - bh, x + bw - 3, p.horizon, body)
        p.rect(x - 2, p.horizon - bh - 4, x + bw - 1, p.horizon - bh + 2, (70, 62, 60))
        for row in range(1, int(bh // (p.wh * 0.08))):
            wy = p.horizon - bh + row * p.wh * 0.08
            for col in range(2):
                wx = x + bw * (0.2 + 0.4 * col)
                p.lit_window(wx, wy - p.wh * 0.04, wx + bw * 0.22, wy, hsv(0.58, 0.25, 0.85))
        x += bw
    p.rect(0, p.horizon, p.ww, p.horizon + p.wh * 0.05, (176, 170, 160))  # far pavement


def _street_near(p: Painter) -> None:
    vx, top, bottom = p.ww / 2, p.horizon + p.wh * 0.05, p.wh
    p.poly(
        [(vx - p.ww * 0.42, top), (vx + p.ww * 0.42, top), (p.ww * 1.4, bottom), (-p.ww * 0.4, bottom)],
        (86, 86, 92),
    )
    for i in range(5):  # the dashed centre line, in perspective
        y0 = top + (bottom - top) * (i / 5) ** 1.6
        y1 = top + (bottom - top) * ((i + 0.5) / 5) ** 1.6
        w0, w1 = 2 + i * 1.5, 3 + i * 2
        p.poly([(vx - w0, y0), (vx + w0, y0), (vx + w1, y1), (vx - w1, y1)], (230, 220, 170))
    for side in (0.08, 0.92):  # street lamps
        x = p.ww * side
        p.line((x, p.horizon + p.wh * 0.06), (x, p.horizon - p.wh * 0.3), (60, 60, 66), 4)
        p.circle(x, p.horizon - p.wh * 0.3, 6, (230, 230, 210))
        p.light_spot(x, p.horizon - p.wh * 0.3, 8)


def _rooftop_mid(p: Painter) -> None:
    floor = p.horizon + round(p.wh * 0.04)
    _ground(p, (150, 146, 140), (110, 106, 104), floor)
    for i in range(1, 7):  # floor tiles, in perspective
        y = floor + (p.wh - floor) * (i / 7) ** 1.5
        p.line((0, y), (p.ww, y), (120, 116, 112), 1)
    if "harbour" not in p.place.features:  # a water tank on the next roof
        x = p.ww * p.rng.uniform(0.1, 0.3)
        p.rect(x, p.horizon - p.wh * 0.16, x + p.ww * 0.06, p.horizon - p.wh * 0.05, (120, 96, 80))
        for dx in (0.005, 0.05):
            p.line((x + p.ww * dx, p.horizon - p.wh * 0.05), (x + p.ww * dx, p.horizon), (70, 60, 56), 3)


def _rooftop_near(p: Painter) -> None:
    top, rail = p.horizon - round(p.wh * 0.05), p.horizon + round(p.wh * 0.04)
    p.rect(0, p.horizon - p.wh * 0.005, p.ww, rail, (128, 124, 120))  # the parapet
    p.line((0, top), (p.ww, top), (70, 74, 80), 4)
    for x in np.arange(0, p.ww, p.ww / 40):
        p.line((x, top), (x, p.horizon), (70, 74, 80), 2)
    if "garden" in p.place.features:  # planters along the parapet, and flowers
        for x in np.arange(p.ww * 0.03, p.ww, p.ww / 7):
            p.rect(x, rail - p.wh * 0.05, x + p.ww * 0.09, rail + p.wh * 0.01, (140, 92, 60))
            for k in range(4):
                p.circle(x + p.ww * (0.015 + 0.02 * k), rail - p.wh * 0.07, p.wh * 0.03, hsv(0.3, 0.55, 0.5))
            for k in range(3):
                color = ((236, 90, 110), (250, 210, 80), (240, 240, 250))[k]
                p.circle(x + p.ww * (0.025 + 0.025 * k), rail - p.wh * 0.085, p.wh * 0.008, color)
    for side in (0.04, 0.96):  # a vent and a door housing
        x = p.ww * side
        p.rect(x - p.ww * 0.025, rail + p.wh * 0.02, x + p.ww * 0.025, rail + p.wh * 0.09, (160, 160, 164))


def _garden_mid(p: Painter) -> None:
    _ground(p, hsv(0.27, 0.5, 0.62), hsv(0.28, 0.55, 0.4))
    for i in range(16):  # a hedge
        p.circle(p.ww * i / 15, p.horizon, p.wh * 0.05, hsv(0.32, 0.55, 0.38))
    for _ in range(4):
        _tree(p, p.rng.random() * p.ww, p.horizon + p.wh * 0.02, p.wh * p.rng.uniform(0.14, 0.2))


def _garden_near(p: Painter) -> None:
    vx, top = p.ww / 2, p.horizon + p.wh * 0.02
    p.poly(
        [(vx - p.ww * 0.04, top), (vx + p.ww * 0.04, top), (vx + p.ww * 0.3, p.wh), (vx - p.ww * 0.3, p.wh)],
        (196, 180, 150),
    )
    for _ in range(60):  # flower beds
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.06, 0.45) * p.wh
        if abs(x - vx) > p.ww * 0.32:
            color = ((236, 90, 110), (250, 210, 80), (240, 240, 250), (190, 120, 230))[int(p.rng.integers(4))]
            p.circle(x, y, p.wh * 0.008, color)


def _stairs_mid(p: Painter) -> None:
    _ground(p, (150, 144, 132), (112, 106, 98))
    if "street" in p.place.features or "mountain" in p.place.features:  # houses up the slope
        for side in (-1, 1):
            for i in range(4):
                x = p.ww / 2 + side * p.ww * (0.18 + 0.09 * i)
                w, hh = p.ww * 0.08, p.horizon * (0.3 + 0.1 * i)
                y = p.horizon + p.wh * 0.02 * i
                p.rect(x - w / 2, y - hh, x + w / 2, y, hsv(0.08 + 0.03 * i, 0.2, 0.72 - 0.04 * i))
                p.poly(
                    [(x - w * 0.6, y - hh), (x + w * 0.6, y - hh), (x, y - hh - p.wh * 0.06)], (120, 60, 50)
                )
                p.lit_window(x - w * 0.2, y - hh * 0.6, x + w * 0.15, y - hh * 0.4, hsv(0.58, 0.25, 0.8))


def _stairs_near(p: Painter) -> None:
    vx, top, n = p.ww / 2, p.horizon - p.wh * 0.12, 16
    for i in range(n):  # from the nearest step up to the horizon; each narrower
        y0, y1 = p.wh - (p.wh - top) * (i / n) ** 0.8, p.wh - (p.wh - top) * ((i + 1) / n) ** 0.8
        half0, half1 = p.ww * (0.32 - 0.24 * i / n), p.ww * (0.32 - 0.24 * (i + 1) / n)
        riser = (y0 + y1) / 2
        p.poly(
            [(vx - half0, y0), (vx + half0, y0), (vx + half0, riser), (vx - half0, riser)], (112, 106, 100)
        )
        p.poly(
            [(vx - half0, riser), (vx + half0, riser), (vx + half1, y1), (vx - half1, y1)], (176, 170, 160)
        )
    for side in (-1, 1):  # stone walls along the steps
        p.poly(
            [
                (vx + side * p.ww * 0.32, p.wh),
                (vx + side * p.ww * 0.08, top),
                (vx + side * p.ww * 0.1, top - p.wh * 0.04),
                (vx + side * p.ww * 0.36, p.wh - p.wh * 0.12),
            ],
            (132, 126, 118),
        )


def _harbour_mid(p: Painter) -> None:
    dock = p.horizon + round(p.wh * 0.16)
    p.gradient(p.horizon, dock, hsv(0.56, 0.45, 0.62), hsv(0.58, 0.55, 0.42))
    for _ in range(4):  # boats on the water
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.02, 0.1) * p.wh
        w = p.ww * p.rng.uniform(0.05, 0.09)
        p.poly(
            [
                (x - w / 2, y),
                (x + w / 2, y),
                (x + w * 0.4, y + p.wh * 0.025),
                (x - w * 0.4, y + p.wh * 0.025),
            ],
            (200, 196, 190),
        )
        p.line((x, y), (x, y - p.wh * 0.1), (80, 70, 60), 2)
        p.light_spot(x, y - p.wh * 0.1, 3, (255, 120, 90))
    for i in range(3):  # cranes
        x = p.ww * (0.15 + 0.35 * i)
        p.line((x, p.horizon), (x, p.horizon - p.wh * 0.25), (200, 90, 60), 4)
        p.line(
            (x - p.ww * 0.04, p.horizon - p.wh * 0.24),
            (x + p.ww * 0.1, p.horizon - p.wh * 0.24),
            (200, 90, 60),
            4,
        )
    _ground(p, (132, 100, 72), (90, 66, 50), dock)


def _harbour_near(p: Painter) -> None:
    dock = p.horizon + round(p.wh * 0.16)
    for i in range(8):  # planks
        y = dock + (p.wh - dock) * (i / 8) ** 1.3
        p.line((0, y), (p.ww, y), (74, 54, 40), 2)
    for x in np.arange(p.ww * 0.05, p.ww, p.ww / 6):  # bollards
        p.rect(x - 5, dock - 4, x + 5, dock + p.wh * 0.03, (50, 50, 56))


def _forest_mid(p: Painter) -> None:
    _ground(p, hsv(0.25, 0.45, 0.42), hsv(0.1, 0.45, 0.3))
    for _ in range(14):
        _tree(
            p,
            p.rng.random() * p.ww,
            p.horizon + p.rng.uniform(0.0, 0.04) * p.wh,
            p.wh * p.rng.uniform(0.16, 0.26),
        )


def _forest_near(p: Painter) -> None:
    vx = p.ww / 2
    p.poly([(vx - p.ww * 0.03, p.horizon + p.wh * 0.04), (vx + p.ww * 0.03, p.horizon + p.wh * 0.04),
            (vx + p.ww * 0.25, p.wh), (vx - p.ww * 0.25, p.wh)], (138, 112, 80))  # fmt: skip
    for x in (p.ww * 0.03, p.ww * 0.12, p.ww * 0.88, p.ww * 0.97):  # big trunks at the edges
        p.rect(x - p.ww * 0.015, 0, x + p.ww * 0.015, p.wh * 0.9, (78, 56, 40))
        p.circle(x, p.wh * 0.05, p.wh * 0.16, hsv(0.33, 0.5, 0.3))


def _mountain_mid(p: Painter) -> None:
    _ground(p, hsv(0.3, 0.35, 0.55), hsv(0.22, 0.35, 0.38))
    for i in range(6):  # foothills
        x = p.ww * i / 5
        cv2.ellipse(p.img, (round(x), p.horizon + 4), (round(p.ww * 0.14), round(p.wh * 0.09)), 0, 180, 360,
                    p.c(hsv(0.3, 0.4, 0.45 + 0.04 * (i % 2))), -1, cv2.LINE_AA)  # fmt: skip


def _mountain_near(p: Painter) -> None:
    for _ in range(6):  # rocks
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.12, 0.4) * p.wh
        p.circle(x, y, p.wh * p.rng.uniform(0.01, 0.03), (120, 118, 112))


def _room_mid(p: Painter) -> None:
    _ground(p, hsv(p.hue + 0.08, 0.4, 0.5), hsv(p.hue + 0.06, 0.45, 0.32))
    for i in range(-6, 7):  # floorboards, converging
        p.line(
            (p.ww / 2 + i * p.ww * 0.02, p.horizon),
            (p.ww / 2 + i * p.ww * 0.16, p.wh),
            hsv(p.hue + 0.06, 0.45, 0.28),
            1,
        )
    zenith, low = SKIES[p.atm.time]
    x0 = round(p.ww * (0.12 + p.rng.uniform(-0.03, 0.03)))
    x1, y0, y1 = x0 + round(p.ww * 0.2), round(p.horizon * 0.2), round(p.horizon * 0.68)
    sky = (
        (np.asarray(zenith, np.float32) + np.asarray(low, np.float32))
        / 2
        * np.asarray(p.atm.gain, np.float32)
    )
    p.img[y0:y1, x0:x1] = np.clip(sky, 0, 255).astype(np.uint8)
    cv2.rectangle(p.img, (x0, y0), (x1, y1), p.c(hsv(p.hue, 0.3, 0.3)), max(2, p.ww // 200))
    p.line(((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), hsv(p.hue, 0.3, 0.3), max(2, p.ww // 300))
    door = p.ww * 0.72
    p.rect(door, p.horizon * 0.3, door + p.ww * 0.09, p.horizon, hsv(p.hue + 0.05, 0.4, 0.45))
    p.circle(door + p.ww * 0.075, p.horizon * 0.68, 3, (220, 200, 120))
    if p.place.layout == "room":  # a shelf with books, and a lamp
        sx = p.ww * 0.42
        p.rect(sx, p.horizon * 0.45, sx + p.ww * 0.16, p.horizon * 0.48, (110, 80, 60))
        for k in range(9):
            color = hsv(p.rng.random(), 0.5, 0.6)
            p.rect(
                sx + k * p.ww * 0.016,
                p.horizon * 0.37,
                sx + (k + 0.8) * p.ww * 0.016,
                p.horizon * 0.45,
                color,
            )
    lamp = p.ww * 0.62
    p.line((lamp, 0), (lamp, p.horizon * 0.15), (60, 60, 60), 2)
    p.circle(lamp, p.horizon * 0.17, p.wh * 0.02, (250, 230, 180))
    p.light_spot(lamp, p.horizon * 0.17, p.wh * 0.025)


def _room_near(p: Painter) -> None:
    if p.place.layout == "shop":  # shelves of goods, and a counter
        for row in range(4):
            y = p.horizon * (0.3 + 0.17 * row)
            for side in (0.02, 0.36):
                x0 = p.ww * side
                p.rect(x0, y, x0 + p.ww * 0.28, y + 4, (110, 80, 60))
                for k in range(12):
                    color = hsv(p.rng.random(), 0.6, 0.75)
                    p.rect(
                        x0 + k * p.ww * 0.023, y - p.horizon * 0.09, x0 + (k + 0.7) * p.ww * 0.023, y, color
                    )
        p.rect(p.ww * 0.6, p.horizon - p.wh * 0.02, p.ww * 0.95, p.horizon + p.wh * 0.1, (150, 110, 80))
        p.rect(p.ww * 0.6, p.horizon - p.wh * 0.03, p.ww * 0.95, p.horizon - p.wh * 0.015, (190, 150, 110))
    else:  # a table
        x = p.ww * 0.82
        p.rect(
            x - p.ww * 0.06, p.horizon + p.wh * 0.02, x + p.ww * 0.06, p.horizon + p.wh * 0.035, (130, 92, 64)
        )
        for dx in (-0.05, 0.05):
            p.line(
                (x + p.ww * dx, p.horizon + p.wh * 0.03),
                (x + p.ww * dx, p.horizon + p.wh * 0.11),
                (100, 70, 50),
                3,
            )


def _station_mid(p: Painter) -> None:
    edge = p.horizon + round(p.wh * 0.1)
    _ground(p, (70, 66, 64), (60, 56, 54))
    train_top = p.horizon - p.wh * 0.16
    p.rect(0, train_top, p.ww, p.horizon + p.wh * 0.03, (196, 200, 206))  # a train waiting
    p.rect(0, p.horizon - p.wh * 0.02, p.ww, p.horizon + p.wh * 0.0, hsv(0.58, 0.6, 0.6))
    for x in np.arange(p.ww * 0.02, p.ww, p.ww / 14):
        p.lit_window(x, train_top + p.wh * 0.03, x + p.ww * 0.045, train_top + p.wh * 0.09, (120, 150, 180))
    for y in (p.horizon + p.wh * 0.05, p.horizon + p.wh * 0.08):
        p.line((0, y), (p.ww, y), (170, 170, 176), 2)
    _ground(p, (176, 174, 168), (140, 138, 134), edge)
    p.rect(0, edge, p.ww, edge + p.wh * 0.012, (240, 200, 40))  # the safety line


def _station_near(p: Painter) -> None:
    roof = p.horizon * 0.25
    p.rect(0, 0, p.ww, roof, (90, 94, 104))
    for x in np.arange(p.ww * 0.1, p.ww, p.ww * 0.27):
        p.rect(x - p.ww * 0.012, roof, x + p.ww * 0.012, p.horizon + p.wh * 0.3, (120, 124, 132))
        p.light_spot(x + p.ww * 0.1, roof + 4, 6, (230, 240, 255))
    sign = p.ww * 0.45
    p.rect(sign, roof + p.wh * 0.03, sign + p.ww * 0.12, roof + p.wh * 0.08, (30, 70, 140))
    p.rect(sign + p.ww * 0.015, roof + p.wh * 0.05, sign + p.ww * 0.1, roof + p.wh * 0.06, (240, 240, 240))


def _field_mid(p: Painter) -> None:
    _ground(p, hsv(p.hue * 0.2 + 0.22, 0.4, 0.66), hsv(p.hue * 0.2 + 0.22, 0.5, 0.45))
    for _ in range(3):
        _tree(p, p.rng.random() * p.ww, p.horizon + p.wh * 0.01, p.wh * p.rng.uniform(0.1, 0.14))


def _field_near(p: Painter) -> None:
    for _ in range(40):
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.08, 0.45) * p.wh
        p.line((x, y), (x + 2, y - p.wh * 0.015), hsv(0.28, 0.5, 0.35), 1)


def _tree(p: Painter, x: float, base: float, size: float) -> None:
    p.rect(x - size * 0.06, base - size, x + size * 0.06, base, (96, 70, 48))
    p.circle(x, base - size * 1.3, size * 0.6, hsv(0.3, 0.55, 0.42))
    p.circle(x - size * 0.3, base - size * 1.05, size * 0.42, hsv(0.31, 0.55, 0.36))


_LAYOUTS: dict[str, tuple[Callable[[Painter], None], Callable[[Painter], None]]] = {
    "street": (_street_mid, _street_near),
    "rooftop": (_rooftop_mid, _rooftop_near),
    "garden": (_garden_mid, _garden_near),
    "stairs": (_stairs_mid, _stairs_near),
    "harbour": (_harbour_mid, _harbour_near),
    "forest": (_forest_mid, _forest_near),
    "mountain": (_mountain_mid, _mountain_near),
    "room": (_room_mid, _room_near),
    "shop": (_room_mid, _room_near),
    "station": (_station_mid, _station_near),
    "field": (_field_mid, _field_near),
}
