"""A whole episode on the comfyui backend, through the same pipeline as the animatic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from studio._config import load_settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio._video import probe
from studio.render._pipeline import render_episode
from studio.storage._models import SegmentModel
from tests.backends.comfyui._nodes import ALL_MODELS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer


def test_an_episode_renders_on_two_servers_and_survives_one_dying(
    make_server: Callable[..., FakeServer], tmp_path: Path
) -> None:
    # The demo's Luna has an SDXL LoRA: both servers have it installed.
    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    doomed = make_server(models=models, behaviour=Behaviour(run_seconds=0.2, steps=4, crash_at_step=2))
    healthy = make_server(models=models, behaviour=Behaviour(run_seconds=0.05, steps=4))
    settings = load_settings(
        home=tmp_path / "home", environ={"COMFYUI_URLS": f"{doomed.url},{healthy.url}"}
    )
    with Studio.open(settings=settings) as studio:
        # The fake's FramePack decodes near-still pictures: this project accepts long holds
        # (per-project quality thresholds, as a user would set them in the screenplay).
        show = tmp_path / "show.yaml"
        show.write_text(
            DEMO_SCREENPLAY.read_text().replace("  max_attempts: 3\n", "  max_attempts: 3\n  quality: {freeze_min_frames: 100000}\n")
        )
        studio.import_file(show)
        events = []
        # The default template (FramePack); the fake decodes its latents with the animatic.
        summary = render_episode(studio, episode=1, backend="comfyui", progress=events.append)
        assert not doomed.fake.alive  # it really died mid-job
        assert summary.backend == "comfyui"
        # A segment the retries could not fix is kept for review after max_attempts.
        assert {s["status"] for s in summary.scenes} <= {"completed", "review"}
        with studio.database.session() as session:
            # FramePack makes up to 12 s per segment: each demo scene (6, 5, 7 s) is one.
            assert session.scalar(select(func.count()).select_from(SegmentModel)) == 3
            backends = set(session.scalars(select(SegmentModel.backend)))
        assert backends == {"comfyui"}
        videos = sorted(p.relative_to(studio.home).as_posix() for p in (studio.home / "renders").rglob("segment_*.mp4"))
        assert len(videos) == 3
        with studio.database.session() as session:
            rows = session.execute(select(SegmentModel.frame_count, SegmentModel.leading_duplicate)).all()
        # FramePack rounds lengths to whole sections; the stitch drops seam duplicates and
        # the two 0.5 s transitions overlap their scenes.
        assert probe(summary.episode_video).frames == sum(n - dup for n, dup in rows) - 2 * 12
        # Progress came from the sampler steps, not only from finished segments.
        assert any("step" in e.message.lower() or "sampl" in e.message.lower() for e in events), {e.message for e in events}

        # Each retry walked FramePack's escalation ladder, and the server received it:
        # attempt 2 a new seed only, attempt 3 the base 25 steps + 10 (from the base, so
        # never 25 + 10 + 10).
        sent: dict[str, list[dict[str, object]]] = {}
        for pid in healthy.fake.posted:
            graph = healthy.fake.history[pid]["prompt"][2]
            samplers = [n["inputs"] for n in graph.values() if n["class_type"] == "FramePackSampler"]
            if samplers:
                prefix = next(n["inputs"]["filename_prefix"] for n in graph.values()
                              if n["class_type"] == "SaveVideo")
                sent.setdefault(prefix.split("/")[2].rsplit("_", 1)[0], []).append(samplers[0])
        for scene in summary.scenes:
            for segment in scene["segments"]:
                log = segment["attempt_log"]
                assert [a["attempt"] for a in log] == list(range(1, segment["attempts"] + 1))
                assert log[0]["changes"] == {}
                if segment["attempts"] >= 3:
                    assert log[2]["changes"] == {"steps": 35}
                    graphs = sent[f"e1_s{scene['scene']}_segment_{segment['segment']:03d}"]
                    assert [g["steps"] for g in graphs[-3:]] == [25, 25, 35]
                    assert len({g["seed"] for g in graphs[-3:]}) == 3
