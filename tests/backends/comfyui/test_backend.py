"""The comfyui backend and the server pool, end to end against fake servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio._config import load_settings
from studio._exceptions import BackendError
from studio._video import probe, read_image, write_png
from studio.backends import (
    CharacterInShot,
    ProgressEvent,
    SceneContext,
    SegmentRequest,
    create_backend,
)
from studio.backends.comfyui import ComfyConnectionError, PreflightError
from studio.backends.comfyui._backend import ComfyBackend
from studio.backends.comfyui._pool import ComfyPool
from tests.backends.comfyui.conftest import FAST_RETRY, TEST_TIMEOUTS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer

SCENE = SceneContext(project="demo", episode=1, scene=2, description="a girl waves at sunset")


def request(home: Path, number: int = 1, *, start: Path | None = None, seconds: float = 0.5,
            fps: int = 16, size: tuple[int, int] = (64, 48), **params: Any) -> SegmentRequest:
    return SegmentRequest(scene=params.pop("scene", SCENE), segment_number=number,
                          segment_count=9, prompt="she waves", negative_prompt="blurry",
                          seed=1234 + number, duration_seconds=seconds, fps=fps,
                          width=size[0], height=size[1], output_dir=home / "renders" / "s2",
                          start_image=start, parameters=params)


def start_png(home: Path, color: tuple[int, int, int] = (200, 40, 90)) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:] = color
    image[10:20, 10:30] = (255, 255, 255)
    return write_png(home / "start.png", image)


def backend(servers: list[FakeServer], home: Path, template: str = "smoke_i2v",
            **pool_args: Any) -> ComfyBackend:
    pool = ComfyPool([s.url for s in servers], timeouts=TEST_TIMEOUTS, retry=FAST_RETRY,
                     health_interval=None, **pool_args)
    return ComfyBackend([], home=home, template=template, pool=pool)


def generate(b: ComfyBackend, *requests: SegmentRequest) -> tuple[list[Any], list[ProgressEvent]]:
    events: list[ProgressEvent] = []

    async def main() -> list[Any]:
        try:
            return list(await asyncio.gather(*(b.generate(r, events.append) for r in requests)))
        finally:
            await b.aclose()

    return asyncio.run(main()), events


def test_smoke_template_segment_follows_the_seam_convention(comfy: FakeServer,
                                                            tmp_path: Path) -> None:
    home = tmp_path / "home"
    start = start_png(home)
    (result,), events = generate(backend([comfy], home), request(home, start=start))
    assert result.leading_duplicate and result.frame_count == 8 + 1
    assert probe(result.video_path).frames == 9
    assert result.video_path == home / "renders" / "s2" / "segment_001.mp4"
    assert np.array_equal(read_image(result.last_frame_path).shape, (48, 64, 3))
    first = read_image(result.first_frame_path).astype(int)
    assert np.abs(first - read_image(start).astype(int)).mean() < 8  # lossy video frame 0
    assert result.metadata["server"] == comfy.url and result.metadata["template"] == "smoke_i2v"
    assert events[-1].fraction == 1.0
    assert [e.fraction for e in events] == sorted(e.fraction for e in events)


def test_missing_start_image_is_made_by_the_keyframe_template(comfy: FakeServer,
                                                              tmp_path: Path) -> None:
    home = tmp_path / "home"
    (result,), events = generate(backend([comfy], home), request(home))
    keyframe = home / "renders" / "s2" / "segment_001_keyframe.png"
    assert keyframe.is_file() and result.leading_duplicate
    assert any("smoke_keyframe" in e.message for e in events)
    assert len(comfy.fake.posted) == 2


def test_framepack_rounds_to_sections_and_reports_sampler_steps(comfy: FakeServer,
                                                                tmp_path: Path) -> None:
    home = tmp_path / "home"
    comfy.behaviour.steps = 5
    req = request(home, start=start_png(home), seconds=1.0, fps=30, size=(64, 48))
    (result,), events = generate(backend([comfy], home, "framepack_i2v"), req)
    assert result.frame_count == 37 and result.metadata["planned_frames"] == 36
    assert any("rounded from 30 to 36 frames" in n for n in result.metadata["notes"])
    steps = [e for e in events if "step" in e.message]
    assert [e.message.rsplit(" ", 1)[1] for e in steps] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    assert comfy.fake.free_calls == []


def test_free_between_model_families(comfy: FakeServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    start = start_png(home)
    b = backend([comfy], home, "framepack_i2v")

    async def main() -> None:
        try:
            await b.generate(request(home, start=start, seconds=1.2, fps=30), lambda e: None)
            await b.generate(request(home, 2, start=start, template="wan22_i2v"), lambda e: None)
            await b.generate(request(home, 3, start=start, template="wan22_i2v"), lambda e: None)
        finally:
            await b.aclose()

    asyncio.run(main())
    assert comfy.fake.free_calls == [{"unload_models": True, "free_memory": True}]


def test_preflight_problems_come_together_before_anything_is_queued(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    servers = [make_server(models={"loras": ["hero_sd15.safetensors"]}, packs=("core",))
               for _ in range(2)]
    home = tmp_path / "home"
    req = request(home, start=start_png(home), lora="hero_sd15.safetensors")
    with pytest.raises(PreflightError) as caught:
        generate(backend(servers, home, "wan22_i2v"), req)
    kinds = {p.kind for p in caught.value.problems}
    assert kinds == {"missing_model", "lora_family"}
    assert all(s.fake.posted == [] for s in servers)


def test_an_explicit_lora_of_another_family_is_refused(comfy: FakeServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    req = request(home, start=start_png(home), seconds=1.2, fps=30,
                  lora="hero_illustrious.safetensors", lora_family="sdxl")
    with pytest.raises(PreflightError, match="is for sdxl, but this template runs hunyuan_video"):
        generate(backend([comfy], home, "framepack_i2v"), req)
    assert comfy.fake.posted == []  # nothing was queued


def test_a_character_lora_of_another_family_is_skipped_with_a_note(comfy: FakeServer,
                                                                   tmp_path: Path) -> None:
    home = tmp_path / "home"
    hero = CharacterInShot(name="Hero", lora="hero_illustrious.safetensors", lora_family="sdxl")
    video = CharacterInShot(name="Kid", lora="hero_hunyuan.safetensors", lora_family="hunyuan_video")
    scene = SceneContext(project="demo", episode=1, scene=2, characters=(hero, video))
    req = request(home, start=start_png(home), seconds=1.2, fps=30, scene=scene)
    [result], _ = generate(backend([comfy], home, "framepack_i2v"), req)
    assert result.metadata["lora"] == "hero_hunyuan.safetensors"
    assert any("hero_illustrious.safetensors of Hero not used: it is for sdxl" in note
               for note in result.metadata["notes"])


def test_output_outside_the_home_is_refused(comfy: FakeServer, tmp_path: Path) -> None:
    req = request(tmp_path / "elsewhere")
    with pytest.raises(BackendError, match="outside the studio home"):
        generate(backend([comfy], tmp_path / "home"), req)


def test_execution_error_surfaces_with_node_and_server(comfy: FakeServer, tmp_path: Path) -> None:
    comfy.behaviour.fail_class = "RepeatImageBatch"
    home = tmp_path / "home"
    with pytest.raises(BackendError, match=r"node 3 \(RepeatImageBatch\).*CUDA out of memory"):
        generate(backend([comfy], home), request(home, start=start_png(home)))


def test_jobs_are_spread_over_the_servers(make_server: Callable[..., FakeServer],
                                          tmp_path: Path) -> None:
    servers = [make_server(behaviour=Behaviour(run_seconds=0.1)) for _ in range(3)]
    home = tmp_path / "home"
    start = start_png(home)
    reqs = [request(home, n, start=start) for n in range(1, 7)]
    results, _ = generate(backend(servers, home), *reqs)
    assert [len(s.fake.posted) for s in servers] == [2, 2, 2]
    assert len({r.video_path for r in results}) == 6


def test_a_server_killed_mid_job_fails_over_with_one_result_per_segment(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    doomed = make_server(behaviour=Behaviour(run_seconds=0.2, steps=4, crash_at_step=2))
    healthy = make_server(behaviour=Behaviour(run_seconds=0.05))
    home = tmp_path / "home"
    start = start_png(home)
    reqs = [request(home, n, start=start) for n in range(1, 5)]
    results, _ = generate(backend([doomed, healthy], home), *reqs)
    assert not doomed.fake.alive
    assert doomed.fake.executed and len(doomed.fake.posted) == 2
    assert len(healthy.fake.executed) == 4  # both of the dead server's jobs re-ran here
    videos = sorted(p.name for p in (home / "renders" / "s2").glob("*.mp4"))
    assert videos == [f"segment_00{n}.mp4" for n in range(1, 5)]
    assert [r.metadata["server"] for r in results] == [healthy.url] * 4
    assert [probe(r.video_path).frames for r in results] == [9] * 4


def test_no_server_left_is_a_clear_error(make_server: Callable[..., FakeServer],
                                         tmp_path: Path) -> None:
    doomed = make_server(behaviour=Behaviour(crash_at_step=1))
    home = tmp_path / "home"
    with pytest.raises(ComfyConnectionError, match="no healthy ComfyUI server left for this "
                       "job after waiting"):
        generate(backend([doomed], home, grace=1.0, probe_delays=(0.05, 0.2)),
                 request(home, start=start_png(home)))


def test_concurrency_limit(make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    servers = [make_server(behaviour=Behaviour(run_seconds=0.05)) for _ in range(2)]
    home = tmp_path / "home"
    start = start_png(home)
    b = backend(servers, home, concurrency=1)
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, b.pool._running)
            await asyncio.sleep(0)

    async def main() -> None:
        watcher = asyncio.create_task(watch())
        try:
            await asyncio.gather(*(b.generate(request(home, n, start=start), lambda e: None)
                                   for n in range(1, 4)))
        finally:
            watcher.cancel()
            await b.aclose()

    asyncio.run(main())
    assert peak == 1


def test_registered_as_comfyui(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, environ={"COMFYUI_URLS": "http://127.0.0.1:9"})
    b = create_backend("comfyui", settings)
    assert b.name == "comfyui" and b.max_segment_seconds == 12.0
    asyncio.run(b.aclose())


def test_the_latest_preview_is_the_segment_thumbnail_while_it_renders(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    server = make_server(behaviour=Behaviour(run_seconds=0.2, steps=4, previews=True))
    home = tmp_path / "home"
    thumbnail = home / "renders" / "s2" / "segment_001_preview.png"
    seen_while_rendering: list[bool] = []
    b = backend([server], home)

    async def main() -> Any:
        def on_event(event: ProgressEvent) -> None:
            if "step" in event.message:
                seen_while_rendering.append(thumbnail.is_file())
        try:
            return await b.generate(request(home, start=start_png(home)), on_event)
        finally:
            await b.aclose()

    asyncio.run(main())
    assert seen_while_rendering and all(seen_while_rendering)
    assert read_image(thumbnail.with_name("segment_001_first.png")).size
    assert not thumbnail.exists()  # the real first frame replaces it once done


def test_both_wan22_samplers_drive_the_progress(comfy: FakeServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    comfy.behaviour.steps = 4
    req = request(home, start=start_png(home), seconds=0.5, fps=16, size=(64, 48))
    (_,), events = generate(backend([comfy], home, "wan22_i2v"), req)
    steps = [e for e in events if " step " in e.message]
    nodes = [e.message.split(" step ")[0] for e in steps]
    assert len(set(nodes)) == 2 and len(steps) == 8  # high- then low-noise sampler
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions)
    first, second = steps[:4], steps[4:]
    assert max(e.fraction for e in first) < min(e.fraction for e in second)
    assert second[-1].fraction > 0.8  # the second half of the bar is the second sampler's
