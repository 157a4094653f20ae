"""The animatic's pixels: a pure function of (scene, frame size, scene time).

:func:`plan_scene` turns a :class:`SceneContext` into a :class:`ScenePlan` once (the
background "world" canvas, the figures, the camera move, the wrapped captions);
:func:`render_frame` draws the plan at an absolute scene time ``t`` in seconds. Nothing
here depends on the segment being rendered, on the seed or on the clock, so the frame
at time ``t`` is the same whichever segment renders it: that is what makes segment
``k + 1`` continue exactly where segment ``k`` ended.

Pictures, from back to front:

* a world canvas larger than the frame: sky (or an interior wall) coloured by time of
  day, a ground whose hue comes from a hash of the location, props chosen by location
  keywords (buildings, trees, water, a window) laid out by that same hash, then lighting
  and weather tints;
* the camera: ``static``, ``pan``, ``tilt``, ``zoom`` or ``dolly`` (zoom with parallax:
  the figures grow faster than the background), an eased function of ``t`` over the
  scene's duration, so moves start and stop smoothly at the scene's ends;
* each character as a figure in their palette at their position and facing, with a
  name tag and a little bobbing and arm sway;
* rain or snow, drawn in screen space;
* the dialogue caption of the moment: the lines share the scene's duration evenly.

Every hash is :func:`hashlib.blake2b`, never :func:`hash`, which changes per process.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import cv2
import numpy as np

from studio.backends._base import CharacterInShot, SceneContext

__all__ = ["DEFAULT_SCENE_SECONDS", "ScenePlan", "plan_scene", "render_frame", "render_still"]

DEFAULT_SCENE_SECONDS = 8.0
"""Camera moves and captions span this many seconds when a scene has no duration."""

_WORLD_X = 1.5  # world canvas / frame width: room for a pan and for zooming out a little
_WORLD_Y = 1.3  # world canvas / frame height: room for a tilt
_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel drawing keeps slow motion smooth
_ONE = 1 << _SHIFT
_SKIN = (246, 214, 186)
_FONT = cv2.FONT_HERSHEY_SIMPLEX

Color = tuple[int, int, int]

_SKIES: dict[str, tuple[Color, Color]] = {  # (zenith, horizon), RGB
    "dawn": ((72, 84, 150), (250, 176, 146)),
    "morning": ((104, 166, 228), (206, 228, 246)),
    "day": ((76, 146, 228), (184, 216, 246)),
    "sunset": ((70, 52, 118), (252, 146, 82)),
    "night": ((8, 12, 38), (36, 48, 92)),
}
_TIME_WORDS = {
    "dawn": "dawn", "sunrise": "dawn", "morning": "morning", "noon": "day", "day": "day",
    "afternoon": "day", "sunset": "sunset", "dusk": "sunset", "evening": "sunset",
    "twilight": "sunset", "night": "night", "midnight": "night",
}  # fmt: skip
_INDOOR = ("room", "class", "kitchen", "cafe", "café", "hall", "house", "office", "inside",
           "interior", "shop", "library", "apartment", "bar", "temple", "corridor", "studio")  # fmt: skip
_CITY = ("city", "street", "town", "school", "station", "building", "rooftop", "alley",
         "market", "road", "tokyo")  # fmt: skip
_NATURE = ("forest", "park", "garden", "field", "mountain", "wood", "meadow", "hill", "shrine")
_WATER = ("beach", "sea", "ocean", "lake", "river", "harbor", "harbour", "shore", "pond")


def _hash(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _hsv(hue: float, sat: float, val: float) -> Color:
    """An RGB colour from hue in [0, 1) and saturation/value in [0, 1]."""
    # Float HSV in OpenCV: hue in degrees, saturation and value in [0, 1].
    sat, val = min(1.0, max(0.0, sat)), min(1.0, max(0.0, val))
    pixel = np.array([[[(hue % 1.0) * 360.0, sat, val]]], dtype=np.float32)
    r, g, b = cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0] * 255.0
    return (round(float(r)), round(float(g)), round(float(b)))


def _parse_color(text: str) -> Color | None:
    text = text.strip().lstrip("#")
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return ((value >> 16) & 255, (value >> 8) & 255, value & 255)


def _has(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


@dataclass(frozen=True)
class _Light:
    """Lighting as a per-channel gain applied to every colour of the scene."""

    gain: tuple[float, float, float]

    @classmethod
    def of(cls, scene: SceneContext) -> _Light:
        words = f"{scene.lighting} {scene.mood} {scene.weather}".lower()
        level = 1.0
        if _has(words, ("dark", "dim", "moody", "low-key", "shadow", "gloom")):
            level = 0.62
        elif _has(words, ("bright", "high-key", "sunny", "radiant")):
            level = 1.1
        if _has(words, ("rain", "storm", "overcast", "cloud")):
            level *= 0.85
        tint = (1.0, 1.0, 1.0)
        if _has(words, ("warm", "golden", "candle", "fire")):
            tint = (1.08, 1.0, 0.88)
        elif _has(words, ("cool", "cold", "blue", "moon")):
            tint = (0.88, 0.98, 1.1)
        elif _has(words, ("neon",)):
            tint = (1.1, 0.88, 1.12)
        return cls((level * tint[0], level * tint[1], level * tint[2]))

    def apply(self, color: Color) -> Color:
        r, g, b = (min(255, round(c * k)) for c, k in zip(color, self.gain, strict=True))
        return (r, g, b)


@dataclass(frozen=True)
class _Figure:
    """One character, laid out in world coordinates (feet position, height)."""

    name: str
    x: float
    feet_y: float
    height: float
    body: Color
    hair: Color
    legs: Color
    outline: Color
    facing: str
    expression: str
    phase: float
    energy: float  # 1 for standing; more for walking, running, dancing


@dataclass(frozen=True, eq=False)
class ScenePlan:
    """Everything about a scene that does not change with time. Build with :func:`plan_scene`.

    Attributes:
        width: Frame width.
        height: Frame height.
        world: Read-only RGB background canvas, larger than the frame.
        figures: The characters, back to front.
        camera: ``static``, ``pan``, ``tilt``, ``zoom`` or ``dolly``.
        reverse: The move runs the other way (pan left, tilt down, zoom/dolly out).
        base_scale: Frame pixels per world pixel before the move (from the camera angle).
        seconds: The span camera moves and captions are spread over.
        captions: Per dialogue line, its wrapped text lines.
        precipitation: ``"rain"``, ``"snow"`` or ``""``.
        particles: ``(n, 2)`` seeds in [0, 1) for rain or snow positions.
        label: The slate text in the top-left corner.
    """

    width: int
    height: int
    world: np.ndarray
    figures: tuple[_Figure, ...]
    camera: str
    reverse: bool
    base_scale: float
    seconds: float
    captions: tuple[tuple[str, ...], ...]
    precipitation: str
    particles: np.ndarray
    label: str


def _camera_of(scene: SceneContext) -> tuple[str, bool]:
    text = scene.camera_movement.lower()
    for move in ("dolly", "zoom", "pan", "tilt", "track", "push", "pull"):
        if move in text:
            kind = {"track": "pan", "push": "dolly", "pull": "dolly"}.get(move, move)
            reverse = _has(text, ("left", "down", " out", "pull", "back", "away"))
            return kind, reverse
    return "static", False


def _base_scale(scene: SceneContext) -> float:
    angle = scene.camera_angle.lower()
    if _has(angle, ("close", "medium shot", "bust")):
        return 1.25
    if _has(angle, ("wide", "establishing", "long shot", "aerial")):
        return 0.85
    return 1.0


def _horizon(scene: SceneContext) -> float:
    """Where the horizon sits in the world canvas, as a fraction of its height."""
    angle = scene.camera_angle.lower()
    if _has(angle, ("low", "worm", "up at")):
        return 0.66  # looking up: mostly sky
    if _has(angle, ("high", "bird", "overhead", "aerial", "down at")):
        return 0.36  # looking down: mostly ground
    return 0.52


def _vertical_gradient(canvas: np.ndarray, top: int, bottom: int, a: Color, b: Color) -> None:
    rows = max(1, bottom - top)
    ramp = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None]
    colors = np.asarray(a, np.float32) * (1 - ramp) + np.asarray(b, np.float32) * ramp
    canvas[top:bottom] = np.round(colors).astype(np.uint8)[:, None, :]


def _paint_world(scene: SceneContext, ww: int, wh: int) -> np.ndarray:
    """The background canvas: sky or wall, ground, props, then lighting and weather."""
    location = scene.location or scene.title or "somewhere"
    rng = np.random.default_rng(_hash("layout", location))
    hue = (_hash("hue", location) % 360) / 360.0
    time_key = next((v for k, v in _TIME_WORDS.items() if k in scene.time_of_day.lower()), "day")
    night = time_key == "night"
    horizon = round(wh * _horizon(scene))
    world = np.zeros((wh, ww, 3), np.uint8)
    zenith, low = _SKIES[time_key]

    if _has(location, _INDOOR):
        wall = _hsv(hue, 0.22, 0.42 if night else 0.82)
        _vertical_gradient(world, 0, horizon, wall, _hsv(hue, 0.25, 0.35 if night else 0.72))
        _vertical_gradient(world, horizon, wh, _hsv(hue + 0.08, 0.35, 0.45), _hsv(hue, 0.4, 0.3))
        for i in range(2):  # two windows onto the sky
            x0 = round(ww * (0.18 + 0.44 * i + rng.uniform(-0.04, 0.04)))
            y0, x1, y1 = round(horizon * 0.18), x0 + round(ww * 0.2), round(horizon * 0.7)
            _vertical_gradient(world[:, x0:x1], y0, y1, zenith, low)
            cv2.rectangle(world, (x0, y0), (x1, y1), _hsv(hue, 0.3, 0.25), max(2, ww // 200))
    else:
        _vertical_gradient(world, 0, horizon, zenith, low)
        ground_top = _hsv(hue, 0.35, 0.45 if night else 0.72)
        _vertical_gradient(world, horizon, wh, ground_top, _hsv(hue, 0.5, 0.25 if night else 0.5))
        body = (248, 248, 230) if night else (255, 236, 170)
        sun_x = round(ww * (0.2 + 0.6 * rng.random()))
        cv2.circle(world, (sun_x, round(horizon * 0.28)), max(4, wh // 18), body, -1, cv2.LINE_AA)
        if _has(location, _WATER):
            water = _hsv(0.55, 0.5, 0.3 if night else 0.7)
            _vertical_gradient(world, horizon, horizon + round(wh * 0.12), low, water)
        if _has(location, _CITY):
            x = 0
            while x < ww:
                bw = round(ww * rng.uniform(0.05, 0.11))
                bh = round(horizon * rng.uniform(0.25, 0.7))
                shade = _hsv(hue + 0.5, 0.12, rng.uniform(0.25, 0.45) if night else rng.uniform(0.45, 0.7))
                cv2.rectangle(world, (x, horizon - bh), (x + bw - 2, horizon), shade, -1)
                lit = (250, 220, 120) if night else _hsv(0.58, 0.25, 0.85)
                step = max(4, wh // 40)
                for wy in range(horizon - bh + step, horizon - step, step * 2):
                    for wx in range(x + step // 2, x + bw - step, step * 2):
                        cv2.rectangle(world, (wx, wy), (wx + step // 2, wy + step // 2), lit, -1)
                x += bw + round(ww * rng.uniform(0.0, 0.03))
        elif _has(location, _NATURE) or not _has(location, _WATER):
            for _ in range(7 if _has(location, _NATURE) else 3):
                tx = round(ww * rng.random())
                size = wh * rng.uniform(0.06, 0.12)
                trunk = (96, 70, 48)
                cv2.rectangle(world, (tx - 3, horizon - round(size)), (tx + 3, horizon + 4), trunk, -1)
                leaf = _hsv(hue * 0.2 + 0.25, 0.55, 0.25 if night else 0.5)
                cv2.circle(world, (tx, horizon - round(size * 1.5)), round(size * 0.8), leaf, -1, cv2.LINE_AA)

    light = _Light.of(scene)
    shaded = np.clip(world.astype(np.float32) * np.asarray(light.gain, np.float32), 0, 255)
    if _has(scene.weather, ("fog", "mist", "haze")):
        shaded = shaded * 0.65 + 190.0 * 0.35
    if _has(scene.weather, ("overcast", "cloud", "rain", "storm")):
        gray = shaded.mean(axis=2, keepdims=True)
        shaded = shaded * 0.6 + gray * 0.4
    return np.round(shaded).astype(np.uint8)


def _palette(character: CharacterInShot) -> tuple[Color, Color, Color]:
    parsed = [c for c in (_parse_color(p) for p in character.palette) if c is not None]
    hue = (_hash("palette", character.name) % 360) / 360.0
    fallback = [_hsv(hue, 0.6, 0.85), _hsv(hue + 0.5, 0.5, 0.35), _hsv(hue, 0.3, 0.3)]
    body, hair, legs = (parsed + fallback[len(parsed) :])[:3] if parsed else fallback
    return body, hair, legs


_SLOTS = {"far left": 0.16, "left": 0.28, "center": 0.5, "centre": 0.5, "middle": 0.5,
          "right": 0.72, "far right": 0.84}  # fmt: skip


def _figures(scene: SceneContext, width: int, height: int, ww: int, wh: int) -> tuple[_Figure, ...]:
    light = _Light.of(scene)
    slots: dict[float, int] = {}
    figures = []
    for character in scene.characters:
        position = character.position.lower().strip()
        slot = _SLOTS.get(position)
        if slot is None:  # free text: a stable place of its own between the slots
            slot = 0.2 + 0.6 * ((_hash("position", position or character.name) % 1000) / 1000)
        # Characters sharing a slot stand side by side instead of on top of each other.
        nth = slots.get(slot, 0)
        slots[slot] = nth + 1
        x_frac = slot + 0.1 * ((nth + 1) // 2) * (1 if nth % 2 else -1)
        body, hair, legs = (light.apply(c) for c in _palette(character))
        action = f"{character.action} {character.pose}".lower()
        energy = 2.2 if _has(action, ("run", "danc", "jump", "fight")) else 1.0
        energy = 1.6 if energy == 1.0 and _has(action, ("walk", "wave", "laugh")) else energy
        figures.append(
            _Figure(
                name=character.name,
                x=(ww - width) / 2 + x_frac * width,
                feet_y=wh / 2 + 0.3 * height,
                height=0.5 * height,
                body=body,
                hair=hair,
                legs=legs,
                outline=tuple(round(c * 0.45) for c in body),  # type: ignore[arg-type]
                facing=character.facing.lower(),
                expression=character.expression.lower(),
                phase=(_hash("phase", character.name) % 1000) / 1000 * 2 * math.pi,
                energy=energy,
            )
        )
    return tuple(figures)


def _wrap(text: str, max_width: int, scale: float) -> tuple[str, ...]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, _FONT, scale, 1)[0][0] <= max_width:
            lines[-1] = trial
        else:
            lines.append(word)
    return tuple(lines[:2]) if len(lines) <= 2 else (lines[0], lines[1] + " ...")


def _text_scale(height: int) -> float:
    return max(0.3, height / 512 * 0.62)


@functools.lru_cache(maxsize=16)
def plan_scene(scene: SceneContext, width: int, height: int) -> ScenePlan:
    """Lay out ``scene`` for ``width`` x ``height`` frames. Cached: scenes are immutable.

    Raises:
        ValueError: a non-positive size.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    ww, wh = round(width * _WORLD_X), round(height * _WORLD_Y)
    world = _paint_world(scene, ww, wh)
    world.flags.writeable = False  # shared by every frame and by the cache
    camera, reverse = _camera_of(scene)
    scale = _text_scale(height)
    captions = tuple(
        _wrap(f"{line.speaker}: {line.text}" if line.speaker else line.text, width - 24, scale)
        for line in scene.dialogue
    )
    weather = scene.weather.lower()
    precipitation = "rain" if _has(weather, ("rain", "storm", "drizzle")) else ""
    precipitation = "snow" if _has(weather, ("snow",)) else precipitation
    count = 90 if precipitation == "rain" else 70
    particles = np.random.default_rng(_hash("weather", scene.location, weather)).random((count, 2))
    label = f"E{scene.episode} S{scene.scene}" + (f"  {scene.title}" if scene.title else "")
    return ScenePlan(
        width=width,
        height=height,
        world=world,
        figures=tuple(sorted(_figures(scene, width, height, ww, wh), key=lambda f: f.feet_y)),
        camera=camera,
        reverse=reverse,
        base_scale=_base_scale(scene),
        seconds=scene.duration_seconds if scene.duration_seconds > 0 else DEFAULT_SCENE_SECONDS,
        captions=captions,
        precipitation=precipitation,
        particles=particles,
        label=label,
    )


