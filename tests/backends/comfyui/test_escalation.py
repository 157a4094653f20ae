"""Escalation ladders: every rung of every built-in changes the API graph as declared."""

from __future__ import annotations

from typing import Any

import pytest

from studio.backends.comfyui import TemplateError, apply_bindings, load_template, preflight
from studio.backends.comfyui._escalation import retry_changes, rung_values
from studio.backends.comfyui._templates import parse_template
from tests.backends.comfyui._nodes import ALL_MODELS, build_object_info

INFO = build_object_info(ALL_MODELS, [])
LADDERS = ["framepack_i2v", "ltxv_i2v", "sdxl_keyframe", "wan22_i2v", "wan_flf2v"]


def changed(a: dict[str, Any], b: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (node, key): b[node]["inputs"][key]
        for node in a
        for key in a[node]["inputs"]
        if a[node]["inputs"][key] != b[node]["inputs"][key]
    }


@pytest.mark.parametrize("name", LADDERS)
def test_every_rung_changes_the_graph_as_declared(name: str) -> None:
    template = load_template(name)
    assert len(template.escalation) >= 3, "a ladder: new seed, then more, then more again"
    base = apply_bindings(template, {})
    seen = []
    for attempt in range(2, len(template.escalation) + 2):
        changes = retry_changes(template, {}, attempt)
        assert changes is not None
        graph = apply_bindings(template, changes)
        expected = {
            (t.node, t.input): value for key, value in changes.items() for t in template.bindings[key]
        }
        assert changed(base, graph) == expected, (name, attempt)
        assert preflight(graph, INFO, model_family=template.model_family) == []  # values the server accepts
        seen.append(expected)
    assert seen[0] == {}  # the first retry draws a new seed only
    assert all(seen[1:]) and len({tuple(sorted(s.items())) for s in seen}) == len(seen)  # each rung is new


def test_rungs_are_computed_from_the_base_never_accumulated() -> None:
    template = load_template("wan22_i2v")
    assert [rung_values(template, {}, k).get("steps") for k in (1, 2, 3, 4, 5)] == [None, None, 30, 30, 40]
    assert rung_values(template, {}, 9) == rung_values(template, {}, 5)  # the last rung repeats
    # Relative to the render's own base: a project asking 24 steps retries with 34, then 44.
    assert rung_values(template, {"steps": 24}, 3)["steps"] == 34
    assert rung_values(template, {"steps": 24}, 5)["steps"] == 44
    assert rung_values(template, {}, 5) == {"steps": 40, "switch_step": 20, "shift": 5.0, "cfg": 4.0}


def test_a_retry_that_would_resend_the_same_graph_is_refused() -> None:
    smoke = load_template("smoke_i2v")  # no seed input, no ladder: every attempt is the same graph
    assert "seed" not in smoke.bindings and smoke.escalation == ()
    assert retry_changes(smoke, {}, 2) is None
    doc = smoke.to_json()
    doc["bindings"]["amount"] = doc["bindings"]["planned_frames"]
    doc["escalation"] = [{"amount": 3}]
    laddered = parse_template(doc)
    assert retry_changes(laddered, {}, 2) == {"amount": 3}
    assert retry_changes(laddered, {}, 3) is None  # the last rung repeats: nothing new
    # A template with a seed input always changes: the seed.
    assert retry_changes(load_template("framepack_i2v"), {}, 7) == {"steps": 45, "guidance": 12.0}


def test_a_malformed_ladder_names_every_problem() -> None:
    doc = load_template("sdxl_keyframe").to_json()
    doc["escalation"] = [
        {"steps": "+4", "seed": 3},
        {"sampler": "euler"},
        {"sampler_name": "+2"},
        "more steps",
        {"cfg": [7]},
    ]
    with pytest.raises(TemplateError) as caught:
        parse_template(doc)
    message = str(caught.value)
    assert "escalation[0].seed: the render sets 'seed' itself" in message
    assert "escalation[1].sampler is not a binding of this template" in message
    assert "escalation[2].sampler_name is relative (+2) but the base value 'euler_ancestral' is not a number" in message
    assert "escalation[3] must be an object" in message
    assert "escalation[4].cfg must be a number, a boolean or a string" in message
    doc["escalation"] = {"steps": 30}
    with pytest.raises(TemplateError, match="escalation must be a list"):
        parse_template(doc)


def test_the_ladder_round_trips_through_a_user_template() -> None:
    template = load_template("ltxv_i2v")
    again = parse_template(template.to_json())
    assert again.escalation == template.escalation
    assert again.escalation[-1] == {"steps": "+20", "cfg": 4.0, "sampler_name": "euler_ancestral"}
