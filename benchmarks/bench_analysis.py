"""Benchmark: full `studio analyze` against ffmpeg's ssim filter and against decoding.

Run: ``.venv/bin/python benchmarks/bench_analysis.py [--reps 3] [--keep DIR]``

Makes a 300-frame 768x512 H.264 clip like the one in
reference/quality-baselines.md (a panning painted background, seven flat cel
shapes with outlines and shadow bands on smooth paths, grain sigma 2; libx264
CRF 18, preset medium, GOP 48), then times, interleaved, ``--reps`` times each:

- decode only: PyAV with frame threading, reading the Y plane (the fastest way to
  decode with PyAV; the analysis itself decodes on one thread and uses the other
  core for its measurements);
- ffmpeg's ``ssim`` filter on consecutive frames (one input, split, one branch
  trimmed by a frame, ``shortest=1``), decode included;
- ``studio analyze`` as a subprocess (startup included): default settings (half
  resolution: SSIM, DIS flow, differences, colour, seams) and ``--full-resolution``.

It prints medians and ratios, and each case's CPU time (user + system, all
threads and subprocesses), and never asserts anything: timings on a shared
2-core machine are noisy (the load average before and after is printed alongside).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

WIDTH, HEIGHT, FRAMES, FPS = 768, 512, 300, 24
EPISODE_FRAMES = 24 * 60 * 24  # a 24-minute episode at 24 fps
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def _world(rng: np.random.Generator) -> np.ndarray:
    width = WIDTH + int(1.5 * FRAMES) + 8
    sky = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    image = (np.array([235, 200, 150], np.float32) * (1 - sky) + np.array([250, 235, 220]) * sky)
    clouds = cv2.resize(
        rng.normal(0, 1, (HEIGHT // 32, width // 32, 1)).astype(np.float32),
        (width, HEIGHT), interpolation=cv2.INTER_CUBIC,
    )
    image = image + 18.0 * clouds[..., None]
    hill = (HEIGHT * 0.72 + 30 * np.sin(np.arange(width) / 90.0)).astype(int)
    for x in range(width):
        image[hill[x] :, x] = (90, 150, 80)
        image[hill[x] - 2 : hill[x] + 1, x] = (40, 60, 35)
    return image.astype(np.float32)


def make_clip(path: Path, frames: int = FRAMES) -> None:
    """Write the benchmark clip with ffmpeg (bgr24 frames piped in)."""
    rng = np.random.default_rng(2026)
    world = _world(rng)
    shapes = [
        (rng.uniform(40, 90), rng.uniform(0, 255, 3), rng.uniform(0, WIDTH), rng.uniform(80, 400),
         rng.uniform(-7, 7), rng.uniform(5, 25), rng.uniform(20, 60))
        for _ in range(7)
    ]
    command = [
        FFMPEG, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-", "-c:v", "libx264",
        "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p", "-g", "48", str(path),
    ]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as encoder:
        assert encoder.stdin is not None
        for t in range(frames):
            offset = int(1.5 * t)
            frame = world[:, offset : offset + WIDTH].copy()
            for radius, colour, x0, y0, drift, amplitude, period in shapes:
                centre = (int(x0 + drift * t) % WIDTH, int(y0 + amplitude * np.sin(t / period)))
                cv2.circle(frame, centre, int(radius) + 3, (25, 25, 30), -1, cv2.LINE_AA)
                cv2.circle(frame, centre, int(radius), colour.tolist(), -1, cv2.LINE_AA)
                shadow = (centre[0] + int(radius * 0.3), centre[1] + int(radius * 0.3))
                cv2.ellipse(
                    frame, shadow, (int(radius * 0.6), int(radius * 0.4)), 30, 0, 180,
                    (colour * 0.7).tolist(), -1, cv2.LINE_AA,
                )
            frame += rng.normal(0, 2.0, frame.shape).astype(np.float32)
            encoder.stdin.write(np.clip(frame, 0, 255).astype(np.uint8).tobytes())
        encoder.stdin.close()
        if encoder.wait() != 0:
            raise SystemExit("ffmpeg could not encode the benchmark clip")


def decode_only(path: Path) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            np.frombuffer(frame.planes[0], np.uint8)


def ffmpeg_ssim(path: Path) -> None:
    graph = "[0:v]split[x][y];[x]trim=start_frame=1,setpts=PTS-STARTPTS[a];[a][y]ssim=shortest=1"
    subprocess.run(
        [FFMPEG, "-loglevel", "error", "-nostats", "-i", str(path), "-filter_complex", graph,
         "-f", "null", "-"],
        check=True,
    )


def studio_analyze(path: Path, *extra: str) -> Callable[[], None]:
    studio = Path(sys.executable).with_name("studio")
    command = [str(studio), "analyze", str(path), *extra]

    def run() -> None:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    return run


def in_process(path: Path) -> Callable[[], None]:
    from studio.quality import analyze_video

    return lambda: analyze_video(path) and None


def startup(tiny_clip: Path) -> Callable[[], None]:
    """``studio analyze`` on a 2-frame clip: the fixed cost of a run (start-up, imports, exit)."""
    return studio_analyze(tiny_clip)


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all threads, subprocesses included) of one call."""
    cpu, start = _cpu_seconds(), time.perf_counter()
    function()
    return time.perf_counter() - start, _cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the clip here and keep it")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_analysis_"))
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / "clip_768x512_300f.mp4"
    if not clip.exists():
        start = time.perf_counter()
        make_clip(clip)
        print(f"made {clip} ({clip.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")

    tiny = folder / "clip_768x512_2f.mp4"
    if not tiny.exists():
        make_clip(tiny, frames=2)
    fixed_cost = startup(tiny)
    cases: dict[str, Callable[[], None]] = {
        "decode only (PyAV, Y plane)": lambda: decode_only(clip),
        "ffmpeg ssim filter": lambda: ffmpeg_ssim(clip),
        "studio analyze (default, half res)": studio_analyze(clip),
        "studio analyze --full-resolution": studio_analyze(clip, "--full-resolution"),
        "analyze_video() in-process, default": in_process(clip),
    }
    studio_analyze(clip)()  # warm the page cache and Python's bytecode cache
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    starts: list[float] = []
    for _ in range(args.reps):
        for name, function in cases.items():  # interleaved, so load changes hit all alike
            wall, cpu = timed(function)
            times[name].append(wall)
            cpus[name].append(cpu)
        starts.append(timed(fixed_cost)[0])

    fps = {name: FRAMES / statistics.median(values) for name, values in times.items()}
    ssim_fps = fps["ffmpeg ssim filter"]
    decode_fps = fps["decode only (PyAV, Y plane)"]
    print(f"\nclip: {WIDTH}x{HEIGHT}, {FRAMES} frames, H.264 CRF 18; {os.cpu_count()} CPUs, "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; median of {args.reps}")
    print(f"{'':38} {'fps':>7} {'vs ffmpeg ssim':>15} {'vs decode':>10} {'episode':>9} {'CPU s':>7}")
    for name in cases:
        episode = EPISODE_FRAMES / fps[name] / 60
        print(
            f"{name:38} {fps[name]:7.0f} {fps[name] / ssim_fps:14.2f}x "
            f"{fps[name] / decode_fps:9.2f}x {episode:7.1f} min {statistics.median(cpus[name]):7.2f}"
        )
    print("(CPU s: user + system seconds of all threads, the median run; steadier than wall time "
          "when other processes share the cores)")
    print(
        f"\n`studio analyze` on a 2-frame clip (start-up, imports, exit: the fixed cost of a run): "
        f"{statistics.median(starts):.2f} s; ffmpeg ssim takes "
        f"{statistics.median(times['ffmpeg ssim filter']):.2f} s for the whole clip"
    )
    default = fps["studio analyze (default, half res)"]
    print(
        f"\ntarget: default analysis >= 0.5x ffmpeg ssim: {default / ssim_fps:.2f}x "
        f"({'met' if default >= 0.5 * ssim_fps else 'NOT met'})"
    )
    start_up = statistics.median(starts)
    streaming = fps["analyze_video() in-process, default"]
    full = fps["studio analyze --full-resolution"] / default * streaming
    print(
        f"projected 24-minute episode ({EPISODE_FRAMES} frames) in one `studio analyze` run: "
        f"{(start_up + EPISODE_FRAMES / streaming) / 60:.1f} min at default settings, about "
        f"{(start_up + EPISODE_FRAMES / full) / 60:.1f} min at full resolution "
        "(start-up paid once; per-frame rate from the in-process run)"
    )


if __name__ == "__main__":
    main()
