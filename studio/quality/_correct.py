"""Colour correction: one L*a*b* mean/std transfer per segment, towards the anchor.

The transform is fitted once on the whole segment (pooled statistics of every
sampled frame) and then applied unchanged to every frame, so it cannot flicker
the way a per-frame transfer would. Per channel::

    out = (in - segment_mean) * (anchor_std / segment_std) + anchor_mean

with the std ratio clamped to [0.5, 2] so a flat segment is not blown up.

Within a scene a segment starts from the previous segment's last frame, so applying
the transform at full strength from frame 0 would make the picture jump at the seam (a
visible flash). ``ColorTransfer.apply`` therefore takes a ``weight`` in [0, 1] that
blends from the identity to the full transform, and :func:`ramp_weight` gives the
weight of each frame: 0 at the seam, rising smoothly (smoothstep) to 1 over
``ramp_frames`` frames, so the correction fades in and the next segment, which starts
from the corrected last frame, continues without a jump.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from studio._exceptions import AnalysisError
from studio.quality._frames import color_size, load_rgb, resize_area, small_rgb
from studio.quality._lab import LabMeter, LabStats, lab_stats, lab_to_rgb, rgb_to_lab

__all__ = [
    "ColorSchedule",
    "ColorTransfer",
    "color_correct",
    "fit_color_schedule",
    "fit_color_transfer",
    "ramp_weight",
]

RGB = npt.NDArray[np.uint8]

_RATIO_LIMITS = (0.5, 2.0)
_SAMPLE_EVERY = 3  # fitting on every third frame gives the same statistics, faster


class ColorTransfer:
    """A fitted per-channel L*a*b* affine transform.

    Attributes:
        gain: Multiplier per L*, a*, b* channel.
        offset: Added after the gain, per channel.
    """

    def __init__(self, gain: npt.NDArray[np.float32], offset: npt.NDArray[np.float32]) -> None:
        self.gain = gain
        self.offset = offset

    def apply(self, rgb: RGB, weight: float = 1.0) -> RGB:
        """Correct one 8-bit RGB frame; ``weight`` blends from the identity (0) to the
        full transform (1). At weight 0 the frame is returned untouched."""
        if weight <= 0.0:
            return rgb
        weight = min(1.0, weight)
        gain = 1.0 + (self.gain - 1.0) * np.float32(weight)
        return lab_to_rgb(rgb_to_lab(rgb) * gain + self.offset * np.float32(weight))


def ramp_weight(index: int, ramp_frames: int) -> float:
    """The weight of frame ``index`` when the correction fades in over ``ramp_frames``
    frames from frame 0 (the seam): smoothstep, 0 at the seam, 1 from ``ramp_frames`` on."""
    if ramp_frames <= 0:
        return 1.0
    t = min(1.0, max(0.0, index / ramp_frames))
    return t * t * (3.0 - 2.0 * t)


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise AnalysisError(f"video not found: {path}")
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        raise AnalysisError(f"cannot open {path} as a video: {error}") from error
    if not container.streams.video:
        container.close()
        raise AnalysisError(f"{path} has no video stream")
    return container


def fit_color_transfer(video_path: Path | str, anchor_frame: Path | str) -> ColorTransfer:
    """Fit the segment-to-anchor transform on the segment's pooled L*a*b* statistics.

    Raises:
        AnalysisError: A file is missing or unreadable, or the video has no frames.
    """
    samples, anchor = _samples(Path(video_path), anchor_frame)
    return _pooled(samples, anchor)


class ColorSchedule:
    """Transfers fitted on consecutive windows of a segment, blended smoothly in time.

    The transform of frame ``i`` interpolates linearly between the transforms fitted at
    the centres of the windows around it (the first and last hold at the ends), so the
    correction follows a drift that grows along the segment while changing by a small
    step per frame: it cannot flicker. :meth:`apply` also takes the seam ramp weight.
    """

    def __init__(self, centres: list[float], transfers: list[ColorTransfer]) -> None:
        self.centres = centres
        self.transfers = transfers

    def transfer_at(self, index: int) -> ColorTransfer:
        """The transform of frame ``index``."""
        gains = np.asarray([t.gain for t in self.transfers])
        offsets = np.asarray([t.offset for t in self.transfers])
        gain = [np.interp(index, self.centres, gains[:, c]) for c in range(3)]
        offset = [np.interp(index, self.centres, offsets[:, c]) for c in range(3)]
        return ColorTransfer(np.asarray(gain, np.float32), np.asarray(offset, np.float32))

    def apply(self, rgb: RGB, index: int, weight: float = 1.0) -> RGB:
        """Correct frame ``index``; ``weight`` blends from the identity as in :class:`ColorTransfer`."""
        return self.transfer_at(index).apply(rgb, weight)


def fit_color_schedule(
    video_path: Path | str, anchor_frame: Path | str, *, window_frames: int
) -> ColorSchedule:
    """Fit one transfer per window of ``window_frames`` frames (pooled inside each window).

    Raises:
        AnalysisError: A file is missing or unreadable, or the video has no frames.
        ValueError: ``window_frames`` is below 1.
    """
    if window_frames < 1:
        raise ValueError(f"window_frames must be at least 1, got {window_frames}")
    samples, anchor = _samples(Path(video_path), anchor_frame)
    windows: dict[int, list[_Sample]] = {}
    for sample in samples:
        windows.setdefault(sample.index // window_frames, []).append(sample)
    centres = [float(np.mean([s.index for s in group])) for group in windows.values()]
    return ColorSchedule(centres, [_pooled(group, anchor) for group in windows.values()])


class _Sample:
    __slots__ = ("index", "mean", "square")

    def __init__(self, index: int, mean: npt.NDArray[np.float64], square: npt.NDArray[np.float64]) -> None:
        self.index, self.mean, self.square = index, mean, square


def _samples(path: Path, anchor_frame: Path | str) -> tuple[list[_Sample], LabStats]:
    """L*a*b* mean and E[x^2] of every sampled frame, and the anchor's statistics."""
    anchor_rgb = load_rgb(anchor_frame)
    samples: list[_Sample] = []
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        size = color_size(stream.codec_context.width, stream.codec_context.height)
        reformatter, meter = VideoReformatter(), LabMeter(size)
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index % _SAMPLE_EVERY:
                    continue
                stats = meter.stats(small_rgb(frame, size, reformatter))
                mean = np.asarray(stats.mean, np.float64)
                samples.append(_Sample(index, mean, np.asarray(stats.std) ** 2 + mean**2))
        except av.FFmpegError as error:
            raise AnalysisError(f"cannot decode {path}: {error}") from error
    if not samples:
        raise AnalysisError(f"{path} has no video frames to correct")
    return samples, lab_stats(resize_area(anchor_rgb, size))


