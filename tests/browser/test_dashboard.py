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
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from select import select as wait_readable
from urllib.parse import urlsplit

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
    pid: int
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
    home = tmp_path_factory.mktemp("dashboard") / "home"  # empty: the user starts a show
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
        yield Dashboard(url=url, pid=process.pid, port=port, token=token, home=home, output=output)
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


# For every visible field: the element at its centre is the field (or inside it), it is
# not squeezed to a dot, and no label or button text is cut. Returns what is wrong, one line each.
LAYOUT_CHECK = """
() => {
  const problems = [];
  const name = el => (el.closest('.widget-inline-hbox, .widget-box, .widget-textarea')
      ?.querySelector('.widget-label')?.textContent || el.placeholder || el.tagName).trim();
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const fields = [...document.querySelectorAll('input, textarea, select, .noUi-target')]
      .filter(el => el.type !== 'hidden' && el.type !== 'file' && visible(el));
  for (const el of fields) {
    el.scrollIntoView({block: 'center', inline: 'center'});
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!(hit === el || el.contains(hit))) {
      const by = hit ? (hit.className || hit.tagName) : 'nothing (off the page)';
      problems.push(`${name(el)}: covered by ${String(by).slice(0, 80)}`);
    }
    const small = ['checkbox', 'radio', 'color'].includes(el.type);  // small by nature
    if (!small && r.width < 60) problems.push(`${name(el)}: only ${Math.round(r.width)} px wide`);
  }
  for (const label of document.querySelectorAll('.widget-label, button.jupyter-button')) {
    if (visible(label) && label.textContent.trim() && label.scrollWidth > label.clientWidth + 1) {
      problems.push(`label "${label.textContent.trim()}" is cut`);
    }
  }
  return {checked: fields.length, problems};
}
"""


def _check_layout(page, what: str) -> int:  # type: ignore[no-untyped-def]
    """Fail when any field on the page is covered, squeezed or has its label cut."""
    checked = 0
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        result = page.evaluate(LAYOUT_CHECK)
        assert result["problems"] == [], f"{what} at {width} px: {result['problems']}"
        checked += result["checked"]
    page.set_viewport_size({"width": 1280, "height": 1000})
    return checked


def _only_loopback(requests: list[str]):  # type: ignore[no-untyped-def]
    def record(request) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            requests.append(request.url)

    return record


