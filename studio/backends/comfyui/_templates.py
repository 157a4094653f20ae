"""Templates: an API-format graph plus a manifest saying which inputs are parameters.

A template is one JSON file: built-ins in the top-level ``workflows/`` folder (installed
as ``studio._workflows``), user templates in ``<studio home>/workflows/NAME.json``
(a user template shadows a built-in of the same name). The format::

    {
      "name": "wan22_i2v",
      "description": "Wan 2.2 14B image-to-video ...",
      "engine": "wan",             # frame rule: wan (4k+1), ltx (8k+1), framepack
                                   # (sections), image (one still), any (no rule)
      "model_family": "wan21",     # LoRA compatibility; null for model-free graphs
      "requires_start_image": true,
      "requires_end_image": false,
      "keyframe_template": "sdxl_keyframe",   # run first when a segment has no start image
      "free_memory": false,        # POST /free before it when the server last ran
                                   # another model family
      "graph": {"1": {"class_type": ..., "inputs": {...}}, ...},
      "bindings": {                # parameter -> node inputs it sets
        "prompt": [{"node": "6", "input": "text"}],
        "seed": [{"node": "3", "input": "seed"}],
        "start_image": [{"node": "52", "input": "image"}],
        "length": [{"node": "50", "input": "length"}],          # frames, rounded by engine
        "fps": [{"node": "55", "input": "fps"}],
        "width": [...], "height": [...], "negative_prompt": [...], "end_image": [...],
        "duration_seconds": [...], "steps": [...], "cfg": [...],
        "video_prefix": [...], "last_frame_prefix": [...]
      },
      "loras": [{"node": "60", "name_input": "lora_name",   # LoRA loader node(s): all get
                 "strength_inputs": ["strength_model"],      # the LoRA, or all are removed
                 "bypass": {"0": "model"}}],  # and output 0's consumers get input "model"
      "outputs": {"video": "56", "last_frame": "58"},   # SaveVideo and SaveImage nodes
      "progress_nodes": ["3"],     # sampler(s) whose steps are the progress bar
      "defaults": {"fps": 16, "width": 832, "height": 480, "steps": 20},
      "limits": {"max_seconds": 5.0, "max_frames": 81, "size_multiple": 16},
      "escalation": [{}, {"steps": "+10"}, {"steps": "+10", "shift": 5.0}]
                                   # what each retry changes (see _escalation.py)
    }

Any binding name may also be set through ``SegmentRequest.parameters``; the standard
names above are filled from the request itself.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.backends.comfyui._escalation import parse_escalation
from studio.backends.comfyui._exceptions import TemplateError

__all__ = [
    "DEFAULT_TEMPLATE",
    "ENGINES",
    "FramePlan",
    "LoraSlot",
    "Target",
    "Template",
    "apply_bindings",
    "list_templates",
    "load_template",
    "parse_template",
    "plan_frames",
    "remove_node",
    "round_size",
    "save_template",
    "user_template_dir",
]

DEFAULT_TEMPLATE = "framepack_i2v"
"""The ComfyUI backend's default: FramePack runs in 6 GB of VRAM, anchors every section
to the start frame and makes long segments (fewer seams) - video-workflows.md §1, §4."""

ENGINES = ("wan", "ltx", "framepack", "image", "any")
FRAMEPACK_FPS = 30
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Target:
    node: str
    input: str


@dataclass(frozen=True)
class LoraSlot:
    """The LoRA loader node: filled when a LoRA is asked for, removed when not."""

    node: str
    name_input: str
    strength_inputs: tuple[str, ...] = ()
    bypass: Mapping[int, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    """A parsed template; see the module docstring for the file format."""

    name: str
    description: str
    engine: str
    model_family: str | None
    graph: Mapping[str, Any]
    bindings: Mapping[str, tuple[Target, ...]]
    outputs: Mapping[str, str]
    loras: tuple[LoraSlot, ...] = ()
    requires_start_image: bool = False
    requires_end_image: bool = False
    keyframe_template: str | None = None
    free_memory: bool = False
    progress_nodes: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Any] = field(default_factory=dict)
    escalation: tuple[Mapping[str, Any], ...] = ()
    source: str = "builtin"

    @property
    def max_seconds(self) -> float:
        return float(self.limits.get("max_seconds", 5.0))

    def to_json(self) -> dict[str, Any]:
        """The manifest document (what :func:`parse_template` reads)."""
        doc: dict[str, Any] = {
            "name": self.name, "description": self.description, "engine": self.engine,
            "model_family": self.model_family, "requires_start_image": self.requires_start_image,
            "keyframe_template": self.keyframe_template, "free_memory": self.free_memory,
            "graph": self.graph,
            "bindings": {k: [{"node": t.node, "input": t.input} for t in v]
                         for k, v in self.bindings.items()},
            "requires_end_image": self.requires_end_image,
            "loras": [{"node": s.node, "name_input": s.name_input,
                       "strength_inputs": list(s.strength_inputs),
                       "bypass": {str(k): v for k, v in s.bypass.items()}} for s in self.loras],
            "outputs": dict(self.outputs), "progress_nodes": list(self.progress_nodes),
            "defaults": dict(self.defaults), "limits": dict(self.limits),
            "escalation": [dict(rung) for rung in self.escalation],
        }
        return doc


def parse_template(doc: Any, *, source: str = "builtin") -> Template:
    """Read and check a manifest document.

    Raises:
        TemplateError: every problem found (unknown engine, bindings to missing nodes or
            inputs, missing video/last-frame outputs...), in one message.
    """
    if not isinstance(doc, dict):
        raise TemplateError(f"{source}: a template must be a JSON object")
    problems: list[str] = []
    name = str(doc.get("name", ""))
    if not _NAME.match(name):
        problems.append(f"name {name!r} must be letters, digits, '_', '-' or '.'")
    engine = doc.get("engine")
    if engine not in ENGINES:
        problems.append(f"engine {engine!r} must be one of {', '.join(ENGINES)}")
    graph = doc.get("graph")
    if not isinstance(graph, dict) or not graph:
        raise TemplateError(f"{source}: 'graph' must be a non-empty API-format graph")
    for nid, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node:
            problems.append(f"graph node {nid!r} has no class_type (is this UI format? "
                            "use `studio workflows import`)")
    bindings: dict[str, tuple[Target, ...]] = {}
    for key, targets in (doc.get("bindings") or {}).items():
        parsed = tuple(Target(str(t["node"]), str(t["input"])) for t in targets)
        for t in parsed:
            if t.node not in graph:
                problems.append(f"binding {key!r} points at missing node {t.node}")
        bindings[key] = parsed
    loras = tuple(
        LoraSlot(str(raw["node"]), str(raw["name_input"]), tuple(raw.get("strength_inputs") or ()),
                 {int(k): v for k, v in (raw.get("bypass") or {}).items()})
        for raw in doc.get("loras") or ())
    for slot in loras:
        if slot.node not in graph:
            problems.append(f"loras point at missing node {slot.node}")
    outputs = {str(k): str(v) for k, v in (doc.get("outputs") or {}).items()}
    for role, expected in (("video", "SaveVideo"), ("last_frame", "SaveImage")):
        nid = outputs.get(role)
        if nid is None or nid not in graph:
            problems.append(f"outputs.{role} must name the {expected} node")
        elif isinstance(graph[nid], dict) and graph[nid].get("class_type") != expected:
            problems.append(f"outputs.{role} is node {nid} ({graph[nid].get('class_type')}), "
                            f"expected {expected}")
    defaults = dict(doc.get("defaults") or {})
    escalation, ladder_problems = parse_escalation(doc.get("escalation"), bindings, graph, defaults)
    problems.extend(ladder_problems)
    if problems:
        raise TemplateError(f"template {name or source!r} is malformed:\n"
                            + "\n".join(f"  - {p}" for p in problems))
    return Template(
        name=name, description=str(doc.get("description", "")), engine=str(engine),
        model_family=doc.get("model_family"), graph=graph, bindings=bindings, outputs=outputs,
        loras=loras, requires_start_image=bool(doc.get("requires_start_image", False)),
        requires_end_image=bool(doc.get("requires_end_image", False)),
        keyframe_template=doc.get("keyframe_template"),
        free_memory=bool(doc.get("free_memory", False)),
        progress_nodes=tuple(str(n) for n in doc.get("progress_nodes") or ()),
        defaults=defaults, limits=dict(doc.get("limits") or {}),
        escalation=escalation, source=source,
    )


def user_template_dir(home: Path) -> Path:
    return home / "workflows"


@functools.lru_cache(maxsize=1)
def _builtin_docs() -> dict[str, Any]:
    """The shipped manifests (read once; callers must not mutate them)."""
    docs: dict[str, Any] = {}
    root = importlib.resources.files("studio._workflows")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            docs[entry.name[:-5]] = json.loads(entry.read_text(encoding="utf-8"))
    return docs


@functools.lru_cache(maxsize=64)
def _builtin_template(name: str) -> Template:
    return parse_template(_builtin_docs()[name])


def list_templates(home: Path | None = None) -> list[Template]:
    """Every template, built-in and user (user shadows built-in), sorted by name."""
    found = {name: _builtin_template(name) for name in _builtin_docs()}
    if home is not None and user_template_dir(home).is_dir():
        for path in sorted(user_template_dir(home).glob("*.json")):
            found[path.stem] = _read_user(path)
    return [found[k] for k in sorted(found)]


def _read_user(path: Path) -> Template:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TemplateError(f"cannot read template {path}: {error}") from error
    return parse_template(doc, source=str(path))


def load_template(name: str, *, home: Path | None = None) -> Template:
    """The template called ``name``.

    Raises:
        TemplateError: no such template (the message lists the known ones).
    """
    if home is not None:
        path = user_template_dir(home) / f"{name}.json"
        if _NAME.match(name) and path.is_file():
            return _read_user(path)
    if name in _builtin_docs():
        return _builtin_template(name)
    known = ", ".join(t.name for t in list_templates(home))
    raise TemplateError(f"unknown template {name!r}; known templates: {known}")


def save_template(template: Template, home: Path, *, overwrite: bool = False) -> Path:
    """Write a user template to ``<home>/workflows/NAME.json``.

    Raises:
        TemplateError: it exists and ``overwrite`` is false.
    """
    folder = user_template_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{template.name}.json"
    if path.exists() and not overwrite:
        raise TemplateError(f"template {template.name!r} already exists at {path}; "
                            "pass --force to replace it")
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(template.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class FramePlan:
    """How many frames a job makes and what the length inputs get.

    ``frames`` counts every frame of the output video (the start image included when
    ``lead`` is 1); ``planned_frames = frames - lead``. ``notes`` says what was rounded.
    """

    frames: int
    lead: int
    length: int
    duration_seconds: float
    notes: tuple[str, ...] = ()

    @property
    def planned_frames(self) -> int:
        return self.frames - self.lead


def plan_frames(template: Template, planned_frames: int, fps: int, *, has_start: bool
                ) -> FramePlan:
    """Round a segment's frame count to what the template's engine can make.

    Wan makes 4k+1 frames, LTX 8k+1, FramePack ``4 * latent_window_size * n + 1``
    (sections of 1.2 s at its native 30 fps), an image template one still.
    """
    lead = 1 if has_start else 0
    wanted = max(1, planned_frames) + lead
    notes: list[str] = []
    engine = template.engine
    max_frames = int(template.limits.get("max_frames", 0)) or None
    if engine == "image":
        return FramePlan(1, 0, 1, 1 / fps)
    if engine in ("wan", "ltx"):
        step = 4 if engine == "wan" else 8
        frames = max(step + 1, round((wanted - 1) / step) * step + 1)
        if max_frames:
            frames = min(frames, (max_frames - 1) // step * step + 1)
        rule = f"{'Wan' if engine == 'wan' else 'LTX-Video'} makes {step}k+1 frames"
    elif engine == "framepack":
        section = 4 * int(template.defaults.get("latent_window_size", 9))
        sections = max(1, round((wanted - 1) / section))
        if max_frames:
            sections = max(1, min(sections, (max_frames - 1) // section))
        frames = sections * section + 1
        rule = f"FramePack makes sections of {section} frames (+1)"
    else:
        frames = wanted if max_frames is None else min(wanted, max_frames)
        rule = f"the template allows at most {max_frames} frames"
    if frames != wanted:
        notes.append(f"length rounded from {wanted - lead} to {frames - lead} frames "
                     f"({(frames - lead) / fps:.2f} s at {fps} fps): {rule}")
    seconds = (frames - 1) / FRAMEPACK_FPS if engine == "framepack" else (frames - lead) / fps
    return FramePlan(frames, lead, frames, round(seconds, 4), tuple(notes))


def round_size(template: Template, width: int, height: int) -> tuple[int, int, list[str]]:
    """Round a size to the template's ``size_multiple`` (Wan 16, LTX 32...)."""
    multiple = int(template.limits.get("size_multiple", 2))
    w = max(multiple, round(width / multiple) * multiple)
    h = max(multiple, round(height / multiple) * multiple)
    notes = [] if (w, h) == (width, height) else [
        f"size rounded from {width}x{height} to {w}x{h} (multiples of {multiple})"]
    return w, h, notes


