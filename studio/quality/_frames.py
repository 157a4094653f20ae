"""Decoding: video frames and still images to luma.

*Luma* is full-range Y' (0-255) at the analysis resolution, as a 2-D ``uint8``
array. From a video we take the decoder's Y plane as it is (no colour conversion,
the fastest path: reference/quality-baselines.md section 1), area-average it to
the analysis size (``INTER_AREA``) and then stretch limited-range video (16-235)
to full range with a lookup table. From an RGB image (the previous segment's
last frame, an anchor frame) we compute Y' with the same matrix the video uses
(BT.709 when the stream says so, else BT.601) and area-average it, so a lossless
PNG of a decoded frame gives back that frame's luma to within rounding.
"""

from __future__ import annotations

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


def rgb_to_chroma(rgb: RGB, matrix: str = "bt601") -> tuple[Luma, Luma]:
    """Limited-range Cb and Cr planes (128 is neutral) of an RGB image, as video decodes them."""
    kr, kb = _MATRICES[matrix]
    f = rgb.astype(np.float32)
    y = f @ np.array([kr, 1.0 - kr - kb, kb], np.float32)
    scale = 224.0 / 255.0
    cb = 128.0 + (f[..., 2] - y) / (2.0 * (1.0 - kb)) * scale
    cr = 128.0 + (f[..., 0] - y) / (2.0 * (1.0 - kr)) * scale
    return (np.clip(np.rint(cb), 0, 255).astype(np.uint8), np.clip(np.rint(cr), 0, 255).astype(np.uint8))


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
    """One decoded frame: its luma at the analysis resolution, and the frame itself.

    ``frame`` is 8-bit planar Y'CbCr (or gray); other formats have been converted.
    """

    index: int
    luma: Luma
    flow_luma: Luma  # luma at the flow resolution (the same array when that is the analysis one)
    frame: av.VideoFrame
    reformatter: VideoReformatter

    def chroma_means(self) -> tuple[float, float]:
        """Mean Cb and Cr (128 for gray video), from the full-resolution planes."""
        planes = self.frame.planes
        if len(planes) < 3:
            return 128.0, 128.0
        return float(cv2.mean(_plane_view(planes[1]))[0]), float(cv2.mean(_plane_view(planes[2]))[0])

    def chroma_planes(self) -> tuple[Luma, Luma] | tuple[None, None]:
        """The Cb and Cr planes as they are (no copy), or ``(None, None)`` for gray video."""
        planes = self.frame.planes
        if len(planes) < 3:
            return None, None
        return _plane_view(planes[1]), _plane_view(planes[2])

    def rgb_small(self, size: tuple[int, int]) -> RGB:
        """An RGB copy at ``size`` for colour statistics (see :func:`small_rgb`)."""
        return small_rgb(self.frame, size, self.reformatter)


def small_rgb(frame: av.VideoFrame, size: tuple[int, int], reformatter: VideoReformatter) -> RGB:
    """An RGB copy of a video frame at ``size`` for colour statistics (swscale area scaling).

    Pass one ``reformatter`` for a whole video: ``frame.reformat`` makes a new swscale
    context (and its thread pool) for every frame, about 2.5 ms each time.
    """
    small = reformatter.reformat(
        frame, width=size[0], height=size[1], format="rgb24", interpolation=Interpolation.AREA, threads=1
    )
    return cast(RGB, small.to_ndarray())


class VideoReader:
    """Iterate over a video's frames as luma, keeping nothing but the current frame.

    Luma at any scale is the decoder's Y plane area-averaged to that size, then
    (for limited-range video) stretched to full range. The flow luma is the
    analysis luma area-averaged once more, so flow measured at a quarter of the
    resolution agrees (to rounding) whether the analysis runs at half or at full
    resolution.

    Args:
        path: The video file.
        scale: Analysis resolution as a fraction of the source (0 < scale <= 1).
        flow_scale: Resolution of the second luma image each frame comes with, for
            optical flow; no second image when it gives the analysis size.

    Raises:
        AnalysisError: The file is missing, unreadable or has no video stream.
    """

    def __init__(self, path: Path | str, *, scale: float, flow_scale: float | None = None) -> None:
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
        self.flow_size = analysis_size(self.width, self.height, flow_scale or scale)
        self.matrix = "bt601"
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

    def frames(self, ring: list[Luma], flow_ring: list[Luma] | None = None) -> Iterator[DecodedFrame]:
        """Decode every frame, writing luma into the buffers of ``ring`` in turn.

        A yielded ``luma`` stays valid until ``len(ring)`` more frames are decoded,
        which is how the caller keeps the previous frames without copying. When
        ``flow_size`` differs from ``size``, ``flow_ring`` receives the flow luma
        the same way (``DecodedFrame.flow_luma``).

        Raises:
            AnalysisError: The stream is corrupt.
        """
        if (flow_ring is None) != (self.flow_size == self.size):
            raise ValueError(f"{self.path}: pass a flow_ring exactly when flow_size differs from size")
        try:
            for index, frame in enumerate(self._container.decode(self._stream)):
                if index == 0:
                    self.matrix = "bt709" if frame.colorspace == Colorspace.ITU709 else "bt601"
                frame, y, full_range = _planar(frame)
                out = ring[index % len(ring)]
                _luma_into(y, out, full_range)
                flow = out
                if flow_ring is not None:
                    # From the analysis luma, not the Y plane: a whole number of its pixels
                    # per flow pixel (OpenCV's fast area path), and the range already full.
                    flow = flow_ring[index % len(flow_ring)]
                    cv2.resize(out, flow.shape[::-1], dst=flow, interpolation=cv2.INTER_AREA)
                yield DecodedFrame(index, out, flow, frame, self._reformatter)
        except av.FFmpegError as error:
            raise AnalysisError(f"cannot decode {self.path}: {error}") from error


def _planar(frame: av.VideoFrame) -> tuple[av.VideoFrame, Luma, bool]:
    """The frame as 8-bit planar Y'CbCr, its Y plane, and whether that is full range."""
    name = frame.format.name
    if name not in _PLANAR_YUV:
        # Rare formats (RGB, 10-bit, NV12): one conversion to full-range 8-bit Y'CbCr.
        frame = frame.reformat(format="yuv444p", dst_color_range=ColorRange.JPEG)
        full_range = True
    else:
        full_range = name in _FULL_RANGE_FORMATS or frame.color_range == ColorRange.JPEG
    return frame, _plane_view(frame.planes[0]), full_range


def _luma_into(y: Luma, out: Luma, full_range: bool) -> None:
    """Area-average the Y plane to ``out``'s size, then stretch limited range to full."""
    if out.shape == y.shape:
        if full_range:
            np.copyto(out, y)
        else:
            cv2.LUT(y, _LIMITED_TO_FULL, dst=out)
        return
    cv2.resize(y, (out.shape[1], out.shape[0]), dst=out, interpolation=cv2.INTER_AREA)
    if not full_range:
        cv2.LUT(out, _LIMITED_TO_FULL, dst=out)


def _plane_view(plane: av.video.plane.VideoPlane) -> npt.NDArray[np.uint8]:
    """A numpy view of one 8-bit plane without its row padding (no copy)."""
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def image_luma(rgb: RGB, size: tuple[int, int], matrix: str = "bt601") -> Luma:
    """Luma of an RGB image at the analysis ``size`` (same definition as video frames)."""
    return resize_area(rgb_to_luma(rgb, matrix), size)