def _camera(plan: ScenePlan, t: float) -> tuple[float, float, float, float]:
    """World centre ``(cx, cy)`` and scales ``(background, figures)`` at time ``t``."""
    wh, ww = plan.world.shape[:2]
    p = min(1.0, max(0.0, t / plan.seconds))
    p = p * p * (3 - 2 * p)  # smoothstep: moves start and stop without a jolt
    if plan.reverse:
        p = 1.0 - p
    cx, cy, s = ww / 2, wh / 2, plan.base_scale
    if plan.camera == "pan":
        reach = max(0.0, (ww - plan.width / s) / 2) * 0.95
        cx += (2 * p - 1) * reach
    elif plan.camera == "tilt":
        reach = max(0.0, (wh - plan.height / s) / 2) * 0.95
        cy -= (2 * p - 1) * reach  # tilting up: the view climbs
    elif plan.camera == "zoom":
        s *= 1 + 0.35 * p
    elif plan.camera == "dolly":
        # Parallax: the camera nears the figures, so they grow faster than the far background.
        cy += 0.05 * plan.height * p
        return cx, cy, s * (1 + 0.1 * p), s * (1 + 0.45 * p)
    return cx, cy, s, s


def _draw_figure(img: np.ndarray, fig: _Figure, sx: float, sy: float, s: float, t: float) -> None:
    """Draw ``fig`` with its feet at screen point ``(sx, sy)`` and scale ``s``."""
    h = fig.height * s
    bob = math.sin(2 * math.pi * 0.9 * fig.energy * t + fig.phase) * 0.012 * fig.energy * h
    swing = math.sin(2 * math.pi * 0.55 * fig.energy * t + fig.phase) * 0.08 * fig.energy * h

    def pt(dx: float, dy: float) -> tuple[int, int]:  # figure-relative -> fixed point
        return (round((sx + dx * h) * _ONE), round((sy - dy * h + bob) * _ONE))

    aa, thick = cv2.LINE_AA, max(1, round(h * 0.07))
    hip, shoulder = 0.45, 0.78
    for side in (-1, 1):  # legs, then arms swinging in opposite phase
        cv2.line(img, pt(side * 0.06, hip), pt(side * 0.08, 0.0), fig.legs, thick, aa, _SHIFT)
        hand = pt(side * 0.2 + side * swing / h * 0.5, 0.48)
        cv2.line(img, pt(side * 0.12, shoulder - 0.03), hand, fig.body, max(1, thick - 1), aa, _SHIFT)
    torso = np.array([pt(-0.13, shoulder), pt(0.13, shoulder), pt(0.16, hip), pt(-0.16, hip)])
    cv2.fillPoly(img, [torso], fig.body, aa, _SHIFT)
    cv2.polylines(img, [torso], True, fig.outline, 1, aa, _SHIFT)
    radius = round(0.11 * h * _ONE)
    head = pt(0.0, 0.9)
    cv2.circle(img, head, radius, _SKIN, -1, aa, _SHIFT)
    hair_r = (round(0.12 * h * _ONE), round(0.08 * h * _ONE))
    if fig.facing == "away":  # the back of the head: all hair
        cv2.circle(img, head, round(0.118 * h * _ONE), fig.hair, -1, aa, _SHIFT)
    else:
        cv2.ellipse(img, pt(0.0, 0.94), hair_r, 0, 180, 360, fig.hair, -1, aa, _SHIFT)
        look = {"left": -0.045, "right": 0.045}.get(fig.facing, 0.0)
        eye_r = max(_ONE, round(0.014 * h * _ONE))
        for side in (-1, 1):
            cv2.circle(img, pt(look + side * 0.04, 0.9), eye_r, (30, 30, 40), -1, aa, _SHIFT)
        mouth = pt(look, 0.84)
        size = (round(0.035 * h * _ONE), round(0.015 * h * _ONE))
        if _has(fig.expression, ("smil", "happy", "laugh", "joy")):
            cv2.ellipse(img, mouth, size, 0, 0, 180, (150, 40, 40), 1, aa, _SHIFT)
        elif _has(fig.expression, ("sad", "worr", "angry", "upset", "cry")):
            cv2.ellipse(img, pt(look, 0.83), size, 0, 180, 360, (150, 40, 40), 1, aa, _SHIFT)
        else:
            cv2.line(img, pt(look - 0.025, 0.84), pt(look + 0.025, 0.84), (150, 40, 40), 1, aa, _SHIFT)


