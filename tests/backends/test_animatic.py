"""The animatic backend: determinism, the seam convention, files, progress, errors."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from studio._exceptions import BackendError
from studio._video import iter_frames, probe, read_image, write_png
from studio.backends import (
    AnimaticBackend,
    Backend,
    CharacterInShot,
    DialogueLine,
    ProgressEvent,
    SceneContext,
    SegmentRequest,
    available_backends,
    create_backend,
    render_still,
)
from studio.backends._animatic import _Cancelled, render_segment

W, H, FPS = 128, 96, 12

SCENE = SceneContext(
    project="demo",
    episode=1,
    scene=3,
    title="Rooftop",
    location="school rooftop",
    time_of_day="sunset",
    lighting="warm",
    camera_movement="pan",
    characters=(
        CharacterInShot("Aiko", ("#e63946", "#1d3557"), position="left", facing="right"),
        CharacterInShot("Ren", ("#2a9d8f",), position="right", facing="left", action="walking"),
    ),
    dialogue=(DialogueLine("Aiko", "We made it."), DialogueLine("Ren", "Now what?")),
    duration_seconds=2.0,
)


def _request(out: Path, number: int = 1, **changes: object) -> SegmentRequest:
    base = SegmentRequest(
        scene=SCENE,
        segment_number=number,
        segment_count=2,
        prompt="two students on a roof",
        negative_prompt="",
        seed=7,
        duration_seconds=1.0,
        fps=FPS,
        width=W,
        height=H,
        output_dir=out,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b).mean())


def test_render_still_is_deterministic_and_moves() -> None:
    a = render_still(SCENE, W, H, 0.5)
    assert a.shape == (H, W, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_still(SCENE, W, H, 0.5))
    assert not np.array_equal(a, render_still(SCENE, W, H, 1.5))
    other = dataclasses.replace(SCENE, location="forest path", time_of_day="night")
    assert _mad(a, render_still(other, W, H, 0.5)) > 10


@pytest.mark.parametrize("move", ["pan", "tilt", "zoom", "dolly"])
def test_camera_moves_change_the_view_more_than_static(move: str) -> None:
    quiet = dataclasses.replace(SCENE, dialogue=(), characters=(), camera_movement="static")
    static = _mad(render_still(quiet, W, H, 0.0), render_still(quiet, W, H, 2.0))
    moving = dataclasses.replace(quiet, camera_movement=move)
    assert static == 0.0  # no figures, no captions: a static camera shows a still picture
    assert _mad(render_still(moving, W, H, 0.0), render_still(moving, W, H, 2.0)) > 1.0


def test_captions_follow_the_dialogue() -> None:
    scene = dataclasses.replace(SCENE, camera_movement="static", characters=())
    early, late = render_still(scene, W, H, 0.2), render_still(scene, W, H, 1.8)
    band = slice(int(H * 0.75), H)
    assert not np.array_equal(early[band], late[band])  # a different line is shown
    assert np.array_equal(early[: H // 2], late[: H // 2])  # and nothing else changed


def test_segment_is_deterministic(tmp_path: Path) -> None:
    a = render_segment(_request(tmp_path / "a"))
    b = render_segment(_request(tmp_path / "b", seed=7))
    assert a.last_frame_path.read_bytes() == b.last_frame_path.read_bytes()
    assert a.first_frame_path.read_bytes() == b.first_frame_path.read_bytes()
    for fa, fb in zip(iter_frames(a.video_path), iter_frames(b.video_path), strict=True):
        assert np.array_equal(fa, fb)


def test_frame_counts_fps_and_files(tmp_path: Path) -> None:
    result = render_segment(_request(tmp_path, number=4, duration_seconds=1.5))
    assert result.frame_count == 18 and not result.leading_duplicate
    assert result.video_path.name == "segment_004.mp4"
    info = probe(result.video_path)
    assert (info.frames, info.fps, info.width, info.height) == (18, FPS, W, H)
    assert info.duration == pytest.approx(1.5)
    assert np.array_equal(read_image(result.first_frame_path), render_still(SCENE, W, H, 0.0))
    assert np.array_equal(read_image(result.last_frame_path), render_still(SCENE, W, H, 17 / FPS))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "segment_004.mp4", "segment_004_first.png", "segment_004_last.png"
    ]  # fmt: skip


def test_seam_is_continuous(tmp_path: Path) -> None:
    first = render_segment(_request(tmp_path, number=1))
    second = render_segment(
        _request(tmp_path, number=2, start_image=first.last_frame_path, time_offset=1.0)
    )
    # The seam frame is the previous last frame, bit for bit, and is the scene at that time.
    assert second.leading_duplicate and second.frame_count == FPS + 1
    assert second.first_frame_path.read_bytes() == first.last_frame_path.read_bytes()
    assert second.metadata["start_image_matched"] is True
    # Chaining changes nothing: the chain ends where one long take would.
    assert np.array_equal(read_image(second.last_frame_path), render_still(SCENE, W, H, 23 / FPS))
    # Across the seam the picture moves as much as one long take would, no more: the
    # decoded step equals the rendered step up to the codec's loss.
    a = list(iter_frames(first.video_path))
    b = list(iter_frames(second.video_path))
    assert len(b) == FPS + 1
    take = _mad(render_still(SCENE, W, H, 11 / FPS), render_still(SCENE, W, H, 12 / FPS))
    assert take > 1.0  # the camera is panning: there is a step to compare
    assert abs(_mad(a[-1], b[1]) - take) < 3.0
    assert _mad(a[-1], b[0]) < 3.0  # the duplicate, up to the codec's loss


def test_frame_one_is_a_keyframe_with_a_leading_duplicate(tmp_path: Path) -> None:
    first = render_segment(_request(tmp_path, number=1))
    second = render_segment(_request(tmp_path, number=2, start_image=first.last_frame_path))
    with av.open(str(second.video_path)) as container:
        flags = [p.is_keyframe for p in container.demux(video=0) if p.size]
    assert flags[:2] == [True, True]


def test_foreign_start_and_end_images_are_met_exactly(tmp_path: Path) -> None:
    start = write_png(tmp_path / "start.png", np.full((H, W, 3), (10, 200, 30), np.uint8))
    end = write_png(tmp_path / "end.png", np.full((H, W, 3), (250, 250, 250), np.uint8))
    result = render_segment(
        _request(tmp_path / "out", start_image=start, end_image=end, duration_seconds=2.0)
    )
    assert result.metadata["start_image_matched"] is False
    assert np.array_equal(read_image(result.first_frame_path), read_image(start))
    assert np.array_equal(read_image(result.last_frame_path), read_image(end))
    frames = list(iter_frames(result.video_path))
    # The correction fades: the middle of the segment is the scene itself (up to the
    # codec's loss, larger at this tiny size right after the jump away from flat colour).
    middle = render_still(SCENE, W, H, 11 / FPS)
    assert _mad(frames[12], middle) < 6.0
    assert _mad(frames[1], read_image(start)) < _mad(frames[1], middle)
    assert max(_mad(x, y) for x, y in zip(frames, frames[1:], strict=False)) < 40


def test_start_image_of_another_size_is_resized(tmp_path: Path) -> None:
    big = write_png(tmp_path / "big.png", render_still(SCENE, W * 2, H * 2, 0.0))
    result = render_segment(_request(tmp_path / "out", start_image=big))
    assert read_image(result.first_frame_path).shape == (H, W, 3)


def test_invalid_requests(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="even"):
        render_segment(_request(tmp_path, width=127))
    with pytest.raises(BackendError, match="duration"):
        render_segment(_request(tmp_path, duration_seconds=0))
    with pytest.raises(BackendError, match="start image") as info:
        render_segment(_request(tmp_path, start_image=tmp_path / "missing.png"))
    assert info.value.backend == "animatic" and not info.value.transient


def test_stopping_leaves_no_files(tmp_path: Path) -> None:
    calls = iter(range(100))
    with pytest.raises(_Cancelled):
        render_segment(_request(tmp_path), should_stop=lambda: next(calls) >= 5)
    assert list(tmp_path.iterdir()) == []


def test_registry_and_async_generate(tmp_path: Path) -> None:
    assert "animatic" in available_backends()
    backend = create_backend("animatic", None)  # type: ignore[arg-type]
    assert isinstance(backend, AnimaticBackend) and isinstance(backend, Backend)
    assert backend.name == "animatic" and backend.max_segment_seconds == 4.0
    events: list[ProgressEvent] = []

    async def scenario() -> None:
        result = await backend.generate(_request(tmp_path), events.append)
        assert result.frame_count == FPS
        await backend.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await backend.generate(_request(tmp_path), events.append)

    asyncio.run(scenario())
    fractions = [e.fraction for e in events]
    assert len(fractions) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0


def test_cancelling_generate_stops_the_render(tmp_path: Path) -> None:
    backend = AnimaticBackend()

    async def scenario() -> None:
        task: asyncio.Task[object]

        def cancel_on_first(event: ProgressEvent) -> None:
            task.cancel()

        request = _request(tmp_path, duration_seconds=4.0)
        task = asyncio.create_task(backend.generate(request, cancel_on_first))
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())  # waits for the worker thread before returning
    assert not any(p.suffix == ".mp4" for p in tmp_path.iterdir())


def test_an_entry_keyframe_starts_the_first_segment_seamlessly(tmp_path: Path) -> None:
    entry = write_png(tmp_path / "entry.png", render_still(SCENE, W, H, -1 / FPS))
    result = render_segment(_request(tmp_path / "out", start_image=entry))
    assert result.metadata["start_image_matched"] is True
    assert result.metadata["scene_time_start"] == pytest.approx(-1 / FPS)
    assert np.array_equal(read_image(result.last_frame_path), render_still(SCENE, W, H, 11 / FPS))