def _pooled(samples: list[_Sample], anchor: LabStats) -> ColorTransfer:
    # Pooled over frames: mean of means, and E[x^2] - E[x]^2 for the spread.
    segment_mean = np.mean([s.mean for s in samples], axis=0)
    segment_std = np.sqrt(np.maximum(np.mean([s.square for s in samples], axis=0) - segment_mean**2, 1e-6))
    gain = np.clip(np.asarray(anchor.std) / segment_std, *_RATIO_LIMITS)
    offset = np.asarray(anchor.mean) - segment_mean * gain
    return ColorTransfer(gain.astype(np.float32), offset.astype(np.float32))


def color_correct(video_path: Path | str, anchor_frame: Path | str, out_path: Path | str) -> Path:
    """Write a colour-corrected copy of a segment, matched to the scene's anchor frame.

    The output is H.264 (yuv420p, CRF 12: visually lossless) at the source's size
    and frame rate; audio is not copied (segments have none).

    Args:
        video_path: The segment to correct.
        anchor_frame: The scene's anchor frame (PNG/JPEG).
        out_path: Where to write the corrected video; its folder must exist.

    Returns:
        ``out_path`` as a :class:`~pathlib.Path`.

    Raises:
        AnalysisError: A file is missing or unreadable, or the output cannot be written.
    """
    source, target = Path(video_path), Path(out_path)
    if source.resolve() == target.resolve():
        raise AnalysisError(f"out_path must differ from the input video ({source})")
    transfer = fit_color_transfer(source, anchor_frame)
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or Fraction(24)
        try:
            with av.open(str(target), "w") as output:
                encoder = output.add_stream("libx264", rate=rate)
                encoder.width = stream.codec_context.width
                encoder.height = stream.codec_context.height
                encoder.pix_fmt = "yuv420p"
                encoder.options = {"crf": "12", "preset": "medium"}
                for frame in container.decode(stream):
                    rgb = transfer.apply(cast(RGB, frame.to_ndarray(format="rgb24")))
                    for packet in encoder.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                        output.mux(packet)
                for packet in encoder.encode():
                    output.mux(packet)
        except (av.FFmpegError, OSError) as error:
            raise AnalysisError(f"cannot write the corrected video {target}: {error}") from error
    return target
