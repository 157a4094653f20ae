"""studio.render._stitch: scenes by stream copy, episodes with transitions, and their errors."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import av
import numpy as np
import pytest

from studio._exceptions import RenderError
from studio._video import EncoderSettings, VideoWriter, iter_frames, probe
from studio.backends import CharacterInShot, SceneContext, SegmentRequest
from studio.backends._animatic import render_segment
from studio.render._stitch import SceneClip, StitchError, stitch_episode, stitch_scene

W, H, FPS = 128, 96, 12

SCENE = SceneContext(
    project="demo", episode=1, scene=1, location="city street", time_of_day="day",
    camera_movement="pan", duration_seconds=3.0,
    characters=(CharacterInShot("Aiko", ("#e63946",)),),
)  # fmt: skip


def _chain(folder: Path, scene: SceneContext = SCENE, count: int = 3) -> list[tuple[Path, bool]]:
    """A scene's segments as the pipeline makes them: 1 s each, chained by last frame."""
    out: list[tuple[Path, bool]] = []
    start = None
    for n in range(count):
        request = SegmentRequest(
            scene=scene, segment_number=n + 1, segment_count=count, prompt="",
            negative_prompt="", seed=n, duration_seconds=1.0, fps=FPS, width=W, height=H,
            output_dir=folder, start_image=start, time_offset=float(n),
        )  # fmt: skip
        result = render_segment(request)
        out.append((result.video_path, result.leading_duplicate))
        start = result.last_frame_path
    return out


def _clip(path: Path, color: tuple[int, int, int], frames: int, **writer: object) -> Path:
    """A synthetic scene: a flat colour with a bar sliding across, so frames differ."""
    with VideoWriter(path, width=W, height=H, fps=FPS, **writer) as out:  # type: ignore[arg-type]
        for i in range(frames):
            image = np.full((H, W, 3), color, np.uint8)
            image[:, (i * 5) % W : (i * 5) % W + 6] = 255
            out.write(image)
    return path


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, bool]]:
    return _chain(tmp_path_factory.mktemp("segments"))


@pytest.fixture(scope="module")
def red_blue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("scenes")
    return _clip(folder / "red.mp4", (200, 30, 30), 36), _clip(folder / "blue.mp4", (30, 30, 200), 36)


# --- scenes ---------------------------------------------------------------------------


def test_scene_is_a_stream_copy_without_seam_duplicates(
    segments: list[tuple[Path, bool]], tmp_path: Path
) -> None:
    out = stitch_scene(segments, tmp_path / "scene.mp4")
    info = probe(out)
    assert (info.frames, info.fps, info.width, info.height) == (36, FPS, W, H)
    assert info.duration == pytest.approx(3.0, abs=1 / FPS)
    expected: list[bytes] = []
    for path, leading_duplicate in segments:
        expected += _packets(path)[1 if leading_duplicate else 0 :]
    assert _packets(out) == expected  # the very same compressed frames: nothing re-encoded
    assert [p.name for p in tmp_path.iterdir()] == ["scene.mp4"]  # no temporary left


