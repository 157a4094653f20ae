"""Scene stitch speed against ``ffmpeg -f concat -c copy`` on the same segments.

Renders a chained scene of 10 animatic segments of 4 s at 768x512 (each later segment
opens on its seam duplicate, as the pipeline produces them), then times, best of a few
runs each:

* ``ffmpeg -f concat -safe 0 -i list.txt -c copy`` (keeps the duplicates: it cannot drop them);
* :func:`studio.render._stitch.stitch_scene`, which also checks each segment and drops them.

ratio = ffmpeg seconds / our seconds; >= 0.9 means we are at least 90 % as fast.

Run: ``.venv/bin/python benchmarks/bench_stitch.py``
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from studio._video import probe
from studio.backends import CharacterInShot, SceneContext, SegmentRequest
from studio.backends._animatic import render_segment
from studio.render._stitch import stitch_scene

WIDTH, HEIGHT, FPS, SEGMENTS, SECONDS, RUNS = 768, 512, 24, 10, 4.0, 7

SCENE = SceneContext(
    project="bench", episode=1, scene=1, location="city street", time_of_day="day",
    camera_movement="pan", duration_seconds=SEGMENTS * SECONDS,
    characters=(CharacterInShot("Aiko", ("#e63946",)), CharacterInShot("Ren", position="right")),
)  # fmt: skip


def _segments(folder: Path) -> list[tuple[Path, bool]]:
    out: list[tuple[Path, bool]] = []
    start = None
    for n in range(SEGMENTS):
        request = SegmentRequest(
            scene=SCENE, segment_number=n + 1, segment_count=SEGMENTS, prompt="",
            negative_prompt="", seed=n, duration_seconds=SECONDS, fps=FPS, width=WIDTH,
            height=HEIGHT, output_dir=folder, start_image=start, time_offset=n * SECONDS,
        )  # fmt: skip
        result = render_segment(request)
        out.append((result.video_path, result.leading_duplicate))
        start = result.last_frame_path
    return out


def _best(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is not on PATH; it is the baseline of this benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        segments = _segments(folder / "segments")
        listing = folder / "list.txt"
        listing.write_text("".join(f"file '{path}'\n" for path, _ in segments))
        theirs_out, ours_out = folder / "ffmpeg.mp4", folder / "ours.mp4"
        command = [ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                   str(listing), "-c", "copy", str(theirs_out)]  # fmt: skip
        theirs = _best(lambda: subprocess.run(command, check=True))
        ours = _best(lambda: stitch_scene(segments, ours_out))
        info_theirs, info_ours = probe(theirs_out), probe(ours_out)
        size = sum(path.stat().st_size for path, _ in segments) / 1e6
    print(f"scene stitch: {SEGMENTS} segments x {SECONDS:g} s at {WIDTH}x{HEIGHT}, "
          f"{size:.1f} MB, best of {RUNS}")  # fmt: skip
    print(f"  ffmpeg -f concat -c copy: {theirs:.4f} s  ({info_theirs.frames} frames, "
          f"seam duplicates kept)")  # fmt: skip
    print(f"  stitch_scene:             {ours:.4f} s  ({info_ours.frames} frames, "
          f"{info_ours.duration:.3f} s, seam duplicates dropped)")  # fmt: skip
    print(f"  ratio ffmpeg/ours: {theirs / ours:.2f}  (target >= 0.9)")


if __name__ == "__main__":
    main()
