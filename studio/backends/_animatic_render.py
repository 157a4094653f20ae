"""The animatic's pixels: a pure function of (scene, frame size, scene time).

:func:`plan_scene` turns a :class:`SceneContext` into a :class:`ScenePlan` once (the
background "world" canvas, the cast, the shot and its move, the wrapped captions);
:func:`render_frame` draws the plan at an absolute scene time ``t`` in seconds. Nothing
here depends on the segment being rendered, on the seed or on the clock, so the frame
at time ``t`` is the same whichever segment renders it: that is what makes segment
``k + 1`` continue exactly where segment ``k`` ended.

Pictures, from back to front:

* a world canvas larger than the frame: the place (a layout chosen from the location's
  words, with its time of day, weather and light; :mod:`._animatic_places`);
* the camera: a shot size from the camera angle that frames the characters (``wide``:
  the whole place; ``medium``: the group, head to toe; ``close-up``: the speaker's head
  and shoulders), then the move: ``static``, ``pan``, ``tilt``, ``zoom`` or ``dolly``
  (zoom with parallax: the figures grow faster than the background), an eased function
  of ``t`` over the scene's duration, so moves start and stop smoothly;
* each character as drawn from their sheet, in their pose of the moment, moving across
  the frame, entering or leaving where the words say so, the speaker's mouth moving
  while their line is shown, with a name tag (:mod:`._animatic_cast`,
  :mod:`._animatic_figures`);
* rain or snow, drawn in screen space;
* the dialogue caption of the moment: the lines share the scene's duration evenly.

Every hash is :func:`hashlib.blake2b`, never :func:`hash`, which changes per process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from studio.backends._animatic_cast import lay_out_cast
from studio.backends._animatic_figures import Figure, draw_figure, figure_head, figure_top, tag_height, x_at
from studio.backends._animatic_light import scene_hash
from studio.backends._animatic_places import paint_world
from studio.backends._base import SceneContext

__all__ = ["DEFAULT_SCENE_SECONDS", "ScenePlan", "plan_scene", "render_frame", "render_still"]

DEFAULT_SCENE_SECONDS = 8.0
"""Camera moves and captions span this many seconds when a scene has no duration."""

_WORLD_X = 1.5  # world canvas / frame width: room for a pan and for zooming out a little
_WORLD_Y = 1.3  # world canvas / frame height: room for a tilt
_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel drawing keeps slow motion smooth
_ONE = 1 << _SHIFT
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_PAN_REACH = 0.12  # how far a medium or closer shot pans, in view widths each way
_ZOOM = 0.35  # a zoom ends this much closer
_DOLLY = 0.45  # a dolly brings the figures this much closer

Color = tuple[int, int, int]


def _has(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


@dataclass(frozen=True)
class _Shot:
    """Where the camera looks before its move: world centre and frame pixels per world pixel."""

    size: str  # wide | full | medium | close-up | extreme close-up
    cx: float
    cy: float
    scale: float


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
        shot: The framing before the move (its ``size`` is ``wide``, ``full``, ``medium``,
            ``close-up`` or ``extreme close-up``).
        seconds: The span camera moves, actions and captions are spread over.
        captions: Per dialogue line, its wrapped text lines.
        speakers: Per dialogue line, the index of the figure speaking it, or -1.
        precipitation: ``"rain"``, ``"snow"`` or ``""``.
        particles: ``(n, 2)`` seeds in [0, 1) for rain or snow positions.
        label: The slate text in the top-left corner.
        still: A static camera's background, once drawn (see :func:`_still_background`).
    """

    width: int
    height: int
    world: np.ndarray
    figures: tuple[Figure, ...]
    camera: str
    reverse: bool
    shot: _Shot
    seconds: float
    captions: tuple[tuple[str, ...], ...]
    speakers: tuple[int, ...]
    precipitation: str
    particles: np.ndarray
    label: str
    still: np.ndarray | None = None


