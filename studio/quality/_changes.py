"""Local and accumulated change, measured while streaming: what the animation detectors read.

Whole-frame averages hide what matters in animation: a talking mouth changes a
few hundred pixels by 200 levels, which a whole-frame mean turns into 0.2. So
each frame is also measured on a coarse grid of tiles (:data:`GRID_COLUMNS`
wide) of the analysis luma, plus the chroma plane means the analysis has anyway:

- ``tile_change``: the largest mean absolute luma difference of any tile with the
  previous frame (a mouth moving is one tile changing a lot);
- ``hold_start``: the first frame of the hold this frame belongs to. Each frame is
  compared with the *start* of the current candidate hold, not only with its
  neighbour (as ffmpeg's ``freezedetect`` does), so slow motion adds up: a pan at
  0.4 px a frame leaves the hold after a few frames, a repeated picture never does;
- a *thumbnail* (tile means of Y', and the frame's mean Cb and Cr), and from it
  ``back[k][j - 1]``, the distance (sum over Y', Cb, Cr of the mean absolute
  tile difference) between frame
  ``k`` and frame ``k - j`` for ``j`` up to :data:`BACK_FRAMES`: flicker is a picture
  that leaves and comes back within four frames;
- ``residual``: what is left of the thumbnail step once a per-channel gain and
  offset (fitted robustly on the previous thumbnail) are taken out, the median over
  tiles. A colour grade, a fade and a flash are such a gain and offset, so they
  leave little; an object jumping leaves a few tiles; a cut leaves the whole new
  layout;
- ``color_step``: how far that fitted gain and offset move the picture: a colour
  grade's step, nothing for an object that jumps.

While streaming, each frame costs two integral images and a few lookups (about
0.06 ms at 384x256, against 1 ms for decoding it); the distances and residuals
are computed at the end, for all frames at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["BACK_FRAMES", "GRID_COLUMNS", "ChangeMeter", "Changes", "grid_size", "thumbnail_distance"]

Luma = npt.NDArray[np.uint8]
Float32 = npt.NDArray[np.float32]
Corners = npt.NDArray[np.int32 | np.float64]
_Planes = tuple[Corners, float, float]  # luma tile corners, mean Cb, mean Cr

GRID_COLUMNS = 16
BACK_FRAMES = 5  # flicker of up to 4 frames needs the frame 5 back
_RESIDUAL_PERCENTILE = 75  # a cut changes most tiles; a jumping object, a few (a percentile)
_CHROMA_GAIN = np.float32(255.0 / 224.0)  # limited-range chroma spans 224 levels


def grid_size(width: int, height: int) -> tuple[int, int]:
    """``(columns, rows)`` of the tile grid for frames of this size."""
    columns = min(GRID_COLUMNS, width)
    return columns, max(4, min(height, round(columns * height / width)))


def thumbnail_distance(a: Float32, b: Float32) -> float:
    """Sum over Y', Cb and Cr of the mean absolute difference of two thumbnails."""
    return float(np.abs(a - b).mean(axis=(0, 1)).sum())


@dataclass
class Changes:
    """Per-frame series (index ``k``; frame 0 has no previous frame: NaN, or ``k`` itself)."""

    tile_change: list[float] = field(default_factory=list)
    hold_start: list[int] = field(default_factory=list)
    back: list[list[float]] = field(default_factory=list)
    residual: list[float] = field(default_factory=list)
    color_step: list[float] = field(default_factory=list)