def _draw_tag(img: np.ndarray, text: str, cx: float, top: float, color: Color, scale: float) -> None:
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, 1)
    pad = max(2, th // 3)
    x0 = int(min(max(2, cx - tw / 2 - pad), img.shape[1] - tw - 2 * pad - 2))
    y1 = int(max(th + 2 * pad + 2, top))
    cv2.rectangle(img, (x0, y1 - th - 2 * pad), (x0 + tw + 2 * pad, y1), color, -1)
    cv2.putText(img, text, (x0 + pad, y1 - pad), _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _draw_weather(img: np.ndarray, plan: ScenePlan, t: float) -> None:
    w, h = plan.width, plan.height
    if plan.precipitation == "rain":
        x = (plan.particles[:, 0] * w + t * 0.15 * w) % w
        y = (plan.particles[:, 1] * h + t * 1.6 * h) % h
        dx, dy = 0.01 * w, 0.06 * h
        for xi, yi in zip(x, y, strict=True):
            p0 = (round(xi * _ONE), round(yi * _ONE))
            p1 = (round((xi - dx) * _ONE), round((yi - dy) * _ONE))
            cv2.line(img, p0, p1, (190, 200, 220), 1, cv2.LINE_AA, _SHIFT)
    elif plan.precipitation == "snow":
        x = (plan.particles[:, 0] * w + np.sin(t + plan.particles[:, 1] * 6.28) * 0.02 * w) % w
        y = (plan.particles[:, 1] * h + t * 0.12 * h) % h
        r = max(_ONE, round(0.006 * h * _ONE))
        for xi, yi in zip(x, y, strict=True):
            cv2.circle(img, (round(xi * _ONE), round(yi * _ONE)), r, (250, 250, 255), -1, cv2.LINE_AA, _SHIFT)


def _draw_caption(img: np.ndarray, plan: ScenePlan, t: float) -> None:
    if not plan.captions or t > plan.seconds:
        return
    # Times just before 0 (the seam frame before a scene's first segment) show line one.
    index = min(len(plan.captions) - 1, max(0, int(t / plan.seconds * len(plan.captions))))
    lines = plan.captions[index]
    scale = _text_scale(plan.height)
    line_h = cv2.getTextSize("Ag", _FONT, scale, 1)[0][1] * 2
    top = plan.height - line_h * len(lines) - line_h // 2
    band = img[top:]
    band >>= 1  # halve the brightness under the text: readable on any background
    for i, line in enumerate(lines):
        y = top + line_h * (i + 1) - line_h // 4
        cv2.putText(img, line, (12, y), _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def render_frame(plan: ScenePlan, t: float) -> np.ndarray:
    """Draw ``plan`` at scene time ``t`` seconds. Pure: same arguments, same pixels.

    Returns:
        A new RGB ``uint8`` array of shape ``(plan.height, plan.width, 3)``.
    """
    w, h = plan.width, plan.height
    cx, cy, s_bg, s_fig = _camera(plan, t)
    matrix = np.array([[s_bg, 0.0, w / 2 - s_bg * cx], [0.0, s_bg, h / 2 - s_bg * cy]])
    img = cv2.warpAffine(
        plan.world, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    scale = _text_scale(h)
    for fig in plan.figures:
        sx = w / 2 + (fig.x - cx) * s_fig
        sy = h / 2 + (fig.feet_y - cy) * s_fig
        _draw_figure(img, fig, sx, sy, s_fig, t)
        _draw_tag(img, fig.name, sx, sy - fig.height * s_fig * 1.05, fig.outline, scale * 0.8)
    _draw_weather(img, plan, t)
    _draw_caption(img, plan, t)
    cv2.putText(img, plan.label, (8, 8 + round(16 * scale)), _FONT, scale * 0.7,
                (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return img


def render_still(scene: SceneContext, width: int, height: int, t: float) -> np.ndarray:
    """One frame of ``scene`` at time ``t``: e.g. a scene's entry keyframe.

    Equal to the frame any animatic segment renders at that time. A segment with a start
    image and ``time_offset = T`` expects that image to show time ``T - 1 / fps`` (the
    previous segment's last frame); for the first segment of a scene (``T = 0``), render
    the entry keyframe at ``t = -1 / fps`` and the chain continues it exactly.
    """
    return render_frame(plan_scene(scene, width, height), t)
