"""Join segments into scenes and scenes into episodes, re-encoding as little as possible.

Both joins are planned as a list of pieces, then assembled into one mp4:

* ``_Copy(clip, a, b)``: packets ``a .. b-1`` of a clip, stream-copied (no decode, no
  encode) with their timestamps rebased. ``a`` must be a keyframe; the copy may end
  anywhere, because our encoder makes closed GOPs without B-frames.
* ``_Frames(clip, a, b)`` and ``_Blend(a_clip, b_clip, d, kind)``: decoded frames (or a
  transition between two clips' frames), re-encoded. Consecutive ones are encoded as one
  span that opens with an IDR keyframe.

**Scene** (:func:`stitch_scene`): each segment is copied whole, minus its leading
duplicate (the seam convention of :mod:`studio.backends._base`). Dropping packet 0 is a
pure stream copy when packet 1 is a keyframe, which the animatic guarantees; otherwise
only the frames up to the segment's next keyframe are re-encoded, and a log line says so.

**Episode** (:func:`stitch_episode`): a ``cut`` is a stream copy. ``fade``, ``dissolve``
and ``wipe`` overlap the two scenes by ``d = round(transition_seconds * fps)`` frames:
the last ``d`` frames of scene A are blended with the first ``d`` frames of scene B.
Only the blended span is re-encoded, plus the frames between it and the nearest
keyframes (back to the last keyframe of A before the span, on to the first keyframe of
B after it), at most one GOP (1 s with :data:`studio._video.DEFAULT_ENCODER`) each side.
Everything else is copied.

Durations: a scene has ``sum(frames - leading_duplicate)`` frames. An episode has
``sum(scene frames) - sum(d over non-cut transitions)`` frames; with cuts only, that is
exactly the sum of the scenes. The duration is frames / fps.

Copying requires every input to share codec, size, frame rate and stream headers
(``extradata``) and to have no B-frames; re-encoded spans must come out of our encoder
with the same headers, which holds for inputs from :class:`studio._video.VideoWriter`.
When that fails (a foreign encoder), the whole output is re-encoded instead, and a log
line says why. Inputs of different sizes or frame rates are refused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from studio._exceptions import RenderError
from studio._video import (
    DEFAULT_ENCODER,
    EncoderSettings,
    VideoWriter,
    crash_point,
    temporary_folder,
    temporary_path,
)

__all__ = ["TRANSITIONS", "SceneClip", "StitchError", "stitch_episode", "stitch_scene"]

logger = logging.getLogger("studio.stitch")

TRANSITIONS: tuple[str, ...] = ("cut", "fade", "dissolve", "wipe")


class StitchError(RenderError):
    """Segments or scenes cannot be joined: missing, unreadable or mismatched inputs,
    an unknown transition, or a transition longer than a scene."""


@dataclass(frozen=True)
class SceneClip:
    """One scene of an episode and how it hands over to the next one.

    Attributes:
        path: The scene's video (usually from :func:`stitch_scene`).
        transition_to_next: ``cut``, ``fade`` (through black), ``dissolve`` or ``wipe``
            (left to right). Ignored on the last scene.
        transition_seconds: Length of the overlap for non-cut transitions. A length that
            rounds to zero frames is a cut.
    """

    path: Path
    transition_to_next: str = "cut"
    transition_seconds: float = 0.0


# --- inputs ---------------------------------------------------------------------------


@dataclass
class _Clip:
    """An input video: its stream parameters, read once, and its keyframes, read lazily."""

    path: Path
    codec: str
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    extradata: bytes
    b_frames: bool
    frames: int
    start_pts: int
    key_one: bool  # whether packet 1 is a keyframe (the leading-duplicate check)
    _keyframes: list[int] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: Path, what: str) -> _Clip:
        path = Path(path)
        if not path.is_file():
            raise StitchError(f"{what} not found: {path}")
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise StitchError(f"{what} {path} has no video stream")
                stream = container.streams.video[0]
                ctx = stream.codec_context
                head = []
                for packet in container.demux(stream):
                    if packet.size and packet.pts is not None:
                        head.append(packet)
                    if len(head) == 2:
                        break
                if not head:
                    raise StitchError(f"{what} {path} has no frames")
                rate = stream.average_rate or stream.guessed_rate
                if not rate or stream.time_base is None:
                    raise StitchError(f"{what} {path} has no frame rate")
                return cls(
                    path=path,
                    codec=ctx.name,
                    width=ctx.width,
                    height=ctx.height,
                    fps=Fraction(rate),
                    time_base=Fraction(stream.time_base),
                    extradata=bytes(ctx.extradata or b""),
                    b_frames=bool(ctx.has_b_frames),
                    frames=stream.frames or cls._count(path),
                    start_pts=int(head[0].pts),  # type: ignore[arg-type]
                    key_one=len(head) > 1 and head[1].is_keyframe,
                )
        except (av.FFmpegError, OSError) as exc:
            raise StitchError(f"cannot read {what} {path}: {exc}") from exc

    @staticmethod
    def _count(path: Path) -> int:
        with av.open(str(path)) as container:
            return sum(1 for p in container.demux(video=0) if p.size)

    def index(self, pts: int) -> int:
        """Frame index of a timestamp (no B-frames: decode order is display order)."""
        return round((pts - self.start_pts) * self.time_base * self.fps)

    def pts(self, index: int) -> int:
        return self.start_pts + round(index / (self.time_base * self.fps))

    def keyframes(self) -> list[int]:
        """Indices of every keyframe (reads the packets once, decoding nothing)."""
        if self._keyframes is None:
            with av.open(str(self.path)) as container:
                self._keyframes = [
                    self.index(p.pts)
                    for p in container.demux(video=0)
                    if p.size and p.is_keyframe and p.pts is not None
                ]
        return self._keyframes

    def keyframe_at_or_after(self, a: int) -> int:
        """The first keyframe ``>= a``, or ``frames`` when there is none."""
        if a == 0 or (a == 1 and self.key_one):
            return a
        return next((k for k in self.keyframes() if k >= a), self.frames)

    def keyframe_at_or_before(self, b: int) -> int:
        """The last keyframe ``<= b`` (0 at worst: a stream opens on a keyframe)."""
        return max((k for k in self.keyframes() if k <= b), default=0)

    def decode(self, a: int, b: int) -> Iterator[np.ndarray]:
        """RGB frames ``a .. b-1``, decoding from the last keyframe before ``a``."""
        if a >= b:
            return
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if a > 0:
                container.seek(self.pts(a), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                i = self.index(frame.pts)
                if i >= b:
                    return
                if i >= a:
                    yield frame.to_ndarray(format="rgb24")


# --- plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Copy:
    clip: _Clip
    a: int
    b: int

    def __len__(self) -> int:
        return self.b - self.a


@dataclass(frozen=True)
class _Frames:
    clip: _Clip
    a: int
    b: int

    def __len__(self) -> int:
        return self.b - self.a

    def frames(self) -> Iterator[np.ndarray]:
        return self.clip.decode(self.a, self.b)


@dataclass(frozen=True)
class _Blend:
    first: _Clip
    second: _Clip
    d: int
    kind: str

    def __len__(self) -> int:
        return self.d

    def frames(self) -> Iterator[np.ndarray]:
        tail = self.first.decode(self.first.frames - self.d, self.first.frames)
        head = self.second.decode(0, self.d)
        for j, (x, y) in enumerate(zip(tail, head, strict=True)):
            yield _blend(x, y, (j + 1) / (self.d + 1), self.kind)


_Piece = _Copy | _Frames | _Blend


def _blend(a: np.ndarray, b: np.ndarray, alpha: float, kind: str) -> np.ndarray:
    """Frame of a transition from ``a`` to ``b`` at progress ``alpha`` in (0, 1)."""
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    if kind == "dissolve":
        mixed = fa * (1 - alpha) + fb * alpha
    elif kind == "fade":  # through black: A darkens over the first half, B brightens after
        mixed = fa * max(0.0, 1 - 2 * alpha) + fb * max(0.0, 2 * alpha - 1)
    else:  # wipe, left to right, with a soft edge a few percent of the width wide
        width = a.shape[1]
        edge = max(1.0, 0.04 * width)
        x = np.arange(width, dtype=np.float32)
        mask = np.clip((alpha * (width + edge) - x) / edge, 0.0, 1.0)[None, :, None]
        mixed = fa * (1 - mask) + fb * mask
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _own_range(clip: _Clip, start: int, stop: int, *, copy: bool) -> list[_Piece]:
    """Pieces for frames ``start .. stop-1`` of ``clip``, copying between keyframes."""
    if start >= stop:
        return []
    if not copy:
        return [_Frames(clip, start, stop)]
    c0 = clip.keyframe_at_or_after(start)
    c1 = clip.frames if stop == clip.frames else clip.keyframe_at_or_before(stop)
    if c0 >= c1:
        return [_Frames(clip, start, stop)]
    pieces: list[_Piece] = []
    if start < c0:
        # Frames before the first keyframe cannot be copied without their references.
        logger.info("%s: frame %d is not a keyframe; re-encoding frames %d-%d",
                    clip.path.name, start, start, c0 - 1)  # fmt: skip
        pieces.append(_Frames(clip, start, c0))
    pieces.append(_Copy(clip, c0, c1))
    if c1 < stop:
        pieces.append(_Frames(clip, c1, stop))
    return pieces


def _why_not_copy(clips: Sequence[_Clip]) -> str:
    """Why these clips cannot share one copied stream, or ``""`` when they can."""
    first = clips[0]
    for clip in clips:
        if clip.b_frames:
            return f"{clip.path.name} has B-frames"
        if (clip.codec, clip.extradata) != (first.codec, first.extradata):
            return f"{clip.path.name} was encoded differently from {first.path.name}"
    return ""


def _check_shapes(clips: Sequence[_Clip], what: str) -> None:
    first = clips[0]
    for clip in clips[1:]:
        if (clip.width, clip.height, clip.fps) != (first.width, first.height, first.fps):
            raise StitchError(
                f"{what} {clip.path} is {clip.width}x{clip.height} at {float(clip.fps):g} fps "
                f"but {first.path} is {first.width}x{first.height} at {float(first.fps):g} fps; "
                f"render them at one size and frame rate"
            )


# --- assembly -------------------------------------------------------------------------


class _HeadersDiffer(Exception):
    """A re-encoded span's stream headers differ from the copied packets' headers."""


def _runs(pieces: Sequence[_Piece]) -> list[_Copy | list[_Frames | _Blend]]:
    """Group consecutive re-encoded pieces: each group becomes one encoded span."""
    runs: list[_Copy | list[_Frames | _Blend]] = []
    for piece in pieces:
        if isinstance(piece, _Copy):
            runs.append(piece)
        elif runs and isinstance(runs[-1], list):
            runs[-1].append(piece)
        else:
            runs.append([piece])
    return runs


def _encode_span(group: Sequence[_Frames | _Blend], path: Path, fps: int, size: tuple[int, int],
                 encoder: EncoderSettings) -> _Copy:  # fmt: skip
    """Encode a group of pieces into one span file; return it as a whole-file copy."""
    with VideoWriter(path, width=size[0], height=size[1], fps=fps, settings=encoder) as out:
        for piece in group:
            for frame in piece.frames():
                out.write(frame)
        written = out.frames_written
    expected = sum(len(p) for p in group)
    if written != expected:
        raise StitchError(f"decoded {written} frames where {expected} were expected; "
                          f"an input is truncated or corrupt")  # fmt: skip
    return _Copy(_Clip.open(path, "re-encoded span"), 0, written)


def _copy_packets(run: _Copy, sink: av.container.OutputContainer, stream: av.VideoStream,
                  first: int, tick: Fraction) -> int:  # fmt: skip
    """Mux packets ``run.a .. run.b-1`` as output frames ``first, first + 1, ...``."""
    clip, a, b = run.clip, run.a, run.b
    count = 0
    with av.open(str(clip.path)) as container:
        video = container.streams.video[0]
        if a > 1:  # `a` is a keyframe: start reading there instead of at the top
            container.seek(clip.pts(a), stream=video, backward=True)
        for packet in container.demux(video):
            if not packet.size or packet.pts is None:
                continue
            i = clip.index(packet.pts)
            if i >= b:
                break
            if i < a:
                continue
            packet.pts = packet.dts = first + i - a  # no B-frames: dts == pts
            packet.time_base, packet.duration = tick, 1
            packet.stream = stream
            sink.mux(packet)
            count += 1
    if count != b - a:
        raise StitchError(f"{clip.path} has {count} of the {b - a} frames expected from "
                          f"frame {a}; it is truncated or corrupt")  # fmt: skip
    return count


def _assemble(pieces: Sequence[_Piece], out: Path, encoder: EncoderSettings) -> int:
    """Write ``pieces`` in order to ``out`` (atomically). Returns the frame count.

    Re-encoded groups are encoded first, each into a span file, so that assembly is
    only packet copying: every run must then share the first run's stream headers.

    Raises:
        _HeadersDiffer: a re-encoded span cannot share the copied packets' stream.
        StitchError: an input is shorter than it claimed.
    """
    first_clip = next(p.first if isinstance(p, _Blend) else p.clip for p in pieces)
    fps = round(first_clip.fps)  # the encoder takes whole rates; muxing uses the exact one
    size = (first_clip.width, first_clip.height)
    out.parent.mkdir(parents=True, exist_ok=True)
    with temporary_folder(out.parent, tag="stitch") as work:
        copies: list[_Copy] = []
        for n, run in enumerate(_runs(pieces)):
            if isinstance(run, _Copy):
                copies.append(run)
            else:
                span = Path(work) / f"span{n:04d}.mp4"
                copies.append(_encode_span(run, span, fps, size, encoder))
        template = copies[0].clip
        for run in copies:
            if run.clip.extradata != template.extradata:
                raise _HeadersDiffer(f"{run.clip.path.name} vs {template.path.name}")
        tmp = temporary_path(out)
        written = 0
        try:
            with av.open(str(template.path)) as source, av.open(str(tmp), "w", format="mp4") as sink:
                stream = sink.add_stream_from_template(source.streams.video[0])
                for run in copies:
                    written += _copy_packets(run, sink, stream, written, 1 / first_clip.fps)
            crash_point(out.name)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return written


def _recoded(pieces: Sequence[_Piece]) -> list[_Piece]:
    return [_Frames(p.clip, p.a, p.b) if isinstance(p, _Copy) else p for p in pieces]


def _build(pieces: list[_Piece], out: Path, encoder: EncoderSettings, reason: str) -> int:
    """Assemble, copying where the plan allows; fall back to re-encoding everything."""
    if not reason:
        try:
            return _assemble(pieces, out, encoder)
        except _HeadersDiffer as exc:
            reason = f"a re-encoded span does not match the copied stream ({exc})"
    logger.warning("re-encoding all of %s: %s", out.name, reason)
    return _assemble(_recoded(pieces), out, encoder)


# --- public API -----------------------------------------------------------------------


def stitch_scene(
    segment_videos: Sequence[tuple[Path, bool]],
    out: Path,
    *,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Path:
    """Join a scene's segments, in order, by stream copy, dropping each seam duplicate.

    Args:
        segment_videos: ``(video, leading_duplicate)`` per segment, in order. With
            ``leading_duplicate`` the segment's frame 0 repeats the previous segment's last
            frame and is dropped.
        out: The scene video to write (atomically; its folder is created).
        encoder: Settings for the frames that must be re-encoded (normally none).

    Returns:
        ``out``, with ``sum(frames - leading_duplicate)`` frames at the segments' rate.

    Raises:
        StitchError: no segments; a segment missing, unreadable, truncated or empty; or
            segments of different sizes or frame rates.
    """
    if not segment_videos:
        raise StitchError(f"no segments to stitch into {out}")
    clips = [_Clip.open(path, f"segment {n}") for n, (path, _) in enumerate(segment_videos, 1)]
    _check_shapes(clips, "segment")
    reason = _why_not_copy(clips)
    pieces: list[_Piece] = []
    for clip, (_, leading_duplicate) in zip(clips, segment_videos, strict=True):
        start = 1 if leading_duplicate else 0
        if start >= clip.frames:
            raise StitchError(f"segment {clip.path} has only its duplicated seam frame")
        pieces += _own_range(clip, start, clip.frames, copy=not reason)
    frames = _build(pieces, Path(out), encoder, reason)
    logger.info("stitched %d segments into %s (%d frames)", len(clips), out, frames)
    return Path(out)


def stitch_episode(
    scenes: Sequence[SceneClip],
    out: Path,
    *,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Path:
    """Join scenes with their transitions; re-encode only around non-cut transitions.

    A ``cut`` is a stream copy. A ``fade``, ``dissolve`` or ``wipe`` of ``d`` frames
    (``round(transition_seconds * fps)``) overlaps the two scenes: the output has
    ``sum(scene frames) - sum(d)`` frames.

    Args:
        scenes: The scenes in order; each carries the transition to the next one.
        out: The episode video to write (atomically; its folder is created).
        encoder: Settings for the re-encoded transition spans.

    Returns:
        ``out``.

    Raises:
        StitchError: no scenes; an unknown transition or a negative length; a scene
            missing, unreadable or truncated; scenes of different sizes or frame rates;
            or transitions longer than the scene they overlap.
    """
    if not scenes:
        raise StitchError(f"no scenes to stitch into {out}")
    for n, scene in enumerate(scenes[:-1], 1):
        if scene.transition_to_next not in TRANSITIONS:
            raise StitchError(f"scene {n} ({scene.path.name}): unknown transition "
                              f"{scene.transition_to_next!r}; use one of {', '.join(TRANSITIONS)}",
                              scene=n)  # fmt: skip
        if scene.transition_seconds < 0:
            raise StitchError(f"scene {n}: transition_seconds must be >= 0, "
                              f"got {scene.transition_seconds}", scene=n)  # fmt: skip
    clips = [_Clip.open(s.path, f"scene {n}") for n, s in enumerate(scenes, 1)]
    _check_shapes(clips, "scene")
    fps = float(clips[0].fps)
    overlaps = [
        0 if s.transition_to_next == "cut" else round(s.transition_seconds * fps)
        for s in scenes[:-1]
    ] + [0]
    reason = _why_not_copy(clips)
    pieces: list[_Piece] = []
    for n, clip in enumerate(clips):
        d_in = overlaps[n - 1] if n else 0
        d_out = overlaps[n]
        if d_in + d_out > clip.frames:
            raise StitchError(f"scene {n + 1} ({clip.path.name}) has {clip.frames} frames, fewer "
                              f"than its transitions overlap ({d_in} + {d_out}); shorten them",
                              scene=n + 1)  # fmt: skip
        if d_in:
            pieces.append(_Blend(clips[n - 1], clip, d_in, scenes[n - 1].transition_to_next))
        pieces += _own_range(clip, d_in, clip.frames - d_out, copy=not reason)
    frames = _build(pieces, Path(out), encoder, reason)
    logger.info("stitched %d scenes into %s (%d frames)", len(clips), out, frames)
    return Path(out)
