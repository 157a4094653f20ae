"""Decoding: video frames and still images to luma and colour statistics.

*Luma* is full-range Y' (0-255) at the analysis resolution, as a 2-D ``uint8``
array. From a video we take the decoder's Y plane as it is (no colour conversion,
the fastest path: reference/quality-baselines.md section 1) and stretch
limited-range video (16-235) to full range with a lookup table. From an RGB
image (the previous segment's last frame, an anchor frame) we compute Y' with the
same matrix the video uses (BT.709 when the stream says so, else BT.601), so a
lossless PNG of a decoded frame gives back that frame's luma to within rounding.
Resizing to the analysis resolution is always area averaging (``INTER_AREA``).

Colour statistics are CIE L*a*b* means and standard deviations measured on a
small RGB copy of the frame (longest side :data:`COLOR_SIDE`), so they do not
depend on the analysis resolution either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import cast

import av
import cv2
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter

from studio._exceptions import AnalysisError

Luma = npt.NDArray[np.uint8]
RGB = npt.NDArray[np.uint8]
Float32 = npt.NDArray[np.float32]

COLOR_SIDE = 256
"""Longest side, in pixels, of the copy colour statistics are measured on."""

# 8-bit formats whose planes[0] is Y' and planes[1], planes[2] are Cb, Cr.
_PLANAR_YUV = {"yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "gray"}
_FULL_RANGE_FORMATS = {"yuvj420p", "yuvj422p", "yuvj444p", "gray"}

# Kr, Kb of the two matrices that matter; everything unspecified decodes as BT.601
# in swscale, so that is our default too.
_MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}

_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16.0) * 255.0 / 219.0), 0, 255).astype(
    np.uint8
)


@dataclass(frozen=True)
class LabStats:
    """CIE L*a*b* statistics of one image (L in 0-100, a and b roughly -128..127)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def analysis_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``(width, height)`` of frames analysed at ``scale`` (at least 16 pixels a side)."""
    return max(16, round(width * scale)), max(16, round(height * scale))


def color_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` of the copy colour statistics are measured on."""
    factor = min(1.0, COLOR_SIDE / max(width, height))
    return max(8, round(width * factor)), max(8, round(height * factor))