class _Tiles:
    """Tile sums of 8-bit images of one shape: an integral image, sampled at the tile corners.

    Exact, and 5-10x faster than ``cv2.resize(..., INTER_AREA)`` to the grid, whose
    fast path needs a whole number of pixels per tile. Tile edges are spread over the
    whole image, so no border goes unseen.
    """

    def __init__(self, shape: tuple[int, int], grid: tuple[int, int]) -> None:
        height, width = shape
        columns, rows = grid
        ys = np.round(np.linspace(0, height, rows + 1)).astype(np.intp)
        xs = np.round(np.linspace(0, width, columns + 1)).astype(np.intp)
        self._index = np.ix_(ys, xs)
        self.area = (np.diff(ys)[:, None] * np.diff(xs)[None, :]).astype(np.float64)
        self.pixels = height * width
        # 32-bit sums are exact up to 8.4 million pixels of 255 (4K luma needs 64 bits).
        exact32 = self.pixels * 255 < 2**31
        self._depth = cv2.CV_32S if exact32 else cv2.CV_64F
        self._integral = np.empty((height + 1, width + 1), np.int32 if exact32 else np.float64)

    def corners(self, image: Luma) -> Corners:
        """The integral image at the tile corners (``corners[-1, -1]`` is the image's sum)."""
        cv2.integral(image, self._integral, sdepth=self._depth)
        return self._integral[self._index]

    def means(self, corners: Corners) -> npt.NDArray[np.float64]:
        """Tile means from :meth:`corners` (any leading axes)."""
        c = corners.astype(np.float64)
        return (c[..., 1:, 1:] - c[..., :-1, 1:] - c[..., 1:, :-1] + c[..., :-1, :-1]) / self.area


class ChangeMeter:
    """Measures :class:`Changes`: a little per frame while streaming, the rest at the end.

    Per frame only what needs the pixels: the largest tile change with the previous
    frame and with the hold's first frame, and the tile corners of the three planes'
    integral images (2.4 kB a frame at the default grid). :meth:`finish` turns the
    corners into thumbnails, distances and residuals with a few whole-array numpy
    operations, rather than dozens of small ones per frame, which would each take the
    GIL from the decoding thread.

    Args:
        size: ``(width, height)`` of the analysis luma.
        hold_tolerance: A frame belongs to the current hold while no tile's mean
            absolute difference with the hold's first frame exceeds this.
    """

    def __init__(self, size: tuple[int, int], hold_tolerance: float) -> None:
        width, height = size
        self.grid = grid_size(width, height)
        self._tolerance = hold_tolerance
        self._luma_tiles = _Tiles((height, width), self.grid)
        self._diff = np.empty((height, width), np.uint8)
        self._anchor = np.empty((height, width), np.uint8)
        self._anchor_index = -1
        self._count = 0
        self._previous: Luma | None = None
        self._reference: tuple[Luma, Float32] | None = None
        self._tile_change: list[float] = []
        self._hold_start: list[int] = []
        self._corners: list[_Planes] = []
        self.mad = math.nan  # the last frame's mean absolute luma difference with the one before

    def _tile_max(self, a: Luma, b: Luma) -> tuple[float, float]:
        """The largest tile mean of ``|a - b|``, and the mean of ``|a - b|`` (the MAD)."""
        cv2.absdiff(a, b, self._diff)
        tiles = self._luma_tiles
        corners = tiles.corners(self._diff)
        return float(tiles.means(corners).max()), float(corners[-1, -1]) / tiles.pixels

    def push(self, luma: Luma, cb: float, cr: float) -> None:
        """Measure the next frame: its luma (analysis size) and mean Cb and Cr (128: neutral)."""
        k = self._count
        previous, self._previous = self._previous, luma
        step, self.mad = (math.nan, math.nan) if previous is None else self._tile_max(previous, luma)
        self._tile_change.append(step)
        # When the hold began at the previous frame, that comparison is the one just made.
        held = step if self._anchor_index == k - 1 else self._tile_max(self._anchor, luma)[0]
        if not held <= self._tolerance:  # NaN (frame 0) starts a hold too
            np.copyto(self._anchor, luma)
            self._anchor_index = k
        self._hold_start.append(self._anchor_index)
        self._corners.append(self._planes(luma, cb, cr))
        self._count += 1

    def _planes(self, luma: Luma, cb: float, cr: float) -> _Planes:
        return self._luma_tiles.corners(luma).copy(), cb, cr

    def _thumbnails(self, corners: list[_Planes]) -> Float32:
        """``(frames, rows, columns, 3)``: tile means of Y', and the Cb, Cr means (centred, 0-255 steps)."""
        columns, rows = self.grid
        thumbs = np.zeros((len(corners), rows, columns, 3), np.float32)
        if not corners:
            return thumbs
        thumbs[..., 0] = self._luma_tiles.means(np.stack([c[0] for c in corners]))
        chroma = (np.asarray([c[1:] for c in corners], np.float32) - 128.0) * _CHROMA_GAIN
        thumbs[..., 1:] = chroma[:, None, None, :]
        return thumbs

    def set_reference(self, luma: Luma, cb: float, cr: float) -> None:
        """The previous segment's last frame: luma at analysis size, mean Cb and Cr."""
        self._reference = (luma.copy(), self._thumbnails([self._planes(luma, cb, cr)])[0])

    def against_reference(self, luma: Luma) -> tuple[float, float]:
        """``(thumbnail distance, largest tile difference)`` of the last pushed frame to the reference."""
        assert self._reference is not None
        reference, thumb = self._reference
        last = self._thumbnails([self._corners[-1]])[0]
        return thumbnail_distance(last, thumb), self._tile_max(reference, luma)[0]

    def finish(self) -> Changes:
        """Every frame's series."""
        thumbs = self._thumbnails(self._corners)
        n = len(thumbs)
        back = np.full((n, BACK_FRAMES), np.nan)
        for j in range(1, min(BACK_FRAMES, n - 1) + 1):
            back[j:, j - 1] = np.abs(thumbs[j:] - thumbs[:-j]).mean(axis=(1, 2)).sum(axis=1)
        residual, colour = np.full(n, np.nan), np.full(n, np.nan)
        if n > 1:
            residual[1:], colour[1:] = _affine_residuals(thumbs[:-1], thumbs[1:])
        return Changes(
            self._tile_change, self._hold_start, back.tolist(), residual.tolist(), colour.tolist()
        )


