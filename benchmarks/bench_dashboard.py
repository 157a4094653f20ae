"""Benchmark: dashboard page load and panel open times on a large project.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py [--visits 3] [--episodes 50] [--scenes 20]``

1. Page load: ``studio dashboard`` (Voila, preheated kernel) on the demo; headless
   Chromium opens the page and we time ``goto`` until the first panel is visible,
   over ``--visits`` visits (a fresh server each, once Voila says its pool is filled),
   then the same without preheating (the baseline). Target: <= 5 s with a preheated
   kernel on 2 cores.
   Then, on one preheated page: each tab's first opening and a second switch to it
   (the panel is built once; the baseline is the first opening), and how long Cancel
   takes to stop a running render (click to ``cancelled``).
2. Panel open: a project of ``--episodes`` x ``--scenes`` scenes with 3 rendered
   segments each (rows only; no media), then the time to build each panel, to switch
   to the last episode and to a scene in the storyboard, and to save a scene edit.

Prints medians and never asserts: timings on a shared 2-core machine are noisy (the
load average is printed alongside).
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio._studio import Studio  # noqa: E402
from tests._postgres import free_port  # noqa: E402
from tests.browser.test_dashboard import CHROME_ARGS  # noqa: E402  (the flags that work here)


class Server:
    """``studio dashboard`` as a child process, with its output readable line by line."""

    def __init__(self, home: Path, *, preheat: bool) -> None:
        self.port, self.token = free_port(), secrets.token_urlsafe(12)
        command = [
            sys.executable,
            "-c",
            "import sys; from studio._cli import main; sys.exit(main())",
            "--home",
            str(home),
            "dashboard",
            f"--port={self.port}",
            f"--token={self.token}",
            "--no-browser",
            "--preheat" if preheat else "--no-preheat",
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []  # lines already read, so a wait can match an earlier line
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()
        self.url = self.wait_for(r"running at: (http://\S+)").group(1)

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        for line in self.seen:
            match = re.search(pattern, line)
            if match:
                return match
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def bench_page_load(visits: int) -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    with Studio.open(home=home) as studio:
        studio.import_demo()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROME_ARGS)
        medians: dict[bool, float] = {}
        measured_tabs = False
        try:
            for preheat in (True, False):
                times = []
                for _ in range(visits):
                    # A fresh server per visit: Voila logs when its pool is first filled, not
                    # when it has refilled, so only a first visit is known to find a warm kernel.
                    server = Server(home, preheat=preheat)
                    try:
                        if preheat:
                            server.wait_for(r"Kernel pool of studio.ipynb is filled")
                        page = browser.new_page(viewport={"width": 1280, "height": 900})
                        started = time.perf_counter()
                        page.goto(server.url)
                        page.locator(".studio-character-panel").wait_for(timeout=120_000)
                        times.append(time.perf_counter() - started)
                        if preheat and not measured_tabs:
                            bench_tabs(page)
                            bench_cancel(page)
                            measured_tabs = True
                        page.close(run_before_unload=True)
                    finally:
                        server.stop()
                label = "preheated kernel" if preheat else "no preheat     "
                runs = ", ".join(f"{t:.2f}" for t in times)
                median = medians[preheat] = statistics.median(times)
                print(f"page load to first visible panel, {label}: median {median:5.2f} s (runs: {runs})")
            print(f"  preheated / no preheat: {medians[True] / medians[False]:.2f}x")
        finally:
            browser.close()


TABS = (
    ("Storyboard", ".studio-storyboard-panel .studio-scene-save"),
    ("Render queue", ".studio-queue-panel .studio-render"),
    ("Quality", ".studio-quality-panel .studio-approve"),
    ("Characters", ".studio-character-panel .studio-character-save"),
)


def bench_tabs(page: Any) -> None:
    """Each tab: first opening (its panel is built) and a later switch back to it."""
    first: dict[str, float] = {}
    for round_ in ("first opening", "switch back"):
        for title, ready in TABS:
            started = time.perf_counter()
            page.get_by_role("tab", name=title).click()
            page.locator(ready).wait_for(state="visible", timeout=120_000)
            took = time.perf_counter() - started
            if round_ == "first opening":
                first[title] = took
                print(f"  tab {title:<13} first opening {took:5.2f} s")
            else:
                print(f"  tab {title:<13} switch back   {took:5.2f} s ({took / first[title]:.2f}x the first)")


def bench_cancel(page: Any) -> None:
    """Start the demo's render, wait until it runs, click Cancel: seconds until cancelled."""
    page.get_by_role("tab", name="Render queue").click()
    panel = page.locator(".studio-queue-panel")
    panel.locator(".studio-render").click()
    row = panel.locator(".studio-render-row").first
    row.locator(".studio-badge-running").wait_for(timeout=120_000)
    started = time.perf_counter()
    row.get_by_role("button", name="Cancel").click()
    row.locator(".studio-badge-cancelled").wait_for(timeout=300_000)
    print(f"  cancel a running render: cancelled {time.perf_counter() - started:5.2f} s after the click")


