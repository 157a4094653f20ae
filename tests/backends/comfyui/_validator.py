"""An API-graph validator written from the real server's ``/object_info``.

It follows ComfyUI 0.3.64's ``validate_prompt``/``validate_inputs`` (comfyui-api.md §4)
independently of the studio's own preflight, so a conversion bug in the studio cannot
hide behind the same bug in its checker. Each error is ``(node_id, input, type)`` with
the server's error type names (``required_input_missing``, ``return_type_mismatch``,
``value_not_in_list``, ...).

Combos whose option list is empty on the recorded server are model-file pickers on a
server with no weights: their values are reported as ``missing_file`` (a file to
install), not as graph errors.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "real"
"""Copied from /work/shared/reference/comfyui-real (ComfyUI 0.3.64 on CPU, with the
custom packs of custom_packs.json): the real server's answers, recorded."""
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")


@cache
def real_object_info() -> dict[str, Any]:
    """The recorded ``GET /object_info`` of the real 0.3.64 server, with its packs."""
    with gzip.open(DATA / "object_info_with_packs_0.3.64.json.gz", "rt") as f:
        data: dict[str, Any] = json.load(f)
    return data


def trace(name: str) -> dict[str, Any]:
    """One recorded WebSocket/HTTP trace (``traces/<name>.json``)."""
    data: dict[str, Any] = json.loads((DATA / "traces" / f"{name}.json").read_text())
    return data


def _spec(info: Mapping[str, Any], name: str) -> tuple[list[Any], bool] | None:
    inputs = info.get("input") or {}
    for section, required in (("required", True), ("optional", False)):
        spec = (inputs.get(section) or {}).get(name)
        if spec is not None:
            return (spec if isinstance(spec, list) else [spec, {}]), required
    return None


def _options(spec: list[Any]) -> list[Any] | None:
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO":
        return list((spec[1] if len(spec) > 1 else {}).get("options") or [])
    return None


def _types_match(received: str, expected: str) -> bool:
    if "*" in (received, expected) or received == expected:
        return True
    return bool(set(received.split(",")) & set(expected.split(",")))


def validate(graph: Mapping[str, Any], object_info: Mapping[str, Any]
             ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, Any]]]:
    """``(errors, missing_files)`` for ``graph`` as the real server would see it."""
    errors: list[tuple[str, str, str]] = []
    files: list[tuple[str, str, Any]] = []
    outputs = [nid for nid, n in graph.items()
               if (object_info.get(str(n.get("class_type"))) or {}).get("output_node")]
    if not outputs:
        errors.append(("", "", "prompt_no_outputs"))
    for nid, node in graph.items():
        class_type = node.get("class_type")
        info = object_info.get(str(class_type))
        if info is None:
            errors.append((nid, "", "invalid_prompt"))
            continue
        inputs = node.get("inputs") or {}
        section = info.get("input") or {}
        for name in [*(section.get("required") or {}), *(section.get("optional") or {})]:
            found = _spec(info, name)
            assert found is not None
            spec, required = found
            if name not in inputs:
                if required:
                    errors.append((nid, name, "required_input_missing"))
                continue
            errors.extend((nid, name, kind) for kind in
                          _check(graph, object_info, inputs[name], spec, nid, name, files))
    return errors, files


def _check(graph: Mapping[str, Any], object_info: Mapping[str, Any], value: Any,
           spec: list[Any], nid: str, name: str, files: list[tuple[str, str, Any]]
           ) -> list[str]:
    options = _options(spec)
    expected = "COMBO" if options is not None else str(spec[0])
    if isinstance(value, list):
        if len(value) != 2 or not isinstance(value[0], str) or value[0] not in graph:
            return ["exception_during_validation"]
        source = object_info.get(str(graph[value[0]].get("class_type")))
        outs = (source or {}).get("output") or []
        if not isinstance(value[1], int) or not 0 <= value[1] < len(outs):
            return ["exception_during_validation"]
        received = outs[value[1]]
        received = "COMBO" if isinstance(received, list) else str(received)
        return [] if _types_match(received, expected) else ["return_type_mismatch"]
    opts = (spec[1] if len(spec) > 1 else {}) or {}
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    if options is not None:
        if not options or opts.get("image_upload") or opts.get("video_upload"):
            files.append((nid, name, value))
            return []
        if isinstance(value, list | dict) or value not in options:
            if isinstance(value, str) and value.lower().endswith(MODEL_SUFFIXES):
                files.append((nid, name, value))  # a model file to download, not a bug
                return []
            return ["value_not_in_list"]
        return []
    if expected in ("INT", "FLOAT"):
        try:
            number = int(value) if expected == "INT" else float(value)
        except (TypeError, ValueError):
            return ["invalid_input_type"]
        if "min" in opts and number < opts["min"]:
            return ["value_smaller_than_min"]
        if "max" in opts and number > opts["max"]:
            return ["value_bigger_than_max"]
    elif ((expected == "STRING" and not isinstance(value, str | int | float))
          or (expected == "BOOLEAN" and not isinstance(value, bool | int))):
        return ["invalid_input_type"]
    elif expected not in ("INT", "FLOAT", "STRING", "BOOLEAN") and not opts.get("rawLink"):
        # A connection input holding a literal: the server passes it to the node as is,
        # which no loader or sampler accepts.
        return ["literal_for_link_input"]
    return []
