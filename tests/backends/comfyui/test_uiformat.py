"""UI-format import: the three real template files, and each conversion rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from studio.backends.comfyui import WorkflowImportError
from studio.backends.comfyui._preflight import preflight
from studio.backends.comfyui._uiformat import convert_workflow, is_api_format, propose_template
from tests.backends.comfyui._nodes import build_object_info

REFERENCE = Path("/work/shared/reference/comfyui-templates")
HERE = Path(__file__).resolve().parent / "data"
ADDED = {"ImageFromBatch", "SaveImage", "CreateVideo", "SaveVideo"}
MODELS = {"checkpoints": ["sd_xl_base_1.0.safetensors"],
          "diffusion_models": ["wan2.1_i2v_480p_14B_fp16.safetensors",
                               "wan2.2_ti2v_5B_fp16.safetensors"],
          "text_encoders": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors"],
          "vae": ["wan_2.1_vae.safetensors", "wan2.2_vae.safetensors"],
          "clip_vision": ["clip_vision_h.safetensors"]}


def load(name: str) -> dict[str, Any]:
    path = REFERENCE / name if (REFERENCE / name).is_file() else HERE / name
    return json.loads(path.read_text())


def info_for(doc: dict[str, Any]) -> dict[str, Any]:
    """object_info built from exactly the node definitions the workflow uses."""
    used = {n["type"] for n in doc["nodes"]}
    return build_object_info(MODELS, ["image_to_video_wan_start_image.png"], only=used | ADDED)


def test_sdxl_simple() -> None:
    doc = load("image_sdxl_simple.json")
    info = info_for(doc)
    graph = convert_workflow(doc, info)
    assert "16" not in graph  # MarkdownNote dropped
    assert graph["12"]["inputs"] == {
        "model": ["15", 0], "seed": 812045847300606, "steps": 25, "cfg": 7,
        "sampler_name": "dpmpp_2m", "scheduler": "karras", "positive": ["10", 0],
        "negative": ["11", 0], "latent_image": ["13", 0], "denoise": 1}
    result = propose_template(graph, "sdxl_simple")
    t = result.template
    assert (t.engine, t.model_family, t.requires_start_image) == ("image", "sdxl", False)
    assert {k: [(x.node, x.input) for x in v] for k, v in t.bindings.items()
            if k in ("prompt", "negative_prompt", "seed", "width")} == {
        "prompt": [("10", "text")], "negative_prompt": [("11", "text")],
        "seed": [("12", "seed")], "width": [("13", "width")]}
    assert t.graph[t.outputs["video"]]["class_type"] == "SaveVideo"
    assert "7" not in t.graph  # the old SaveImage became the last-frame output
    assert preflight(dict(t.graph), info, model_family=t.model_family) == []


def test_wan21_image_to_video() -> None:
    doc = load("image_to_video_wan.json")
    info = info_for(doc)
    graph = convert_workflow(doc, info)
    assert graph["52"]["inputs"] == {"image": "image_to_video_wan_start_image.png"}
    assert graph["50"]["inputs"]["length"] == 33 and graph["50"]["inputs"]["start_image"] == [
        "52", 0]
    assert graph["55"]["inputs"] == {"images": ["8", 0], "fps": 16}  # audio unlinked
    assert graph["51"]["inputs"]["crop"] == "none"
    t = propose_template(graph, "wan21").template
    assert (t.engine, t.model_family, t.requires_start_image) == ("wan", "wan", True)
    assert [(x.node, x.input) for x in t.bindings["start_image"]] == [("52", "image")]
    assert [(x.node, x.input) for x in t.bindings["length"]] == [("50", "length")]
    assert t.outputs["video"] == "56"
    assert preflight(dict(t.graph), info, model_family=t.model_family) == []


def test_wan22_5b_with_a_bypassed_load_image() -> None:
    doc = load("video_wan2_2_5B_ti2v.json")
    info = info_for(doc)
    graph = convert_workflow(doc, info)
    assert "56" not in graph  # bypassed LoadImage dropped...
    assert "start_image" not in graph["55"]["inputs"]  # ...and its optional link pruned
    result = propose_template(graph, "wan22_5b")
    assert not result.template.requires_start_image
    assert any("text-to-video" in note for note in result.notes)
    assert preflight(dict(result.template.graph), info) == []


def test_unknown_node_types_are_listed_not_guessed() -> None:
    doc = load("image_to_video_wan.json")
    info = info_for(doc)
    del info["WanImageToVideo"]
    doc["nodes"].append({"id": 90, "type": "VHS_VideoCombine", "mode": 0, "inputs": [],
                         "outputs": [], "widgets_values": {}})
    with pytest.raises(WorkflowImportError) as caught:
        convert_workflow(doc, info)
    assert caught.value.unknown_types == ("VHS_VideoCombine", "WanImageToVideo")
    assert "VideoHelperSuite" in str(caught.value)


def _ui(nodes: list[dict[str, Any]], links: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"nodes": nodes, "links": links, "version": 0.4, **extra}


def _n(nid: int, kind: str, widgets: Any = None, inputs: Any = (), mode: int = 0,
       outputs: Any = ()) -> dict[str, Any]:
    return {"id": nid, "type": kind, "mode": mode, "inputs": list(inputs),
            "outputs": list(outputs), "widgets_values": widgets}


INFO = build_object_info({}, [], packs=("core",))


def test_reroute_primitive_widget_input_bypass_and_mute() -> None:
    doc = _ui([
        _n(1, "EmptyImage", [64, 48, 1, 255]),
        _n(2, "Reroute", None, [{"name": "", "type": "*", "link": 1}]),
        _n(3, "PrimitiveNode", [99]),
        _n(4, "ImageBlur", [3, 1.5], [{"name": "image", "type": "IMAGE", "link": 2},
                                      {"name": "blur_radius", "type": "INT", "link": 3,
                                       "widget": {"name": "blur_radius"}}], mode=4),
        _n(5, "ImageInvert", None, [{"name": "image", "type": "IMAGE", "link": 4}]),
        _n(6, "SaveImage", ["out"], [{"name": "images", "type": "IMAGE", "link": 5}]),
        _n(7, "SaveImage", ["muted"], [{"name": "images", "type": "IMAGE", "link": 6}], mode=2),
        _n(8, "Note", ["just a note"]),
    ], [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 4, 0, "IMAGE"], [3, 3, 0, 4, 1, "INT"],
        [4, 4, 0, 5, 0, "IMAGE"], [5, 5, 0, 6, 0, "IMAGE"], [6, 5, 0, 7, 0, "IMAGE"]])
    graph = convert_workflow(doc, INFO)
    assert sorted(graph, key=int) == ["1", "5", "6"]
    assert graph["5"]["inputs"] == {"image": ["1", 0]}  # bypass -> same-typed input -> reroute
    assert graph["1"]["inputs"] == {"width": 64, "height": 48, "batch_size": 1, "color": 255}


def test_primitive_value_flows_into_a_converted_widget() -> None:
    doc = _ui([
        _n(1, "EmptyImage", [64, 48, 1, 0], [{"name": "width", "type": "INT", "link": 1,
                                              "widget": {"name": "width"}}]),
        _n(2, "PrimitiveNode", [128]),
        _n(3, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}]),
    ], [[1, 2, 0, 1, 0, "INT"], [2, 1, 0, 3, 0, "IMAGE"]])
    graph = convert_workflow(doc, INFO)
    assert graph["1"]["inputs"]["width"] == 128  # the stale 64 is ignored


def test_subgraph_instances_are_expanded() -> None:
    sub_id = "0f3b6c1e-1111-4222-8333-444455556666"
    definition = {
        "id": sub_id,
        "nodes": [_n(1, "ImageInvert", None, [{"name": "image", "type": "IMAGE", "link": 10}]),
                  _n(2, "ImageBlur", [2, 1.0], [{"name": "image", "type": "IMAGE",
                                                 "link": 11}])],
        "links": [{"id": 10, "origin_id": -10, "origin_slot": 0, "target_id": 1,
                   "target_slot": 0, "type": "IMAGE"},
                  {"id": 11, "origin_id": 1, "origin_slot": 0, "target_id": 2,
                   "target_slot": 0, "type": "IMAGE"},
                  {"id": 12, "origin_id": 2, "origin_slot": 0, "target_id": -20,
                   "target_slot": 0, "type": "IMAGE"}],
        "inputs": [{"name": "image", "type": "IMAGE", "linkIds": [10]}],
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "linkIds": [12]}],
    }
    instance = _n(5, sub_id, [7], [{"name": "image", "type": "IMAGE", "link": 1}])
    instance["properties"] = {"proxyWidgets": [["2", "blur_radius"]]}
    doc = _ui([_n(4, "EmptyImage", [8, 8, 1, 0]), instance,
               _n(6, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}])],
              [[1, 4, 0, 5, 0, "IMAGE"], [2, 5, 0, 6, 0, "IMAGE"]],
              definitions={"subgraphs": [definition]})
    graph = convert_workflow(doc, INFO)
    assert graph["5:1"]["inputs"] == {"image": ["4", 0]}
    assert graph["5:2"]["inputs"] == {"image": ["5:1", 0], "blur_radius": 7, "sigma": 1.0}
    assert graph["6"]["inputs"]["images"] == ["5:2", 0]


def test_api_format_passes_through() -> None:
    api = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8,
                                                        "batch_size": 1, "color": 0}}}
    assert is_api_format(api) and convert_workflow(api, INFO) == api
    with pytest.raises(WorkflowImportError, match="not a ComfyUI workflow"):
        convert_workflow({"hello": 1}, INFO)


def _sub(sub_id: str, nodes: list[dict[str, Any]], links: list[tuple[Any, ...]],
         inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> dict[str, Any]:
    keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
    return {"id": sub_id, "nodes": nodes, "links": [dict(zip(keys, lk, strict=True))
                                                   for lk in links],
            "inputs": [{"name": n, "type": t} for n, t in inputs],
            "outputs": [{"name": n, "type": t} for n, t in outputs]}


BLUR = "b1b1b1b1-0000-4000-8000-000000000001"
OUTER = "0a0a0a0a-0000-4000-8000-000000000002"


def _blur_subgraph() -> dict[str, Any]:
    """image -> ImageBlur(radius from subgraph input 'radius') -> IMAGE; local link ids 1-3."""
    return _sub(BLUR, [_n(1, "ImageBlur", [5, 1.0], [
        {"name": "image", "type": "IMAGE", "link": 1},
        {"name": "blur_radius", "type": "INT", "link": 2, "widget": {"name": "blur_radius"}}])],
        [(1, -10, 0, 1, 0, "IMAGE"), (2, -10, 1, 1, 1, "INT"), (3, 1, 0, -20, 0, "IMAGE")],
        [("image", "IMAGE"), ("radius", "INT")], [("IMAGE", "IMAGE")])


def test_an_unlinked_subgraph_input_keeps_the_inner_widget_not_a_local_link_id() -> None:
    # Outer link ids 1 and 2 collide with the subgraph's local ids 1 and 2: the inner
    # blur_radius (local link 2, unfed outside) must not end up wired to outer link 2.
    instance = _n(5, BLUR, [], [{"name": "image", "type": "IMAGE", "link": 1}])
    doc = _ui([_n(4, "EmptyImage", [8, 8, 1, 0]), instance,
               _n(6, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}])],
              [[1, 4, 0, 5, 0, "IMAGE"], [2, 5, 0, 6, 0, "IMAGE"]],
              definitions={"subgraphs": [_blur_subgraph()]})
    graph = convert_workflow(doc, INFO)
    assert graph["5:1"]["inputs"] == {"image": ["4", 0], "blur_radius": 5, "sigma": 1.0}
    assert graph["6"]["inputs"]["images"] == ["5:1", 0]


def test_outer_links_reach_subgraph_inputs_by_name_not_slot_number() -> None:
    # The instance shows only 'radius' (slot 0), which is the subgraph's input 1.
    instance = _n(5, BLUR, [], [{"name": "radius", "type": "INT", "link": 3,
                                 "widget": {"name": "radius"}},
                                {"name": "image", "type": "IMAGE", "link": 1}])
    doc = _ui([_n(4, "EmptyImage", [8, 8, 1, 0]), _n(3, "PrimitiveNode", [9]), instance,
               _n(6, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}])],
              [[1, 4, 0, 5, 1, "IMAGE"], [2, 5, 0, 6, 0, "IMAGE"], [3, 3, 0, 5, 0, "INT"]],
              definitions={"subgraphs": [_blur_subgraph()]})
    graph = convert_workflow(doc, INFO)
    assert graph["5:1"]["inputs"] == {"image": ["4", 0], "blur_radius": 9, "sigma": 1.0}


def test_instance_widget_values_fill_widget_typed_subgraph_inputs_in_order() -> None:
    instance = _n(5, BLUR, [7], [{"name": "image", "type": "IMAGE", "link": 1}])
    doc = _ui([_n(4, "EmptyImage", [8, 8, 1, 0]), instance,
               _n(6, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}])],
              [[1, 4, 0, 5, 0, "IMAGE"], [2, 5, 0, 6, 0, "IMAGE"]],
              definitions={"subgraphs": [_blur_subgraph()]})
    assert convert_workflow(doc, INFO)["5:1"]["inputs"]["blur_radius"] == 7


def test_nested_subgraphs_expand_and_hand_values_down() -> None:
    # OUTER holds a BLUR instance (inner id 2) and an ImageInvert (inner id 3); its own
    # input 'r' feeds the nested instance's 'radius'.
    outer = _sub(OUTER, [
        _n(2, BLUR, [], [{"name": "image", "type": "IMAGE", "link": 1},
                         {"name": "radius", "type": "INT", "link": 2,
                          "widget": {"name": "radius"}}]),
        _n(3, "ImageInvert", None, [{"name": "image", "type": "IMAGE", "link": 3}])],
        [(1, -10, 0, 2, 0, "IMAGE"), (2, -10, 1, 2, 1, "INT"), (3, 2, 0, 3, 0, "IMAGE"),
         (4, 3, 0, -20, 0, "IMAGE")],
        [("image", "IMAGE"), ("r", "INT")], [("IMAGE", "IMAGE")])
    instance = _n(7, OUTER, [11], [{"name": "image", "type": "IMAGE", "link": 1}])
    doc = _ui([_n(4, "EmptyImage", [8, 8, 1, 0]), instance,
               _n(6, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}])],
              [[1, 4, 0, 7, 0, "IMAGE"], [2, 7, 0, 6, 0, "IMAGE"]],
              definitions={"subgraphs": [outer, _blur_subgraph()]})
    graph = convert_workflow(doc, INFO)
    assert sorted(graph) == ["4", "6", "7:2:1", "7:3"]
    assert graph["7:2:1"]["inputs"] == {"image": ["4", 0], "blur_radius": 11, "sigma": 1.0}
    assert graph["7:3"]["inputs"] == {"image": ["7:2:1", 0]}
    assert graph["6"]["inputs"]["images"] == ["7:3", 0]


def test_a_bypassed_subgraph_instance_bypasses_its_body() -> None:
    instance = _n(5, BLUR, [], [{"name": "image", "type": "IMAGE", "link": 1}], mode=4)
    doc = _ui([_n(4, "EmptyImage", [8, 8, 1, 0]), instance,
               _n(6, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 2}])],
              [[1, 4, 0, 5, 0, "IMAGE"], [2, 5, 0, 6, 0, "IMAGE"]],
              definitions={"subgraphs": [_blur_subgraph()]})
    graph = convert_workflow(doc, INFO)
    assert sorted(graph) == ["4", "6"] and graph["6"]["inputs"]["images"] == ["4", 0]


def test_an_out_of_range_value_is_refused_at_import_naming_node_and_input() -> None:
    doc = _ui([_n(1, "EmptyImage", [0, 48, 1, 0]),
               _n(2, "SaveImage", ["x"], [{"name": "images", "type": "IMAGE", "link": 1}])],
              [[1, 1, 0, 2, 0, "IMAGE"]])
    with pytest.raises(WorkflowImportError) as caught:
        convert_workflow(doc, INFO)
    assert [(p.node_id, p.input_name, p.kind) for p in caught.value.problems] == [
        ("1", "width", "out_of_range")]
    assert "node 1 (EmptyImage) input 'width'" in str(caught.value)
