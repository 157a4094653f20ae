"""End to end: `studio dashboard` (Voila) driven by headless Chromium through Playwright.

A non-coder's session on the demo: create a character, change a scene's duration, render
the episode on the animatic backend (a ``render_episode`` job run by the worker the
dashboard launches), watch the progress bar reach 100%, play the result in a <video>
element, rate a segment. Fails on page errors (not console warnings: Voila's
frontend logs harmless version warnings). Screenshots go to test-artifacts/browser/.

Skipped only where /usr/bin/chromium is missing and CI is not set; in CI it fails instead.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from select import select as wait_readable

import pytest

from studio._studio import Studio
from tests._postgres import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# reference/notebook-stack.md section 3: the flags that work on this kind of machine.
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 120.0
RENDER_TIMEOUT_MS = 300_000


@dataclass
class Dashboard:
    url: str
    port: int
    token: str
    home: Path
    output: list[str] = field(default_factory=list)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install chromium (apt-get install -y chromium) to run browser tests"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)



@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _require_chromium()
    home = tmp_path_factory.mktemp("dashboard") / "home"
    with Studio.open(home=home) as studio:
        studio.import_demo()
    port, token = free_port(), secrets.token_urlsafe(16)
    command = [
        sys.executable,
        "-c",
        "import sys; from studio._cli import main; sys.exit(main())",
        "--home",
        str(home),
        "dashboard",
        "--port",
        str(port),
        "--token",
        token,
        "--no-browser",
    ]
    environment = {k: v for k, v in os.environ.items() if k not in ("STUDIO_HOME", "STUDIO_DATABASE_URL")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, cwd=ROOT
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                pytest.fail("studio dashboard exited before serving:\n" + "".join(output[-40:]))
            match = re.search(r"running at: (http://\S+)", line)
            url = match.group(1) if match else None
        assert url == f"http://127.0.0.1:{port}/?token={token}"
        yield Dashboard(url=url, port=port, token=token, home=home, output=output)
    finally:
        process.send_signal(signal.SIGTERM)  # the command stops Voila and its kernels
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_a_request_without_the_token_is_refused(dashboard: Dashboard) -> None:
    for path in ("/", "/?token=wrong", "/voila/render/studio.ipynb"):
        connection = http.client.HTTPConnection("127.0.0.1", dashboard.port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status in (302, 403), (path, response.status)
        if response.status == 302:
            assert response.getheader("Location", "").startswith("/login"), path


def test_a_user_edits_renders_plays_and_rates_the_demo(dashboard: Dashboard) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(dashboard.url)

            # Characters: create one.
            characters = page.locator(".studio-character-panel")
            characters.wait_for(timeout=90_000)
            expect(page.locator(".studio-header")).to_contain_text(str(dashboard.home))
            page.get_by_role("button", name="New character").click()
            page.locator(".studio-character-name input").fill("Mika")
            page.locator(".studio-character-save").click()
            expect(characters.locator(".studio-status")).to_contain_text("Created 'Mika'", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "1-character.png"), full_page=True)

            # Storyboard: change scene 1's duration.
            page.get_by_role("tab", name="Storyboard").click()
            storyboard = page.locator(".studio-storyboard-panel")
            duration = storyboard.locator(".studio-scene-duration input")
            duration.wait_for(timeout=30_000)
            expect(duration).to_have_value("6")
            duration.fill("7")
            duration.press("Enter")  # a FloatText syncs on Enter or blur
            storyboard.locator(".studio-scene-save").click()
            expect(storyboard.locator(".studio-status")).to_contain_text("Saved scene 1", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "2-scene.png"), full_page=True)

            # Render queue: render the episode and watch the bar reach 100%.
            page.get_by_role("tab", name="Render queue").click()
            queue_panel = page.locator(".studio-queue-panel")
            queue_panel.locator(".studio-render").click()
            expect(queue_panel.locator(".studio-status")).to_contain_text(
                "Started rendering episode 1 on animatic as job 1. Worker "
            )
            expect(queue_panel.locator(".studio-episode-progress .progress-bar")).to_have_attribute(
                "style", re.compile(r"width: 100%"), timeout=RENDER_TIMEOUT_MS
            )
            expect(queue_panel.locator(".studio-render-row")).to_contain_text("succeeded", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "3-rendered.png"), full_page=True)

            # Play the result.
            queue_panel.locator(".studio-play-episode").click()
            video = queue_panel.locator("video")
            video.wait_for(timeout=30_000)
            # Muted, so the autoplay policy allows play() without a user gesture.
            outcome = video.evaluate(
                "v => { v.muted = true; return v.play().then(() => 'ok', e => String(e)); }"
            )
            assert outcome == "ok"
            video.evaluate("v => new Promise(done => v.currentTime > 0 ? done() : v.ontimeupdate = done)")
            assert video.evaluate("v => v.videoWidth") == 640
            page.screenshot(path=str(ARTIFACTS / "4-playing.png"), full_page=True)

            # Quality: rate a segment.
            page.get_by_role("tab", name="Quality").click()
            quality = page.locator(".studio-quality-panel")
            expect(quality.locator(".studio-quality-chart")).to_be_visible(timeout=60_000)
            quality.locator(".studio-rating").get_by_role("button", name="4").click()
            quality.locator(".studio-review-notes textarea").fill("clean seams")
            quality.locator(".studio-approve").click()
            expect(quality.locator(".studio-status")).to_contain_text("approved with 4/5", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "5-rated.png"), full_page=True)
        finally:
            browser.close()
    assert page_errors == []
    _check_the_database(dashboard.home)


def _wait_for_exit(pid: int, timeout: float) -> None:
    """Block until process ``pid`` (not our child) has exited, or fail after ``timeout``."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        readable, _, _ = wait_readable([handle], [], [], timeout)
        assert readable, f"the dashboard's worker {pid} still runs {timeout:.0f}s after its job finished"
    finally:
        os.close(handle)


def _check_the_database(home: Path) -> None:
    from sqlalchemy import select

    from studio.jobs._records import JobStatus
    from studio.jobs._store import list_jobs
    from studio.project._views import list_characters, scene_detail
    from studio.storage._models import QualityFeedbackModel

    # The render ran as a queue job, on a `studio worker --once` that exits once the queue is empty.
    record = json.loads((home / "renders" / "dashboard" / "worker.json").read_text(encoding="utf-8"))
    _wait_for_exit(record["pid"], timeout=60)
    log = (home / "renders" / "dashboard" / record["log"]).read_text(encoding="utf-8")
    assert "claimed 1, succeeded 1, failed 0" in log, log
    with Studio.open(home=home) as studio:
        jobs = list_jobs(studio.database)
        assert [(j.job_type, j.status, j.progress) for j in jobs] == [
            ("render_episode", JobStatus.SUCCEEDED, 100.0)
        ]
        assert "Mika" in [c.name for c in list_characters(studio)]
        assert scene_detail(studio, 1).spec.duration == 7
        with studio.database.session() as session:
            ratings = session.execute(
                select(QualityFeedbackModel.user_rating, QualityFeedbackModel.user_notes).where(
                    QualityFeedbackModel.feedback_type == "user"
                )
            ).all()
    assert [tuple(r) for r in ratings] == [(4, "clean seams")]