def test_scene_frames_decode_like_the_segments(
    segments: list[tuple[Path, bool]], tmp_path: Path
) -> None:
    out = stitch_scene(segments, tmp_path / "scene.mp4")
    expected = []
    for path, leading_duplicate in segments:
        expected += list(iter_frames(path))[1 if leading_duplicate else 0 :]
    got = list(iter_frames(out))
    assert len(got) == len(expected) == 36
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def test_scene_re_encodes_only_a_first_gop_that_is_not_a_keyframe(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = _clip(tmp_path / "a.mp4", (90, 160, 40), 12)
    second = _clip(tmp_path / "b.mp4", (90, 160, 40), 30)  # frame 1 is not a keyframe
    with caplog.at_level(logging.INFO, logger="studio.stitch"):
        out = stitch_scene([(first, False), (second, True)], tmp_path / "scene.mp4")
    assert "not a keyframe" in caplog.text and "re-encoding all" not in caplog.text
    assert probe(out).frames == 12 + 29
    # Only the frames up to the second segment's next keyframe (frame 12) were re-encoded.
    assert _packets(out)[:12] == _packets(first)
    assert _packets(out)[12 + 11 :] == _packets(second)[12:]


def test_scene_from_another_encoder_is_re_encoded_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = _clip(tmp_path / "a.mp4", (90, 160, 40), 12)
    other = EncoderSettings(preset="ultrafast")  # different stream headers
    second = _clip(tmp_path / "b.mp4", (90, 160, 40), 12, settings=other)
    with caplog.at_level(logging.WARNING, logger="studio.stitch"):
        out = stitch_scene([(first, False), (second, False)], tmp_path / "scene.mp4")
    assert "re-encoding all" in caplog.text
    assert probe(out).frames == 24 and len(list(iter_frames(out))) == 24


def test_scene_errors(tmp_path: Path, segments: list[tuple[Path, bool]]) -> None:
    with pytest.raises(StitchError, match="no segments"):
        stitch_scene([], tmp_path / "x.mp4")
    with pytest.raises(StitchError, match="not found"):
        stitch_scene([(tmp_path / "missing.mp4", False)], tmp_path / "x.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(StitchError, match="cannot read"):
        stitch_scene([segments[0], (junk, True)], tmp_path / "x.mp4")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(segments[1][0].read_bytes()[:-2000])  # the index is at the end
    with pytest.raises(StitchError):
        stitch_scene([segments[0], (truncated, True)], tmp_path / "x.mp4")
    big = tmp_path / "big.mp4"
    with VideoWriter(big, width=W * 2, height=H, fps=FPS) as out:
        out.write(np.zeros((H, W * 2, 3), np.uint8))
    with pytest.raises(StitchError, match="one size and frame rate"):
        stitch_scene([segments[0], (big, False)], tmp_path / "x.mp4")
    lone = _clip(tmp_path / "lone.mp4", (0, 0, 0), 1)
    with pytest.raises(StitchError, match="only its duplicated seam frame"):
        stitch_scene([segments[0], (lone, True)], tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    assert issubclass(StitchError, RenderError)


# --- episodes -------------------------------------------------------------------------


def test_cut_episode_duration_is_the_sum_of_its_scenes(
    segments: list[tuple[Path, bool]], red_blue: tuple[Path, Path], tmp_path: Path
) -> None:
    scene = stitch_scene(segments, tmp_path / "scene.mp4")
    red, blue = red_blue
    clips = [SceneClip(scene), SceneClip(red, "cut"), SceneClip(blue, "cut", 2.0)]
    out = stitch_episode(clips, tmp_path / "episode.mp4")
    info = probe(out)
    total = sum(probe(c.path).duration for c in clips)
    assert abs(info.duration - total) <= 1 / FPS
    assert (info.frames, info.fps) == (36 * 3, FPS)
    assert _packets(out) == _packets(scene) + _packets(red) + _packets(blue)


def _typical(region: np.ndarray) -> np.ndarray:
    """The typical colour of a region: the median ignores the sliding white bar."""
    return np.median(region.reshape(-1, 3), axis=0)


@pytest.mark.parametrize("kind", ["fade", "dissolve", "wipe"])
def test_transitions_overlap_and_re_encode_only_their_span(
    kind: str, red_blue: tuple[Path, Path], tmp_path: Path
) -> None:
    red, blue = red_blue
    out = stitch_episode([SceneClip(red, kind, 0.5), SceneClip(blue)], tmp_path / "ep.mp4")
    d = 6  # 0.5 s at 12 fps
    info = probe(out)
    assert info.frames == 36 + 36 - d
    assert info.duration == pytest.approx((72 - d) / FPS)
    frames = list(iter_frames(out))
    assert len(frames) == 72 - d
    # Copied around the span: red up to its last keyframe before the span (frame 24,
    # one-second GOPs), blue from its first keyframe after the span (frame 12).
    packets = _packets(out)
    assert packets[:24] == _packets(red)[:24]
    assert packets[-(36 - 12) :] == _packets(blue)[12:]
    middle = frames[36 - d + d // 2 - 1]  # alpha = 3/7 of the way from red to blue
    red_px, blue_px = np.array([200, 30, 30]), np.array([30, 30, 200])
    if kind == "dissolve":
        expected = red_px * 4 / 7 + blue_px * 3 / 7
        assert np.abs(_typical(middle) - expected).max() < 12
    elif kind == "fade":
        assert _typical(middle).max() < 40  # near black at the middle of a fade
    else:
        left, right = _typical(middle[:, :30]), _typical(middle[:, -30:])
        assert np.abs(left - blue_px).max() < 12 and np.abs(right - red_px).max() < 12


def test_short_middle_scene_with_transitions_on_both_sides(
    red_blue: tuple[Path, Path], tmp_path: Path
) -> None:
    red, blue = red_blue
    green = _clip(tmp_path / "green.mp4", (30, 200, 30), 10)
    clips = [SceneClip(red, "dissolve", 0.25), SceneClip(green, "wipe", 0.25), SceneClip(blue)]
    out = stitch_episode(clips, tmp_path / "ep.mp4")
    assert probe(out).frames == 36 + 10 + 36 - 3 - 3
    assert len(list(iter_frames(out))) == 76


def test_a_zero_length_transition_is_a_cut(red_blue: tuple[Path, Path], tmp_path: Path) -> None:
    red, blue = red_blue
    out = stitch_episode([SceneClip(red, "dissolve", 0.01), SceneClip(blue)], tmp_path / "e.mp4")
    assert _packets(out) == _packets(red) + _packets(blue)


def test_episode_errors(red_blue: tuple[Path, Path], tmp_path: Path) -> None:
    red, blue = red_blue
    with pytest.raises(StitchError, match="no scenes"):
        stitch_episode([], tmp_path / "e.mp4")
    with pytest.raises(StitchError, match="unknown transition 'spin'.*cut, fade") as info:
        stitch_episode([SceneClip(red, "spin", 1.0), SceneClip(blue)], tmp_path / "e.mp4")
    assert info.value.scene == 1
    with pytest.raises(StitchError, match=">= 0"):
        stitch_episode([SceneClip(red, "fade", -1.0), SceneClip(blue)], tmp_path / "e.mp4")
    with pytest.raises(StitchError, match="fewer than its transitions"):
        stitch_episode([SceneClip(red, "fade", 4.0), SceneClip(blue)], tmp_path / "e.mp4")
    with pytest.raises(StitchError, match="not found"):
        stitch_episode([SceneClip(red, "cut"), SceneClip(tmp_path / "gone.mp4")], tmp_path / "e.mp4")
    assert not (tmp_path / "e.mp4").exists()
    # The last scene's transition leads nowhere and is not checked.
    last = dataclasses.replace(SceneClip(blue), transition_to_next="whatever")
    assert probe(stitch_episode([SceneClip(red), last], tmp_path / "e.mp4")).frames == 72
