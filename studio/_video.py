"""Video and image I/O shared by the backends, the quality checks and the stitcher.

Everything here is generic: RGB ``uint8`` arrays of shape ``(height, width, 3)`` in,
H.264 mp4 files and lossless PNGs out, and back again.

The encoder settings are fixed on purpose (see :class:`EncoderSettings`): libx264,
yuv420p, no B-frames (so packets come in presentation order and ``dts == pts``), no
scene-cut keyframes (so keyframes fall only where the GOP length or the caller puts
them) and x264's ``stitchable`` flag (so the stream headers do not depend on the
content). Two files encoded with the same settings, size and frame rate therefore share
their ``avcC`` headers, which is what lets :mod:`studio.render._stitch` join them by stream
copy and splice re-encoded spans into them.

Readers raise :class:`~studio._exceptions.AnalysisError` for a file that is missing,
unreadable or empty; writers write to a temporary name and rename at the end, so a
process killed half-way never leaves a truncated file under the final name.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import cast

import av
import cv2
import numpy as np
import numpy.typing as npt
from av.video.frame import PictureType

from studio._exceptions import AnalysisError

__all__ = [
    "CRASH_VARIABLE",
    "DEFAULT_ENCODER",
    "EncoderSettings",
    "VideoInfo",
    "VideoWriter",
    "iter_frames",
    "probe",
    "read_image",
    "crash_point",
    "remove_abandoned",
    "temporary_folder",
    "temporary_path",
    "write_png",
    "write_text_atomic",
]

logger = logging.getLogger("studio.video")

CRASH_VARIABLE = "STUDIO_TEST_CRASH_BEFORE_RENAME"


@dataclass(frozen=True)
class EncoderSettings:
    """How :class:`VideoWriter` encodes. Equal settings give stream-compatible files.

    Attributes:
        crf: x264 constant rate factor; 18 is visually near-lossless for flat animatic art.
        preset: x264 speed preset. ``veryfast`` keeps encoding well above realtime on
            two cores at 768x512.
        gop_seconds: Distance between automatic keyframes. One second bounds how much an
            episode transition has to re-encode around its span.
    """

    crf: int = 18
    preset: str = "veryfast"
    gop_seconds: float = 1.0

    def gop_frames(self, fps: float) -> int:
        """The keyframe interval in frames at ``fps`` (at least 1)."""
        return max(1, round(self.gop_seconds * fps))

    def codec_options(self, fps: float) -> dict[str, str]:
        """The libx264 options, as strings for ``avcodec_open2``."""
        gop = str(self.gop_frames(fps))
        return {
            "crf": str(self.crf),
            "preset": self.preset,
            "g": gop,
            "keyint_min": gop,
            "bf": "0",  # presentation order == decode order; stream copy stays simple
            "sc_threshold": "0",  # keyframes only where we put them
            "forced-idr": "1",  # a forced keyframe is an IDR: a clean cut point
            "x264-params": "stitchable=1",  # headers independent of the content
        }


DEFAULT_ENCODER = EncoderSettings()


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` reports about a video's first video stream.

    Attributes:
        frames: Number of frames (from the container index, or counted when absent).
        fps: Average frame rate.
        width: Frame width in pixels.
        height: Frame height in pixels.
        duration: Seconds, including the last frame's display time.
        codec: Codec name as FFmpeg spells it (``"h264"``).
    """

    frames: int
    fps: float
    width: int
    height: int
    duration: float
    codec: str


def temporary_path(final: Path, *, tag: str = "") -> Path:
    """A sibling of ``final`` to write into before renaming (unique per process).

    Every temporary name the studio makes has this shape, ``.NAME[.TAG].PID.part``, so
    :func:`remove_abandoned` recognises what a killed process left behind.
    """
    middle = f".{tag}" if tag else ""
    return final.with_name(f".{final.name}{middle}.{os.getpid()}.part")


