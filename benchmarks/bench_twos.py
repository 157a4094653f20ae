"""Animating on twos: the demo episode rendered on ones and on twos, same machine, same run.

Renders the bundled demo (18 s, six segments, animatic backend, no report) with
``animate_on: ones`` and with ``animate_on: twos`` into fresh studio homes, and prints,
for each, the wall time, the time spent inside the backend (generation) and the frames it
generated, then the ratios twos / ones. The delivered episodes have the same frame count.

Run: ``.venv/bin/python benchmarks/bench_twos.py [RUNS]`` (default 1 run each; best kept).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from studio._config import load_settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio._video import probe
from studio.backends import SegmentRequest, SegmentResult
from studio.backends._animatic import AnimaticBackend
from studio.backends._base import _REGISTRY
from studio.render._pipeline import render_episode


class TimedAnimatic(AnimaticBackend):
    name = "timed"
    generating = 0.0
    frames = 0

    async def generate(self, request: SegmentRequest, progress) -> SegmentResult:  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        result = await super().generate(request, progress)
        TimedAnimatic.generating += time.perf_counter() - began
        TimedAnimatic.frames += result.frame_count
        return result


def run(on: str) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        show = Path(tmp) / "show.yaml"
        text = DEMO_SCREENPLAY.read_text()
        show.write_text(text.replace("  max_attempts: 3\n", f"  max_attempts: 3\n  animate_on: {on}\n"))
        settings = load_settings(home=Path(tmp) / "home", environ={})
        with Studio.open(settings=settings, upgrade=True) as studio:
            studio.import_file(show)
            TimedAnimatic.generating, TimedAnimatic.frames = 0.0, 0
            began = time.perf_counter()
            summary = render_episode(studio, episode=1, backend="timed")
            wall = time.perf_counter() - began
            return wall, TimedAnimatic.generating, TimedAnimatic.frames, probe(summary.episode_video).frames


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    _REGISTRY["timed"] = lambda settings: TimedAnimatic()
    results = {}
    for on in ("ones", "twos"):
        best = min((run(on) for _ in range(runs)), key=lambda r: r[0])
        results[on] = best
        wall, generating, frames, delivered = best
        print(f"{on}: wall {wall:.2f} s, generating {generating:.2f} s, {frames} frames generated, "
              f"{delivered} frames delivered")
    (w1, g1, f1, _), (w2, g2, f2, _) = results["ones"], results["twos"]
    print(f"twos / ones: wall {w2 / w1:.2f}, generating {g2 / g1:.2f}, frames generated {f2 / f1:.2f}")


if __name__ == "__main__":
    main()