def _camera_of(scene: SceneContext) -> tuple[str, bool]:
    text = scene.camera_movement.lower()
    for move in ("dolly", "zoom", "pan", "tilt", "track", "push", "pull"):
        if move in text:
            kind = {"track": "pan", "push": "dolly", "pull": "dolly"}.get(move, move)
            reverse = _has(text, ("left", "down", " out", "pull", "back", "away"))
            return kind, reverse
    return "static", False


def _shot_size(angle: str) -> str:
    angle = angle.lower()
    if _has(angle, ("extreme close", "extreme-close", "ecu", "macro")):
        return "extreme close-up"
    if _has(angle, ("close", "bust", "portrait", "head shot", "headshot", "cu")):
        return "close-up"
    if _has(angle, ("medium", "mid shot", "mid-shot", "waist", "cowboy", "two shot", "two-shot")):
        return "medium"
    if _has(angle, ("wide", "establishing", "long shot", "aerial", "extreme long", "panorama")):
        return "wide"
    return "full"


def _horizon(scene: SceneContext) -> float:
    """Where the horizon sits in the world canvas, as a fraction of its height."""
    angle = scene.camera_angle.lower()
    if _has(angle, ("low", "worm", "up at")):
        return 0.66  # looking up: mostly sky
    if _has(angle, ("high", "bird", "overhead", "aerial", "down at")):
        return 0.36  # looking down: mostly ground
    return 0.52


