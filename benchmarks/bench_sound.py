"""Benchmark: what the episode's sound costs, against the render it finishes.

Run: ``.venv/bin/python benchmarks/bench_sound.py [--reps 3]``

Renders the demo episode once on the animatic (in a temporary home, sound included),
then times, ``--reps`` times each:

- stitching the episode (``stitch_episode`` from the scene videos): the baseline, the
  step the sound follows;
- speaking every line with espeak-ng, cold (an empty speech cache);
- the same from the speech cache (a re-render);
- the mix: laying lines and music on the timeline, two-pass ``loudnorm`` to −16 LUFS,
  AAC encoding, subtitles and the mux into the episode mp4.

It prints medians (wall, and CPU including the ffmpeg and espeak-ng children) and
ratios to the stitch, and never asserts anything: timings on a shared 2-core machine
are noisy (the load average is printed alongside).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from studio._config import load_settings
from studio._studio import Studio
from studio.render._pipeline import TRANSITION_SECONDS, render_episode
from studio.render._stitch import SceneClip, stitch_episode
from studio.sound._mix import measure_loudness
from studio.sound._render import finish_sound, speak_episode


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_seconds(work: Callable[[], object], reps: int) -> tuple[float, float]:
    """Median wall and CPU seconds (this process and its ffmpeg/espeak children)."""
    walls, cpus = [], []
    for _ in range(reps):
        began, cpu = time.perf_counter(), cpu_seconds()
        work()
        walls.append(time.perf_counter() - began)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    reps = parser.parse_args().reps
    with tempfile.TemporaryDirectory(prefix="bench-sound-") as folder:
        settings = load_settings(home=Path(folder) / "home", environ={})
        with Studio.open(settings=settings, upgrade=True) as studio:
            studio.import_demo()
            began = time.perf_counter()
            summary = render_episode(studio, episode=1)
            render = time.perf_counter() - began
            from studio.render._prepare import prepare_episode

            briefs = prepare_episode(studio, episode=1)
            clips = [
                SceneClip(
                    Path(s["video"]),
                    b.spec.transition if b is not briefs[-1] else "cut",
                    TRANSITION_SECONDS,
                )
                for b, s in zip(briefs, summary.scenes, strict=True)
            ]
            silent = Path(folder) / "silent.mp4"
            stitch = median_seconds(lambda: stitch_episode(clips, silent), reps)
            cache = settings.home / "cache" / "speech"

            def cold() -> object:
                shutil.rmtree(cache, ignore_errors=True)
                return asyncio.run(speak_episode(studio, episode=1))

            speak_cold = median_seconds(cold, reps)
            speech = asyncio.run(speak_episode(studio, episode=1))
            speak_warm = median_seconds(lambda: asyncio.run(speak_episode(studio, episode=1)), reps)
            target = Path(folder) / "episode.mp4"

            def finish() -> object:
                shutil.copyfile(silent, target)
                return finish_sound(studio, briefs, target, speech, transition_seconds=TRANSITION_SECONDS)

            mix = median_seconds(finish, reps)
            loudness = measure_loudness(target)["input_i"]
    print(f"demo render with sound (once): {render:.2f} s; {len(speech.lines)} lines")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"{'step':<34}{'wall s':>9}{'x stitch':>10}{'CPU s':>9}{'x stitch':>10}")
    for name, (seconds, cpu) in (
        ("stitch the episode (baseline)", stitch),
        ("speak every line, cold (espeak)", speak_cold),
        ("speak every line, from the cache", speak_warm),
        ("mix + loudnorm + subtitles + mux", mix),
    ):
        print(f"{name:<34}{seconds:>9.3f}{seconds / stitch[0]:>10.2f}{cpu:>9.3f}{cpu / stitch[1]:>10.2f}")
    print(f"integrated loudness of the muxed episode: {loudness:.1f} LUFS (target -16)")


if __name__ == "__main__":
    main()
