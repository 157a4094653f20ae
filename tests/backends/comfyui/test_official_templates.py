"""Every official UI-format template (comfyui-workflow-templates-json) whose node types
the recorded real server has is converted, then checked by a validator written from the
real server's ``/object_info`` (tests/backends/comfyui/_validator.py), not by the studio's own
preflight. A template the server cannot run (a newer model type, an output that an older
node does not have) must be refused at import, naming the node and input the validator
also finds wrong.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from studio.backends.comfyui import WorkflowImportError
from studio.backends.comfyui._uiformat import FRONTEND_ONLY, convert_workflow
from tests.backends.comfyui._validator import real_object_info, validate

TEMPLATES = Path(str(resources.files("comfyui_workflow_templates_json") / "templates"))


def _types(doc: dict[str, Any]) -> tuple[set[str], set[str]]:
    subgraphs = {str(s["id"]): s for s in (doc.get("definitions") or {}).get("subgraphs") or ()}
    used = {str(n["type"]) for n in doc["nodes"]}
    for sub in subgraphs.values():
        used |= {str(n["type"]) for n in sub.get("nodes") or ()}
    return used - set(subgraphs) - FRONTEND_ONLY, set(subgraphs)


@cache
def runnable_templates() -> tuple[str, ...]:
    """UI templates whose every node type the recorded server has."""
    info = real_object_info()
    names = []
    for path in sorted(TEMPLATES.glob("*.json")):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and isinstance(doc.get("nodes"), list):
            used, _ = _types(doc)
            if used <= set(info):
                names.append(path.name)
    return tuple(names)


def _outcome(name: str) -> tuple[str, Any]:
    doc = json.loads((TEMPLATES / name).read_text())
    try:
        return "accepted", convert_workflow(doc, real_object_info())
    except WorkflowImportError as error:
        return "refused", error


@pytest.mark.parametrize("name", runnable_templates())
def test_template_converts_to_a_graph_the_real_server_accepts_or_is_refused(name: str) -> None:
    kind, result = _outcome(name)
    doc = json.loads((TEMPLATES / name).read_text())
    raw = convert_workflow(doc, real_object_info(), check_values=False)
    errors, _files = validate(raw, real_object_info())
    if kind == "accepted":
        assert errors == [], f"{name} converted to a graph the server would refuse: {errors}"
        assert result == raw
        links = [v for node in result.values() for v in node["inputs"].values()
                 if isinstance(v, list)]
        assert all(str(src) in result for src, _ in links)
    else:
        assert result.problems, str(result)
        named = {(p.node_id, p.input_name) for p in result.problems}
        found = {(nid, inp) for nid, inp, _ in errors}
        assert named and named <= found, (named, found)
        for p in result.problems:
            assert f"node {p.node_id} ({p.class_type}) input {p.input_name!r}" in str(result)


def test_at_least_forty_official_templates_are_imported() -> None:
    outcomes = [_outcome(name)[0] for name in runnable_templates()]
    accepted = outcomes.count("accepted")
    with_subgraphs = [n for n in runnable_templates()
                      if _types(json.loads((TEMPLATES / n).read_text()))[1]
                      and _outcome(n)[0] == "accepted"]
    print(f"\n{len(outcomes)} runnable templates: {accepted} accepted, "
          f"{outcomes.count('refused')} refused; {len(with_subgraphs)} accepted use subgraphs")
    assert accepted >= 40
    assert len(with_subgraphs) >= 10


def test_a_newer_model_type_is_refused_naming_node_and_input() -> None:
    doc = json.loads((TEMPLATES / "image_ovis_text_to_image.json").read_text())
    with pytest.raises(WorkflowImportError) as caught:
        convert_workflow(doc, real_object_info())
    assert [(p.node_id, p.class_type, p.input_name, p.kind) for p in caught.value.problems] == [
        ("57:39", "CLIPLoader", "type", "not_in_list")]
    assert "'ovis' is not one of" in str(caught.value)


def test_unknown_node_types_are_refused_with_their_names() -> None:
    info = real_object_info()
    refused = 0
    for path in sorted(TEMPLATES.glob("*.json"))[:200]:
        doc = json.loads(path.read_text())
        if not (isinstance(doc, dict) and isinstance(doc.get("nodes"), list)):
            continue
        used, _ = _types(doc)
        missing = sorted(used - set(info))
        if not missing:
            continue
        try:
            graph = convert_workflow(doc, info)
        except WorkflowImportError as error:
            assert error.unknown_types or error.problems, str(error)
            assert set(error.unknown_types) <= set(missing)
            for kind in error.unknown_types:
                assert kind in str(error)
            refused += 1
        else:  # the unknown nodes were all muted or bypassed, so they were dropped
            assert not {n["class_type"] for n in graph.values()} & set(missing)
    assert refused > 0
