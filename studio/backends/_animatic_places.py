"""The animatic's places: a location's layout, its time of day, its weather and its light.

:func:`paint_world` paints the background canvas once per scene. The layout comes from
the location's words (:func:`studio.backends._animatic_words.read_place`): a rooftop
has a parapet and a skyline below it, stairs climb to the horizon, a harbour has water,
boats and a dock. Other named features become the backdrop ("mountain town stone
steps": mountains, then houses, then the steps).

The canvas is painted back to front in three depths. After each depth, fog is laid
over everything painted so far, so in fog the far layer almost vanishes and the near
one barely changes: fog hides depth. Colours are lit as they are painted
(:class:`Atmosphere`): night is dark and cool, rain darkens and greys; windows, lamps
and the moon are painted into a separate glow layer that the night does not darken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from studio.backends._animatic_words import Place, read_place
from studio.backends._base import SceneContext

__all__ = ["Atmosphere", "paint_world", "scene_hash"]

Color = tuple[int, int, int]

_SKIES: dict[str, tuple[Color, Color]] = {  # (zenith, horizon), RGB
    "dawn": ((72, 84, 150), (250, 176, 146)),
    "morning": ((104, 166, 228), (206, 228, 246)),
    "day": ((76, 146, 228), (184, 216, 246)),
    "sunset": ((70, 52, 118), (252, 146, 82)),
    "night": ((6, 8, 26), (26, 34, 66)),
}
_TIME_WORDS = {
    "dawn": "dawn", "sunrise": "dawn", "morning": "morning", "noon": "day", "day": "day",
    "afternoon": "day", "sunset": "sunset", "dusk": "sunset", "evening": "sunset",
    "twilight": "sunset", "golden hour": "sunset", "night": "night", "midnight": "night",
}  # fmt: skip
_TIME_GAIN = {"dawn": 0.9, "morning": 1.0, "day": 1.0, "sunset": 0.86, "night": 0.4}
_FOG_COLOR = {"dawn": (200, 182, 178), "morning": (214, 220, 226), "day": (206, 212, 218),
              "sunset": (190, 158, 146), "night": (40, 46, 62)}  # fmt: skip
_LIT = (255, 214, 120)  # a lit window at night


def scene_hash(*parts: str) -> int:
    """A stable hash (:func:`hash` changes per process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _has(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


@dataclass(frozen=True)
class Atmosphere:
    """Time of day, light and weather, as numbers the painters use.

    Attributes:
        time: ``dawn``, ``morning``, ``day``, ``sunset`` or ``night``.
        gain: Per-channel gain for the lighting and the mood ("dark", "warm", "neon").
        daylight: How much the time of day lights the ground and props (night: 0.4).
        grey: How much rain or overcast greys the colours (0..1).
        fog: Fog density (0..1); ``fog_color`` is what it fades to.
    """

    time: str
    gain: tuple[float, float, float]
    daylight: float
    grey: float
    fog: float
    fog_color: Color

    @classmethod
    def of(cls, scene: SceneContext) -> Atmosphere:
        when = scene.time_of_day.lower()
        time = next((v for k, v in _TIME_WORDS.items() if k in when), "day")
        words = f"{scene.lighting} {scene.mood} {scene.weather}".lower()
        level = 1.0
        if _has(words, ("dark", "dim", "moody", "low-key", "shadow", "gloom")):
            level = 0.62
        elif _has(words, ("bright", "high-key", "sunny", "radiant")):
            level = 1.1
        weather = scene.weather.lower()
        wet = _has(weather, ("rain", "storm", "drizzle", "shower"))
        grey = 0.45 if wet else (0.3 if _has(weather, ("overcast", "cloud", "grey", "gray")) else 0.0)
        if wet:
            level *= 0.72  # rain darkens
        elif grey:
            level *= 0.85
        tint = (1.0, 1.0, 1.0)
        if _has(words, ("warm", "golden", "candle", "fire")):
            tint = (1.08, 1.0, 0.88)
        elif _has(words, ("cool", "cold", "blue", "moon")) or time == "night":
            tint = (0.86, 0.96, 1.12)
        if _has(words, ("neon",)):
            tint = (1.1, 0.88, 1.12)
        fog = 0.62 if _has(weather, ("fog", "mist")) else (0.32 if _has(weather, ("haze", "smog")) else 0.0)
        gain = (level * tint[0], level * tint[1], level * tint[2])
        return cls(time, gain, _TIME_GAIN[time], grey, fog, _FOG_COLOR[time])

    def light(self, color: Color, *, daylight: float | None = None) -> Color:
        """``color`` under this light; ``daylight`` overrides the time of day's level."""
        k = self.daylight if daylight is None else daylight
        r, g, b = (c * k * gain for c, gain in zip(color, self.gain, strict=True))
        mean = (r + g + b) / 3
        return tuple(min(255, max(0, round(c + (mean - c) * self.grey))) for c in (r, g, b))  # type: ignore[return-value]

    def figure(self, color: Color) -> Color:
        """A character's colour: lit like the scene, but a little brighter so they read at night."""
        lit = self.light(color, daylight=self.daylight + (1.0 - self.daylight) * 0.6)
        k = self.fog * 0.2
        return tuple(round(c + (f - c) * k) for c, f in zip(lit, self.fog_color, strict=True))  # type: ignore[return-value]


def _hsv(hue: float, sat: float, val: float) -> Color:
    sat, val = min(1.0, max(0.0, sat)), min(1.0, max(0.0, val))
    pixel = np.array([[[(hue % 1.0) * 360.0, sat, val]]], dtype=np.float32)
    r, g, b = cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0] * 255.0
    return (round(float(r)), round(float(g)), round(float(b)))


class _Painter:
    """The canvas, its glow layer and the scene's light; coordinates are canvas pixels."""

    def __init__(self, ww: int, wh: int, horizon: int, atm: Atmosphere, rng: np.random.Generator, hue: float,
                 place: Place) -> None:  # fmt: skip
        self.ww, self.wh, self.horizon, self.atm, self.rng, self.hue, self.place = ww, wh, horizon, atm, rng, hue, place
        self.img = np.zeros((wh, ww, 3), np.uint8)
        self.glow = np.zeros((wh, ww, 3), np.uint8)
        self.night = atm.time == "night"

    def c(self, color: Color) -> Color:
        return self.atm.light(color)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: Color, *, lit: bool = True) -> None:
        cv2.rectangle(self.img, (round(x0), round(y0)), (round(x1), round(y1)), self.c(color) if lit else color, -1)

    def poly(self, points: list[tuple[float, float]], color: Color) -> None:
        cv2.fillPoly(self.img, [np.array(points, np.int32)], self.c(color), cv2.LINE_AA)

    def circle(self, x: float, y: float, r: float, color: Color) -> None:
        cv2.circle(self.img, (round(x), round(y)), max(1, round(r)), self.c(color), -1, cv2.LINE_AA)

    def line(self, a: tuple[float, float], b: tuple[float, float], color: Color, width: float) -> None:
        pa, pb = (round(a[0]), round(a[1])), (round(b[0]), round(b[1]))
        cv2.line(self.img, pa, pb, self.c(color), max(1, round(width)), cv2.LINE_AA)

    def light_spot(self, x: float, y: float, r: float, color: Color = _LIT) -> None:
        """A window or lamp: lit by day like anything else, glowing at night."""
        if self.night or self.atm.time == "sunset":
            cv2.circle(self.glow, (round(x), round(y)), max(1, round(r)), color, -1, cv2.LINE_AA)

    def lit_window(self, x0: float, y0: float, x1: float, y1: float, day: Color) -> None:
        if self.night and self.rng.random() < 0.6:
            cv2.rectangle(self.glow, (round(x0), round(y0)), (round(x1), round(y1)), _LIT, -1)
        else:
            self.rect(x0, y0, x1, y1, day)

    def gradient(self, top: int, bottom: int, a: Color, b: Color, *, x0: int = 0, x1: int | None = None) -> None:
        rows = max(1, bottom - top)
        ramp = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None]
        colors = np.asarray(self.c(a), np.float32) * (1 - ramp) + np.asarray(self.c(b), np.float32) * ramp
        self.img[top:bottom, x0:x1] = np.rint(colors).astype(np.uint8)[:, None, :]

    def fog(self, k: float) -> None:
        """Lay fog over everything painted so far (``k`` of the way to the fog colour)."""
        k *= self.atm.fog
        if k > 0:
            fogged = self.img * np.float32(1 - k) + np.asarray(self.atm.fog_color, np.float32) * np.float32(k)
            self.img = np.rint(fogged).astype(np.uint8)
            self.glow = np.rint(self.glow * np.float32(1 - k)).astype(np.uint8)

    def done(self) -> np.ndarray:
        return np.maximum(self.img, self.glow)


