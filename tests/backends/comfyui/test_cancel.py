"""Cancel while ComfyUI generates: the job is stopped on the server, the segment goes back
to pending, and a re-run finishes the episode with each segment once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from studio._config import load_settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio.render._pipeline import RenderCancelled, RenderProgress, render_episode
from studio.storage._models import SegmentModel
from tests.backends.comfyui._nodes import ALL_MODELS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer

BOUND = 60.0  # seconds; the job itself would run for ten minutes


def wait_until(condition: Callable[[], bool], what: str) -> None:
    done = threading.Event()
    for _ in range(int(BOUND / 0.05)):
        if condition():
            return
        done.wait(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_a_cancel_mid_job_stops_it_on_the_server_and_a_rerun_finishes(
    make_server: Callable[..., FakeServer], tmp_path: Path, database_url: str
) -> None:
    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    # A job that would take ten minutes, reporting a sampler step (and a preview) every 0.1 s.
    comfy = make_server(models=models, behaviour=Behaviour(run_seconds=600, steps=6000, previews=True))
    settings = load_settings(
        home=tmp_path / "home", database_url=database_url, environ={"COMFYUI_URLS": comfy.url}
    )
    with Studio.open(settings=settings, upgrade=True) as studio:
        show = tmp_path / "show.yaml"
        show.write_text(
            DEMO_SCREENPLAY.read_text().replace(
                "  max_attempts: 3\n", "  max_attempts: 3\n  quality: {freeze_min_frames: 100000}\n"
            )
        )
        studio.import_file(show)
        requested = threading.Event()
        outcome: list[BaseException | None] = []

        def track(event: RenderProgress) -> None:
            if "step" in event.message.lower():
                requested.set()  # Cancel, clicked while the sampler runs

        def run() -> None:
            try:
                render_episode(
                    studio, episode=1, backend="comfyui", progress=track,
                    should_cancel=requested.is_set, scene_concurrency=1,
                )
                outcome.append(None)
            except BaseException as error:  # handed to the test's thread
                outcome.append(error)

        render = threading.Thread(target=run, name="test-render", daemon=True)
        render.start()
        render.join(BOUND)
        assert not render.is_alive(), "the render did not stop after Cancel"
        assert isinstance(outcome[0], RenderCancelled), outcome
        [pid] = comfy.fake.executed
        # The running job was interrupted by name, and the server is idle again.
        assert {"prompt_id": pid} in comfy.fake.interrupts
        wait_until(lambda: comfy.call(_idle(comfy)), "the server to drop the job")
        assert pid not in comfy.fake.completed
        with studio.database.session() as session:
            rows = session.execute(
                select(SegmentModel.status, SegmentModel.attempts, SegmentModel.output_video_path)
            ).all()
        assert sorted(rows) == [("pending", 0, None)] * 3
        assert not [p for p in (studio.home / "renders").rglob("*") if p.is_file()]

        comfy.behaviour.run_seconds, comfy.behaviour.steps = 0.05, 4
        summary = render_episode(studio, episode=1, backend="comfyui")
        assert {s["status"] for s in summary.scenes} <= {"completed", "review"}
        with studio.database.session() as session:
            assert len(session.scalars(select(SegmentModel.id)).all()) == 3
        assert len(list((studio.home / "renders").rglob("segment_*.mp4"))) == 3
        assert not list((studio.home / "renders").rglob("*_preview.png"))


async def _idle(comfy: FakeServer) -> bool:
    return comfy.fake._running is None and not comfy.fake._pending
