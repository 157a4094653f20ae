"""The queue panel shows a ComfyUI segment's live preview while it renders."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from studio._config import load_settings
from studio._studio import Studio
from studio.render import RenderCancelled, render_episode
from tests.backends.comfyui._nodes import ALL_MODELS
from tests.backends.comfyui.fake_comfyui import _PREVIEW_PNG, Behaviour, FakeComfyUI, FakeServer
from widgets import QueuePanel

BOUND = 60.0  # seconds; the ComfyUI job itself would run for ten minutes


def poll(condition: Callable[[], bool], what: str) -> None:
    pause = threading.Event()
    for _ in range(int(BOUND / 0.05)):
        if condition():
            return
        pause.wait(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_the_panel_shows_the_newest_sampler_preview_of_a_comfyui_render(tmp_path: Path) -> None:
    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    comfy = FakeServer(FakeComfyUI(tmp_path / "comfy", models=models,
                                   behaviour=Behaviour(run_seconds=600, steps=6000, previews=True)))
    settings = load_settings(home=tmp_path / "home", environ={"COMFYUI_URLS": comfy.url})
    stop = threading.Event()
    outcome: list[BaseException | None] = []
    try:
        with Studio.open(settings=settings) as studio:
            studio.import_demo()
            panel = QueuePanel(studio, auto_refresh=False)
            assert panel.preview.layout.display == "none"

            def run() -> None:
                try:
                    render_episode(studio, episode=1, backend="comfyui", should_cancel=stop.is_set)
                    outcome.append(None)
                except BaseException as error:  # handed to the test's thread
                    outcome.append(error)

            render = threading.Thread(target=run, name="test-render", daemon=True)
            render.start()

            def shows_preview() -> bool:
                panel.refresh()
                return bytes(panel.preview.value) == _PREVIEW_PNG

            poll(shows_preview, "the panel to show the sampler's preview")
            assert panel.preview.layout.display is None
            previews = list((studio.home / "renders").rglob("segment_*_preview.png"))
            assert len(previews) == 1 and previews[0].read_bytes() == _PREVIEW_PNG

            stop.set()
            render.join(BOUND)
            assert not render.is_alive() and isinstance(outcome[0], RenderCancelled), outcome
            panel.refresh()  # the cut-off segment's preview is gone, and no frame is finished
            assert panel.preview.layout.display == "none"
            assert not list((studio.home / "renders").rglob("segment_*_preview.png"))
            panel.close()
    finally:
        stop.set()
        comfy.close()