def build_large_project(home: Path, episodes: int, scenes: int) -> Studio:
    from sqlalchemy import insert, select

    from studio.project._importer import import_screenplay
    from studio.project._screenplay import validate_screenplay_data
    from studio.storage._models import SceneModel, SegmentModel

    studio = Studio.open(home=home)
    characters = [
        {"name": "Luna", "prompt": "silver bob haircut", "palette": ["#3fb7b0"]},
        {"name": "Kai", "prompt": "spiky red hair", "palette": ["#ee6c4d"]},
    ]
    number = 0
    episode_list = []
    for e in range(1, episodes + 1):
        scene_list = []
        for _ in range(scenes):
            number += 1
            scene_list.append(
                {
                    "number": number,
                    "title": f"Scene {number}",
                    "location": "harbour",
                    "duration": 6,
                    "characters": [{"name": "Luna"}, {"name": "Kai"}],
                    "actions": ["they run", "they stop"],
                }
            )
        episode_list.append({"number": e, "title": f"Episode {e}", "scenes": scene_list})
    play = validate_screenplay_data({"title": "Big Show", "characters": characters, "episodes": episode_list})
    started = time.perf_counter()
    import_screenplay(studio.database, play)
    print(f"import of {episodes} x {scenes} scenes: {time.perf_counter() - started:.1f} s")
    with studio.database.session() as session:
        scene_ids = list(session.scalars(select(SceneModel.id)))
        rows = [
            {
                "scene_id": scene_id,
                "segment_number": k,
                "motion_prompt": f"segment {k}",
                "status": "completed",
                "scores": {"scores": {"overall": 0.8}, "events": []},
                "meta": {},
            }
            for scene_id in scene_ids
            for k in range(3)
        ]
        session.execute(insert(SegmentModel), rows)
    return studio


def timed(function: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
        close = getattr(result, "close", None)
        if callable(close):
            close()
    return statistics.median(times), times


def bench_panels(episodes: int, scenes: int, repeats: int) -> None:
    import ipywidgets  # noqa: F401  (imported before timing: its import is not a panel cost)

    from widgets import CharacterPanel, QualityPanel, QueuePanel, StoryboardPanel, StudioApp

    home = Path(tempfile.mkdtemp(prefix="bench-panels-"))
    studio = build_large_project(home, episodes, scenes)
    try:
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("StudioApp (header + first tab)", lambda: StudioApp(studio, auto_refresh=False)),
            ("CharacterPanel", lambda: CharacterPanel(studio)),
            ("StoryboardPanel", lambda: StoryboardPanel(studio)),
            ("QueuePanel", lambda: QueuePanel(studio, auto_refresh=False)),
            ("QualityPanel (60 segments charted)", lambda: QualityPanel(studio)),
        ]
        print(f"panel open times, project of {episodes} episodes x {scenes} scenes x 3 segments:")
        for name, build in cases:
            median, runs = timed(build, repeats)
            listed = ", ".join(f"{t * 1000:.0f}" for t in runs)
            print(f"  {name:<36} median {median * 1000:7.1f} ms  (runs: {listed})")
        storyboard = StoryboardPanel(studio)
        last_episode = episodes
        first_scene_of_last = (episodes - 1) * scenes + 1

        def switch_episode() -> None:
            storyboard.episodes.value = 1 if storyboard.episodes.value == last_episode else last_episode

        def switch_scene() -> None:
            target = (
                first_scene_of_last + 1
                if storyboard.scenes.value == first_scene_of_last
                else first_scene_of_last
            )
            storyboard.scenes.value = target

        median, runs = timed(switch_episode, repeats)
        print(f"  {'storyboard: switch episode':<36} median {median * 1000:7.1f} ms")
        storyboard.episodes.value = last_episode
        median, runs = timed(switch_scene, repeats)
        print(f"  {'storyboard: switch scene':<36} median {median * 1000:7.1f} ms")
        durations = iter([7.0, 6.0] * repeats)

        def save() -> None:
            storyboard.form.duration.value = next(durations)
            storyboard.save_scene()

        median, runs = timed(save, repeats)
        print(
            f"  {'storyboard: save a scene edit':<36} median {median * 1000:7.1f} ms "
            "(export, validate, import of the whole project)"
        )
        storyboard.close()
    finally:
        studio.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-browser", action="store_true", help="Only the panel timings.")
    args = parser.parse_args()
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}")
    if not args.skip_browser:
        if Path("/usr/bin/chromium").exists():
            bench_page_load(args.visits)
        else:
            print("page load: skipped (/usr/bin/chromium is missing)")
    bench_panels(args.episodes, args.scenes, args.repeats)


if __name__ == "__main__":
    main()
