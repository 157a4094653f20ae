"""From previs to final: `studio render --backend comfyui` on an animatic episode."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from studio._cli import main
from studio._config import load_settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio.storage import SceneModel, SegmentModel, TakeModel
from tests.backends.comfyui._nodes import ALL_MODELS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer


def test_a_comfyui_render_of_an_animatic_episode_is_a_final_pass(
    make_server: Callable[..., FakeServer], tmp_path: Path
) -> None:
    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    server = make_server(models=models, behaviour=Behaviour(run_seconds=0.05, steps=2))
    home = tmp_path / "home"
    settings = load_settings(home=home, environ={"COMFYUI_URLS": server.url})
    show = tmp_path / "show.yaml"
    show.write_text(
        DEMO_SCREENPLAY.read_text().replace(
            "  max_attempts: 3\n", "  max_attempts: 3\n  quality: {freeze_min_frames: 100000}\n"
        )
    )
    with Studio.open(settings=settings) as studio:
        studio.import_file(show)
    runner = CliRunner()
    base = ["--home", str(home), "render", "--episode", "1", "--no-report", "--json"]
    previs = runner.invoke(main, base, catch_exceptions=False)
    assert previs.exit_code == 0, previs.output
    assert json.loads(previs.output)["pass"] == "previs"

    final = runner.invoke(
        main, [*base, "--backend", "comfyui"], catch_exceptions=False, env={"COMFYUI_URLS": server.url}
    )
    assert final.exit_code == 0, final.output
    document = json.loads(final.output)
    assert document["pass"] == "final" and document["backend"] == "comfyui"
    for scene in document["scenes"]:
        for segment in scene["segments"]:
            assert segment["pass"] == "final"
            assert {t["pass"] for t in segment["takes"]} <= {"previs", "final"}
            assert [t["backend"] for t in segment["takes"] if t["chosen"]] == ["comfyui"]
    with Studio.open(settings=settings) as studio, studio.database.session() as session:
        rows = session.execute(
            select(SceneModel.scene_number, SegmentModel.segment_number, TakeModel)
            .join(SegmentModel, TakeModel.segment_id == SegmentModel.id)
            .join(SceneModel, SegmentModel.scene_id == SceneModel.id)
            .order_by(SceneModel.scene_number, SegmentModel.segment_number, TakeModel.id)
        ).all()
        finals = {(s, n): t for s, n, t in rows if t.render_pass == "final" and t.chosen_for is not None}
        previs_kept = [t for _, _, t in rows if t.render_pass == "previs"]
        assert previs_kept and all(t.chosen_for is None for t in previs_kept)
        assert all((home / t.output_video_path).is_file() for t in previs_kept)
        for (scene, number), take in finals.items():
            before = finals.get((scene, number - 1))
            if before is not None:  # chained from the new takes' last frames
                assert take.start_frame_path == before.last_frame_path
    assert len(server.fake.executed) >= len(finals)  # the GPU really got work
