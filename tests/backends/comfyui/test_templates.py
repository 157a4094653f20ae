"""Built-in templates, bindings, frame-count rules and preflight."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from studio.backends.comfyui import PreflightError, TemplateError
from studio.backends.comfyui._preflight import check_graph, guess_lora_family, preflight
from studio.backends.comfyui._templates import (
    DEFAULT_TEMPLATE,
    apply_bindings,
    list_templates,
    load_template,
    parse_template,
    plan_frames,
    save_template,
)
from tests.backends.comfyui._nodes import ALL_MODELS, build_object_info

INFO = build_object_info(ALL_MODELS, [])
NAMES = ["framepack_i2v", "ltxv_i2v", "sdxl_keyframe", "smoke_i2v", "smoke_keyframe",
         "wan22_i2v", "wan_flf2v"]


def test_builtins_are_listed_and_the_default_exists() -> None:
    assert [t.name for t in list_templates()] == NAMES
    assert load_template(DEFAULT_TEMPLATE).engine == "framepack"


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_outputs_video_and_last_frame_and_passes_preflight(name: str) -> None:
    template = load_template(name)
    graph = apply_bindings(template, {})
    video, last = graph[template.outputs["video"]], graph[template.outputs["last_frame"]]
    assert video["class_type"] == "SaveVideo"
    assert graph[video["inputs"]["video"][0]]["class_type"] == "CreateVideo"
    assert last["class_type"] == "SaveImage"
    assert graph[last["inputs"]["images"][0]]["class_type"] == "ImageFromBatch"
    assert preflight(graph, INFO, model_family=template.model_family) == []


def test_video_templates_use_the_named_nodes() -> None:
    classes = {t.name: {n["class_type"] for n in t.graph.values()} for t in list_templates()}
    assert {"LoadFramePackModel", "FramePackSampler"} <= classes["framepack_i2v"]
    assert "WanImageToVideo" in classes["wan22_i2v"]
    assert "WanFirstLastFrameToVideo" in classes["wan_flf2v"]
    assert "LTXVImgToVideo" in classes["ltxv_i2v"]
    model_free = build_object_info({}, [], packs=("core",))
    for name in ("smoke_i2v", "smoke_keyframe"):
        assert preflight(apply_bindings(load_template(name), {}), model_free) == []


@pytest.mark.parametrize(
    ("name", "planned", "fps", "frames", "rounded"),
    [("wan22_i2v", 64, 16, 65, False), ("wan22_i2v", 50, 16, 49, True),
     ("wan22_i2v", 200, 16, 81, True), ("ltxv_i2v", 48, 24, 49, False),
     ("ltxv_i2v", 50, 24, 49, True), ("framepack_i2v", 144, 30, 145, False),
     ("framepack_i2v", 100, 30, 109, True), ("smoke_i2v", 10, 24, 11, False)],
)
def test_frame_rules(name: str, planned: int, fps: int, frames: int, rounded: bool) -> None:
    plan = plan_frames(load_template(name), planned, fps, has_start=True)
    assert plan.frames == frames
    assert plan.planned_frames == frames - 1
    assert bool(plan.notes) == rounded
    if rounded:
        assert "rounded" in plan.notes[0]


def test_framepack_length_is_seconds_at_30fps() -> None:
    plan = plan_frames(load_template("framepack_i2v"), 144, 30, has_start=True)
    assert plan.duration_seconds == pytest.approx(4.8)


def test_bindings_and_lora_slot() -> None:
    template = load_template("wan22_i2v")
    graph = apply_bindings(template, {"prompt": "she waves", "seed": 7, "length": 49})
    assert graph["7"]["inputs"]["text"] == "she waves"
    assert graph["11"]["inputs"]["noise_seed"] == graph["12"]["inputs"]["noise_seed"] == 7
    assert "21" not in graph and graph["3"]["inputs"]["model"] == ["1", 0]
    with_lora = apply_bindings(template, {}, lora=("hero_wan21.safetensors", 0.7))
    assert with_lora["21"]["inputs"]["lora_name"] == "hero_wan21.safetensors"
    assert with_lora["22"]["inputs"]["strength_model"] == 0.7
    framepack = apply_bindings(load_template("framepack_i2v"), {})
    assert "lora" not in framepack["1"]["inputs"]  # optional input dropped with its node


def test_user_templates_round_trip_and_shadow(tmp_path: Path) -> None:
    template = load_template("smoke_i2v")
    doc = template.to_json() | {"name": "mine"}
    path = save_template(parse_template(doc), tmp_path)
    assert path == tmp_path / "workflows" / "mine.json"
    assert load_template("mine", home=tmp_path).graph == template.graph
    with pytest.raises(TemplateError, match="already exists"):
        save_template(parse_template(doc), tmp_path)
    assert "mine" in [t.name for t in list_templates(tmp_path)]
    with pytest.raises(TemplateError, match="known templates: .*mine"):
        load_template("nope", home=tmp_path)


def test_malformed_manifest_lists_every_problem() -> None:
    doc = copy.deepcopy(load_template("smoke_i2v").to_json())
    doc["engine"] = "magic"
    doc["bindings"]["prompt"] = [{"node": "77", "input": "text"}]
    doc["outputs"]["video"] = "1"
    with pytest.raises(TemplateError) as caught:
        parse_template(doc)
    text = str(caught.value)
    assert "engine 'magic'" in text and "missing node 77" in text and "outputs.video" in text


def test_preflight_reports_every_problem_together() -> None:
    template = load_template("wan22_i2v")
    graph = apply_bindings(template, {"length": 0}, lora=("hero_sd15.safetensors", 1.0))
    graph["10"]["class_type"] = "WanImageToVideo"
    graph["5"]["inputs"]["clip_name"] = "umt5_missing.safetensors"
    graph["11"]["inputs"]["sampler_name"] = "nonsense"
    graph["12"]["inputs"]["latent_image"] = ["7", 0]  # CONDITIONING into LATENT
    del graph["10"]["inputs"]["vae"]
    graph["99"] = {"class_type": "VHS_VideoCombine", "inputs": {}}
    graph["13"]["inputs"]["vae"] = ["42", 0]
    info = build_object_info(ALL_MODELS, [], packs=("core",))
    with pytest.raises(PreflightError) as caught:
        check_graph(graph, info, server="http://gpu1:8188", template="wan22_i2v",
                    model_family=template.model_family)
    kinds = {(p.kind, p.node_id, p.input_name) for p in caught.value.problems}
    assert kinds == {
        ("out_of_range", "10", "length"), ("missing_model", "5", "clip_name"),
        ("not_in_list", "11", "sampler_name"), ("bad_type", "12", "latent_image"),
        ("missing_input", "10", "vae"), ("unknown_node", "99", None),
        ("bad_link", "13", "vae"), ("lora_family", "21", "lora_name"),
        ("lora_family", "22", "lora_name"),
    }
    text = str(caught.value)
    assert "ComfyUI/models/text_encoders/" in text and "VideoHelperSuite" in text
    assert "http://gpu1:8188" in text


def test_framepack_nodes_missing_name_the_pack() -> None:
    graph = apply_bindings(load_template("framepack_i2v"), {})
    problems = preflight(graph, build_object_info(ALL_MODELS, [], packs=("core",)))
    assert {p.class_type for p in problems} == {"LoadFramePackModel", "FramePackSampler"}
    assert all("ComfyUI-FramePackWrapper" in p.hint for p in problems)


def test_sd_lora_on_framepack_is_refused() -> None:
    template = load_template("framepack_i2v")
    graph = apply_bindings(template, {}, lora=("hero_illustrious.safetensors", 1.0))
    problems = preflight(graph, INFO, model_family=template.model_family)
    assert [p.kind for p in problems] == ["lora_family"]
    ok = apply_bindings(template, {}, lora=("hero_hunyuan.safetensors", 1.0))
    assert preflight(ok, INFO, model_family=template.model_family) == []
    declared = preflight(graph, INFO, model_family=template.model_family,
                         lora_families={"hero_illustrious.safetensors": "hunyuan_video"})
    assert declared == []


def test_lora_family_guesses() -> None:
    assert guess_lora_family("hero_wan21.safetensors") == "wan"
    assert guess_lora_family("aqua_illustrious_v2.safetensors") == "sdxl"
    assert guess_lora_family("style_sd15.safetensors") == "sd15"
    assert guess_lora_family("character.safetensors") is None


def test_workflow_files_are_valid_json_objects() -> None:
    root = Path(__file__).resolve().parents[3] / "workflows"
    for path in root.glob("*.json"):
        assert parse_template(json.loads(path.read_text())).name == path.stem