def _affine_residuals(
    before: Float32, after: Float32
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per pair: the median over tiles of what ``after ~ gain * before + offset`` leaves,
    and how far the fitted colour transform itself moves the picture (its mean over tiles).

    Per channel, least squares, gain kept >= 0 (an inverted picture is new content);
    a channel that was flat before (variance under 1) explains nothing beyond its
    mean. The fit is made twice, the second time on the half of the tiles the first
    fit explained best: an object that jumps across the frame changes a few tiles,
    and must not drag the fit (and so the residual of every other tile) with it.
    The median, not the mean, so that only a change of most of the picture (a cut)
    counts, not a large change of a small part (an object, a mouth).
    """
    pairs = before.shape[0]
    x = before.reshape(pairs, -1, 3)
    y = after.reshape(pairs, -1, 3)
    tiles = x.shape[1]
    weights = np.ones((pairs, tiles, 1), np.float32)
    for _ in range(2):
        total = weights.sum(axis=1, keepdims=True)
        mx = (x * weights).sum(axis=1, keepdims=True) / total
        my = (y * weights).sum(axis=1, keepdims=True) / total
        dx, dy = x - mx, y - my
        wdx = dx * weights
        var = (wdx * dx).sum(axis=1, keepdims=True) / total
        cov = (wdx * dy).sum(axis=1, keepdims=True) / total
        gain = np.where(var > 1.0, np.maximum(cov, 0.0) / np.maximum(var, 1e-9), 0.0).astype(np.float32)
        per_tile = np.abs(dy - dx * gain).sum(axis=2)  # (pairs, tiles)
        half = np.partition(per_tile, tiles // 2, axis=1)[:, tiles // 2 : tiles // 2 + 1]
        weights = (per_tile <= half)[..., None].astype(np.float32)
    rank = min(tiles - 1, tiles * _RESIDUAL_PERCENTILE // 100)
    residual = np.partition(per_tile, rank, axis=1)[:, rank].astype(np.float64)
    # gain * (x - mx) + my against x: the colour change the fit found (none for a jump).
    moved = np.abs(dx * (gain - 1.0) + (my - mx)).mean(axis=1).sum(axis=1).astype(np.float64)
    return residual, moved
