"""Benchmark: event detection on the labelled anime-like corpus, ours against reference tools.

Run: ``.venv/bin/python benchmarks/bench_detectors.py [--keep DIR] [--ours-only] [--verbose]``

The corpus is ``tests/quality/_corpus.py`` (the same clips the tests assert on):
anime-like clips, clean ones of every family and copies with cuts, freezes,
black frames, flicker, colour shifts and seam jumps put in. A detection is right
when it has the same kind and is within two frames of a defect.

Printed, per kind: precision and recall of ``studio.quality.analyze_video`` (at
default settings, with each clip's previous segment's last frame), and of the
reference tools on the same files, for the kinds each one detects:

- ffmpeg ``scdet`` (default threshold 10) for cuts;
- ffmpeg ``freezedetect`` (defaults: -60 dB, 2 s; and d=0.5) for freezes;
- ffmpeg ``blackdetect`` (d=0) for black frames;
- PySceneDetect ``ContentDetector`` and ``AdaptiveDetector`` (defaults) for cuts.

Then false events per minute on the clean clips (any event a clip does not
have, of any kind). It never asserts: the tests do (tests/quality/test_corpus.py).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.quality._corpus import FPS, KINDS, ClipFiles, corpus, score, write_corpus  # noqa: E402

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
Found = dict[str, list[tuple[str, int]]]


def ours(files: list[ClipFiles]) -> Found:
    from studio.quality import analyze_video

    found: Found = {}
    for f in files:
        analysis = analyze_video(f.video, previous_last_frame=f.previous)
        found[f.clip.name] = [(e.kind, e.frame) for e in analysis.events]
    return found


def _ffmpeg_log(video: Path, vf: str) -> str:
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostats", "-i", str(video), "-vf", vf, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    return done.stderr


def _frame(seconds: str) -> int:
    return round(float(seconds) * FPS)


def ffmpeg_scdet(files: list[ClipFiles]) -> Found:
    return {f.clip.name: [("cut", _frame(m)) for m in re.findall(
        r"lavfi\.scd\.time: ([\d.]+)", _ffmpeg_log(f.video, "scdet=threshold=10"))] for f in files}


def ffmpeg_freezedetect(duration: float | None) -> Callable[[list[ClipFiles]], Found]:
    vf = "freezedetect" if duration is None else f"freezedetect=d={duration}"

    def run(files: list[ClipFiles]) -> Found:
        return {f.clip.name: [("freeze", _frame(m)) for m in re.findall(
            r"freeze_start: ([\d.]+)", _ffmpeg_log(f.video, vf))] for f in files}

    return run


def ffmpeg_blackdetect(files: list[ClipFiles]) -> Found:
    return {f.clip.name: [("black", _frame(m)) for m in re.findall(
        r"black_start:([\d.]+)", _ffmpeg_log(f.video, "blackdetect=d=0"))] for f in files}


def pyscenedetect(detector: str) -> Callable[[list[ClipFiles]], Found]:
    def run(files: list[ClipFiles]) -> Found:
        import scenedetect

        found: Found = {}
        for f in files:
            make = getattr(scenedetect, detector)
            scenes = scenedetect.detect(str(f.video), make())
            found[f.clip.name] = [("cut", start.frame_num) for start, _end in scenes[1:]]
        return found

    return run


TOOLS: dict[str, tuple[Callable[[list[ClipFiles]], Found], tuple[str, ...]]] = {
    "studio (ours)": (ours, KINDS),
    "ffmpeg scdet": (ffmpeg_scdet, ("cut",)),
    "ffmpeg freezedetect": (ffmpeg_freezedetect(None), ("freeze",)),
    "ffmpeg freezedetect d=0.5": (ffmpeg_freezedetect(0.5), ("freeze",)),
    "ffmpeg blackdetect d=0": (ffmpeg_blackdetect, ("black",)),
    "PySceneDetect Content": (pyscenedetect("ContentDetector"), ("cut",)),
    "PySceneDetect Adaptive": (pyscenedetect("AdaptiveDetector"), ("cut",)),
}


def false_per_minute(found: Found, kinds: tuple[str, ...], variant: int) -> tuple[int, float]:
    clean = [c for c in corpus(variant) if c.clean]
    count = sum(1 for c in clean for kind, _ in found.get(c.name, []) if kind in kinds or kinds == KINDS)
    minutes = sum(len(c.frames) for c in clean) / FPS / 60
    return count, count / minutes


def _cell(tp: int, n: int, m: int) -> str:
    precision = tp / n if n else float("nan")
    recall = tp / m if m else float("nan")
    return f"{precision:4.2f} / {recall:4.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    parser.add_argument("--ours-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every wrong or missed event")
    parser.add_argument("--variant", type=int, default=0,
                        help="corpus variant: 0 is the tests' (thresholds were set on it), others held out")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_detectors_"))
    start = time.perf_counter()
    variant = args.variant
    files = write_corpus(folder, variant)
    clean = [c for c in corpus(variant) if c.clean]
    print(f"corpus variant {variant}: {len(files)} clips ({len(clean)} clean, "
          f"{sum(len(c.frames) for c in corpus(variant))} frames) in {folder}, made in "
          f"{time.perf_counter() - start:.1f} s")
    tools = {"studio (ours)": TOOLS["studio (ours)"]} if args.ours_only else TOOLS
    results: dict[str, dict[str, tuple[int, int, int]]] = {}
    false: dict[str, tuple[int, float]] = {}
    for name, (run, kinds) in tools.items():
        start = time.perf_counter()
        found = run(files)
        elapsed = time.perf_counter() - start
        results[name] = score(found, kinds, variant)
        false[name] = false_per_minute(found, kinds, variant)
        print(f"  ran {name} in {elapsed:.1f} s")
        if args.verbose and name == "studio (ours)":
            for clip in corpus(variant):
                got = sorted(found.get(clip.name, []))
                if got != sorted(clip.expected):
                    print(f"    {clip.name}: expected {clip.expected}, got {got}")
    print("\nprecision / recall per kind (same kind, frame within ±2)")
    width = max(len(name) for name in results) + 2
    print(f"{'':{width}}" + "".join(f"{kind:>14}" for kind in KINDS) + f"{'false/min clean':>18}")
    for name, per_kind in results.items():
        cells = "".join(f"{_cell(*per_kind[k]) if k in per_kind else '-':>14}" for k in KINDS)
        count, rate = false[name]
        print(f"{name:{width}}{cells}{rate:>12.2f} ({count})")
    print("\n(false/min clean: events of the kinds a tool reports, on the clean clips, per minute of them)")


if __name__ == "__main__":
    main()
