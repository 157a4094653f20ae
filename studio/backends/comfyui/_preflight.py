"""Check an API graph against a server's ``/object_info`` before anything is queued.

Every problem is collected (unknown node types with the custom node pack that provides
them, missing or mistyped inputs, bad links, values out of range or not in the list,
model files that are not installed with the folder they belong in, LoRAs made for another
model family) and raised together in one :class:`PreflightError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from studio.backends.comfyui._exceptions import PreflightError, PreflightProblem

__all__ = [
    "LORA_INPUTS",
    "MODEL_INPUTS",
    "NODE_PACKS",
    "check_graph",
    "guess_lora_family",
    "lora_family_matches",
    "preflight",
]

_FRAMEPACK = "ComfyUI-FramePackWrapper by kijai (https://github.com/kijai/ComfyUI-FramePackWrapper)"
_KJNODES = "ComfyUI-KJNodes by kijai (https://github.com/kijai/ComfyUI-KJNodes)"
_VHS = ("ComfyUI-VideoHelperSuite by Kosinkadink "
        "(https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite)")
_NEWER = "a newer ComfyUI (these are core nodes: update the server)"

NODE_PACKS: dict[str, str] = {
    **dict.fromkeys(["LoadFramePackModel", "DownloadAndLoadFramePackModel", "FramePackSampler",
                     "FramePackFindNearestBucket", "FramePackLoraSelect",
                     "FramePackSingleFrameSampler", "FramePackTorchCompileSettings"], _FRAMEPACK),
    **dict.fromkeys(["VHS_VideoCombine", "VHS_LoadVideo", "VHS_LoadImages"], _VHS),
    **dict.fromkeys(["GetImageSizeAndCount", "ColorMatch", "ImageResizeKJ", "SetNode",
                     "GetNode"], _KJNODES),
    "ImageResize+": "ComfyUI_essentials by cubiq (https://github.com/cubiq/ComfyUI_essentials)",
    **dict.fromkeys(["CreateVideo", "SaveVideo", "LoadVideo", "GetVideoComponents",
                     "WanImageToVideo", "WanFirstLastFrameToVideo", "Wan22ImageToVideoLatent",
                     "LTXVImgToVideo", "LTXVConditioning", "LTXVScheduler", "ImageFromBatch",
                     "RepeatImageBatch", "ComfySwitchNode", "ComfyMathExpression",
                     "PrimitiveInt", "PrimitiveFloat"], _NEWER),
}
"""Which custom node pack provides a node type (for "install this" hints)."""

MODEL_INPUTS: dict[tuple[str, str], str] = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("LoraLoader", "lora_name"): "loras",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("VAELoader", "vae_name"): "vae",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("LoadFramePackModel", "model"): "diffusion_models",
    ("FramePackLoraSelect", "lora"): "loras",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
}
"""Model-file inputs and the ``ComfyUI/models/<folder>`` each file goes in."""

LORA_INPUTS = {key for key, folder in MODEL_INPUTS.items() if folder == "loras"}

_FAMILIES: dict[str, tuple[str, ...]] = {
    "sd15": ("sd15", "sd1", "sd_1", "sd-1", "v1-5", "v15"),
    "sdxl": ("sdxl", "illustrious", "noob", "pony", "animagine", "xl"),
    "wan": ("wan",),
    "hunyuan_video": ("hunyuan", "hyvideo", "hy_video", "framepack"),
    "ltxv": ("ltx",),
    "flux": ("flux",),
}
_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")


def guess_lora_family(filename: str) -> str | None:
    """The model family a LoRA file name suggests (``None`` when it says nothing)."""
    lower = filename.lower()
    tokens = set(re.split(r"[^a-z0-9]+", lower))
    for family, words in _FAMILIES.items():
        for word in words:
            if any(t.startswith(word) for t in tokens) or (len(word) > 3 and word in lower):
                return family
    return None


def _normalise_family(family: str) -> str:
    return guess_lora_family(family) or family.lower()


def lora_family_matches(lora_family: str, model_family: str) -> bool:
    """Whether a LoRA trained for ``lora_family`` can load on ``model_family``."""
    return _normalise_family(lora_family) == _normalise_family(model_family)


def _spec(info: Mapping[str, Any], name: str) -> tuple[list[Any] | None, bool]:
    inputs = info.get("input") or {}
    for section, required in (("required", True), ("optional", False)):
        spec = (inputs.get(section) or {}).get(name)
        if spec is not None:
            return spec, required
    return None, False


def _options(spec: list[Any]) -> list[Any] | None:
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1:
        return list((spec[1] or {}).get("options", []))
    return None


def preflight(
    graph: Mapping[str, Any],
    object_info: Mapping[str, Any],
    *,
    model_family: str | None = None,
    lora_families: Mapping[str, str] | None = None,
    skip_inputs: frozenset[tuple[str, str]] = frozenset(),
) -> list[PreflightProblem]:
    """Every reason ``graph`` would not run on the server that sent ``object_info``.

    Args:
        graph: API-format graph.
        object_info: The server's ``GET /object_info``.
        model_family: The engine family LoRAs must match (``None``: not checked).
        lora_families: LoRA file -> family as the user declared it; otherwise guessed
            from the file name.
        skip_inputs: ``(node_id, input)`` values filled in later (uploaded images).
    """
    problems: list[PreflightProblem] = []
    for nid, node in graph.items():
        class_type = str(node.get("class_type", ""))
        info = object_info.get(class_type)
        if info is None:
            pack = NODE_PACKS.get(class_type)
            problems.append(PreflightProblem(
                "unknown_node", nid, class_type, "node type is not installed on the server",
                hint=f"install {pack}" if pack else "find the custom node pack that provides it"))
            continue
        inputs = node.get("inputs") or {}
        inp = info.get("input") or {}
        declared = [*(inp.get("required") or {}), *(inp.get("optional") or {})]
        for name in declared:
            spec, required = _spec(info, name)
            assert spec is not None
            if name not in inputs:
                if required:
                    problems.append(PreflightProblem("missing_input", nid, class_type,
                                                     "required input is missing", name))
                continue
            if (nid, name) in skip_inputs:
                continue
            problems.extend(_check_input(graph, object_info, nid, class_type, name,
                                         inputs[name], spec, model_family, lora_families or {}))
    return problems


def _check_input(
    graph: Mapping[str, Any], object_info: Mapping[str, Any], nid: str, class_type: str,
    name: str, value: Any, spec: list[Any], model_family: str | None,
    lora_families: Mapping[str, str],
) -> list[PreflightProblem]:
    def problem(kind: str, message: str, hint: str = "") -> list[PreflightProblem]:
        return [PreflightProblem(kind, nid, class_type, message, name, hint)]

    options = _options(spec)
    kind = "COMBO" if options is not None else str(spec[0])
    if isinstance(value, list):
        if len(value) != 2 or str(value[0]) not in graph:
            return problem("bad_link", f"links to node {value[0] if value else '?'}, "
                           "which is not in the graph")
        source = graph[str(value[0])]
        source_info = object_info.get(str(source.get("class_type")))
        if source_info is None:
            return []  # reported as unknown_node already
        outs = source_info.get("output") or []
        if not isinstance(value[1], int) or not 0 <= value[1] < len(outs):
            return problem("bad_link", f"links to output {value[1]} of node {value[0]} "
                           f"({source['class_type']}), which has {len(outs)} output(s)")
        received = str(outs[value[1]])
        if kind != "COMBO" and "*" not in (received, kind) and received != kind:
            return problem("bad_type", f"receives {received} from node {value[0]}, "
                           f"expects {kind}")
        return []
    if options is not None:
        if class_type == "LoadImage" or (len(spec) > 1 and (spec[1] or {}).get("image_upload")):
            return []  # uploaded at run time
        if value in options:
            return _lora_check(class_type, name, str(value), model_family, lora_families, nid)
        folder = MODEL_INPUTS.get((class_type, name))
        if folder is None and str(value).lower().endswith(_MODEL_SUFFIXES):
            folder = "the matching folder"
        if folder is not None:
            return problem("missing_model", f"model file {value!r} is not installed",
                           f"put it in ComfyUI/models/{folder}/")
        shown = ", ".join(map(str, options[:8])) + (", ..." if len(options) > 8 else "")
        return problem("not_in_list", f"{value!r} is not one of: {shown}")
    opts = (spec[1] if len(spec) > 1 else {}) or {}
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return problem("bad_type", f"{value!r} is not a number ({kind})")
        if kind == "INT" and isinstance(value, float) and not value.is_integer():
            return problem("bad_type", f"{value!r} is not a whole number (INT)")
        if "min" in opts and value < opts["min"]:
            return problem("out_of_range", f"{value} is smaller than the minimum {opts['min']}")
        if "max" in opts and value > opts["max"]:
            return problem("out_of_range", f"{value} is bigger than the maximum {opts['max']}")
    elif kind == "BOOLEAN" and not isinstance(value, bool):
        return problem("bad_type", f"{value!r} is not a boolean")
    elif kind == "STRING" and not isinstance(value, str):
        return problem("bad_type", f"{value!r} is not a string")
    return []


def _lora_check(class_type: str, name: str, value: str, model_family: str | None,
                lora_families: Mapping[str, str], nid: str) -> list[PreflightProblem]:
    if model_family is None or (class_type, name) not in LORA_INPUTS:
        return []
    family = lora_families.get(value) or guess_lora_family(value)
    if family is None or lora_family_matches(family, model_family):
        return []
    return [PreflightProblem(
        "lora_family", nid, class_type,
        f"LoRA {value!r} is for {family}, but this template runs {model_family}", name,
        f"use a {model_family} LoRA, or a template for {family}")]


def check_graph(
    graph: Mapping[str, Any],
    object_info: Mapping[str, Any],
    *,
    server: str = "",
    template: str = "",
    model_family: str | None = None,
    lora_families: Mapping[str, str] | None = None,
    skip_inputs: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Raise :class:`PreflightError` listing every problem :func:`preflight` finds."""
    problems = preflight(graph, object_info, model_family=model_family,
                         lora_families=lora_families, skip_inputs=skip_inputs)
    if problems:
        raise PreflightError(problems, server=server, template=template)