def paint_world(scene: SceneContext, ww: int, wh: int, horizon: int) -> np.ndarray:
    """The background canvas, ``wh`` x ``ww`` RGB, with the horizon at row ``horizon``."""
    location = scene.location or scene.title or "somewhere"
    place = read_place(location.lower())
    atm = Atmosphere.of(scene)
    rng = np.random.default_rng(scene_hash("layout", location))
    hue = (scene_hash("hue", location) % 360) / 360.0
    p = _Painter(ww, wh, horizon, atm, rng, hue, place)
    _sky(p)
    far, (mid, near) = _backdrop(p), _LAYOUTS[place.layout]
    for painter in far:
        painter(p)
    p.fog(0.8)
    mid(p)
    p.fog(0.45)
    near(p)
    p.fog(0.12)
    return p.done()


def _sky(p: _Painter) -> None:
    zenith, low = _SKIES[p.atm.time]
    if p.place.indoor:
        wall = _hsv(p.hue, 0.22, 0.8)
        p.gradient(0, p.horizon, wall, _hsv(p.hue, 0.26, 0.7))
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
        cv2.circle(p.glow, (round(x), round(p.horizon * 0.22)), max(4, p.wh // 22), (236, 236, 220), -1, cv2.LINE_AA)
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


def _backdrop(p: _Painter) -> list[Callable[[_Painter], None]]:
    features, layout = p.place.features, p.place.layout
    if p.place.indoor:
        return []
    far: list[Callable[[_Painter], None]] = []
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


def _mountains(p: _Painter) -> None:
    h, ww = p.horizon, p.ww
    for i in range(5):
        cx, top = ww * (i / 4 + p.rng.uniform(-0.08, 0.08)), h * p.rng.uniform(0.3, 0.55)
        half = ww * p.rng.uniform(0.16, 0.26)
        p.poly([(cx - half, h), (cx, top), (cx + half, h)], _hsv(0.62, 0.25, 0.55 + 0.05 * (i % 2)))
        cap = (h - top) * 0.22
        p.poly([(cx - half * cap / (h - top), top + cap), (cx, top), (cx + half * cap / (h - top), top + cap)],
               (236, 240, 246))  # fmt: skip


def _treeline(p: _Painter) -> None:
    for i in range(24):
        x = p.ww * i / 23
        p.circle(x, p.horizon - p.wh * 0.02, p.wh * p.rng.uniform(0.04, 0.07), _hsv(0.33, 0.45, 0.35))


def _sea_band(p: _Painter) -> None:
    top = p.horizon - round(p.wh * 0.03)
    p.gradient(top, p.horizon + 2, _hsv(0.56, 0.45, 0.6), _hsv(0.58, 0.5, 0.45))
    for _ in range(4):  # distant cranes
        x = p.rng.random() * p.ww
        p.line((x, top), (x, top - p.wh * 0.12), (70, 70, 80), 3)
        p.line((x - p.ww * 0.03, top - p.wh * 0.11), (x + p.ww * 0.05, top - p.wh * 0.11), (70, 70, 80), 3)


def _half_skyline(p: _Painter) -> None:
    _skyline(p, end=0.5)


def _skyline(p: _Painter, *, top: float = 0.62, bottom: float = 0.2, end: float = 1.0) -> None:
    x = 0.0
    while x < p.ww * end:
        bw, bh = p.ww * p.rng.uniform(0.04, 0.09), p.horizon * p.rng.uniform(bottom, top)
        shade = _hsv(p.hue + 0.5, 0.12, p.rng.uniform(0.4, 0.6))
        p.rect(x, p.horizon - bh, x + bw - 2, p.horizon, shade)
        step = max(3, p.wh // 60)
        for wy in np.arange(p.horizon - bh + step, p.horizon - step, step * 2.5):
            for wx in np.arange(x + step / 2, x + bw - step, step * 2):
                p.lit_window(wx, wy, wx + step * 0.6, wy + step * 0.8, _hsv(0.58, 0.2, 0.75))
        x += bw + p.ww * p.rng.uniform(0.0, 0.02)


# --------------------------------------------------------------------------- layouts: (mid, near)


def _ground(p: _Painter, top: Color, bottom: Color, start: int | None = None) -> None:
    p.gradient(p.horizon if start is None else start, p.wh, top, bottom)


def _street_mid(p: _Painter) -> None:
    _ground(p, (150, 148, 146), (96, 94, 96))
    x = 0.0
    while x < p.ww:  # shop fronts and houses on the far side of the street
        bw, bh = p.ww * p.rng.uniform(0.08, 0.14), p.horizon * p.rng.uniform(0.35, 0.75)
        body = _hsv(p.hue + p.rng.uniform(-0.1, 0.1), 0.25, p.rng.uniform(0.55, 0.8))
        p.rect(x, p.horizon - bh, x + bw - 3, p.horizon, body)
        p.rect(x - 2, p.horizon - bh - 4, x + bw - 1, p.horizon - bh + 2, (70, 62, 60))
        for row in range(1, int(bh // (p.wh * 0.08))):
            wy = p.horizon - bh + row * p.wh * 0.08
            for col in range(2):
                wx = x + bw * (0.2 + 0.4 * col)
                p.lit_window(wx, wy - p.wh * 0.04, wx + bw * 0.22, wy, _hsv(0.58, 0.25, 0.85))
        x += bw
    p.rect(0, p.horizon, p.ww, p.horizon + p.wh * 0.05, (176, 170, 160))  # far pavement


def _street_near(p: _Painter) -> None:
    vx, top, bottom = p.ww / 2, p.horizon + p.wh * 0.05, p.wh
    p.poly([(vx - p.ww * 0.2, top), (vx + p.ww * 0.2, top), (p.ww * 1.1, bottom), (-p.ww * 0.1, bottom)], (80, 80, 86))
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


def _rooftop_mid(p: _Painter) -> None:
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


def _rooftop_near(p: _Painter) -> None:
    top, rail = p.horizon - round(p.wh * 0.05), p.horizon + round(p.wh * 0.04)
    p.rect(0, p.horizon - p.wh * 0.005, p.ww, rail, (128, 124, 120))  # the parapet
    p.line((0, top), (p.ww, top), (70, 74, 80), 4)
    for x in np.arange(0, p.ww, p.ww / 40):
        p.line((x, top), (x, p.horizon), (70, 74, 80), 2)
    if "garden" in p.place.features:  # planters along the parapet, and flowers
        for x in np.arange(p.ww * 0.03, p.ww, p.ww / 7):
            p.rect(x, rail - p.wh * 0.05, x + p.ww * 0.09, rail + p.wh * 0.01, (140, 92, 60))
            for k in range(4):
                p.circle(x + p.ww * (0.015 + 0.02 * k), rail - p.wh * 0.07, p.wh * 0.03, _hsv(0.3, 0.55, 0.5))
            for k in range(3):
                color = ((236, 90, 110), (250, 210, 80), (240, 240, 250))[k]
                p.circle(x + p.ww * (0.025 + 0.025 * k), rail - p.wh * 0.085, p.wh * 0.008, color)
    for side in (0.04, 0.96):  # a vent and a door housing
        x = p.ww * side
        p.rect(x - p.ww * 0.025, rail + p.wh * 0.02, x + p.ww * 0.025, rail + p.wh * 0.09, (160, 160, 164))


def _garden_mid(p: _Painter) -> None:
    _ground(p, _hsv(0.27, 0.5, 0.62), _hsv(0.28, 0.55, 0.4))
    for i in range(16):  # a hedge
        p.circle(p.ww * i / 15, p.horizon, p.wh * 0.05, _hsv(0.32, 0.55, 0.38))
    for _ in range(4):
        _tree(p, p.rng.random() * p.ww, p.horizon + p.wh * 0.02, p.wh * p.rng.uniform(0.14, 0.2))


def _garden_near(p: _Painter) -> None:
    vx, top = p.ww / 2, p.horizon + p.wh * 0.02
    p.poly([(vx - p.ww * 0.04, top), (vx + p.ww * 0.04, top), (vx + p.ww * 0.3, p.wh), (vx - p.ww * 0.3, p.wh)],
           (196, 180, 150))  # fmt: skip
    for _ in range(60):  # flower beds
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.06, 0.45) * p.wh
        if abs(x - vx) > p.ww * 0.32:
            color = ((236, 90, 110), (250, 210, 80), (240, 240, 250), (190, 120, 230))[int(p.rng.integers(4))]
            p.circle(x, y, p.wh * 0.008, color)


def _stairs_mid(p: _Painter) -> None:
    _ground(p, (150, 144, 132), (112, 106, 98))
    if "street" in p.place.features or "mountain" in p.place.features:  # houses up the slope
        for side in (-1, 1):
            for i in range(4):
                x = p.ww / 2 + side * p.ww * (0.18 + 0.09 * i)
                w, hh = p.ww * 0.08, p.horizon * (0.3 + 0.1 * i)
                y = p.horizon + p.wh * 0.02 * i
                p.rect(x - w / 2, y - hh, x + w / 2, y, _hsv(0.08 + 0.03 * i, 0.2, 0.72 - 0.04 * i))
                p.poly([(x - w * 0.6, y - hh), (x + w * 0.6, y - hh), (x, y - hh - p.wh * 0.06)], (120, 60, 50))
                p.lit_window(x - w * 0.2, y - hh * 0.6, x + w * 0.15, y - hh * 0.4, _hsv(0.58, 0.25, 0.8))


def _stairs_near(p: _Painter) -> None:
    vx, top, n = p.ww / 2, p.horizon - p.wh * 0.12, 16
    for i in range(n):  # from the nearest step up to the horizon; each narrower
        y0, y1 = p.wh - (p.wh - top) * (i / n) ** 0.8, p.wh - (p.wh - top) * ((i + 1) / n) ** 0.8
        half0, half1 = p.ww * (0.32 - 0.24 * i / n), p.ww * (0.32 - 0.24 * (i + 1) / n)
        riser = (y0 + y1) / 2
        p.poly([(vx - half0, y0), (vx + half0, y0), (vx + half0, riser), (vx - half0, riser)], (112, 106, 100))
        p.poly([(vx - half0, riser), (vx + half0, riser), (vx + half1, y1), (vx - half1, y1)], (176, 170, 160))
    for side in (-1, 1):  # stone walls along the steps
        p.poly([(vx + side * p.ww * 0.32, p.wh), (vx + side * p.ww * 0.08, top), (vx + side * p.ww * 0.1, top - p.wh * 0.04),
                (vx + side * p.ww * 0.36, p.wh - p.wh * 0.12)], (132, 126, 118))  # fmt: skip


def _harbour_mid(p: _Painter) -> None:
    dock = p.horizon + round(p.wh * 0.16)
    p.gradient(p.horizon, dock, _hsv(0.56, 0.45, 0.62), _hsv(0.58, 0.55, 0.42))
    for _ in range(4):  # boats on the water
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.02, 0.1) * p.wh
        w = p.ww * p.rng.uniform(0.05, 0.09)
        p.poly([(x - w / 2, y), (x + w / 2, y), (x + w * 0.4, y + p.wh * 0.025), (x - w * 0.4, y + p.wh * 0.025)],
               (200, 196, 190))  # fmt: skip
        p.line((x, y), (x, y - p.wh * 0.1), (80, 70, 60), 2)
        p.light_spot(x, y - p.wh * 0.1, 3, (255, 120, 90))
    for i in range(3):  # cranes
        x = p.ww * (0.15 + 0.35 * i)
        p.line((x, p.horizon), (x, p.horizon - p.wh * 0.25), (200, 90, 60), 4)
        p.line((x - p.ww * 0.04, p.horizon - p.wh * 0.24), (x + p.ww * 0.1, p.horizon - p.wh * 0.24), (200, 90, 60), 4)
    _ground(p, (132, 100, 72), (90, 66, 50), dock)


def _harbour_near(p: _Painter) -> None:
    dock = p.horizon + round(p.wh * 0.16)
    for i in range(8):  # planks
        y = dock + (p.wh - dock) * (i / 8) ** 1.3
        p.line((0, y), (p.ww, y), (74, 54, 40), 2)
    for x in np.arange(p.ww * 0.05, p.ww, p.ww / 6):  # bollards
        p.rect(x - 5, dock - 4, x + 5, dock + p.wh * 0.03, (50, 50, 56))


def _forest_mid(p: _Painter) -> None:
    _ground(p, _hsv(0.25, 0.45, 0.42), _hsv(0.1, 0.45, 0.3))
    for _ in range(14):
        _tree(p, p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.0, 0.04) * p.wh, p.wh * p.rng.uniform(0.16, 0.26))


def _forest_near(p: _Painter) -> None:
    vx = p.ww / 2
    p.poly([(vx - p.ww * 0.03, p.horizon + p.wh * 0.04), (vx + p.ww * 0.03, p.horizon + p.wh * 0.04),
            (vx + p.ww * 0.25, p.wh), (vx - p.ww * 0.25, p.wh)], (138, 112, 80))  # fmt: skip
    for x in (p.ww * 0.03, p.ww * 0.12, p.ww * 0.88, p.ww * 0.97):  # big trunks at the edges
        p.rect(x - p.ww * 0.015, 0, x + p.ww * 0.015, p.wh * 0.9, (78, 56, 40))
        p.circle(x, p.wh * 0.05, p.wh * 0.16, _hsv(0.33, 0.5, 0.3))


def _mountain_mid(p: _Painter) -> None:
    _ground(p, _hsv(0.3, 0.35, 0.55), _hsv(0.22, 0.35, 0.38))
    for i in range(6):  # foothills
        x = p.ww * i / 5
        cv2.ellipse(p.img, (round(x), p.horizon + 4), (round(p.ww * 0.14), round(p.wh * 0.09)), 0, 180, 360,
                    p.c(_hsv(0.3, 0.4, 0.45 + 0.04 * (i % 2))), -1, cv2.LINE_AA)  # fmt: skip


def _mountain_near(p: _Painter) -> None:
    for _ in range(6):  # rocks
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.12, 0.4) * p.wh
        p.circle(x, y, p.wh * p.rng.uniform(0.01, 0.03), (120, 118, 112))


def _room_mid(p: _Painter) -> None:
    _ground(p, _hsv(p.hue + 0.08, 0.4, 0.5), _hsv(p.hue + 0.06, 0.45, 0.32))
    for i in range(-6, 7):  # floorboards, converging
        p.line((p.ww / 2 + i * p.ww * 0.02, p.horizon), (p.ww / 2 + i * p.ww * 0.16, p.wh), _hsv(p.hue + 0.06, 0.45, 0.28), 1)
    zenith, low = _SKIES[p.atm.time]
    x0 = round(p.ww * (0.12 + p.rng.uniform(-0.03, 0.03)))
    x1, y0, y1 = x0 + round(p.ww * 0.2), round(p.horizon * 0.2), round(p.horizon * 0.68)
    sky = (np.asarray(zenith, np.float32) + np.asarray(low, np.float32)) / 2 * np.asarray(p.atm.gain, np.float32)
    p.img[y0:y1, x0:x1] = np.clip(sky, 0, 255).astype(np.uint8)
    cv2.rectangle(p.img, (x0, y0), (x1, y1), p.c(_hsv(p.hue, 0.3, 0.3)), max(2, p.ww // 200))
    p.line(((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), _hsv(p.hue, 0.3, 0.3), max(2, p.ww // 300))
    door = p.ww * 0.72
    p.rect(door, p.horizon * 0.3, door + p.ww * 0.09, p.horizon, _hsv(p.hue + 0.05, 0.4, 0.45))
    p.circle(door + p.ww * 0.075, p.horizon * 0.68, 3, (220, 200, 120))
    if p.place.layout == "room":  # a shelf with books, and a lamp
        sx = p.ww * 0.42
        p.rect(sx, p.horizon * 0.45, sx + p.ww * 0.16, p.horizon * 0.48, (110, 80, 60))
        for k in range(9):
            color = _hsv(p.rng.random(), 0.5, 0.6)
            p.rect(sx + k * p.ww * 0.016, p.horizon * 0.37, sx + (k + 0.8) * p.ww * 0.016, p.horizon * 0.45, color)
    lamp = p.ww * 0.62
    p.line((lamp, 0), (lamp, p.horizon * 0.15), (60, 60, 60), 2)
    p.circle(lamp, p.horizon * 0.17, p.wh * 0.02, (250, 230, 180))
    p.light_spot(lamp, p.horizon * 0.17, p.wh * 0.025)


def _room_near(p: _Painter) -> None:
    if p.place.layout == "shop":  # shelves of goods, and a counter
        for row in range(4):
            y = p.horizon * (0.3 + 0.17 * row)
            for side in (0.02, 0.36):
                x0 = p.ww * side
                p.rect(x0, y, x0 + p.ww * 0.28, y + 4, (110, 80, 60))
                for k in range(12):
                    color = _hsv(p.rng.random(), 0.6, 0.75)
                    p.rect(x0 + k * p.ww * 0.023, y - p.horizon * 0.09, x0 + (k + 0.7) * p.ww * 0.023, y, color)
        p.rect(p.ww * 0.6, p.horizon - p.wh * 0.02, p.ww * 0.95, p.horizon + p.wh * 0.1, (150, 110, 80))
        p.rect(p.ww * 0.6, p.horizon - p.wh * 0.03, p.ww * 0.95, p.horizon - p.wh * 0.015, (190, 150, 110))
    else:  # a table
        x = p.ww * 0.82
        p.rect(x - p.ww * 0.06, p.horizon + p.wh * 0.02, x + p.ww * 0.06, p.horizon + p.wh * 0.035, (130, 92, 64))
        for dx in (-0.05, 0.05):
            p.line((x + p.ww * dx, p.horizon + p.wh * 0.03), (x + p.ww * dx, p.horizon + p.wh * 0.11), (100, 70, 50), 3)


def _station_mid(p: _Painter) -> None:
    edge = p.horizon + round(p.wh * 0.1)
    _ground(p, (70, 66, 64), (60, 56, 54))
    train_top = p.horizon - p.wh * 0.16
    p.rect(0, train_top, p.ww, p.horizon + p.wh * 0.03, (196, 200, 206))  # a train waiting
    p.rect(0, p.horizon - p.wh * 0.02, p.ww, p.horizon + p.wh * 0.0, _hsv(0.58, 0.6, 0.6))
    for x in np.arange(p.ww * 0.02, p.ww, p.ww / 14):
        p.lit_window(x, train_top + p.wh * 0.03, x + p.ww * 0.045, train_top + p.wh * 0.09, (120, 150, 180))
    for y in (p.horizon + p.wh * 0.05, p.horizon + p.wh * 0.08):
        p.line((0, y), (p.ww, y), (170, 170, 176), 2)
    _ground(p, (176, 174, 168), (140, 138, 134), edge)
    p.rect(0, edge, p.ww, edge + p.wh * 0.012, (240, 200, 40))  # the safety line


def _station_near(p: _Painter) -> None:
    roof = p.horizon * 0.25
    p.rect(0, 0, p.ww, roof, (90, 94, 104))
    for x in np.arange(p.ww * 0.1, p.ww, p.ww * 0.27):
        p.rect(x - p.ww * 0.012, roof, x + p.ww * 0.012, p.horizon + p.wh * 0.3, (120, 124, 132))
        p.light_spot(x + p.ww * 0.1, roof + 4, 6, (230, 240, 255))
    sign = p.ww * 0.45
    p.rect(sign, roof + p.wh * 0.03, sign + p.ww * 0.12, roof + p.wh * 0.08, (30, 70, 140))
    p.rect(sign + p.ww * 0.015, roof + p.wh * 0.05, sign + p.ww * 0.1, roof + p.wh * 0.06, (240, 240, 240))


def _field_mid(p: _Painter) -> None:
    _ground(p, _hsv(p.hue * 0.2 + 0.22, 0.4, 0.66), _hsv(p.hue * 0.2 + 0.22, 0.5, 0.45))
    for _ in range(3):
        _tree(p, p.rng.random() * p.ww, p.horizon + p.wh * 0.01, p.wh * p.rng.uniform(0.1, 0.14))


def _field_near(p: _Painter) -> None:
    for _ in range(40):
        x, y = p.rng.random() * p.ww, p.horizon + p.rng.uniform(0.08, 0.45) * p.wh
        p.line((x, y), (x + 2, y - p.wh * 0.015), _hsv(0.28, 0.5, 0.35), 1)


def _tree(p: _Painter, x: float, base: float, size: float) -> None:
    p.rect(x - size * 0.06, base - size, x + size * 0.06, base, (96, 70, 48))
    p.circle(x, base - size * 1.3, size * 0.6, _hsv(0.3, 0.55, 0.42))
    p.circle(x - size * 0.3, base - size * 1.05, size * 0.42, _hsv(0.31, 0.55, 0.36))


_LAYOUTS: dict[str, tuple[Callable[[_Painter], None], Callable[[_Painter], None]]] = {
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
