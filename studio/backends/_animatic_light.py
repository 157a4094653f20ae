"""The animatic's light and canvas: time of day, weather and mood as numbers, and a painter.

:class:`Atmosphere` reads a scene's time of day, lighting, mood and weather: night is
dark and cool, rain darkens and greys, fog has a density and a colour (pale by day,
dark blue by night, so a foggy night stays a night). :class:`Painter` is the canvas the
places are painted on: every colour is lit as it is painted; windows, lamps and the
moon go into a glow layer the night does not darken; :meth:`Painter.fog` lays fog over
everything painted so far.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

from studio.backends._animatic_words import Place
from studio.backends._base import SceneContext

__all__ = ["LIT", "SKIES", "Atmosphere", "Painter", "hsv", "scene_hash"]

Color = tuple[int, int, int]

SKIES: dict[str, tuple[Color, Color]] = {  # (zenith, horizon), RGB
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
LIT = (255, 214, 120)  # a lit window at night


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
        fog = 0.32 if _has(weather, ("haze", "smog")) else 0.0
        if _has(weather, ("fog", "mist")):
            fog = 0.85 if _has(weather, ("thick", "dense", "heavy", "pea")) else 0.72
        gain = (level * tint[0], level * tint[1], level * tint[2])
        return cls(time, gain, _TIME_GAIN[time], grey, fog, _FOG_COLOR[time])

    def light(self, color: Color, *, daylight: float | None = None) -> Color:
        """``color`` under this light; ``daylight`` overrides the time of day's level."""
        k = self.daylight if daylight is None else daylight
        r, g, b = (c * k * gain for c, gain in zip(color, self.gain, strict=True))
        mean = (r + g + b) / 3
        return tuple(min(255, max(0, round(c + (mean - c) * self.grey))) for c in (r, g, b))  # type: ignore[return-value]

    def figure(self, color: Color) -> Color:
        """A character's colour: lit like the scene, but less, so they read at night and in rain."""
        lit = self.light(color, daylight=self.daylight + (1.0 - self.daylight) * 0.6)
        lit = tuple(round(c * 0.72 + o * 0.28) for c, o in zip(lit, color, strict=True))  # type: ignore[assignment]
        k = self.fog * 0.3
        return tuple(round(c + (f - c) * k) for c, f in zip(lit, self.fog_color, strict=True))  # type: ignore[return-value]


def hsv(hue: float, sat: float, val: float) -> Color:
    sat, val = min(1.0, max(0.0, sat)), min(1.0, max(0.0, val))
    pixel = np.array([[[(hue % 1.0) * 360.0, sat, val]]], dtype=np.float32)
    r, g, b = cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0] * 255.0
    return (round(float(r)), round(float(g)), round(float(b)))


class Painter:
    """The canvas, its glow layer and the scene's light; coordinates are canvas pixels."""

    def __init__(self, ww: int, wh: int, horizon: int, atm: Atmosphere, rng: np.random.Generator, hue: float,
                 place: Place) -> None:  # fmt: skip
        self.ww, self.wh, self.horizon, self.atm, self.rng, self.hue, self.place = (
            ww,
            wh,
            horizon,
            atm,
            rng,
            hue,
            place,
        )
        self.img = np.zeros((wh, ww, 3), np.uint8)
        self.glow = np.zeros((wh, ww, 3), np.uint8)
        self.night = atm.time == "night"

    def c(self, color: Color) -> Color:
        return self.atm.light(color)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: Color, *, lit: bool = True) -> None:
        cv2.rectangle(
            self.img, (round(x0), round(y0)), (round(x1), round(y1)), self.c(color) if lit else color, -1
        )

    def poly(self, points: list[tuple[float, float]], color: Color) -> None:
        cv2.fillPoly(self.img, [np.array(points, np.int32)], self.c(color), cv2.LINE_AA)

    def circle(self, x: float, y: float, r: float, color: Color) -> None:
        cv2.circle(self.img, (round(x), round(y)), max(1, round(r)), self.c(color), -1, cv2.LINE_AA)

    def line(self, a: tuple[float, float], b: tuple[float, float], color: Color, width: float) -> None:
        pa, pb = (round(a[0]), round(a[1])), (round(b[0]), round(b[1]))
        cv2.line(self.img, pa, pb, self.c(color), max(1, round(width)), cv2.LINE_AA)

    def light_spot(self, x: float, y: float, r: float, color: Color = LIT) -> None:
        """A window or lamp: lit by day like anything else, glowing at night."""
        if self.night or self.atm.time == "sunset":
            cv2.circle(self.glow, (round(x), round(y)), max(1, round(r)), color, -1, cv2.LINE_AA)

    def lit_window(self, x0: float, y0: float, x1: float, y1: float, day: Color) -> None:
        if self.night and self.rng.random() < 0.6:
            cv2.rectangle(self.glow, (round(x0), round(y0)), (round(x1), round(y1)), LIT, -1)
        else:
            self.rect(x0, y0, x1, y1, day)

    def gradient(
        self, top: int, bottom: int, a: Color, b: Color, *, x0: int = 0, x1: int | None = None
    ) -> None:
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