def remove_node(graph: dict[str, Any], node_id: str, bypass: Mapping[int, str | None]) -> None:
    """Delete a node; each consumer of its output ``k`` gets the node's input ``bypass[k]``
    (or loses that input when there is none: it must be optional)."""
    node = graph.pop(node_id)
    for other in graph.values():
        inputs = other.get("inputs") or {}
        for key, value in list(inputs.items()):
            if isinstance(value, list) and len(value) == 2 and str(value[0]) == node_id:
                source = bypass.get(int(value[1]))
                if source is None:
                    del inputs[key]
                else:
                    inputs[key] = copy.deepcopy(node["inputs"][source])


def apply_bindings(
    template: Template,
    values: Mapping[str, Any],
    *,
    lora: tuple[str, float] | None = None,
) -> dict[str, Any]:
    """A fresh API graph with ``values`` written into the bound inputs.

    Values for names the template does not bind are ignored; ``None`` values are skipped.

    Raises:
        TemplateError: a LoRA is asked for but the template has no LoRA slot.
    """
    graph: dict[str, Any] = copy.deepcopy(dict(template.graph))
    for key, value in values.items():
        if value is None:
            continue
        for target in template.bindings.get(key, ()):
            graph[target.node].setdefault("inputs", {})[target.input] = value
    if lora is not None and not template.loras:
        raise TemplateError(f"template {template.name!r} has no LoRA slot")
    for slot in template.loras:
        if lora is None:
            remove_node(graph, slot.node, slot.bypass)
            continue
        inputs = graph[slot.node]["inputs"]
        inputs[slot.name_input] = lora[0]
        for name in slot.strength_inputs:
            inputs[name] = float(lora[1])
    return graph

