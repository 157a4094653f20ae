"""``studio render --json`` on the comfyui backend: one JSON document, also on failure,
and no scene or segment left ``generating``/``processing`` afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from studio._cli import main
from studio._config import load_settings
from studio._studio import Studio
from studio.storage._models import SceneModel, SegmentModel
from tests.backends.comfyui._nodes import ALL_MODELS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer


def run(home: Path, urls: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args],
                                env={"COMFYUI_URLS": urls, "STUDIO_COMFYUI_GRACE": "1"})
    return result.exit_code, result.stdout, result.stderr


def test_a_failed_render_prints_one_json_document_with_what_was_kept(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    server = make_server(models=models, behaviour=Behaviour(run_seconds=0.01, steps=2))
    home = tmp_path / "home"
    code, _, err = run(home, server.url, "demo", "--no-render")
    assert code == 0, err
    code, out, err = run(home, server.url, "--json", "render", "--episode", "1",
                         "--backend", "comfyui", "--no-report", "--max-attempts", "1")
    assert code == 0, err  # the healthy run: the baseline document
    assert json.loads(out)["backend"] == "comfyui"
    # Render it all again, with every decode failing on the server.
    server.behaviour.fail_class = "VAEDecodeTiled"
    settings = load_settings(home=home, environ={"COMFYUI_URLS": server.url})
    with Studio.open(settings=settings) as studio, studio.database.session() as session:
        for segment in session.scalars(select(SegmentModel)):
            segment.status = "pending"
        for scene in session.scalars(select(SceneModel)):
            scene.status = "pending"
    code, out, err = run(home, server.url, "--json", "render", "--episode", "1",
                         "--backend", "comfyui", "--no-report", "--max-attempts", "1")
    assert code != 0
    document = json.loads(out)  # exactly one document, even though it failed
    assert document["backend"] == "comfyui"
    assert document["error"]["type"] == "RenderError"
    assert "VAEDecodeTiled" in document["error"]["message"]
    assert document["error"]["exit_code"] == code
    assert document["scenes"] and all("segments" in s for s in document["scenes"])
    with Studio.open(settings=settings) as studio, studio.database.session() as session:
        scenes = set(session.scalars(select(SceneModel.status)))
        segments = set(session.scalars(select(SegmentModel.status)))
    assert "generating" not in scenes and "processing" not in segments
    assert "failed" in scenes


def test_a_json_error_before_anything_renders_is_still_one_document(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path / "home", "", "--json", "render", "--episode", "7",
                       "--backend", "comfyui", "--no-report")
    assert code == 2
    document = json.loads(out)
    assert document["error"]["exit_code"] == 2 and document["backend"] == "comfyui"
