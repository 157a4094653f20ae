"""Synthetic anime-like clips for the quality tests, encoded losslessly.

A painted background (soft blobs and a horizon line) pans 2 px per frame, a flat cel disc
with a dark outline drifts across it, and light grain is added, so every pair of
frames differs a little, like real footage. Encoding is H.264 with qp 0 (lossless
in Y'CbCr), so each event sits exactly on the frame where it was put.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

RGB = npt.NDArray[np.uint8]

WIDTH, HEIGHT = 192, 128


def _background(seed: int, width: int, height: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, (height // 8, width // 8, 3)).astype(np.float32)
    blobs = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    base = np.array(rng.uniform(60, 190, 3), np.float32)
    sky = np.linspace(1.15, 0.85, height, dtype=np.float32)[:, None, None]
    image = base * sky + 28.0 * blobs
    image[int(height * 0.7) :, :] *= 0.7  # a darker ground
    image[int(height * 0.7) - 1 : int(height * 0.7) + 1, :] = 30.0  # its outline
    return image


def make_frames(
    count: int, *, seed: int = 1, start: int = 0, width: int = WIDTH, height: int = HEIGHT
) -> list[RGB]:
    """``count`` frames of the scene, beginning at time ``start`` (frames are continuous)."""
    world = _background(seed, width * 3, height)
    rng = np.random.default_rng(seed + 1000)
    colour = tuple(float(c) for c in rng.uniform(40, 230, 3))
    frames: list[RGB] = []
    for t in range(start, start + count):
        offset = (2 * t) % (width * 2)  # t >= 0: no wrap-around inside a test clip
        image = world[:, offset : offset + width].copy()
        centre = (int(width * 0.3 + 1.2 * t) % width, int(height * 0.45 + 6 * np.sin(t / 7)))
        cv2.circle(image, centre, height // 6, (20.0, 20.0, 20.0), -1, cv2.LINE_AA)
        cv2.circle(image, centre, height // 6 - 2, colour, -1, cv2.LINE_AA)
        grain = np.random.default_rng(seed * 7919 + t).normal(0.0, 1.5, image.shape)
        frames.append(np.clip(image + grain, 0, 255).astype(np.uint8))
    return frames


def grade(frame: RGB) -> RGB:
    """A colour grade: red up, blue down, brighter (a typical model colour shift)."""
    out = frame.astype(np.float32) * np.array([1.10, 1.0, 0.85], np.float32) + 10.0
    return np.clip(out, 0, 255).astype(np.uint8)


def write_clip(path: Path, frames: Sequence[RGB], *, fps: int = 24) -> Path:
    """Encode ``frames`` losslessly (H.264 qp 0, yuv420p) to ``path``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"qp": "0", "preset": "ultrafast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_png(path: Path, frame: RGB) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path
