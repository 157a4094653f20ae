"""The ``animatic`` backend: the built-in, deterministic CPU renderer.

A segment is the scene function of :mod:`studio.backends._animatic_render` sampled at
absolute scene times, encoded by :class:`studio._video.VideoWriter`. Frame ``i`` of a
segment shows scene time ``(F + i - lead) / fps``, where ``F = round(time_offset * fps)``
and ``lead`` is 1 when the request has a start image, else 0. Because the segment before
ended on time ``(F - 1) / fps``, its last frame is exactly the start image's rendering,
so a chain of segments is one continuous take and the seam is invisible.

Seam convention (see :mod:`studio.backends._base`): with a ``start_image``, frame 0 *is*
that image (``leading_duplicate=True``), the video has ``planned_frames + 1`` frames and
frame 1 is forced to be an IDR keyframe, so the stitcher drops packet 0 by stream copy.
When the start image is not the rendering of time ``(F - 1) / fps`` (it came from another
backend, or was edited), the difference is faded out over the first half second, so the
video still starts exactly on it and glides into the scene. An ``end_image`` is reached the
same way: the last frame equals it exactly.

Outputs go into ``request.output_dir``: ``segment_NNN.mp4``, ``segment_NNN_first.png``
and ``segment_NNN_last.png``; the PNGs are the rendered arrays (never re-decoded from the
lossy video). Each file is written under a temporary name and renamed, the video last,
so a finished video implies its PNGs exist.

The seed is recorded but changes no pixel: the picture is a function of the scene and
the time only, which keeps chains continuous whatever seeds the pipeline picks.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from studio._config import Settings
from studio._exceptions import AnalysisError, BackendError
from studio._video import DEFAULT_ENCODER, EncoderSettings, VideoWriter, read_image, write_png
from studio.backends._animatic_render import plan_scene, render_frame
from studio.backends._base import (
    ProgressCallback,
    ProgressEvent,
    SegmentRequest,
    SegmentResult,
    register_backend,
)

__all__ = ["MAX_SEGMENT_SECONDS", "AnimaticBackend", "render_segment", "segment_paths"]

logger = logging.getLogger("studio.backends.animatic")

MAX_SEGMENT_SECONDS = 4.0
"""Segments are at most 4 s: about what the ComfyUI video templates produce per job
(Wan: 81 frames at 16 fps, LTX and FramePack sections of a few seconds), so chaining,
seams and their checks get the same workout on a laptop as on a GPU."""

_FADE_SECONDS = 0.5  # how long a start/end image correction takes to fade out/in
_PROGRESS_EVERY = 8  # frames between progress events


class _Cancelled(Exception):
    """Raised inside the render thread when the awaiting task was cancelled."""


def segment_paths(output_dir: Path, segment_number: int) -> tuple[Path, Path, Path]:
    """The ``(video, first_png, last_png)`` paths of a segment inside ``output_dir``."""
    stem = f"segment_{segment_number:03d}"
    return (
        output_dir / f"{stem}.mp4",
        output_dir / f"{stem}_first.png",
        output_dir / f"{stem}_last.png",
    )


def _validate(request: SegmentRequest) -> None:
    problems = []
    if request.width <= 0 or request.height <= 0 or request.width % 2 or request.height % 2:
        problems.append(f"size must be positive and even, got {request.width}x{request.height}")
    if request.fps <= 0:
        problems.append(f"fps must be positive, got {request.fps}")
    if request.duration_seconds <= 0:
        problems.append(f"duration must be positive, got {request.duration_seconds}")
    if problems:
        raise BackendError("animatic: " + "; ".join(problems), backend="animatic")


def _load_anchor(path: Path, width: int, height: int, role: str) -> np.ndarray:
    """Read a start/end image, resized to the frame size if it differs."""
    try:
        image = read_image(path)
    except AnalysisError as exc:
        raise BackendError(f"animatic: cannot use {role} image: {exc}", backend="animatic") from exc
    if image.shape[:2] != (height, width):
        logger.warning("%s image %s is %dx%d; resizing to %dx%d", role, path,
                       image.shape[1], image.shape[0], width, height)  # fmt: skip
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image


def _apply(frame: np.ndarray, residual: np.ndarray | None, weight: float) -> np.ndarray:
    """``frame + weight * residual``, clipped; the frame itself when nothing to add."""
    if residual is None or weight <= 0.0:
        return frame
    mixed = frame.astype(np.float32) + residual * np.float32(weight)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def render_segment(
    request: SegmentRequest,
    *,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> SegmentResult:
    """Render and encode one segment synchronously (the backend runs this in a thread).

    Args:
        request: The segment; its output files go to ``request.output_dir``.
        progress: Called every few frames, from this thread, with the fraction done.
        should_stop: Polled every frame; when it returns true, the render stops, its
            temporary files are removed and :class:`_Cancelled` is raised.
        encoder: Video encoder settings.

    Returns:
        The segment: ``frame_count`` is ``planned_frames + 1`` with a start image, else
        ``planned_frames``.

    Raises:
        BackendError: an invalid request, an unreadable start/end image, or a failed write.
    """
    _validate(request)
    started = time.perf_counter()
    width, height, fps = request.width, request.height, request.fps
    plan = plan_scene(request.scene, width, height)
    lead = 1 if request.start_image is not None else 0
    total = request.planned_frames + lead
    first_index = round(request.time_offset * fps) - lead  # scene frame index of frame 0

    def scene_time(i: int) -> float:
        return (first_index + i) / fps

    fade = max(1, round(_FADE_SECONDS * fps))
    start: np.ndarray | None = None
    start_residual: np.ndarray | None = None
    if request.start_image is not None:
        start = _load_anchor(request.start_image, width, height, "start")
        diff = start.astype(np.float32) - render_frame(plan, scene_time(0))
        start_residual = diff if np.any(diff) else None

    def start_weight(i: int) -> float:  # 1 at frame 0, fading to 0 after `fade` frames
        return max(0.0, 1.0 - i / (fade + 1))

    end_residual: np.ndarray | None = None
    if request.end_image is not None:
        end = _load_anchor(request.end_image, width, height, "end")
        base = _apply(render_frame(plan, scene_time(total - 1)), start_residual,
                      start_weight(total - 1))  # fmt: skip
        diff = end.astype(np.float32) - base
        end_residual = diff if np.any(diff) else None

    def end_weight(i: int) -> float:  # 0 until `fade` frames before the end, then up to 1
        return max(0.0, 1.0 - (total - 1 - i) / (fade + 1))

    video_path, first_path, last_path = segment_paths(request.output_dir, request.segment_number)
    every = max(1, min(_PROGRESS_EVERY, total // 10))
    first_frame = last_frame = None
    try:
        request.output_dir.mkdir(parents=True, exist_ok=True)
        with VideoWriter(video_path, width=width, height=height, fps=fps, settings=encoder) as out:
            for i in range(total):
                if should_stop is not None and should_stop():
                    raise _Cancelled
                if i == 0 and start is not None:
                    frame = start  # the seam frame is the start image, bit for bit
                else:
                    frame = _apply(render_frame(plan, scene_time(i)), start_residual,
                                   start_weight(i))  # fmt: skip
                frame = _apply(frame, end_residual, end_weight(i))
                # With a leading duplicate, frame 1 opens a new GOP so packet 0 can be
                # dropped by stream copy.
                out.write(frame, keyframe=lead == 1 and i == 1)
                if i == 0:
                    first_frame = frame
                last_frame = frame
                if progress is not None and (i + 1) % every == 0:
                    progress(ProgressEvent((i + 1) / total, f"frame {i + 1}/{total}"))
            assert first_frame is not None and last_frame is not None  # total >= 1
            write_png(first_path, first_frame)
            write_png(last_path, last_frame)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BackendError(
            f"animatic: writing segment {request.segment_number} to {request.output_dir} "
            f"failed: {exc}",
            backend="animatic",
        ) from exc
    return SegmentResult(
        video_path=video_path,
        last_frame_path=last_path,
        first_frame_path=first_path,
        frame_count=total,
        leading_duplicate=bool(lead),
        metadata={
            "backend": "animatic",
            "seed": request.seed,
            "fps": fps,
            "width": width,
            "height": height,
            "camera": plan.camera,
            "scene_time_start": scene_time(0),
            "scene_time_end": scene_time(total - 1),
            "start_image_matched": start is not None and start_residual is None,
            "render_seconds": round(time.perf_counter() - started, 3),
        },
    )


class _State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class AnimaticBackend:
    """The built-in backend: a deterministic storyboard renderer on the CPU.

    ``generate`` runs :func:`render_segment` in a worker thread; progress events are
    delivered on the event loop's thread. Cancelling the awaiting task stops the render
    at the next frame and removes its temporary files.

    Args:
        encoder: Video encoder settings (the defaults stitch by stream copy).
    """

    name = "animatic"
    max_segment_seconds = MAX_SEGMENT_SECONDS
    deterministic = True  # the seed changes nothing: a retry would draw the same frames

    def segment_limit(self, parameters: Mapping[str, Any]) -> float:
        return float(self.max_segment_seconds)

    def __init__(self, *, encoder: EncoderSettings = DEFAULT_ENCODER) -> None:
        self._encoder = encoder
        self._state = _State.OPEN

    async def generate(self, request: SegmentRequest, progress: ProgressCallback) -> SegmentResult:
        """Render ``request``; see the module docstring for the files and the seam.

        Raises:
            BackendError: invalid request, unreadable start/end image, or a failed write.
            RuntimeError: the backend was closed.
        """
        if self._state is _State.CLOSED:
            raise RuntimeError("this AnimaticBackend is closed; create a new one to render")
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def report(event: ProgressEvent) -> None:
            loop.call_soon_threadsafe(progress, event)

        try:
            result = await asyncio.to_thread(
                render_segment,
                request,
                progress=report,
                should_stop=stop.is_set,
                encoder=self._encoder,
            )
        except asyncio.CancelledError:
            stop.set()  # the thread cannot be interrupted; it checks this every frame
            raise
        progress(ProgressEvent(1.0, "done"))
        return result

    async def aclose(self) -> None:
        """Refuse further work. Nothing else to release: renders run in short-lived threads."""
        self._state = _State.CLOSED


def _create(settings: Settings) -> AnimaticBackend:
    del settings  # the animatic needs no configuration
    return AnimaticBackend()


register_backend("animatic", _create)
