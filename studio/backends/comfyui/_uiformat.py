"""Import a workflow saved from ComfyUI's editor (UI format) or exported in API format.

UI -> API conversion (video-workflows.md §3, checked against the frontend's
``graphToPrompt``):

1. subgraph instances (a node whose ``type`` is a subgraph id) are expanded; inner
   ids become ``"outer:inner"``;
2. ``Note``/``MarkdownNote`` nodes are dropped; muted nodes (mode 2) are dropped; bypassed
   nodes (mode 4) are dropped and their consumers rewired to the same-typed input;
3. ``Reroute`` and KJNodes ``SetNode``/``GetNode`` are followed; a legacy
   ``PrimitiveNode`` copies its value into the inputs it feeds;
4. ``widgets_values`` map to input names by position in ``input_order`` (required, then
   optional), skipping connection inputs, the ``control_after_generate`` value after a
   seed, and the upload widget after an image; a widget turned into an input takes its
   link; list values are wrapped as ``{"__value__": [...]}``; dangling links are pruned.

Node types the server does not know are reported all together (with the node pack to
install when we know it), never guessed. :func:`propose_template` then proposes the
parameter bindings and adds the video and last-frame outputs every template needs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.backends.comfyui._exceptions import WorkflowImportError
from studio.backends.comfyui._preflight import NODE_PACKS, guess_lora_family, preflight
from studio.backends.comfyui._templates import Template, parse_template

__all__ = ["ImportResult", "convert_workflow", "is_api_format", "propose_template"]

FRONTEND_ONLY = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode", "SetNode", "GetNode"}
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
MUTED, BYPASSED = 2, 4


@dataclass
class _Link:
    src: str
    slot: int
    dst: str
    dst_slot: int
    type: str


@dataclass
class _Node:
    id: str
    type: str
    mode: int
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    widgets: Any
    title: str | None
    properties: dict[str, Any] = field(default_factory=dict)


def is_api_format(doc: Any) -> bool:
    """An API-format graph: ``{id: {"class_type": ..., "inputs": {...}}}``."""
    return (isinstance(doc, dict) and bool(doc) and "nodes" not in doc
            and all(isinstance(v, dict) and "class_type" in v for v in doc.values()))


def _links(raw: Any) -> dict[int, _Link]:
    links: dict[int, _Link] = {}
    for item in raw or ():
        if isinstance(item, dict):
            links[int(item["id"])] = _Link(str(item["origin_id"]), int(item["origin_slot"]),
                                           str(item["target_id"]), int(item["target_slot"]),
                                           str(item.get("type", "*")))
        else:
            lid, src, slot, dst, dst_slot, kind = item[:6]
            links[int(lid)] = _Link(str(src), int(slot), str(dst), int(dst_slot), str(kind))
    return links


def _nodes(raw: Any, prefix: str = "") -> dict[str, _Node]:
    return {
        prefix + str(n["id"]): _Node(
            prefix + str(n["id"]), str(n["type"]), int(n.get("mode", 0) or 0),
            copy.deepcopy(n.get("inputs") or []), copy.deepcopy(n.get("outputs") or []),
            copy.deepcopy(n.get("widgets_values")), n.get("title"), dict(n.get("properties") or {}))
        for n in raw or ()
    }


def _expand_subgraphs(nodes: dict[str, _Node], links: dict[int, _Link],
                      definitions: Mapping[str, Any]) -> None:
    """Replace every subgraph instance by its inner nodes (ids ``outer:inner``).

    Inner link ids are local to their subgraph, so every inner input is first unlinked
    and then relinked under a fresh global id: an inner input fed by a subgraph input
    that has no outer link keeps its own widget value (or the value the instance gives
    it), never a stale local id. Outer links reach subgraph inputs by slot name (an
    instance shows only some of its subgraph's inputs, so slot numbers differ). Nested
    instances expand in later rounds, with values handed down by input name.
    """
    next_id = max(links, default=0) + 1
    rounds = 0
    while True:
        instance = next((n for n in nodes.values() if n.type in definitions), None)
        if instance is None:
            return
        rounds += 1
        if rounds > 10000:
            raise WorkflowImportError("subgraphs nest too deeply (or contain themselves)")
        sub = definitions[instance.type]
        prefix = f"{instance.id}:"
        inner_nodes = _nodes(sub.get("nodes"), prefix)
        for inner in inner_nodes.values():
            for entry in inner.inputs:
                entry["link"] = None
            if instance.mode in (MUTED, BYPASSED) and inner.mode not in (MUTED, BYPASSED):
                inner.mode = instance.mode  # a muted/bypassed instance mutes/bypasses its body
        inner_links = _links(sub.get("links"))
        sub_inputs = list(sub.get("inputs") or ())
        sub_outputs = list(sub.get("outputs") or ())
        del nodes[instance.id]
        nodes.update(inner_nodes)
        feeding = _feeding(instance, links, sub_inputs)
        given = _instance_values(instance, sub_inputs)
        consumers = {index: [lk for lk in links.values() if lk.src == instance.id
                             and _sub_index(instance.outputs, sub_outputs, lk.slot) == index]
                     for index in range(len(sub_outputs))}
        for lk in inner_links.values():
            if lk.src == "-10":  # from a subgraph input
                outer = feeding.get(lk.slot)
                if outer is None:
                    if lk.dst != "-20" and lk.slot in given:
                        _set_value(nodes, prefix + lk.dst, lk.dst_slot, given[lk.slot],
                                   definitions)
                    continue
                src, out_slot = outer.src, outer.slot
            else:
                src, out_slot = prefix + lk.src, lk.slot
            if lk.dst == "-20":  # to a subgraph output: rewire the outer consumers
                for outer in consumers.get(lk.dst_slot, ()):
                    outer.src, outer.slot = src, out_slot
                continue
            target = nodes.get(prefix + lk.dst)
            if target is None or (src not in nodes and src != instance.id):
                continue  # a link to or from a node the subgraph does not define
            links[next_id] = _Link(src, out_slot, target.id, lk.dst_slot, lk.type)
            if lk.dst_slot < len(target.inputs):
                target.inputs[lk.dst_slot]["link"] = next_id
            next_id += 1
        for lid in [lid for lid, lk in links.items()
                    if instance.id in (lk.dst, lk.src)]:
            del links[lid]
        # Promoted widgets: proxyWidgets [[inner_id, widget_name], ...] take the instance's
        # widgets_values in order ("-1" names one of the subgraph's own inputs).
        values = list(instance.widgets or []) if isinstance(instance.widgets, list) else []
        proxies = list(instance.properties.get("proxyWidgets") or [])
        for (inner_id, widget), value in zip(proxies, values, strict=False):
            node = nodes.get(prefix + str(inner_id))
            if node is not None and widget != "control_after_generate":
                _set_named(node, str(widget), value, definitions)


def _feeding(instance: _Node, links: Mapping[int, _Link], sub_inputs: list[dict[str, Any]]
             ) -> dict[int, _Link]:
    """Outer links into ``instance``, keyed by the index of the subgraph input they feed."""
    names = [str(i.get("name")) for i in sub_inputs]
    feeding: dict[int, _Link] = {}
    for lk in links.values():
        if lk.dst != instance.id:
            continue
        slot_name = (str(instance.inputs[lk.dst_slot].get("name"))
                     if lk.dst_slot < len(instance.inputs) else None)
        index = names.index(slot_name) if slot_name in names else lk.dst_slot
        feeding[index] = lk
    return feeding


def _sub_index(instance_slots: list[dict[str, Any]], sub_slots: list[dict[str, Any]],
               slot: int) -> int:
    names = [str(i.get("name")) for i in sub_slots]
    if slot < len(instance_slots) and str(instance_slots[slot].get("name")) in names:
        return names.index(str(instance_slots[slot].get("name")))
    return slot


def _instance_values(instance: _Node, sub_inputs: list[dict[str, Any]]) -> dict[int, Any]:
    """Values the instance gives its unlinked subgraph inputs, by subgraph input index.

    A value handed down by an enclosing subgraph (``_input_values``) wins; without
    ``proxyWidgets``, ``widgets_values`` hold the widget-typed subgraph inputs in order
    (a ``control_after_generate`` value may follow a seed).
    """
    by_name = dict(instance.properties.get("_input_values") or {})
    given = {index: by_name[str(spec.get("name"))] for index, spec in enumerate(sub_inputs)
             if str(spec.get("name")) in by_name}
    if instance.properties.get("proxyWidgets") or not isinstance(instance.widgets, list):
        return given
    values = list(instance.widgets)
    position = 0
    for index, spec in enumerate(sub_inputs):
        if str(spec.get("type")) not in WIDGET_TYPES or position >= len(values):
            continue
        given.setdefault(index, values[position])
        position += 1
        if (str(spec.get("type")) == "INT" and position < len(values)
                and values[position] in CONTROL_VALUES):
            position += 1
    return given


def _set_value(nodes: Mapping[str, _Node], node_id: str, slot: int, value: Any,
               definitions: Mapping[str, Any]) -> None:
    node = nodes.get(node_id)
    if node is not None and slot < len(node.inputs):
        _set_named(node, str(node.inputs[slot].get("name")), value, definitions)


def _set_named(node: _Node, name: str, value: Any, definitions: Mapping[str, Any]) -> None:
    key = "_input_values" if node.type in definitions else "_overrides"
    node.properties.setdefault(key, {})[name] = value


def _resolve(nodes: dict[str, _Node], links: dict[int, _Link], link_id: int | None,
             kind: str) -> tuple[str, int] | Any | None:
    """Follow reroutes, Get/SetNode, bypassed nodes and primitives from a link.

    Returns ``(node_id, slot)``, a literal ``("__literal__", value)``, or ``None``.
    """
    seen = 0
    while link_id is not None and seen < 1000:
        seen += 1
        lk = links.get(link_id)
        if lk is None or lk.src not in nodes:
            return None
        src = nodes[lk.src]
        if src.mode == MUTED:
            return None
        if src.type == "Reroute":
            link_id = src.inputs[0].get("link") if src.inputs else None
            continue
        if src.type == "PrimitiveNode":
            value = src.widgets[0] if isinstance(src.widgets, list) and src.widgets else None
            return ("__literal__", value)
        if src.type == "GetNode":
            name = (src.widgets or [None])[0]
            setter = next((n for n in nodes.values() if n.type == "SetNode"
                           and (n.widgets or [None])[0] == name), None)
            link_id = setter.inputs[0].get("link") if setter and setter.inputs else None
            continue
        if src.mode == BYPASSED:
            same = [i for i in src.inputs if i.get("link") is not None
                    and str(i.get("type")) == str(lk.type)]
            link_id = same[0]["link"] if same else None
            continue
        return (lk.src, lk.slot)
    return None


def _input_order(info: Mapping[str, Any]) -> list[str]:
    order = info.get("input_order") or {}
    if order:
        return [*(order.get("required") or []), *(order.get("optional") or [])]
    inputs = info.get("input") or {}
    return [*(inputs.get("required") or {}), *(inputs.get("optional") or {})]


def _spec(info: Mapping[str, Any], name: str) -> list[Any]:
    inputs = info.get("input") or {}
    return (inputs.get("required") or {}).get(name) or (inputs.get("optional") or {}).get(
        name) or ["*", {}]


def _is_widget(spec: list[Any]) -> bool:
    opts = (spec[1] if len(spec) > 1 else {}) or {}
    return (isinstance(spec[0], list) or spec[0] in WIDGET_TYPES) and not opts.get("forceInput")


def convert_workflow(doc: Any, object_info: Mapping[str, Any], *,
                     check_values: bool = True) -> dict[str, Any]:
    """Convert a UI-format workflow to an API graph (an API graph is returned as is).

    Args:
        check_values: Refuse values the server does not support (``problems`` names
            each node and input). Off only to inspect what the conversion produced.

    Raises:
        WorkflowImportError: the file is neither format, uses node types the server
            does not have (all of them are listed, with the pack to install if known),
            or values it does not support.
    """
    if is_api_format(doc):
        graph: dict[str, Any] = copy.deepcopy(doc)
        unknown = sorted({n["class_type"] for n in graph.values()} - set(object_info))
        _raise_unknown(unknown)
        if check_values:
            _raise_unsupported(graph, object_info)
        return graph
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise WorkflowImportError("not a ComfyUI workflow: expected an API graph or a UI "
                                  "workflow with a 'nodes' list")
    nodes = _nodes(doc["nodes"])
    links = _links(doc.get("links"))
    definitions = {str(s["id"]): s for s in (doc.get("definitions") or {}).get("subgraphs") or ()}
    _expand_subgraphs(nodes, links, definitions)
    live = {k: n for k, n in nodes.items()
            if n.type not in FRONTEND_ONLY and n.mode not in (MUTED, BYPASSED)}
    _raise_unknown(sorted({n.type for n in live.values()} - set(object_info)))
    graph = {}
    for nid, node in live.items():
        info = object_info[node.type]
        by_name = {str(i.get("name")): i for i in node.inputs}
        values = node.widgets
        overrides = node.properties.get("_overrides") or {}
        position = 0
        inputs: dict[str, Any] = {}
        for name in _input_order(info):
            spec = _spec(info, name)
            if _is_widget(spec):
                if isinstance(values, dict):
                    if name in values:
                        inputs[name] = values[name]
                elif isinstance(values, list) and position < len(values):
                    inputs[name] = values[position]
                    position += 1
                    opts = (spec[1] if len(spec) > 1 else {}) or {}
                    skip = opts.get("control_after_generate") or name in ("seed", "noise_seed")
                    if skip and position < len(values) and values[position] in CONTROL_VALUES:
                        position += 1
                    if opts.get("image_upload") and position < len(values) and isinstance(
                            values[position], str) and values[position] in ("image", "video"):
                        position += 1
                if name in overrides:
                    inputs[name] = overrides[name]
                if isinstance(inputs.get(name), list):
                    inputs[name] = {"__value__": inputs[name]}
            slot = by_name.get(name)
            if slot is not None and slot.get("link") is not None:
                target = _resolve(nodes, links, slot["link"], str(slot.get("type", "*")))
                if target is None:
                    pass  # dangling (muted or bypassed without a same-typed input): pruned
                elif target[0] == "__literal__":
                    inputs[name] = target[1]
                elif target[0] in live:
                    inputs[name] = [target[0], target[1]]
        graph[nid] = {"class_type": node.type, "inputs": inputs,
                      "_meta": {"title": node.title or node.type}}
    if check_values:
        _raise_unsupported(graph, object_info)
    return graph


_IMPORT_BLOCKERS = {"missing_input", "bad_link", "bad_type", "out_of_range", "not_in_list"}


def _raise_unsupported(graph: Mapping[str, Any], object_info: Mapping[str, Any]) -> None:
    """Refuse values this server cannot run (a newer model type, a removed output...).

    Model files that are not installed yet are not refused here: ``studio doctor`` lists
    them with the folder to put them in.
    """
    problems = [p for p in preflight(graph, object_info) if p.kind in _IMPORT_BLOCKERS
                and not _wrapped_list(graph, p) and not _user_file(object_info, p)]
    if problems:
        raise WorkflowImportError(
            "the workflow has values this server does not support (update ComfyUI or the "
            "node pack, or change the value in the editor):\n"
            + "\n".join(f"  - {p}" for p in problems), problems=problems)


def _user_file(object_info: Mapping[str, Any], problem: Any) -> bool:
    """A file picker (upload, or a folder empty on this server): the user supplies it."""
    if problem.kind != "not_in_list" or problem.input_name is None:
        return False
    spec = _spec(object_info.get(problem.class_type) or {}, problem.input_name)
    opts = (spec[1] if len(spec) > 1 else {}) or {}
    options = spec[0] if isinstance(spec[0], list) else opts.get("options")
    return not options or any(str(k).endswith("_upload") for k in opts)


def _wrapped_list(graph: Mapping[str, Any], problem: Any) -> bool:
    value = (graph.get(problem.node_id) or {}).get("inputs", {}).get(problem.input_name)
    return isinstance(value, dict) and "__value__" in value


def _raise_unknown(unknown: list[str]) -> None:
    if not unknown:
        return
    lines = [f"  - {t}: " + (f"install {NODE_PACKS[t]}" if t in NODE_PACKS
                             else "unknown to this server (install its custom node pack)")
             for t in unknown]
    raise WorkflowImportError("the workflow uses node types the server does not have:\n"
                              + "\n".join(lines), unknown_types=unknown)


@dataclass(frozen=True)
class ImportResult:
    template: Template
    notes: tuple[str, ...]


_LIMITS = {
    "wan": {"max_seconds": 5.0, "max_frames": 81, "size_multiple": 16},
    "ltx": {"max_seconds": 10.0, "max_frames": 257, "size_multiple": 32},
    "framepack": {"max_seconds": 12.0, "max_frames": 361, "size_multiple": 16},
    "image": {"max_seconds": 0, "size_multiple": 8},
    "any": {"max_seconds": 60.0, "max_frames": 4096, "size_multiple": 2},
}
_VIDEO_LATENTS = ("WanImageToVideo", "WanFirstLastFrameToVideo", "Wan22ImageToVideoLatent",
                  "LTXVImgToVideo")
_SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced",
             "FramePackSampler")
_LORAS = {"LoraLoader": ("lora_name", ["strength_model", "strength_clip"],
                         {"0": "model", "1": "clip"}),
          "LoraLoaderModelOnly": ("lora_name", ["strength_model"], {"0": "model"}),
          "FramePackLoraSelect": ("lora", ["strength"], {"0": None})}


def _downstream_input(graph: Mapping[str, Any], start: str, names: set[str]) -> str | None:
    """The first input named in ``names`` that ``start``'s outputs reach."""
    frontier, seen = [start], set()
    while frontier:
        nid = frontier.pop(0)
        if nid in seen:
            continue
        seen.add(nid)
        for other_id, other in graph.items():
            for key, value in (other.get("inputs") or {}).items():
                if isinstance(value, list) and len(value) == 2 and str(value[0]) == nid:
                    if key in names:
                        return str(key)
                    frontier.append(other_id)
    return None


def propose_template(graph: dict[str, Any], name: str, *, description: str = ""
                     ) -> ImportResult:
    """Propose bindings for a converted graph and make it a template.

    Adds ``CreateVideo``+``SaveVideo`` and ``ImageFromBatch``+``SaveImage`` when the
    graph lacks them (fed by the final decoded images). ``notes`` says what was done.
    """
    graph = copy.deepcopy(graph)
    notes: list[str] = []
    classes = {nid: n["class_type"] for nid, n in graph.items()}

    def of(*types: str) -> list[str]:
        return [nid for nid, t in classes.items() if t in types]

    def literal(nid: str, key: str) -> bool:
        return key in graph[nid]["inputs"] and not isinstance(graph[nid]["inputs"][key], list)

    engine = ("framepack" if of("FramePackSampler") else
              "wan" if of("WanImageToVideo", "WanFirstLastFrameToVideo",
                          "Wan22ImageToVideoLatent") else
              "ltx" if of("LTXVImgToVideo") else
              "image" if of("EmptyLatentImage") else "any")
    family = {"framepack": "hunyuan_video", "wan": "wan", "ltx": "ltxv"}.get(engine)
    if engine == "image":
        ckpts = [graph[n]["inputs"].get("ckpt_name", "") for n in of("CheckpointLoaderSimple")]
        family = guess_lora_family(str(ckpts[0])) if ckpts else None
    bindings: dict[str, list[dict[str, str]]] = {}

    def bind(key: str, nid: str, inp: str) -> None:
        if literal(nid, inp):
            bindings.setdefault(key, []).append({"node": nid, "input": inp})

    for nid in of("CLIPTextEncode"):
        role = _downstream_input(graph, nid, {"positive", "negative"})
        if role is not None:
            bind("prompt" if role == "positive" else "negative_prompt", nid, "text")
    for nid in of(*_SAMPLERS):
        for key in ("seed", "noise_seed"):
            bind("seed", nid, key)
        bind("steps", nid, "steps")
        bind("cfg", nid, "cfg")
    for nid in of("LoadImage"):
        role = _downstream_input(graph, nid, {"start_image", "end_image", "image", "pixels"})
        bind("end_image" if role == "end_image" else "start_image", nid, "image")
    for nid in of(*_VIDEO_LATENTS):
        for key in ("length", "width", "height"):
            bind(key, nid, key)
    for nid in of("FramePackSampler"):
        bind("duration_seconds", nid, "total_second_length")
    if "width" not in bindings:
        for nid in of("EmptyLatentImage", "ImageScale"):
            bind("width", nid, "width")
            bind("height", nid, "height")
    for nid in of("LTXVConditioning"):
        bind("frame_rate", nid, "frame_rate")
    for key in ("start_image", "end_image"):
        if len(bindings.get(key, [])) > 1:
            notes.append(f"several LoadImage nodes proposed for {key}: check the bindings")
    if engine == "wan" and "start_image" not in bindings:
        notes.append("no start image input (bypassed or absent): the template is text-to-video")
    loras = [{"node": nid, "name_input": _LORAS[classes[nid]][0],
              "strength_inputs": _LORAS[classes[nid]][1], "bypass": _LORAS[classes[nid]][2]}
             for nid in of(*_LORAS)]
    images = _final_images(graph)
    if images is None:
        raise WorkflowImportError("cannot find the decoded images (no VAEDecode or image "
                                  "output node) to turn into a video")
    outputs, fps = _ensure_outputs(graph, images, notes)
    bindings["fps"] = [{"node": outputs["create"], "input": "fps"}]
    bindings["video_prefix"] = [{"node": outputs["video"], "input": "filename_prefix"}]
    bindings["last_frame_prefix"] = [{"node": outputs["last_frame"], "input": "filename_prefix"}]
    sizes = {key: graph[t["node"]]["inputs"][t["input"]]
             for key in ("width", "height") for t in bindings.get(key, [])[:1]}
    doc = {
        "name": name, "description": description or f"Imported workflow ({engine})",
        "engine": engine, "model_family": family,
        "requires_start_image": "start_image" in bindings,
        "requires_end_image": "end_image" in bindings,
        "keyframe_template": "sdxl_keyframe" if "start_image" in bindings else None,
        "free_memory": engine != "any", "graph": graph, "bindings": bindings, "loras": loras,
        "outputs": {"video": outputs["video"], "last_frame": outputs["last_frame"]},
        "progress_nodes": of(*_SAMPLERS), "defaults": {"fps": fps, **sizes},
        "limits": _LIMITS[engine],
    }
    notes.append(f"engine {engine}, model family {family}; bindings: "
                 + ", ".join(f"{k}->{'/'.join(t['node'] + '.' + t['input'] for t in v)}"
                             for k, v in bindings.items()))
    return ImportResult(parse_template(doc, source="import"), tuple(notes))


def _final_images(graph: Mapping[str, Any]) -> list[Any] | None:
    for node in graph.values():
        if node["class_type"] == "CreateVideo" and isinstance(node["inputs"].get("images"), list):
            return list(node["inputs"]["images"])
    for node in graph.values():
        if node["class_type"] in ("SaveImage", "PreviewImage") and isinstance(
                node["inputs"].get("images"), list):
            return list(node["inputs"]["images"])
    decoders = [nid for nid, n in graph.items()
                if n["class_type"] in ("VAEDecode", "VAEDecodeTiled")]
    return [decoders[-1], 0] if decoders else None


def _new_id(graph: Mapping[str, Any]) -> str:
    numeric = [int(k) for k in graph if k.isdigit()]
    return str(max(numeric, default=0) + 1)


def _ensure_outputs(graph: dict[str, Any], images: list[Any], notes: list[str]
                    ) -> tuple[dict[str, str], float]:
    create = next((nid for nid, n in graph.items() if n["class_type"] == "CreateVideo"), None)
    if create is None:
        create = _new_id(graph)
        graph[create] = {"class_type": "CreateVideo", "inputs": {"images": images, "fps": 16.0},
                         "_meta": {"title": "Video (added on import)"}}
        notes.append(f"added CreateVideo node {create}")
    video = next((nid for nid, n in graph.items() if n["class_type"] == "SaveVideo"), None)
    if video is None:
        video = _new_id(graph)
        graph[video] = {"class_type": "SaveVideo", "inputs": {
            "video": [create, 0], "filename_prefix": "studio/video", "format": "mp4",
            "codec": "h264"}, "_meta": {"title": "Save video (added on import)"}}
        notes.append(f"added SaveVideo node {video}")
    for nid in [nid for nid, n in graph.items()
                if n["class_type"] in ("SaveImage", "PreviewImage")
                and n["inputs"].get("images") == images]:
        del graph[nid]
        notes.append(f"replaced image output node {nid} by the last-frame output")
    pick = _new_id(graph)
    graph[pick] = {"class_type": "ImageFromBatch", "inputs": {
        "image": images, "batch_index": 4095, "length": 1},
        "_meta": {"title": "Last frame (added on import)"}}
    last = _new_id(graph)
    graph[last] = {"class_type": "SaveImage", "inputs": {
        "images": [pick, 0], "filename_prefix": "studio/last"},
        "_meta": {"title": "Save last frame (added on import)"}}
    notes.append(f"added last-frame output: ImageFromBatch {pick} -> SaveImage {last}")
    fps = graph[create]["inputs"].get("fps", 16.0)
    return {"create": create, "video": video, "last_frame": last}, float(
        fps if not isinstance(fps, list) else 16.0)