def temporary_folder(parent: Path, *, tag: str) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder in ``parent`` named ``.TAG-XXXX.PID.part`` (removed on exit, and
    by :func:`remove_abandoned` when its process was killed first)."""
    return tempfile.TemporaryDirectory(dir=parent, prefix=f".{tag}-", suffix=f".{os.getpid()}.part")


def remove_abandoned(folder: Path, *, recursive: bool = False) -> list[Path]:
    """Delete the temporary files and folders (``.*.PID.part``) of processes that are no
    longer running, as a killed render leaves them (``recursive``: in subfolders too, such
    as a scene's take folders). Returns what was removed.

    Files of a live process (another render writing now) are left alone.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for part in list(folder.rglob(".*.part") if recursive else folder.glob(".*.part")):
        pid = part.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or _process_alive(int(pid)):
            continue
        if part.is_dir() and not part.is_symlink():
            shutil.rmtree(part, ignore_errors=True)
        else:
            part.unlink(missing_ok=True)
        removed.append(part)
    if removed:
        logger.info("removed %d abandoned temporary file(s) in %s", len(removed), folder)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def crash_point(name: str) -> None:
    """Crash tests' hook: ``kill -9`` this process here, just before a finished temporary
    file is renamed to ``name``, when ``STUDIO_TEST_CRASH_BEFORE_RENAME`` is an fnmatch
    pattern ``name`` matches. Deterministic, unlike a timed kill; unset, it costs one
    environment lookup."""
    pattern = os.environ.get(CRASH_VARIABLE)
    if pattern and fnmatch.fnmatchcase(name, pattern):
        os.kill(os.getpid(), signal.SIGKILL)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write UTF-8 text to ``path`` through a temporary file, so a reader (or a resumed
    render) never finds half of it. Returns ``path``."""
    tmp = temporary_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        crash_point(path.name)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class VideoWriter:
    """Encode RGB frames to an H.264 mp4, atomically.

    Frames go to a temporary file beside ``path``; :meth:`close` renames it into place,
    :meth:`abort` deletes it. As a context manager it closes on success and aborts when
    the block raises.

    Args:
        path: The final file. Its folder must exist.
        width: Frame width; even, as yuv420p requires.
        height: Frame height; even.
        fps: Frames per second (an integer rate keeps timestamps exact).
        settings: Encoder settings; files that share them can be stitched by stream copy.

    Raises:
        ValueError: odd or non-positive size, or non-positive fps.
        OSError: the temporary file cannot be created.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: int,
        settings: EncoderSettings = DEFAULT_ENCODER,
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"video size must be positive and even, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.width = width
        self.height = height
        self.fps = fps
        self.frames_written = 0
        self._tmp = temporary_path(self.path)
        self._time_base = Fraction(1, fps)
        self._container = av.open(str(self._tmp), mode="w", format="mp4")
        stream = self._container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = self._time_base
        stream.options = {**settings.codec_options(fps)}
        # Frame threads, not PyAV's default slice threads: with slices each encode() call
        # blocks until its frame is coded, so the caller's next frame waits; with frames,
        # x264 codes while the caller draws (the animatic segment: 1.26 -> 1.07 s).
        stream.codec_context.thread_type = "FRAME"
        self._stream = stream
        self._open = True

    def write(self, rgb: np.ndarray, *, keyframe: bool = False) -> None:
        """Append one frame.

        Args:
            rgb: ``uint8`` array of shape ``(height, width, 3)``.
            keyframe: Force an IDR keyframe at this frame (a clean stream-copy cut point).

        Raises:
            ValueError: wrong shape or dtype.
            RuntimeError: the writer is already closed.
        """
        if not self._open:
            raise RuntimeError(f"VideoWriter for {self.path} is closed; open a new one")
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 frames of shape {(self.height, self.width, 3)}, "
                f"got {rgb.dtype} {rgb.shape}"
            )
        # OpenCV's RGB -> I420 (BT.601, limited range, as swscale's default) takes a
        # quarter of the time swscale takes inside encode().
        yuv = cast(npt.NDArray[np.uint8], cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420))
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self.frames_written
        frame.duration = 1  # so the mp4 records the last frame's display time too
        frame.time_base = self._time_base
        if keyframe:
            frame.pict_type = PictureType.I
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> Path:
        """Flush the encoder, finish the file and rename it into place.

        Returns:
            The final path.

        Raises:
            ValueError: no frame was written (an empty mp4 is useless to every reader).
        """
        if not self._open:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise ValueError(f"no frames were written to {self.path}")
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except BaseException:
            self.abort()
            raise
        self._open = False
        crash_point(self.path.name)
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop writing and delete the temporary file. Safe to call more than once."""
        if self._open:
            self._open = False
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                logger.debug("closing aborted writer for %s failed", self.path, exc_info=True)
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _open_input(path: Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"video not found: {path}")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise AnalysisError(f"cannot read video {path}: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise AnalysisError(f"{path} has no video stream")
    return container


def probe(path: Path) -> VideoInfo:
    """Describe the first video stream of ``path`` without decoding it.

    Raises:
        AnalysisError: the file is missing, unreadable, has no video stream or no frames.
    """
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise AnalysisError(f"{path} has no frame rate")
        frames = stream.frames
        if frames <= 0:  # containers without an index: count packets (no decoding)
            frames = sum(1 for packet in container.demux(stream) if packet.size)
        if frames <= 0:
            raise AnalysisError(f"{path} has no frames")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = frames / float(rate)
        return VideoInfo(
            frames=frames,
            fps=float(rate),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            duration=duration,
            codec=stream.codec_context.name,
        )
    except av.FFmpegError as exc:
        raise AnalysisError(f"cannot read video {path}: {exc}") from exc
    finally:
        container.close()


def iter_frames(
    path: Path, *, gray: bool = False, size: tuple[int, int] | None = None
) -> Iterator[np.ndarray]:
    """Decode ``path`` frame by frame; memory stays at a few frames whatever the length.

    Args:
        path: The video.
        gray: Yield ``(h, w)`` luma arrays instead of ``(h, w, 3)`` RGB.
        size: ``(width, height)`` to resize to (area interpolation), or ``None``.

    Yields:
        ``uint8`` arrays in presentation order.

    Raises:
        AnalysisError: the file is missing, unreadable or corrupt.
    """
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: decoding is the slow part of reading
        fmt = "gray" if gray else "rgb24"
        for frame in container.decode(stream):
            image: np.ndarray = frame.to_ndarray(format=fmt)
            if size is not None and (image.shape[1], image.shape[0]) != size:
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            yield image
    except av.FFmpegError as exc:
        raise AnalysisError(f"cannot decode video {path}: {exc}") from exc
    finally:
        container.close()


def read_image(path: Path) -> np.ndarray:
    """Read an image file as an RGB ``uint8`` array ``(h, w, 3)``.

    Raises:
        AnalysisError: the file is missing or not an image OpenCV can read.
    """
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"image not found: {path}")
    # imdecode on bytes rather than imread: imread mis-handles some non-ASCII paths.
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise AnalysisError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB ``uint8`` array as a lossless PNG, atomically.

    Returns:
        ``path``.

    Raises:
        ValueError: not an ``(h, w, 3)`` ``uint8`` array, or encoding failed.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
    # Level 1: PNG stays lossless at any level; the fastest one keeps segment output cheap.
    ok, encoded = cv2.imencode(
        ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    if not ok:
        raise ValueError(f"PNG encoding failed for {path}")
    path = Path(path)
    tmp = temporary_path(path)
    try:
        tmp.write_bytes(encoded.tobytes())
        crash_point(path.name)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
