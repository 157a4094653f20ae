"""Animatic backend speed: frames per second at 768x512 and the realtime factor at 24 fps.

Renders a 4 s segment (96 frames, three characters drawn from their sheets: a runner
crossing the frame, a speaker, a nine-tailed fox; a rooftop by the harbour at night in
the rain, a medium shot with a dolly, dialogue) a few times, end to end: scene
rendering, H.264 encoding and the two lossless PNGs. Prints the best run, plus the
rendering alone and the rendering of the same shot with nobody in it (the baseline), so
the split between place, cast and encoding is visible. The machine's load shows in the
numbers: run it a few times.

Run: ``.venv/bin/python benchmarks/bench_animatic.py``
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from studio.backends import CharacterInShot, DialogueLine, SceneContext, SegmentRequest
from studio.backends._animatic import render_segment
from studio.backends._animatic_render import plan_scene, render_frame

WIDTH, HEIGHT, FPS, SECONDS, RUNS = 768, 512, 24, 4.0, 3

SCENE = SceneContext(
    project="bench",
    episode=1,
    scene=1,
    title="Rooftop",
    location="harbour rooftops",
    time_of_day="night",
    weather="light rain",
    lighting="neon signs",
    camera_angle="medium",
    camera_movement="dolly",
    characters=(
        CharacterInShot("Aiko", ("#e63946", "#1d3557"), position="left", facing="right",
                        hair="long black", action="runs across the roof"),
        CharacterInShot("Ren", ("#2a9d8f",), position="right", facing="left", action="waving",
                        hair="spiky blond"),
        CharacterInShot("Hoshi", ("#f1faee",), position="center", description="a white fox, nine tails"),
    ),
    dialogue=(DialogueLine("Aiko", "We made it before the bell."), DialogueLine("Ren", "Now what?")),
    actions=("they run to the edge", "Ren points at the harbour"),
    duration_seconds=12.0,
)


def main() -> None:
    frames = round(SECONDS * FPS)
    with tempfile.TemporaryDirectory() as tmp:
        request = SegmentRequest(
            scene=SCENE, segment_number=1, segment_count=1, prompt="", negative_prompt="",
            seed=0, duration_seconds=SECONDS, fps=FPS, width=WIDTH, height=HEIGHT,
            output_dir=Path(tmp), time_offset=4.0,
        )  # fmt: skip
        render_segment(request)  # warm-up: plans the scene, loads the codec
        best = min(_timed(lambda: render_segment(request)) for _ in range(RUNS))
        cpu = min(_cpu(lambda: render_segment(request)) for _ in range(RUNS))
    plan = plan_scene(SCENE, WIDTH, HEIGHT)
    draw = min(
        _timed(lambda: [render_frame(plan, 4.0 + i / FPS) for i in range(frames)])
        for _ in range(RUNS)
    )
    # Baseline: the same place, camera and captions with nobody in it.
    empty = plan_scene(dataclasses.replace(SCENE, characters=()), WIDTH, HEIGHT)
    bare = min(
        _timed(lambda: [render_frame(empty, 4.0 + i / FPS) for i in range(frames)])
        for _ in range(RUNS)
    )
    fps = frames / best
    print(f"animatic {WIDTH}x{HEIGHT}, {frames} frames ({SECONDS:g} s at {FPS} fps), best of {RUNS}")
    print(f"  end to end (render + H.264 + PNGs): {best:.3f} s  -> {fps:.1f} frames/s")
    print(f"  rendering only:                     {draw:.3f} s  -> {frames / draw:.1f} frames/s")
    print(f"  rendering without the cast:         {bare:.3f} s  -> the cast costs {draw / bare:.2f}x")
    print(f"  realtime factor at {FPS} fps: {fps / FPS:.2f}x")
    # On a shared machine the wall clock shows the load; the CPU time (all threads) does
    # not, and bounds what two free cores would do.
    bound = SECONDS / (cpu / 2)
    print(f"  CPU time end to end (all threads):  {cpu:.3f} s  -> at most {bound:.2f}x realtime on 2 cores")


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
