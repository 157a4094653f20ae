"""studio._video: the H.264 writer, probing, frame iteration and lossless PNGs."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from studio._exceptions import AnalysisError
from studio._video import (
    DEFAULT_ENCODER,
    VideoWriter,
    iter_frames,
    probe,
    read_image,
    temporary_path,
    write_png,
)

W, H, FPS = 64, 48, 12


def _frames(n: int) -> list[np.ndarray]:
    """Smooth, distinct frames: a gradient that slides one pixel per frame."""
    x = np.arange(W, dtype=np.float32)
    out = []
    for i in range(n):
        row = (np.sin((x + i) / 9.0) * 100 + 128).astype(np.uint8)
        frame = np.stack([np.tile(row, (H, 1))] * 3, axis=2).copy()
        frame[..., 1] = 90
        out.append(frame)
    return out


def _write(path: Path, frames: list[np.ndarray], keyframes: frozenset[int] = frozenset()) -> Path:
    with VideoWriter(path, width=W, height=H, fps=FPS) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, keyframe=i in keyframes)
    return path


def _keyframes(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    return [i for i, p in enumerate(packets) if p.is_keyframe]


def test_round_trip_probe_and_frames(tmp_path: Path) -> None:
    frames = _frames(10)
    path = _write(tmp_path / "a.mp4", frames)
    info = probe(path)
    assert (info.frames, info.fps, info.width, info.height, info.codec) == (10, FPS, W, H, "h264")
    assert info.duration == pytest.approx(10 / FPS)
    decoded = list(iter_frames(path))
    assert len(decoded) == 10
    for original, got in zip(frames, decoded, strict=True):
        assert got.shape == (H, W, 3) and got.dtype == np.uint8
        assert np.abs(original.astype(int) - got).mean() < 4  # lossy, but close


def test_iter_frames_gray_and_resize(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.mp4", _frames(3))
    gray = list(iter_frames(path, gray=True))
    assert [g.shape for g in gray] == [(H, W)] * 3
    small = next(iter(iter_frames(path, size=(32, 24))))
    assert small.shape == (24, 32, 3)


def test_forced_keyframes_and_gop(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.mp4", _frames(30), keyframes=frozenset({1}))
    gop = DEFAULT_ENCODER.gop_frames(FPS)
    # Frame 0 always; frame 1 forced; then every `gop` frames counted from the last one.
    assert _keyframes(path) == [0, 1, 1 + gop, 1 + 2 * gop]


def test_same_settings_give_identical_stream_headers(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.mp4", _frames(5))
    b = _write(tmp_path / "b.mp4", [255 - f for f in _frames(8)])
    with av.open(str(a)) as ca, av.open(str(b)) as cb:
        assert ca.streams.video[0].codec_context.extradata
        assert ca.streams.video[0].codec_context.extradata == cb.streams.video[0].codec_context.extradata


def test_writer_is_atomic(tmp_path: Path) -> None:
    final = tmp_path / "a.mp4"
    with pytest.raises(KeyError), VideoWriter(final, width=W, height=H, fps=FPS) as writer:
        for frame in _frames(40):  # enough to get past the encoder's lookahead
            writer.write(frame)
        assert temporary_path(final).exists() and not final.exists()
        raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        VideoWriter(tmp_path / "a.mp4", width=63, height=48, fps=FPS)
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "a.mp4", width=W, height=H, fps=0)
    writer = VideoWriter(tmp_path / "a.mp4", width=W, height=H, fps=FPS)
    with pytest.raises(ValueError, match="shape"):
        writer.write(np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError, match="no frames"):
        writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(_frames(1)[0])
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_videos(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="not found"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(AnalysisError, match="not found"):
        list(iter_frames(tmp_path / "nope.mp4"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"definitely not a video" * 50)
    with pytest.raises(AnalysisError):
        probe(junk)
    with pytest.raises(AnalysisError):
        list(iter_frames(junk))


def test_png_round_trip_is_lossless(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    path = write_png(tmp_path / "f.png", image)
    assert np.array_equal(read_image(path), image)
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]  # no temporary left behind


def test_png_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "f.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(AnalysisError, match="not found"):
        read_image(tmp_path / "missing.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG but not really")
    with pytest.raises(AnalysisError, match="cannot read"):
        read_image(bad)
