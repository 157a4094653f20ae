"""Streaming analysis of one video segment: the recipe.

``analyze_video`` decodes the video once, frame by frame, and keeps only the last
few frames' luma (the current one, the two before it for the differences, and
the ones the worker threads may still be on), and the start of the current hold.
Everything else it keeps is a few numbers per frame and the tile sums of each
frame's luma (about 1 kB at the default grid), so memory grows slowly and
linearly with the video's length.

Work is spread over threads so both cores are busy: the main thread decodes and
makes the luma; the pair measurements, the flow and the colour statistics each
run on a worker thread of their own (see ``_scan``).

Per frame, at the analysis resolution (default: half the source): SSIM and mean
absolute difference with the previous frame, and the difference with the frame
before that; DIS optical flow (ULTRAFAST preset) at a quarter of the source
resolution, as mean magnitude in *source* pixels per frame (at a quarter it reads
the true mean motion within 2 %, at half it over-reads by 24 %, for a quarter of
the CPU: reference/quality-baselines.md section 3); luma mean and std; Y'CbCr
plane means; the tile measurements of ``_changes.py`` (the largest tile change,
holds, thumbnails) that the event detectors read. Every ``color_sample_every``
frames (and on the last): L*a*b* statistics, palette coverage and
Laplacian-variance sharpness.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from studio._exceptions import AnalysisError
from studio.quality._changes import ChangeMeter
from studio.quality._events import detect_events, shot_step
from studio.quality._frames import (
    DecodedFrame,
    VideoReader,
    analysis_size,
    color_size,
    image_luma,
    load_rgb,
    resize_area,
    rgb_to_chroma,
)
from studio.quality._lab import LabMeter, LabStats, rgb_to_lab, stats_of
from studio.quality._metrics import (
    SsimStream,
    finite_median,
    laplacian_variance,
    mean_absolute_difference,
    ssim,
)
from studio.quality._palette import Palette
from studio.quality._scores import compute_scores, seed_scores
from studio.quality._thresholds import QualityThresholds
from studio.quality._types import ColorSample, FrameSeries, SeamAnalysis, VideoAnalysis

__all__ = ["Engine", "analyze_video", "sharpness"]

Engine = Literal["opencv", "torch", "auto"]
Luma = npt.NDArray[np.uint8]
T = TypeVar("T")

_FLOW_SCALE = 0.25  # flow is measured at a quarter of the source resolution at most
# Frames the pair and flow workers may lag behind the decoder: 8 rather than 2 lets
# them work on while a keyframe decodes slowly (the command ran 5 % faster).
_PIPELINE_DEPTH = 8
_COLOUR_DEPTH = 4  # colour samples the colour worker may lag behind
_SEAM_FRAMES = 3  # the previous last frame is compared with this many first frames
_STD_FLOOR = 1.0  # L*a*b* std below this is treated as 1 when taking ratios


class _PairEngine(Protocol):
    name: str

    def push(self, luma: Luma) -> float | None: ...
    def mad(self, a: Luma, b: Luma) -> float: ...
    def ssim(self, a: Luma, b: Luma) -> float: ...


class _OpenCVEngine:
    name = "opencv"

    def __init__(self, shape: tuple[int, int]) -> None:
        self._stream = SsimStream(shape)

    def push(self, luma: Luma) -> float | None:
        return self._stream.push(luma)

    def mad(self, a: Luma, b: Luma) -> float:
        return mean_absolute_difference(a, b)

    def ssim(self, a: Luma, b: Luma) -> float:
        return ssim(a, b)


def _make_engine(engine: Engine, shape: tuple[int, int]) -> _PairEngine:
    if engine == "opencv":
        return _OpenCVEngine(shape)
    if engine not in ("torch", "auto"):
        raise AnalysisError(f"unknown engine {engine!r}; use 'opencv', 'torch' or 'auto'")
    from studio.quality._torch import TorchEngine, torch_device

    device = torch_device(required=engine == "torch")
    if device is None or (engine == "auto" and device != "cuda"):
        # "auto" only prefers torch where it is faster: on a GPU.
        return _OpenCVEngine(shape)
    return TorchEngine(shape, device)


def sharpness(image: Path | str | npt.NDArray[np.uint8], *, scale: float = 0.5) -> float:
    """Laplacian variance of an image's luma at ``scale`` of its size.

    Store segment 0's value and pass it to :func:`analyze_video` as
    ``reference_sharpness`` (with the same ``scale``); ``VideoAnalysis.sharpness``
    is measured the same way.

    Args:
        image: A PNG/JPEG path, an RGB ``uint8`` array or a 2-D luma array.
        scale: Analysis scale, as for :func:`analyze_video`.

    Raises:
        AnalysisError: The image cannot be read, or ``scale`` is not in (0, 1].
    """
    _check_scale(scale)
    if isinstance(image, Path | str):
        image = load_rgb(image)
    height, width = image.shape[:2]
    size = analysis_size(width, height, scale)
    luma = resize_area(image, size) if image.ndim == 2 else image_luma(image, size)
    return laplacian_variance(luma)


def _check_scale(scale: float) -> None:
    if not 0.0 < scale <= 1.0:
        raise AnalysisError(f"scale must be in (0, 1], got {scale}; 0.5 is half resolution")


class _Worker(Generic[T]):
    """Runs jobs on its own thread, in order, at most ``depth`` jobs behind the caller.

    OpenCV, NumPy, PyAV and torch release the GIL inside their calls, so the
    decoding thread and the workers (SSIM, flow, colour) really run at once on two
    cores. A job may read the caller's luma buffers: the caller keeps a ring of
    :func:`ring_size` buffers so that none is overwritten while a job that reads it
    is queued or running.
    """

    def __init__(self, name: str, depth: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"studio-{name}")
        self._depth = depth
        self._pending: deque[Future[T]] = deque()
        self.values: list[T] = []  # one per job, in submission order

    def submit(self, job: Callable[..., T], *args: Any) -> None:
        while len(self._pending) >= self._depth:
            self.values.append(self._pending.popleft().result())
        self._pending.append(self._executor.submit(job, *args))

    def finish(self) -> list[T]:
        """Wait for every job; return all values."""
        while self._pending:
            self.values.append(self._pending.popleft().result())
        return self.values

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def ring_size(depth: int) -> int:
    """Luma buffers needed when workers lag up to ``depth`` frames behind.

    While the main thread writes frame k + depth, the job of frame k may still be
    running, and it reads frames k, k - 1 and k - 2 (the differences).
    """
    return depth + 3


class _Flow:
    """DIS optical flow between consecutive frames, as mean magnitude in source pixels.

    ``job`` is called once per frame, in order, on one worker thread, with the
    frame's luma at the flow resolution (``VideoReader.flow_size``); the caller's
    ring keeps the previous one valid. It returns NaN for the first frame.
    """

    def __init__(self, size: tuple[int, int], source_width: int) -> None:
        width, height = size
        self._to_source = source_width / width
        # Zeros, not np.empty: OpenCV 5.0's DIS reads the output buffer it is given
        # (results do not change) and crashes on the garbage floats np.empty can hold.
        self._flow = np.zeros((height, width, 2), np.float32)
        # Flow split into x and y planes: cv2.magnitude on two contiguous planes is
        # twice as fast as on the strided views of the interleaved flow.
        self._planes = [np.empty((height, width), np.float32) for _ in range(2)]
        self._magnitude = np.empty((height, width), np.float32)
        self._dis = cv2.DISOpticalFlow_create(  # type: ignore[attr-defined]  # not in the stubs
            cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST
        )
        self._previous: Luma | None = None

    def job(self, luma: Luma) -> float:
        """Flow from the previous frame to ``luma`` (NaN for the first frame)."""
        previous, self._previous = self._previous, luma
        if previous is None:
            return math.nan
        flow = self._dis.calc(previous, luma, self._flow)
        fx, fy = cv2.split(flow, self._planes)
        cv2.magnitude(fx, fy, self._magnitude)
        return float(cv2.mean(self._magnitude)[0]) * self._to_source


class _Pairs:
    """Everything measured on the analysis luma but flow: one worker thread, in order.

    Per frame: SSIM and differences with the previous frame (and the one before),
    luma mean and std, the chroma plane means, sharpness on sampled frames, and
    for the first frames the comparison with the previous segment's last frame.
    The frames it compares are read from the caller's ring, which keeps them
    valid while the job is queued or running (:func:`ring_size`).
    """

    def __init__(
        self,
        engine: _PairEngine,
        reader: VideoReader,
        sample_every: int,
        previous_rgb: npt.NDArray[np.uint8] | None,
        hold_tolerance: float,
    ) -> None:
        self.series = FrameSeries()
        self.changes = ChangeMeter(reader.size, hold_tolerance)
        self.seam_ssim: list[float] = []
        self.seam_mad: list[float] = []
        self.seam_change: list[tuple[float, float]] = []  # (thumbnail distance, largest tile difference)
        self._engine = engine
        self._reader = reader
        self._sample_every = sample_every
        self._previous_rgb = previous_rgb
        self._previous_segment: Luma | None = None
        self._laplacian = np.empty(reader.size[::-1], np.float32)
        self._recent: list[Luma] = []  # the last frames, newest last

    def job(self, decoded: DecodedFrame) -> None:
        k, luma, series, engine = decoded.index, decoded.luma, self.series, self._engine
        self._recent = [*self._recent[-2:], luma]
        recent = self._recent
        ssim_value = engine.push(luma)
        series.ssim.append(math.nan if ssim_value is None else ssim_value)
        # The change meter's tile sums give the exact frame difference and chroma means.
        changes = self.changes
        cb, cr = decoded.chroma_means()
        changes.push(luma, cb, cr)
        series.mad.append(changes.mad)
        series.skip_mad.append(engine.mad(recent[-3], luma) if len(recent) > 2 else math.nan)
        mean, std = cv2.meanStdDev(luma)
        series.mean_luma.append(float(mean[0, 0]))
        series.std_luma.append(float(std[0, 0]))
        series.mean_cb.append(cb)
        series.mean_cr.append(cr)
        series.sharpness.append(self.sharpness(luma) if k % self._sample_every == 0 else math.nan)
        if k == 0 and self._previous_rgb is not None:
            # The reader knows the video's colour matrix once it has decoded frame 0.
            matrix = self._reader.matrix
            self._previous_segment = image_luma(self._previous_rgb, self._reader.size, matrix)
            cb_plane, cr_plane = rgb_to_chroma(self._previous_rgb, matrix)
            self.changes.set_reference(
                self._previous_segment, float(cv2.mean(cb_plane)[0]), float(cv2.mean(cr_plane)[0])
            )
        if self._previous_segment is not None and k < _SEAM_FRAMES:
            self.seam_ssim.append(engine.ssim(self._previous_segment, luma))
            self.seam_mad.append(engine.mad(self._previous_segment, luma))
            self.seam_change.append(self.changes.against_reference(luma))

    def sharpness(self, luma: Luma) -> float:
        return laplacian_variance(luma, self._laplacian)


def _compare(stats: LabStats, reference: LabStats, frame: int, coverage: float) -> ColorSample:
    delta_e = math.dist(stats.mean, reference.mean)
    ratio = max(
        max(a, _STD_FLOOR) / max(b, _STD_FLOOR) for a, b in zip(stats.std, reference.std, strict=True)
    )
    inverse = max(
        max(b, _STD_FLOOR) / max(a, _STD_FLOOR) for a, b in zip(stats.std, reference.std, strict=True)
    )
    return ColorSample(frame, stats.mean, stats.std, delta_e, max(ratio, inverse), coverage)


def analyze_video(
    path: Path | str,
    *,
    previous_last_frame: Path | str | None = None,
    anchor_frame: Path | str | None = None,
    reference_sharpness: float | None = None,
    scale: float = 0.5,
    engine: Engine = "opencv",
    thresholds: QualityThresholds | None = None,
) -> VideoAnalysis:
    """Analyse every frame and the seam of one segment.

    Args:
        path: The segment's video file.
        previous_last_frame: The previous segment's last frame (lossless PNG), to
            measure the seam. ``None`` for a scene's first segment.
        anchor_frame: The scene's anchor frame; colour drift is measured against it
            (and flagged). Without it colour is compared with frame 0, unflagged.
        reference_sharpness: Segment 0's sharpness (``VideoAnalysis.sharpness`` or
            :func:`sharpness` at the same ``scale``); flags sharpness decay.
        scale: Analysis resolution as a fraction of the source, in (0, 1]. 0.5 by
            default; 1.0 is full resolution.
        engine: ``"opencv"``; ``"torch"`` (SSIM and differences in torch, on CUDA when
            available, same numbers within 1e-4); ``"auto"``: torch on a GPU, else OpenCV.
        thresholds: The project's thresholds (defaults when ``None``).

    Returns:
        The per-frame series, seam and colour measurements, events and scores.

    Raises:
        AnalysisError: A file is missing or unreadable, the video has no frames,
            ``scale`` is out of range, or torch was asked for and is not installed.
    """
    _check_scale(scale)
    t = thresholds or QualityThresholds()
    previous_rgb = load_rgb(previous_last_frame) if previous_last_frame is not None else None
    anchor_rgb = load_rgb(anchor_frame) if anchor_frame is not None else None

    with VideoReader(path, scale=scale, flow_scale=min(scale, _FLOW_SCALE)) as reader:
        width, height = reader.size
        colour_size = color_size(reader.width, reader.height)
        anchor_lab = rgb_to_lab(resize_area(anchor_rgb, colour_size)) if anchor_rgb is not None else None
        colour = _Colour(colour_size, anchor_lab)
        scan = _scan(reader, _make_engine(engine, (height, width)), previous_rgb, colour, t)
        series, samples, last = scan.series, scan.samples, scan.last
        reference = stats_of(anchor_lab) if anchor_lab is not None else samples[0][1][0]
        color_samples = [
            _compare(stats, reference, frame, coverage) for frame, (stats, coverage) in samples
        ]

        seam = _seam(series, scan, t) if scan.seam_mad else None
        sharp = finite_median(series.sharpness)
        ratio = sharp / reference_sharpness if reference_sharpness else None
        events = detect_events(
            series,
            t,
            seam=seam,
            color_samples=color_samples if anchor_rgb is not None else None,
            sharpness_ratio=ratio,
        )
        scores = compute_scores(series, events, t, seam=seam, color_samples=color_samples)
        flows = np.asarray(series.flow)[1:]
        flow_mean = float(np.mean(flows)) if flows.size else math.nan
        return VideoAnalysis(
            path=str(reader.path),
            frame_count=last.index + 1,
            fps=reader.fps,
            width=reader.width,
            height=reader.height,
            analysis_width=width,
            analysis_height=height,
            engine=scan.engine,
            frames=series,
            color_samples=color_samples,
            color_reference="anchor" if anchor_rgb is not None else "first_frame",
            seam=seam,
            sharpness=sharp,
            sharpness_ratio=ratio,
            flow_mean=flow_mean,
            flow_cv=float(np.std(flows)) / flow_mean if flow_mean else math.nan,
            events=events,
            scores=scores,
            seed_scores=seed_scores(series),
            thresholds=t,
        )


@dataclass
class _Scan:
    """What one pass over the frames measured (before events and scores)."""

    series: FrameSeries
    samples: list[tuple[int, tuple[LabStats, float]]]  # (frame, (L*a*b* statistics, palette coverage))
    seam_ssim: list[float]
    seam_mad: list[float]
    seam_change: list[tuple[float, float]]
    last: DecodedFrame
    engine: str


class _Colour:
    """L*a*b* statistics and palette coverage of the sampled frames, on one worker thread, in order.

    The palette is the anchor's, or without an anchor the first sample's.
    """

    def __init__(self, size: tuple[int, int], anchor_lab: npt.NDArray[np.float32] | None) -> None:
        self.size = size
        self._meter = LabMeter(size)
        self._palette = Palette(anchor_lab) if anchor_lab is not None else None

    def job(self, decoded: DecodedFrame) -> tuple[LabStats, float]:
        lab = self._meter.lab(decoded.rgb_small(self.size))
        if self._palette is None:
            self._palette = Palette(lab)
        return stats_of(lab), self._palette.coverage(lab)


def _scan(
    reader: VideoReader,
    engine: _PairEngine,
    previous_rgb: npt.NDArray[np.uint8] | None,
    colour: _Colour,
    t: QualityThresholds,
) -> _Scan:
    """Decode every frame once and measure it on worker threads.

    The main thread only decodes and makes the analysis luma; :class:`_Pairs`,
    :class:`_Flow` and the colour statistics each run on a thread of their own and
    get the frames in order. Every thread spends most of its time in OpenCV,
    numpy or PyAV calls, which release the GIL, so together they keep both cores
    busy; the fewer short calls the main thread makes, the less it waits to get
    the GIL back after each (decoding is on the critical path).
    """
    width, height = reader.size
    pairs = _Pairs(engine, reader, t.color_sample_every, previous_rgb, t.freeze_max_tile_change)
    flow = _Flow(reader.flow_size, reader.width)
    sample_frames: list[int] = []
    ring = [np.empty((height, width), np.uint8) for _ in range(ring_size(_PIPELINE_DEPTH))]
    flow_width, flow_height = reader.flow_size
    flow_ring = None  # flow runs on the analysis luma itself, unless that is above a quarter
    if reader.flow_size != reader.size:
        flow_ring = [np.empty((flow_height, flow_width), np.uint8) for _ in range(len(ring))]
    last: DecodedFrame | None = None
    pair_worker = _Worker[None]("pairs", _PIPELINE_DEPTH)
    flow_worker = _Worker[float]("flow", _PIPELINE_DEPTH)
    colour_worker = _Worker[tuple[LabStats, float]]("colour", _COLOUR_DEPTH)

    old_threads = cv2.getNumThreads()
    # One OpenCV thread: our own threads keep both cores busy, and on small frames
    # OpenCV's own threading costs more CPU than it saves.
    cv2.setNumThreads(1)
    try:
        for decoded in reader.frames(ring, flow_ring):
            pair_worker.submit(pairs.job, decoded)
            flow_worker.submit(flow.job, decoded.flow_luma)
            if decoded.index % t.color_sample_every == 0:
                sample_frames.append(decoded.index)
                colour_worker.submit(colour.job, decoded)
            last = decoded
        if last is None:
            raise AnalysisError(f"{reader.path} has no video frames")
        pair_worker.finish()
        series = pairs.series
        changes = pairs.changes.finish()
        series.tile_change, series.hold_start = changes.tile_change, changes.hold_start
        series.back, series.residual = changes.back, changes.residual
        series.color_step = changes.color_step
        series.flow = flow_worker.finish()
        if last.index % t.color_sample_every:  # the last frame is always sampled
            sample_frames.append(last.index)
            colour_worker.submit(colour.job, last)
            series.sharpness[last.index] = pairs.sharpness(last.luma)
        samples = list(zip(sample_frames, colour_worker.finish(), strict=True))
    finally:
        for worker in (pair_worker, flow_worker, colour_worker):
            worker.close()
        cv2.setNumThreads(old_threads)
    return _Scan(series, samples, pairs.seam_ssim, pairs.seam_mad, pairs.seam_change, last, engine.name)


def _seam(series: FrameSeries, scan: _Scan, t: QualityThresholds) -> SeamAnalysis:
    """Where and how much the new segment departs from the previous last frame.

    Image-to-video backends often return the start image itself as frame 0; then
    frame 0 matches the previous last frame and the real seam is frames 0 -> 1.
    The step across the seam is judged against the shot's own large steps, not
    its median: on twos half the steps are zero.
    """
    seam_mad = scan.seam_mad
    seam_frame, difference = 0, seam_mad[0]
    change, tile = scan.seam_change[0]
    changes = [c for c, _ in scan.seam_change]
    # Lossy coding keeps a repeated start image from being identical: also accept a
    # frame 0 that is far closer to the previous frame than frame 1 is.
    repeated = len(changes) > 1 and changes[0] <= 2.0 and changes[0] <= 0.25 * changes[1]
    if (difference <= t.freeze_max_mad or repeated) and len(series.mad) > 1:
        seam_frame, difference = 1, series.mad[1]
        change, tile = series.back[1][0], series.tile_change[1]
    # Against the shot's own large steps, both for the picture as a whole (thumbnail)
    # and locally (the most-changed tile): an object that jumps moves few tiles.
    ratio = max(change / shot_step(series), tile / shot_step(series, local=True))
    return SeamAnalysis(
        scan.seam_ssim, seam_mad, seam_frame, difference, ratio,
        change=changes, tile_change=tile,
    )
