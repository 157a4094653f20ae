"""Make the README's pictures: an animatic frame of the demo, and the dashboard.

Run: ``.venv/bin/python docs/screenshots.py`` (about a minute). It renders the demo's
episode on the animatic backend in a throw-away home, saves a frame of scene 2 as
``docs/animatic-frame.png``, then serves ``studio dashboard`` on that home and takes a
screenshot of the Storyboard tab with headless Chromium (``/usr/bin/chromium``) as
``docs/dashboard.png``. Both are shrunk so the README stays light.
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio import Studio  # noqa: E402
from studio.project import list_segments  # noqa: E402
from studio.render import render_episode  # noqa: E402
from tests._postgres import free_port  # noqa: E402
from tests.browser.test_dashboard import CHROME_ARGS  # noqa: E402

DOCS = ROOT / "docs"


def save_small(source: Path | bytes, target: Path, width: int) -> None:
    """Write ``source`` (a PNG file or PNG bytes) ``width`` px wide, compressed hard."""
    import numpy as np

    data = source.read_bytes() if isinstance(source, Path) else source
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    height = round(image.shape[0] * width / image.shape[1])
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(target), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"{target.relative_to(ROOT)}: {width}x{height}, {target.stat().st_size // 1024} KB")


def main() -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="studio-docs-")) / "home"
    with Studio.open(home=home, database_url=f"sqlite:///{home / 'studio.db'}") as studio:
        studio.import_demo()
        render_episode(studio, episode=1, backend="animatic")
        frame = list_segments(studio, 2)[0].last_frame
        assert frame is not None
        save_small(frame, DOCS / "animatic-frame.png", 480)

    port, token = free_port(), secrets.token_urlsafe(12)
    command = [sys.executable, "-m", "studio", "--home", str(home), "dashboard"]
    command += [f"--port={port}", f"--token={token}", "--no-browser"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        url = next(m.group(1) for line in server.stdout if (m := re.search(r"running at: (\S+)", line)))
        # Keep reading its output, so a full pipe never blocks the server.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROME_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(url)
            page.get_by_role("tab", name="Storyboard").click()
            page.locator(".studio-storyboard-panel img.widget-image:visible").first.wait_for(timeout=120_000)
            shot = page.locator(".studio-app").screenshot()
            save_small(shot, DOCS / "dashboard.png", 960)
            page.close(run_before_unload=True)
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
