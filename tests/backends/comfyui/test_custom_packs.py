"""Built-in templates against the node definitions of the packs they need, as recorded.

tests/backends/comfyui/data/real/custom_packs.json says where each definition file comes from:
kijai/ComfyUI-FramePackWrapper at commit a7c4b70 (2025-06-04; extracted statically from
its nodes.py, since the pack cannot import on a CPU-only torch), ComfyUI-WanVideoWrapper
and ComfyUI-VideoHelperSuite from a live ``/object_info``. Core nodes come from the real
ComfyUI 0.3.64. The validator is tests/backends/comfyui/_validator.py, not the studio's preflight.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from studio.backends.comfyui._templates import apply_bindings, list_templates, load_template
from tests.backends.comfyui._validator import DATA, real_object_info, validate

PACKS = json.loads((DATA / "custom_packs.json").read_text())
FRAMEPACK = PACKS["packs"]["kijai/ComfyUI-FramePackWrapper"]


def framepack_info() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / FRAMEPACK["file"]).read_text())
    return data


def test_the_recorded_framepack_definitions_are_the_packs_own() -> None:
    info = framepack_info()
    assert FRAMEPACK["commit"].startswith("a7c4b704")
    assert sorted(info) == sorted(FRAMEPACK["nodes"]) and len(info) == FRAMEPACK["node_count"]
    assert {d["python_module"] for d in info.values()} == {FRAMEPACK["python_module"]}


def test_framepack_i2v_fits_the_framepack_wrapper_as_recorded() -> None:
    template = load_template("framepack_i2v")
    info = {**real_object_info(), **framepack_info()}
    for lora in (None, ("hero_hunyuan.safetensors", 0.8)):
        graph = apply_bindings(template, {"prompt": "she waves", "seed": 7}, lora=lora)
        errors, files = validate(graph, info)
        assert errors == [], errors
        # Only files remain: the model weights and the uploaded start image.
        pack_nodes = {nid for nid, n in graph.items() if n["class_type"] in framepack_info()}
        assert pack_nodes, "the template uses the pack"
        assert all(isinstance(value, str) for _, _, value in files)


def test_the_framepack_sampler_inputs_match_the_recorded_ranges() -> None:
    sampler = framepack_info()["FramePackSampler"]["input"]
    template = load_template("framepack_i2v")
    graph = apply_bindings(template, {})
    node = next(n for n in graph.values() if n["class_type"] == "FramePackSampler")
    required = sampler["required"]
    assert set(required) <= set(node["inputs"])  # nothing the pack requires is missing
    assert set(node["inputs"]) <= set(required) | set(sampler.get("optional") or {})


@pytest.mark.parametrize("name", sorted(t.name for t in list_templates()))
def test_every_builtin_template_fits_the_real_server_and_its_packs(name: str) -> None:
    info = {**real_object_info(), **framepack_info()}
    graph = apply_bindings(load_template(name), {"prompt": "she waves", "seed": 7})
    missing = sorted({n["class_type"] for n in graph.values()} - set(info))
    assert missing == [], f"{name} needs nodes no recorded pack has: {missing}"
    errors, _ = validate(graph, info)
    assert errors == [], errors