def resize_area(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Area-average ``image`` to ``(width, height)``; returns it unchanged if already that size."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cast(npt.NDArray[np.uint8], cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def rgb_to_luma(rgb: RGB, matrix: str = "bt601") -> Luma:
    """Full-range Y' of an RGB image with the given matrix (``"bt601"`` or ``"bt709"``)."""
    kr, kb = _MATRICES[matrix]
    weights = np.array([kr, 1.0 - kr - kb, kb], np.float32)
    y = cv2.transform(rgb.astype(np.float32), weights.reshape(1, 3))
    return np.clip(np.rint(y), 0, 255).astype(np.uint8).reshape(rgb.shape[:2])


_lab_tables: threading.Thread | None = None


def build_lab_tables() -> None:
    """Start OpenCV's one-off build of its L*a*b* tables on a background thread.

    OpenCV builds them on a process's first L*a*b* conversion: about 70 ms of one
    core. A command that starts the build before its other imports gets it done
    on the core those imports leave idle, instead of inside the analysis, where
    both cores are busy. Conversions wait for the build (:func:`rgb_to_lab`).
    """
    global _lab_tables
    if _lab_tables is None:
        pixel = np.zeros((1, 1, 3), np.float32)
        _lab_tables = threading.Thread(
            target=cv2.cvtColor, args=(pixel, cv2.COLOR_RGB2Lab), name="studio-lab-tables", daemon=True
        )
        _lab_tables.start()


def rgb_to_lab(rgb: RGB, *, scratch: Float32 | None = None, out: Float32 | None = None) -> Float32:
    """CIE L*a*b* of an 8-bit RGB image, as float32 (L in 0-100).

    ``scratch`` and ``out``, float32 arrays of the image's shape, save two
    allocations (see :class:`LabMeter`).
    """
    if _lab_tables is not None:
        _lab_tables.join()  # OpenCV's table build is not safe to run twice at once
    unit = np.multiply(rgb, np.float32(1.0 / 255.0), out=scratch, dtype=np.float32)
    return cast(Float32, cv2.cvtColor(unit, cv2.COLOR_RGB2Lab, dst=out))


def lab_stats(rgb: RGB) -> LabStats:
    """L*a*b* mean and standard deviation of an 8-bit RGB image."""
    return _stats_of(rgb_to_lab(rgb))


class LabMeter:
    """:func:`lab_stats` of many images of one size, with its float buffers allocated once.

    Allocated per image, the two 0.5 MB buffers make the allocator return pages to
    the system and fault them in again: about 12,000 page faults, some 40 ms of CPU,
    per 300-frame clip (see reference/quality-baselines.md, "Allocator pitfall").
    """

    def __init__(self, size: tuple[int, int]) -> None:
        width, height = size
        self._scratch = np.empty((height, width, 3), np.float32)
        self._lab = np.empty((height, width, 3), np.float32)

    def stats(self, rgb: RGB) -> LabStats:
        if rgb.shape != self._lab.shape:
            return lab_stats(rgb)
        return _stats_of(rgb_to_lab(rgb, scratch=self._scratch, out=self._lab))


def _stats_of(lab: Float32) -> LabStats:
    mean, std = cv2.meanStdDev(lab)
    m, s = mean.ravel(), std.ravel()
    return LabStats((float(m[0]), float(m[1]), float(m[2])), (float(s[0]), float(s[1]), float(s[2])))


def load_rgb(path: Path | str) -> RGB:
    """Read an image file as 8-bit RGB.

    Raises:
        AnalysisError: The file does not exist or is not an image OpenCV can read.
    """
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"image not found: {path}. Pass the path of a PNG or JPEG frame.")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise AnalysisError(f"cannot read {path} as an image; pass a PNG or JPEG file.")
    return cast(RGB, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


@dataclass
class DecodedFrame:
    """One decoded frame: its luma at the analysis resolution and its Y'CbCr plane means."""

    index: int
    luma: Luma
    plane_means: tuple[float, float, float]
    frame: av.VideoFrame
    reformatter: VideoReformatter

    def rgb_small(self, size: tuple[int, int]) -> RGB:
        """An RGB copy at ``size`` for colour statistics (swscale area scaling)."""
        small = self.reformatter.reformat(
            self.frame, width=size[0], height=size[1], format="rgb24",
            interpolation=Interpolation.AREA, threads=1,
        )
        return cast(RGB, small.to_ndarray())


class VideoReader:
    """Iterate over a video's frames as luma, keeping nothing but the current frame.

    Args:
        path: The video file.
        scale: Analysis resolution as a fraction of the source (0 < scale <= 1).

    Raises:
        AnalysisError: The file is missing, unreadable or has no video stream.
    """

    def __init__(self, path: Path | str, *, scale: float) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AnalysisError(f"video not found: {self.path}")
        try:
            self._container = av.open(str(self.path))
        except av.FFmpegError as error:
            raise AnalysisError(f"cannot open {self.path} as a video: {error}") from error
        if not self._container.streams.video:
            self._container.close()
            raise AnalysisError(f"{self.path} has no video stream")
        self._stream = self._container.streams.video[0]
        # One decoding thread: the analysis runs its own threads beside it, which keep
        # both cores busy, and frame threading costs 15 % more CPU per frame
        # (0.90 against 1.05 ms at 768x512).
        self._stream.codec_context.thread_count = 1
        codec = self._stream.codec_context
        self.width: int = codec.width
        self.height: int = codec.height
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps: float = float(rate) if rate else 0.0
        self.size = analysis_size(self.width, self.height, scale)
        self.matrix = "bt601"
        self._full = np.empty((self.height, self.width), np.uint8)
        # One reformatter for the whole video: ``frame.reformat`` makes a new swscale
        # context (and its thread pool) for every frame, about 2.5 ms each time.
        self._reformatter = VideoReformatter()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def frames(self, ring: list[Luma]) -> Iterator[DecodedFrame]:
        """Decode every frame, writing luma into the buffers of ``ring`` in turn.

        A yielded ``luma`` stays valid until ``len(ring)`` more frames are decoded,
        which is how the caller keeps the previous frames without copying.

        Raises:
            AnalysisError: The stream is corrupt.
        """
        try:
            for index, frame in enumerate(self._container.decode(self._stream)):
                if index == 0:
                    self.matrix = "bt709" if frame.colorspace == Colorspace.ITU709 else "bt601"
                out = ring[index % len(ring)]
                means = self._luma_into(frame, out)
                yield DecodedFrame(index, out, means, frame, self._reformatter)
        except av.FFmpegError as error:
            raise AnalysisError(f"cannot decode {self.path}: {error}") from error

    def _luma_into(self, frame: av.VideoFrame, out: Luma) -> tuple[float, float, float]:
        name = frame.format.name
        if name not in _PLANAR_YUV:
            # Rare formats (RGB, 10-bit, NV12): one conversion to full-range 8-bit Y'CbCr.
            frame = frame.reformat(format="yuv444p", dst_color_range=ColorRange.JPEG)
            full_range = True
        else:
            full_range = name in _FULL_RANGE_FORMATS or frame.color_range == ColorRange.JPEG
        planes = [_plane_view(plane) for plane in frame.planes]
        y = planes[0]
        same_size = out.shape == y.shape
        if not full_range:
            # Stretched before resizing, so that luma (and the flow measured on it) is
            # the same at every analysis resolution.
            cv2.LUT(y, _LIMITED_TO_FULL, dst=out if same_size else self._full)
            y = out if same_size else self._full
        if same_size:
            if y is not out:
                np.copyto(out, y)
        else:
            cv2.resize(y, self.size, dst=out, interpolation=cv2.INTER_AREA)
        u = cv2.mean(planes[1])[0] if len(planes) > 2 else 128.0
        v = cv2.mean(planes[2])[0] if len(planes) > 2 else 128.0
        return float(cv2.mean(out)[0]), float(u), float(v)


def _plane_view(plane: av.video.plane.VideoPlane) -> npt.NDArray[np.uint8]:
    """A numpy view of one 8-bit plane without its row padding (no copy)."""
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def image_luma(rgb: RGB, size: tuple[int, int], matrix: str = "bt601") -> Luma:
    """Luma of an RGB image at the analysis ``size`` (same definition as video frames)."""
    return resize_area(rgb_to_luma(rgb, matrix), size)