def _subject(scene: SceneContext, figures: tuple[Figure, ...]) -> int:
    """Whom a close-up is on: the first line's speaker, else the one in the middle."""
    names = [f.name for f in figures]
    for line in scene.dialogue:
        if line.speaker in names:
            return names.index(line.speaker)
    return min(range(len(figures)), key=lambda i: abs(figures[i].x - figures[len(figures) // 2].x))


def _frame_shot(
    scene: SceneContext, figures: tuple[Figure, ...], width: int, height: int, ww: int, wh: int
) -> _Shot:
    """The framing: ``wide`` shows the place, ``medium`` the group head to toe, a close-up
    the subject's head; ``full`` (no angle named) shows the middle of the world."""
    size = _shot_size(scene.camera_angle)
    cx, cy = ww / 2, wh / 2
    scale = {"wide": 0.82, "full": 1.0, "medium": 1.5, "close-up": 2.6, "extreme close-up": 4.5}[size]
    # Where each figure is while on stage (after an entrance, before an exit): the shot
    # frames that.
    seconds = scene.duration_seconds if scene.duration_seconds > 0 else DEFAULT_SCENE_SECONDS
    stage = []
    for f in figures:
        start, end = max(0.0, f.on_stage[0]), min(seconds, f.on_stage[1])
        stage.append([x_at(f, start + (end - start) * i / 8) for i in range(9)])
    xs = [(min(x) + max(x)) / 2 for x in stage]
    if figures and size == "medium":
        low, high = min(min(x) for x in stage), max(max(x) for x in stage)
        span = high - low + 0.6 * max(f.height for f in figures)
        # The whole group, as close as it fits, and still fits at the far end of the move.
        move = {"pan": 1 / (1 - 2 * _PAN_REACH), "zoom": 1 + _ZOOM, "dolly": 1 + _DOLLY}.get(
            _camera_of(scene)[0], 1.0
        )
        scale = max(1.05, min(scale, width / span / move))
        cx = (low + high) / 2
        top = min(f.feet_y - f.height * f.look.stature * figure_top(f.look) for f in figures)
        feet = max(f.feet_y for f in figures)
        # The tallest head a little below the top; a group of small animals in the middle.
        cy = min(top + (0.5 - 0.12) * height / scale, (top + feet) / 2)
    elif figures and size in ("close-up", "extreme close-up"):
        i = _subject(scene, figures)
        f = figures[i]
        cx = xs[i]
        cy = f.feet_y - f.height * f.look.stature * figure_head(f.look) + 0.06 * height / scale
        if f.look.kind not in ("human", "robot"):
            cx += f.spans[0].facing * 0.25 * f.height * f.look.stature
    elif figures and size == "wide":
        cx = (sum(xs) / len(xs) + ww / 2) / 2
    cx, cy = _clamp(cx, cy, scale, width, height, ww, wh)
    return _Shot(size, cx, cy, scale)


def _clamp(cx: float, cy: float, s: float, width: int, height: int, ww: int, wh: int) -> tuple[float, float]:
    """Keep the view inside the world canvas (centred where the view is larger)."""
    half_w, half_h = width / (2 * s), height / (2 * s)
    cx = ww / 2 if 2 * half_w >= ww else min(max(cx, half_w), ww - half_w)
    cy = wh / 2 if 2 * half_h >= wh else min(max(cy, half_h), wh - half_h)
    return cx, cy


def _wrap(text: str, max_width: int, scale: float) -> tuple[str, ...]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, _FONT, scale, 1)[0][0] <= max_width:
            lines[-1] = trial
        else:
            lines.append(word)
    return tuple(lines[:2]) if len(lines) <= 2 else (lines[0], lines[1] + " ...")


@functools.lru_cache(maxsize=256)
def _text_size(text: str, scale: float) -> tuple[tuple[int, int], int]:
    size, base = cv2.getTextSize(text, _FONT, scale, 1)
    return (int(size[0]), int(size[1])), int(base)


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
    world = paint_world(scene, ww, wh, round(wh * _horizon(scene)))
    world.flags.writeable = False  # shared by every frame and by the cache
    camera, reverse = _camera_of(scene)
    seconds = scene.duration_seconds if scene.duration_seconds > 0 else DEFAULT_SCENE_SECONDS
    figures = lay_out_cast(scene, width, height, ww, wh, seconds)
    scale = _text_scale(height)
    captions = tuple(
        _wrap(f"{line.speaker}: {line.text}" if line.speaker else line.text, width - 24, scale)
        for line in scene.dialogue
    )
    names = [f.name for f in figures]
    speakers = tuple(names.index(line.speaker) if line.speaker in names else -1 for line in scene.dialogue)
    weather = scene.weather.lower()
    precipitation = "rain" if _has(weather, ("rain", "storm", "drizzle", "shower")) else ""
    precipitation = "snow" if _has(weather, ("snow",)) else precipitation
    count = 90 if precipitation == "rain" else 70
    particles = np.random.default_rng(scene_hash("weather", scene.location, weather)).random((count, 2))
    label = f"E{scene.episode} S{scene.scene}" + (f"  {scene.title}" if scene.title else "")
    return ScenePlan(
        width=width,
        height=height,
        world=world,
        figures=figures,
        camera=camera,
        reverse=reverse,
        shot=_frame_shot(scene, figures, width, height, ww, wh),
        seconds=seconds,
        captions=captions,
        speakers=speakers,
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
    shot = plan.shot
    cx, cy, s = shot.cx, shot.cy, shot.scale
    s_fig = s
    reach = 0.3 if shot.size in ("wide", "full") else _PAN_REACH  # a tighter shot pans less
    if plan.camera == "pan":
        cx += (2 * p - 1) * reach * plan.width / s
    elif plan.camera == "tilt":
        cy -= (2 * p - 1) * reach * 0.75 * plan.height / s  # tilting up: the view climbs
    elif plan.camera == "zoom":
        s = s_fig = s * (1 + _ZOOM * p)
    elif plan.camera == "dolly":
        # Parallax: the camera nears the figures, so they grow faster than the far background.
        cy += 0.05 * plan.height / s * p
        s, s_fig = s * (1 + 0.1 * p), s * (1 + _DOLLY * p)
    cx, cy = _clamp(cx, cy, s, plan.width, plan.height, ww, wh)
    return cx, cy, s, s_fig


def _draw_tag(img: np.ndarray, text: str, cx: float, top: float, color: Color, scale: float) -> None:
    (tw, th), base = _text_size(text, scale)
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
        # One call for every streak: a Python loop of cv2.line costs a millisecond a frame.
        starts = np.stack([x, y], axis=1)
        ends = starts - (dx, dy)
        streaks = np.rint(np.stack([starts, ends], axis=1) * _ONE).astype(np.int32)
        cv2.polylines(img, list(streaks), False, (190, 200, 220), 1, cv2.LINE_AA, _SHIFT)
    elif plan.precipitation == "snow":
        x = (plan.particles[:, 0] * w + np.sin(t + plan.particles[:, 1] * 6.28) * 0.02 * w) % w
        y = (plan.particles[:, 1] * h + t * 0.12 * h) % h
        r = max(_ONE, round(0.006 * h * _ONE))
        for xi, yi in zip(x, y, strict=True):
            cv2.circle(img, (round(xi * _ONE), round(yi * _ONE)), r, (250, 250, 255), -1, cv2.LINE_AA, _SHIFT)


def _draw_caption(img: np.ndarray, plan: ScenePlan, t: float) -> None:
    index = _line_at(plan, t)
    if index < 0:
        return
    lines = plan.captions[index]
    scale = _text_scale(plan.height)
    line_h = _text_size("Ag", scale)[0][1] * 2
    top = plan.height - line_h * len(lines) - line_h // 2
    band = img[top:]
    band >>= 1  # halve the brightness under the text: readable on any background
    for i, line in enumerate(lines):
        y = top + line_h * (i + 1) - line_h // 4
        cv2.putText(img, line, (12, y), _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _line_at(plan: ScenePlan, t: float) -> int:
    """The dialogue line on screen at ``t``, or -1."""
    if not plan.captions or t > plan.seconds:
        return -1
    # Times just before 0 (the seam frame before a scene's first segment) show line one.
    return min(len(plan.captions) - 1, max(0, int(t / plan.seconds * len(plan.captions))))


def _background(plan: ScenePlan, cx: float, cy: float, s: float) -> np.ndarray:
    """The world seen by the camera: centre ``(cx, cy)``, ``s`` frame pixels per world pixel."""
    w, h = plan.width, plan.height
    matrix = np.array([[s, 0.0, w / 2 - s * cx], [0.0, s, h / 2 - s * cy]])
    return cv2.warpAffine(plan.world, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _still_background(plan: ScenePlan) -> np.ndarray:
    """A static camera's background, warped once per plan (the same pixels every frame)."""
    if plan.still is None:
        cx, cy, s, _ = _camera(plan, 0.0)
        still = _background(plan, cx, cy, s)
        still.flags.writeable = False
        # A cache on a frozen plan; two threads may both compute it: the same pixels.
        object.__setattr__(plan, "still", still)
    assert plan.still is not None
    return plan.still


def render_frame(plan: ScenePlan, t: float) -> np.ndarray:
    """Draw ``plan`` at scene time ``t`` seconds. Pure: same arguments, same pixels.

    Returns:
        A new RGB ``uint8`` array of shape ``(plan.height, plan.width, 3)``.
    """
    w, h = plan.width, plan.height
    cx, cy, s_bg, s_fig = _camera(plan, t)
    img = _still_background(plan).copy() if plan.camera == "static" else _background(plan, cx, cy, s_bg)
    scale = _text_scale(h)
    line = _line_at(plan, t)
    speaker = plan.speakers[line] if line >= 0 else -1
    tags = []
    for i, fig in enumerate(plan.figures):
        sx = w / 2 + (x_at(fig, t) - cx) * s_fig
        sy = h / 2 + (fig.feet_y - cy) * s_fig
        fh = fig.height * s_fig
        draw_figure(img, fig, sx, sy, fh, t, speaking=i == speaker and t >= -1.0)
        top = sy - fh * fig.look.stature * tag_height(fig, t) * 1.05
        if -0.2 * w < sx < 1.2 * w:
            tags.append((fig, sx, top))
    for fig, sx, top in tags:  # tags over every figure
        _draw_tag(img, fig.name, sx, top, fig.paint.outline, scale * 0.8)
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
