"""A labelled corpus of anime-like clips, made by code, for the quality tests and benchmarks.

Studio-independent (numpy, OpenCV and PyAV only), so the same clips score ours and
the reference tools (``benchmarks/bench_detectors.py``). Every clip is short and
small (192x128, 72 frames at 24 fps) so the whole corpus is made in seconds.

What the scenes have, because it is what broke whole-frame detectors:

- flat cel colours with dark outlines on a painted, mostly static background;
- small motion: a talking mouth and blinking eyes (a few hundred pixels);
- drawings held on twos and threes (half or two thirds of the pairs identical);
- pans over a textured background, one of them slow (0.4 px a frame, sub-pixel);
- fades, a dissolve, lightning flashes that decay, rain streaks everywhere;
- a smooth gradient background with two small moving objects.

Each family has a clean clip, and defects are put into copies: cuts, freezes,
black frames, flicker of 1 to 4 frames, colour shifts, seam jumps (a previous
segment's last frame that does not continue the clip). ``Clip.expected`` lists
``(kind, frame)`` for each defect; a detector is right when it reports the same
kind within two frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

RGB = npt.NDArray[np.uint8]
Image = npt.NDArray[np.float32]

WIDTH, HEIGHT, FPS, FRAMES = 192, 128, 24, 72
KINDS = ("cut", "freeze", "black", "flicker", "color_shift", "seam_jump")
MATCH_FRAMES = 2  # same kind within this many frames counts as found


@dataclass(frozen=True)
class Clip:
    """One labelled clip: its frames, the previous segment's last frame and the defects."""

    name: str
    family: str
    frames: list[RGB]
    previous: RGB
    expected: list[tuple[str, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.expected


# -- drawing -------------------------------------------------------------------------


def _painted(seed: int, width: int) -> Image:
    """A painted background: sky gradient, soft cloud blobs, a ground with an outline."""
    rng = np.random.default_rng(seed)
    sky = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None, None]
    top, bottom = rng.uniform(90, 230, 3), rng.uniform(120, 250, 3)
    image = (top * (1 - sky) + bottom * sky).astype(np.float32) * np.ones((1, width, 1), np.float32)
    blobs = cv2.resize(rng.normal(0, 1, (HEIGHT // 16, width // 16, 1)).astype(np.float32),
                       (width, HEIGHT), interpolation=cv2.INTER_CUBIC)
    image += 14.0 * blobs[..., None]
    ground = int(HEIGHT * 0.72)
    image[ground:] = rng.uniform(50, 140, 3)
    image[ground - 1 : ground + 1] = 30.0
    for x in range(8, width, 37):  # posts along the ground: texture a pan moves
        image[ground - 18 : ground, x : x + 3] = 40.0
    return image


def _textured(seed: int, width: int) -> Image:
    """A photo-like background for pans: detail at several scales."""
    rng = np.random.default_rng(seed)
    image = np.zeros((HEIGHT, width, 3), np.float32) + rng.uniform(70, 170, 3).astype(np.float32)
    for cells, gain in ((4, 40.0), (16, 22.0), (48, 12.0)):
        noise = rng.normal(0, 1, (max(2, HEIGHT * cells // width), cells, 3)).astype(np.float32)
        image += gain * cv2.resize(noise, (width, HEIGHT), interpolation=cv2.INTER_CUBIC)
    return image


def _gradient(seed: int) -> Image:
    """A smooth diagonal gradient: no texture at all."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(40, 120, 3), rng.uniform(150, 240, 3)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)  # the direction differs from seed to seed
    w = (0.5 + 0.5 * (np.cos(angle) * (x / WIDTH - 0.5) + np.sin(angle) * (y / HEIGHT - 0.5)))[..., None]
    return (a * (1 - w) + b * w).astype(np.float32)


@dataclass(frozen=True)
class _Character:
    colour: tuple[float, float, float]
    skin: tuple[float, float, float] = (235.0, 205.0, 180.0)


def _character(image: Image, c: _Character, x: float, y: float, mouth: int, eyes_open: bool,
               arm: float = 0.0) -> None:
    """A cel character: body, head, eyes and a mouth (0 closed, 1 half, 2 open)."""
    s = 16  # fixed-point shift: sub-pixel positions
    def p(px: float, py: float) -> tuple[int, int]:
        return round(px * s), round(py * s)
    outline = (25.0, 20.0, 30.0)
    cv2.ellipse(image, p(x, y + 24), (15 * s, 22 * s), 0, 0, 360, outline, -1, cv2.LINE_AA, 4)
    cv2.ellipse(image, p(x, y + 24), (13 * s, 20 * s), 0, 0, 360, c.colour, -1, cv2.LINE_AA, 4)
    shade = tuple(v * 0.75 for v in c.colour)
    cv2.ellipse(image, p(x + 4, y + 28), (7 * s, 14 * s), 0, -90, 90, shade, -1, cv2.LINE_AA, 4)
    hand = (x + 16 + 6 * math.cos(arm), y + 20 + 8 * math.sin(arm))
    cv2.line(image, p(x + 10, y + 16), p(*hand), outline, 3, cv2.LINE_AA, 4)
    cv2.circle(image, p(x, y), 13 * s, outline, -1, cv2.LINE_AA, 4)
    cv2.circle(image, p(x, y), 12 * s, c.skin, -1, cv2.LINE_AA, 4)
    for ex in (x - 5, x + 5):
        if eyes_open:
            cv2.ellipse(image, p(ex, y - 2), (2 * s, 3 * s), 0, 0, 360, outline, -1, cv2.LINE_AA, 4)
        else:
            cv2.line(image, p(ex - 2, y - 2), p(ex + 2, y - 2), outline, 1, cv2.LINE_AA, 4)
    if mouth:
        cv2.ellipse(image, p(x, y + 6), (3 * s, mouth * 2 * s), 0, 0, 360, (120.0, 30.0, 40.0), -1,
                    cv2.LINE_AA, 4)
    else:
        cv2.line(image, p(x - 3, y + 6), p(x + 3, y + 6), outline, 1, cv2.LINE_AA, 4)


def _talking(t: int) -> tuple[int, bool]:
    """Mouth on threes in a fixed pattern, a blink now and then."""
    pattern = (0, 2, 1, 2, 0, 1, 2, 1, 0, 0)
    return pattern[(t // 3) % len(pattern)], (t % 40) not in (20, 21, 22)


Scene = Callable[[int], Image]


def _talk_scene(seed: int) -> Scene:
    bg = _painted(seed, WIDTH)
    c = _Character(tuple(float(v) for v in np.random.default_rng(seed).uniform(40, 220, 3)))  # type: ignore[arg-type]

    def render(t: int) -> Image:
        image = bg.copy()
        mouth, eyes = _talking(t)
        _character(image, c, WIDTH * 0.45, HEIGHT * 0.35, mouth, eyes)
        return image

    return render


def _walk_scene(seed: int, every: int) -> Scene:
    """A character walking and waving, drawn on twos (every=2) or threes (every=3)."""
    bg = _painted(seed, WIDTH)
    c = _Character((200.0, 70.0, 60.0) if every == 2 else (60.0, 90.0, 190.0))

    def render(t: int) -> Image:
        d = (t // every) * every  # the drawing shown at time t
        image = bg.copy()
        mouth, eyes = _talking(d)
        _character(image, c, 40 + 1.3 * d, HEIGHT * 0.35 + 2 * math.sin(d / 3), mouth, eyes, arm=d / 4)
        return image

    return render


def _pan_scene(seed: int, speed: float) -> Scene:
    """A textured background panning under a held character cel."""
    bg = _textured(seed, WIDTH + int(speed * 200) + 8)
    c = _Character((90.0, 160.0, 90.0))

    def render(t: int) -> Image:
        offset = speed * (t + 20)
        shift = np.float32([[1, 0, -(offset % 1.0)], [0, 1, 0]])
        x0 = int(offset)
        window = bg[:, x0 : x0 + WIDTH + 2]
        image = cv2.warpAffine(window, shift, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        _character(image, c, WIDTH * 0.6, HEIGHT * 0.4, 0, True)
        return image

    return render


def _gradient_scene(seed: int, speed: float) -> Scene:
    """A smooth gradient with two small moving objects (the whole-frame detector's worst case)."""
    bg = _gradient(seed)
    rng = np.random.default_rng(seed + 3)
    colours = [tuple(float(v) for v in rng.uniform(20, 250, 3)) for _ in range(2)]
    start_x, start_y = rng.uniform(10, 150, 2), rng.uniform(25, 100, 2)

    def render(t: int) -> Image:
        image = bg.copy()
        for i, colour in enumerate(colours):
            x = 10 + (start_x[i] + speed * (t + 10) * (1 if i == 0 else -0.7)) % 170
            y = start_y[i] + 6 * math.sin((t + 10) * speed / 8)
            cv2.circle(image, (round(x * 16), round(y * 16)), 6 * 16, colour, -1, cv2.LINE_AA, 4)
        return image

    return render


def _rain_scene(seed: int) -> Scene:
    talk = _talk_scene(seed)

    def render(t: int) -> Image:
        image = talk(t) * np.float32(0.8)
        rng = np.random.default_rng(seed * 1000 + t)
        for x, y in zip(rng.integers(0, WIDTH, 90), rng.integers(-10, HEIGHT, 90), strict=True):
            cv2.line(image, (int(x), int(y)), (int(x) - 2, int(y) + 9), (200.0, 210.0, 230.0), 1)
        return image

    return render


def _fade_scene(seed: int) -> Scene:
    """Talking, fading down to 15 % and back up (a fade through dark, never black)."""
    talk = _talk_scene(seed)

    def render(t: int) -> Image:
        level = 1.0 - 0.85 * min(1.0, max(0.0, 1.0 - abs(t - 36) / 14.0) * 1.4)
        return talk(t) * np.float32(level)

    return render


def _dissolve_scene(seed: int) -> Scene:
    a, b = _talk_scene(seed), _walk_scene(seed + 1, 2)

    def render(t: int) -> Image:
        w = np.float32(min(1.0, max(0.0, (t - 28) / 14.0)))
        return a(t) * (1 - w) + b(t) * w

    return render


def _flash_scene(seed: int) -> Scene:
    """Lightning: the picture jumps towards white and decays over six frames, twice."""
    talk = _talk_scene(seed)

    def render(t: int) -> Image:
        image = talk(t) * np.float32(0.7)
        strength = 0.0
        for start in (20, 50):
            if t >= start:
                strength = max(strength, 0.85 * 0.55 ** (t - start))
        return image * np.float32(1 - strength) + np.float32(255 * strength)

    return render


def _families(variant: int) -> dict[str, Scene]:
    """The scenes of one corpus variant: variant 0 is the tests'; others move every seed."""
    v = 100 * variant
    return {
        "talk": _talk_scene(11 + v),
        "twos": _walk_scene(12 + v, 2),
        "threes": _walk_scene(13 + v, 3),
        "pan": _pan_scene(14 + v, 2.0),
        "slow_pan": _pan_scene(15 + v, 0.4),
        "gradient": _gradient_scene(16 + v, 1.0),
        "rain": _rain_scene(17 + v),
        "fade": _fade_scene(18 + v),
        "dissolve": _dissolve_scene(19 + v),
        "flash": _flash_scene(20 + v),
        "gradient2": _gradient_scene(31 + v, 1.0),  # another shot, for cuts and glitches
    }


FAMILY_NAMES = ("talk", "twos", "threes", "pan", "slow_pan", "gradient", "rain", "fade", "dissolve", "flash")
GRAIN = {"pan": 1.5, "rain": 1.0, "twos": 1.0}  # light grain on a few families
_OTHER = {"talk": "threes", "twos": "pan", "pan": "talk", "gradient": "gradient2", "rain": "twos",
          "threes": "talk", "slow_pan": "gradient"}


def _finish(image: Image, family: str, t: int) -> RGB:
    sigma = GRAIN.get(family, 0.0)
    if sigma:
        image = image + np.random.default_rng(t + 7919).normal(0, sigma, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _renderer(variant: int) -> Callable[[str, range | list[int]], list[RGB]]:
    families = _families(variant)

    def render(family: str, times: range | list[int]) -> list[RGB]:
        return [_finish(families[family](t), family, t) for t in times]

    return render


# -- defects ---------------------------------------------------------------------------


def _grade(frame: RGB, gain: tuple[float, float, float] = (1.12, 1.0, 0.82), offset: float = 8.0) -> RGB:
    out = frame.astype(np.float32) * np.array(gain, np.float32) + offset
    return np.clip(out, 0, 255).astype(np.uint8)


def _brighten(frame: RGB, amount: float) -> RGB:
    return np.clip(frame.astype(np.float32) + amount, 0, 255).astype(np.uint8)


def _clips(variant: int) -> list[Clip]:
    """Every clip of a variant; variants other than 0 also move each defect by a few frames."""
    clips: list[Clip] = []
    _render = _renderer(variant)
    d = (5 * variant) % 9 - 4 if variant else 0  # -4..4 frames

    def at_(frame: int) -> int:
        return frame + d

    def base(family: str) -> tuple[list[RGB], RGB]:
        return _render(family, range(FRAMES)), _render(family, [-1])[0]

    for family in FAMILY_NAMES:  # a clean clip of every family, with a seamless previous frame
        frames, previous = base(family)
        clips.append(Clip(f"clean_{family}", family, frames, previous))

    def add(name: str, family: str, frames: list[RGB], expected: list[tuple[str, int]],
            previous: RGB | None = None) -> None:
        clips.append(Clip(name, family, frames, previous if previous is not None else base(family)[1],
                          expected))

    for family, at in (("talk", 36), ("pan", 30), ("gradient", 40), ("twos", 33), ("rain", 45),
                       ("slow_pan", 38)):
        at = at_(at)
        frames, _ = base(family)
        other = _render(_OTHER[family], range(at, FRAMES))
        add(f"cut_{family}", family, frames[:at] + other, [("cut", at)])
    for family, at in (("twos", 20), ("pan", 30), ("gradient", 24), ("slow_pan", 26), ("talk", 40)):
        at = at_(at)
        frames, _ = base(family)
        held = frames[:at] + [frames[at]] * 16 + frames[at + 16 :]
        add(f"freeze_{family}", family, held, [("freeze", at)])
    for family, at, count in (("talk", 30, 3), ("pan", 40, 1), ("gradient", 20, 2), ("threes", 50, 2)):
        at = at_(at)
        frames, _ = base(family)
        black = frames[:at] + [np.zeros_like(frames[0])] * count + frames[at + count :]
        add(f"black_{family}", family, black, [("black", at)])
    flickers: list[tuple[str, int, int, Callable[[RGB], RGB]]] = [
        ("talk", 30, 1, lambda f: _brighten(f, 30)),
        ("twos", 40, 3, lambda f: _grade(f, (0.9, 1.0, 1.15), 0)),
        ("pan", 25, 4, lambda f: _brighten(f, -28)),
        ("rain", 50, 2, lambda f: _brighten(f, 35)),
        ("threes", 20, 1, lambda f: _grade(f, (1.2, 0.95, 0.9), 5)),
    ]
    for family, at, length, change in flickers:
        at = at_(at)
        frames, _ = base(family)
        flick = frames[:at] + [change(f) for f in frames[at : at + length]] + frames[at + length :]
        add(f"flicker{length}_{family}", family, flick, [("flicker", at)])
    glitch_frames, _ = base("gradient")  # content flicker: one frame of another shot
    glitch_frames[at_(44)] = _render("gradient2", [at_(44)])[0]
    add("flicker1_gradient", "gradient", glitch_frames, [("flicker", at_(44))])
    for family, at in (("talk", 36), ("gradient", 30), ("pan", 40), ("threes", 45)):
        at = at_(at)
        frames, _ = base(family)
        shifted = frames[:at] + [_grade(f) for f in frames[at:]]
        add(f"color_shift_{family}", family, shifted, [("color_shift", at)])
    for family, previous_time in (("pan", -10), ("twos", -12), ("gradient", -30)):
        frames, _ = base(family)
        add(f"seam_skip_{family}", family, frames, [("seam_jump", 0)], _render(family, [previous_time])[0])
    frames, _ = base("talk")
    add("seam_elsewhere_talk", "talk", frames, [("seam_jump", 0)], _render("rain", [-1])[0])
    # An image-to-video segment: frame 0 repeats the start image, the jump is at frame 1.
    frames, _ = base("threes")
    start = _render("pan", [5])[0]
    add("seam_i2v_threes", "threes", [start, *frames[1:]], [("seam_jump", 1)], start)
    return clips


_CACHE: dict[int, list[Clip]] = {}


def corpus(variant: int = 0) -> list[Clip]:
    """Every clip of the corpus (made once per process). ``variant`` 0 is what the tests
    assert on; other variants (new seeds, defects a few frames elsewhere) are held out
    from tuning, for the benchmark."""
    if variant not in _CACHE:
        _CACHE[variant] = _clips(variant)
    return _CACHE[variant]


# -- files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipFiles:
    clip: Clip
    video: Path
    previous: Path


def write_video(path: Path, frames: list[RGB], *, fps: int = FPS, crf: int = 16) -> Path:
    """Encode with H.264 (CRF ``crf``, yuv420p): lossy, like real deliveries."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_corpus(folder: Path, variant: int = 0) -> list[ClipFiles]:
    """Write every clip (MP4) and its previous last frame (PNG) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for clip in corpus(variant):
        video = folder / f"{clip.name}.mp4"
        previous = folder / f"{clip.name}.previous.png"
        if not video.exists():
            write_video(video, clip.frames)
            cv2.imwrite(str(previous), cv2.cvtColor(clip.previous, cv2.COLOR_RGB2BGR))
        written.append(ClipFiles(clip, video, previous))
    return written


def score(found: dict[str, list[tuple[str, int]]], kinds: tuple[str, ...] = KINDS, variant: int = 0
          ) -> dict[str, tuple[int, int, int]]:
    """``{kind: (true positives, detections, truths)}`` over the corpus.

    ``found`` maps a clip name to the ``(kind, frame)`` a detector reported; a
    detection matches an unmatched truth of its kind within :data:`MATCH_FRAMES`.
    """
    totals = {kind: [0, 0, 0] for kind in kinds}
    for clip in corpus(variant):
        detections = [d for d in found.get(clip.name, []) if d[0] in totals]
        truths = [truth for truth in clip.expected if truth[0] in totals]
        for kind, _frame in truths:
            totals[kind][2] += 1
        for kind, frame in detections:
            totals[kind][1] += 1
            match = next((t for t in truths if t[0] == kind and abs(t[1] - frame) <= MATCH_FRAMES), None)
            if match is not None:
                truths.remove(match)
                totals[kind][0] += 1
    return {kind: (tp, n, m) for kind, (tp, n, m) in totals.items()}