def test_a_non_coder_makes_a_show_renders_reviews_and_plays_it(dashboard: Dashboard) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    elsewhere: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.on("request", _only_loopback(elsewhere))
            page = context.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(dashboard.url)

            # A new show, from an empty studio.
            page.locator(".studio-new-show-title input").fill("Paper Moon", timeout=90_000)
            page.locator(".studio-new-show").click()
            expect(page.locator(".studio-app")).to_contain_text(
                "Created the show 'Paper Moon'", timeout=30_000
            )

            # A character for it.
            page.get_by_role("tab", name="Characters").click()
            characters = page.locator(".studio-character-panel")
            page.get_by_role("button", name="New character").click()
            characters.locator(".studio-character-name input").fill("Aoi")
            characters.locator(".studio-character-save").click()
            expect(characters.locator(".studio-status")).to_contain_text("Created 'Aoi'", timeout=30_000)
            _check_layout(page, "Characters")

            # An episode, a scene, the character in it, and a line.
            page.get_by_role("tab", name="Storyboard").click()
            storyboard = page.locator(".studio-storyboard-panel")
            board_status = storyboard.locator(".studio-status").last
            storyboard.locator(".studio-new-episode").click()
            expect(board_status).to_contain_text("Added episode 1", timeout=30_000)
            storyboard.locator(".studio-new-scene").click()
            expect(board_status).to_contain_text("Added scene 1", timeout=30_000)
            storyboard.locator(".studio-cast-candidates select").select_option("Aoi")
            storyboard.locator(".studio-cast-add").click()
            expect(board_status).to_contain_text("Aoi is in scene 1 now", timeout=30_000)
            storyboard.locator(".studio-cast-expression input").fill("curious")
            storyboard.locator(".studio-cast-save").click()
            expect(board_status).to_contain_text("Saved Aoi in scene 1", timeout=30_000)
            storyboard.locator(".studio-scene-dialogue textarea").fill("Aoi: Is anyone there?")
            storyboard.locator(".studio-scene-actions textarea").fill("Aoi looks up at the moon")
            duration = storyboard.locator(".studio-scene-duration input")
            duration.fill("0")
            duration.press("Enter")  # a FloatText syncs on Enter or blur
            storyboard.locator(".studio-scene-save").click()
            # A bad value is named under its own field, and nothing is saved.
            expect(storyboard.locator(".studio-scene-duration .studio-field-error")).to_contain_text(
                "duration must be greater than 0", timeout=30_000
            )
            duration.fill("3")
            duration.press("Enter")
            storyboard.locator(".studio-scene-save").click()
            expect(board_status).to_contain_text("Saved scene 1", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "1-storyboard.png"), full_page=True)

            # Render the previs and watch the bar reach 100%, with the latest frame.
            page.get_by_role("tab", name="Render queue").click()
            queue_panel = page.locator(".studio-queue-panel")
            queue_panel.locator(".studio-render").click()
            expect(queue_panel.locator(".studio-episode-progress .progress-bar")).to_have_attribute(
                "style", re.compile(r"width: 100%"), timeout=RENDER_TIMEOUT_MS
            )
            expect(queue_panel.locator(".studio-render-row")).to_contain_text("succeeded", timeout=30_000)
            expect(queue_panel.locator("img.studio-render-preview")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "2-rendered.png"), full_page=True)
            _check_layout(page, "Render queue")

            # Reject a segment with a note: its retake runs as a queue job on a dashboard
            # worker, and the new take is listed beside the first and chosen. Then approve.
            page.get_by_role("tab", name="Quality").click()
            quality = page.locator(".studio-quality-panel")
            expect(quality.locator(".studio-quality-chart")).to_be_visible(timeout=60_000)
            expect(quality.locator("video.studio-review-video")).to_be_visible()
            quality.locator(".studio-rating").get_by_role("button", name="2").click()
            quality.locator(".studio-review-notes textarea").fill("too dark")
            expect(quality.locator(".studio-take-row")).to_have_count(1)
            quality.locator(".studio-reject").click()
            expect(quality.locator(".studio-status")).to_contain_text(
                'rejected with 2/5. Your note is kept with it: "too dark"', timeout=30_000
            )
            segment = quality.locator(".studio-review-segment select")
            takes = quality.locator(".studio-take-row")
            expect(takes).to_have_count(2, timeout=RENDER_TIMEOUT_MS)
            expect(quality.locator(".studio-status")).to_contain_text(
                "the new take is listed under Takes", timeout=30_000
            )
            expect(takes.nth(1)).to_have_class(re.compile(r"studio-take-chosen"))
            expect(takes.nth(1)).to_contain_text("Take 2")
            expect(quality.locator("video.studio-take-video")).to_have_count(2)
            expect(takes.nth(1).locator(".studio-use-take")).to_be_disabled()
            page.screenshot(path=str(ARTIFACTS / "3-retaken.png"), full_page=True)
            quality.locator(".studio-rating").get_by_role("button", name="5").click()
            quality.locator(".studio-approve").click()
            expect(quality.locator(".studio-status")).to_contain_text("approved with 5/5", timeout=30_000)
            expect(segment.locator("option:checked")).to_contain_text("approved")
            page.screenshot(path=str(ARTIFACTS / "3-reviewed.png"), full_page=True)
            _check_layout(page, "Quality")

            # The storyboard, with frames now, still hides no field.
            page.get_by_role("tab", name="Storyboard").click()
            storyboard.get_by_role("button", name="Refresh").click()
            expect(storyboard.locator(".studio-segment-info")).to_contain_text("approved", timeout=30_000)
            checked = _check_layout(page, "Storyboard")
            assert checked > 40  # the scene form, the cast and the lists were all looked at
            page.screenshot(path=str(ARTIFACTS / "4-storyboard-frames.png"), full_page=True)

            # Play the episode.
            storyboard.locator(".studio-storyboard-play-episode").click()
            video = storyboard.locator("video.studio-player")
            video.wait_for(timeout=30_000)
            outcome = video.evaluate(
                "v => { v.muted = true; return v.play().then(() => 'ok', e => String(e)); }"
            )
            assert outcome == "ok"
            video.evaluate("v => new Promise(done => v.currentTime > 0 ? done() : v.ontimeupdate = done)")
            assert video.evaluate("v => v.videoWidth") == 768  # a new show's default size
            page.screenshot(path=str(ARTIFACTS / "5-playing.png"), full_page=True)
            page.close(run_before_unload=True)  # as a user closes the tab: its kernel ends
        finally:
            browser.close()
    assert page_errors == []
    assert elsewhere == [], f"the page asked hosts other than 127.0.0.1: {elsewhere}"
    _check_the_database(dashboard.home)


def _kernel_pids(root: int) -> set[int]:
    """Live ipykernel processes below process ``root`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if stat[0] in ("Z", "X"):
            continue
        children.setdefault(int(stat[1]), []).append(int(entry.name))
        commands[int(entry.name)] = command
    found, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), []):
            stack.append(child)
            if "ipykernel" in commands.get(child, ""):
                found.add(child)
    return found


def test_ten_page_loads_leave_at_most_one_kernel(dashboard: Dashboard) -> None:
    from playwright.sync_api import sync_playwright

    before = _kernel_pids(dashboard.pid)  # the preheated kernel, earlier tests' kernels
    seen: set[int] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for _ in range(10):
                page.goto(dashboard.url)  # leaving the page before shuts its kernel down
                page.locator(".studio-app").wait_for(timeout=90_000)
                seen |= _kernel_pids(dashboard.pid) - before
            page.close(run_before_unload=True)
        finally:
            browser.close()
    assert len(seen) >= 9  # each load had a kernel of its own (the first took the preheated one)
    # Voila keeps one preheated kernel for the next visitor; every page's kernel ends.
    _wait_until_at_most(seen, 1, timeout=60)


def _wait_until_at_most(pids: set[int], allowed: int, *, timeout: float) -> None:
    """Wait (on pidfds, not sleeps) until at most ``allowed`` of ``pids`` still run."""
    handles = {}
    for pid in pids:
        try:
            handles[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue
    try:
        deadline = time.monotonic() + timeout
        while len(handles) > allowed:
            left = deadline - time.monotonic()
            readable, _, _ = wait_readable(list(handles), [], [], max(left, 0))
            if not readable:
                break
            for handle in readable:
                handles.pop(handle)
                os.close(handle)
        assert len(handles) <= allowed, f"kernels still running: {sorted(handles.values())}"
    finally:
        for handle in handles:
            os.close(handle)


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

    from studio.jobs import JobStatus, list_jobs
    from studio.project import list_characters, list_segments, list_takes, scene_detail
    from studio.storage import QualityFeedbackModel

    # The render ran as a queue job, on a `studio worker --once` that exits once the queue is empty.
    record = json.loads((home / "renders" / "dashboard" / "worker.json").read_text(encoding="utf-8"))
    _wait_for_exit(record["pid"], timeout=60)
    # The render and the retake: one worker each, or one for both if the first was still
    # draining when the retake was queued.
    logs = [
        p.read_text(encoding="utf-8") for p in sorted((home / "renders" / "dashboard").glob("worker-*.log"))
    ]
    counts = [
        tuple(map(int, m))
        for log in logs
        for m in re.findall(r"claimed (\d+), succeeded (\d+), failed (\d+)", log)
    ]
    assert sum(c[0] for c in counts) == 2 and sum(c[1] for c in counts) == 2, logs
    assert all(c[2] == 0 for c in counts), logs
    with Studio.open(home=home) as studio:
        jobs = list_jobs(studio.database)  # newest first: the retake the rejection queued
        assert [(j.job_type, j.status, j.progress) for j in jobs] == [
            ("retake", JobStatus.SUCCEEDED, 100.0),
            ("render_episode", JobStatus.SUCCEEDED, 100.0),
        ]
        first = list_segments(studio, 1, project="Paper Moon")[0]  # the one the panel reviewed
        takes = list_takes(studio, first.id)
        assert [(t.take, t.status, t.chosen) for t in takes] == [(1, "rejected", False), (2, "passed", True)]
        assert "too dark" in takes[1].prompt
        assert [c.name for c in list_characters(studio, project="Paper Moon")] == ["Aoi"]
        spec = scene_detail(studio, 1, project="Paper Moon").spec
        assert spec.duration == 3 and spec.actions == ["Aoi looks up at the moon"]
        assert [(c.name, c.expression) for c in spec.characters] == [("Aoi", "curious")]
        assert [(d.speaker, d.line) for d in spec.dialogue] == [("Aoi", "Is anyone there?")]
        assert list_segments(studio, 1, project="Paper Moon")[0].shown_status == "approved"
        with studio.database.session() as session:
            ratings = session.execute(
                select(QualityFeedbackModel.user_rating, QualityFeedbackModel.user_notes)
                .where(QualityFeedbackModel.feedback_type == "user")
                .order_by(QualityFeedbackModel.id)
            ).all()
    assert [tuple(r) for r in ratings] == [(2, "too dark"), (5, None)]
