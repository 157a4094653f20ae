"""What the fake ComfyUI does with a prompt: validation and a simulated execution.

Validation follows ComfyUI 0.3.64's ``validate_prompt``/``validate_inputs`` (the error
types, messages, details and ``extra_info`` of comfyui-api.md §4). Execution evaluates
each node with a small stand-in: image nodes really operate on RGB arrays, model nodes
carry a :class:`Latent` (frame count, size, start/end image, prompt, seed), and decoders
render it with the animatic renderer so the pipeline downstream sees real video.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from studio._video import VideoWriter, read_image, write_png
from studio.backends._animatic_render import plan_scene, render_frame
from studio.backends._base import SceneContext

SAMPLER_CLASSES = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced",
                   "FramePackSampler"}


# -- validation -------------------------------------------------------------------------------


def _err(kind: str, message: str, details: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _top(kind: str, message: str, details: str) -> dict[str, Any]:
    return {"error": _err(kind, message, details), "node_errors": {}}


def _spec(info: Mapping[str, Any], name: str) -> list[Any] | None:
    inputs = info["input"]
    return (inputs.get("required") or {}).get(name) or (inputs.get("optional") or {}).get(name)


def _options(spec: list[Any]) -> list[Any] | None:
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO":
        return list(spec[1].get("options", []))
    return None


def validate(
    prompt: Any,
    object_info: Mapping[str, Any],
    *,
    input_exists: Callable[[str], bool],
    targets: list[str] | None = None,
) -> tuple[dict[str, Any] | None, list[str], dict[str, Any]]:
    """Return ``(error_or_None, good_outputs, node_errors)`` as ComfyUI computes them."""
    if not isinstance(prompt, dict):
        return _top("invalid_prompt", "Invalid prompt", "prompt must be a dict"), [], {}
    for nid, n in prompt.items():
        if not isinstance(n, dict) or "class_type" not in n:
            return _top("invalid_prompt", "Cannot execute because a node is missing the "
                        "class_type property.", f"Node ID '#{nid}'"), [], {}
        if n["class_type"] not in object_info:
            return _top("invalid_prompt", f"Cannot execute because node {n['class_type']} does "
                        "not exist.", f"Node ID '#{nid}'"), [], {}
    outputs = [nid for nid, n in prompt.items() if object_info[n["class_type"]]["output_node"]]
    if targets is not None:
        outputs = [o for o in outputs if o in targets]
    if not outputs:
        return _top("prompt_no_outputs", "Prompt has no outputs", ""), [], {}
    results: dict[str, tuple[bool, list[dict[str, Any]]]] = {}

    def check(nid: str) -> bool:
        if nid in results:
            return results[nid][0]
        results[nid] = (True, [])
        node = prompt[nid]
        info = object_info[node["class_type"]]
        inputs = node.get("inputs") or {}
        errors: list[dict[str, Any]] = []
        valid = True
        names = [*(info["input"].get("required") or {}), *(info["input"].get("optional") or {})]
        required = set(info["input"].get("required") or {})
        for name in names:
            spec = _spec(info, name)
            assert spec is not None
            if name not in inputs:
                if name in required:
                    errors.append(_err("required_input_missing", "Required input is missing",
                                       name, input_name=name))
                continue
            value = inputs[name]
            if isinstance(value, list):
                try:
                    src_id, idx = value
                    src = prompt[str(src_id)]
                    received = object_info[src["class_type"]]["output"][idx]
                except KeyError as error:
                    errors.append(_err("exception_during_validation", "Exception when "
                                       "validating node", str(error), exception_type="KeyError",
                                       traceback=["..."]))
                    continue
                except IndexError as error:
                    errors.append(_err("exception_during_validation", "Exception when "
                                       "validating node", str(error),
                                       exception_type="IndexError", traceback=["..."]))
                    continue
                except ValueError:
                    errors.append(_err("bad_linked_input", "Bad linked input, must be a "
                                       "length-2 list of [node_id, slot_index]", name,
                                       input_name=name, input_config=spec, received_value=value))
                    continue
                expected = "COMBO" if _options(spec) is not None and spec[0] != "COMBO" else spec[0]
                if received != expected and "*" not in (received, expected):
                    errors.append(_err(
                        "return_type_mismatch", "Return type mismatch between linked nodes",
                        f"{name}, received_type({received}) mismatch input_type({expected})",
                        input_name=name, input_config=spec, received_type=received,
                        linked_node=value))
                    continue
                if not check(str(src_id)):
                    valid = False
                continue
            if node["class_type"] != "LoadImage" or name != "image":
                errors.extend(_check_value(name, value, spec))
            elif not input_exists(str(value)):  # LoadImage.VALIDATE_INPUTS replaces the combo
                errors.append(_err("custom_validation_failed", "Custom validation failed "
                                       "for node", f"image - Invalid image file: {value}",
                                       input_name="image"))
        results[nid] = (valid and not errors, errors)
        return results[nid][0]

    good: list[str] = []
    failed: list[str] = []
    for out in outputs:
        (good if check(out) else failed).append(out)
    node_errors: dict[str, Any] = {}
    for nid, (_, errors) in results.items():
        if errors:
            node_errors[nid] = {"errors": errors, "dependent_outputs": [],
                                "class_type": prompt[nid]["class_type"]}
    for out in failed:
        for nid in _ancestors(prompt, out) & set(node_errors):
            node_errors[nid]["dependent_outputs"].append(out)
    if not good:
        details = "\n".join(f"{e['message']}: {e['details']}" for out in failed
                            for e in results[out][1])
        return ({"error": _err("prompt_outputs_failed_validation",
                               "Prompt outputs failed validation", details),
                 "node_errors": node_errors}, [], node_errors)
    return None, good, node_errors


def _check_value(name: str, value: Any, spec: list[Any]) -> list[dict[str, Any]]:
    kind, opts = spec[0], (spec[1] if len(spec) > 1 else {}) or {}
    options = _options(spec)
    if options is not None:
        if value not in options:
            return [_err("value_not_in_list", "Value not in list",
                         f"{name}: '{value}' not in {options}", input_name=name,
                         input_config=spec, received_value=value)]
        return []
    convert: dict[str, Callable[[Any], Any]] = {"INT": int, "FLOAT": float, "STRING": str,
                                                "BOOLEAN": bool}
    if kind in convert:
        try:
            value = convert[kind](value)
        except (TypeError, ValueError) as error:
            return [_err("invalid_input_type", f"Failed to convert an input value to a {kind} "
                         "value", f"{name}, {value}, {error}", input_name=name,
                         input_config=spec, received_value=value)]
    if "min" in opts and value < opts["min"]:
        return [_err("value_smaller_than_min", f"Value {value} smaller than min of "
                     f"{opts['min']}", name, input_name=name, input_config=spec,
                     received_value=value)]
    if "max" in opts and value > opts["max"]:
        return [_err("value_bigger_than_max", f"Value {value} bigger than max of "
                     f"{opts['max']}", name, input_name=name, input_config=spec,
                     received_value=value)]
    return []


def _ancestors(prompt: Mapping[str, Any], nid: str) -> set[str]:
    seen: set[str] = set()
    stack = [nid]
    while stack:
        cur = stack.pop()
        if cur in seen or cur not in prompt:
            continue
        seen.add(cur)
        for value in (prompt[cur].get("inputs") or {}).values():
            if isinstance(value, list) and len(value) == 2:
                stack.append(str(value[0]))
    return seen


def execution_order(prompt: Mapping[str, Any], outputs: list[str]) -> list[str]:
    """Topological order of everything the outputs need."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(nid: str) -> None:
        if nid in seen:
            return
        seen.add(nid)
        for value in (prompt[nid].get("inputs") or {}).values():
            if isinstance(value, list) and len(value) == 2:
                visit(str(value[0]))
        order.append(nid)

    for out in outputs:
        visit(out)
    return order


def signatures(prompt: Mapping[str, Any], order: list[str]) -> dict[str, str]:
    """A cache key per node: its class and inputs, links replaced by their source's key."""
    sig: dict[str, str] = {}
    for nid in order:
        node = prompt[nid]
        parts = []
        for key, value in sorted((node.get("inputs") or {}).items()):
            if isinstance(value, list) and len(value) == 2:
                parts.append(f"{key}=<{sig[str(value[0])]}>[{value[1]}]")
            else:
                parts.append(f"{key}={value!r}")
        sig[nid] = f"{node['class_type']}({','.join(parts)})"
    return sig


# -- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latent:
    frames: int
    width: int
    height: int
    start: np.ndarray | None = None
    end: np.ndarray | None = None
    prompt: str = ""
    seed: int = 0


class NodeFailure(Exception):
    """A node raised (becomes ``execution_error``)."""

    def __init__(self, exception_type: str, message: str) -> None:
        self.exception_type = exception_type
        super().__init__(message)


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def render_latent(latent: Latent, fps: float = 16.0) -> np.ndarray:
    """Decode a fake latent: animatic frames; frame 0 is the start image, exactly."""
    w, h = latent.width, latent.height
    scene = SceneContext(project="fake", episode=1, scene=1 + latent.seed % 7,
                         description=latent.prompt, camera_movement="pan")
    plan = plan_scene(scene, w, h)
    frames = np.stack([render_frame(plan, i / fps) for i in range(latent.frames)])
    fade = max(1, min(8, latent.frames // 2))
    for anchor, index in ((latent.start, 0), (latent.end, latent.frames - 1)):
        if anchor is None:
            continue
        residual = _resize(anchor, w, h).astype(np.float32) - frames[index]
        for i in range(latent.frames):
            weight = max(0.0, 1.0 - abs(i - index) / fade)
            if weight:
                mixed = frames[i].astype(np.float32) + residual * weight
                frames[i] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return frames


_COUNTER = re.compile(r"_(\d{5})_\.")


def next_counter(folder: Path, name: str) -> int:
    """1 + the highest counter already used by ``name`` in ``folder`` (§12)."""
    if not folder.is_dir():
        return 1
    best = 0
    for path in folder.iterdir():
        if path.name.startswith(name + "_"):
            match = _COUNTER.search(path.name[len(name):])
            if match:
                best = max(best, int(match.group(1)))
    return best + 1


class Evaluator:
    """Runs one node at a time on stand-in values; files go to ``root/output``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _prefix(self, prefix: str) -> tuple[Path, str, str]:
        out = (self.root / "output").resolve()
        target = (out / prefix).resolve()
        if not target.is_relative_to(out):
            raise NodeFailure("Exception", "Saving image outside the output folder is not allowed.")
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True)
        return folder, target.name, "" if folder == out else folder.relative_to(out).as_posix()

    def run(self, class_type: str, a: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict | None]:
        handler = getattr(self, f"n_{class_type}", None)
        if handler is None:
            return ("<opaque>",) * 4, None
        result = handler(a)
        return (result if isinstance(result, tuple) else (result,)), None

    def save(self, class_type: str, a: Mapping[str, Any]) -> dict[str, Any]:
        if class_type == "SaveVideo":
            frames, fps = a["video"]
            folder, name, sub = self._prefix(a["filename_prefix"])
            path = folder / f"{name}_{next_counter(folder, name):05d}_.mp4"
            h, w = frames.shape[1:3]
            even = frames[:, : h - h % 2, : w - w % 2]
            with VideoWriter(path, width=even.shape[2], height=even.shape[1],
                             fps=max(1, round(fps))) as out:
                for frame in even:
                    out.write(np.ascontiguousarray(frame))
            return {"images": [{"filename": path.name, "subfolder": sub, "type": "output"}],
                    "animated": [True]}
        images = a["images"]
        if class_type == "PreviewImage":
            folder, name, sub, kind = self.root / "temp", "ComfyUI_temp_abcde", "", "temp"
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder, name, sub = self._prefix(a["filename_prefix"])
            kind = "output"
        first = next_counter(folder, name)
        listed = []
        for i, frame in enumerate(images):
            path = folder / f"{name}_{first + i:05d}_.png"
            write_png(path, np.ascontiguousarray(frame))
            listed.append({"filename": path.name, "subfolder": sub, "type": kind})
        return {"images": listed}

    # image nodes
    def n_EmptyImage(self, a: Mapping[str, Any]) -> np.ndarray:
        c = int(a["color"])
        rgb = np.array([(c >> 16) & 255, (c >> 8) & 255, c & 255], dtype=np.uint8)
        return np.tile(rgb, (int(a["batch_size"]), int(a["height"]), int(a["width"]), 1))

    def n_LoadImage(self, a: Mapping[str, Any]) -> tuple[np.ndarray, str]:
        name = str(a["image"])
        kind = "input"
        if name.endswith("]") and " [" in name:
            name, kind = name[:-1].rsplit(" [", 1)
        try:
            return read_image(self.root / kind / name)[None], "<mask>"
        except Exception as error:
            raise NodeFailure("PIL.UnidentifiedImageError",
                              f"cannot identify image file '{name}'\n") from error

    def n_ImageScale(self, a: Mapping[str, Any]) -> np.ndarray:
        img = a["image"]
        w, h = int(a["width"]), int(a["height"])
        if w == 0:
            w = round(img.shape[2] * h / img.shape[1])
        if h == 0:
            h = round(img.shape[1] * w / img.shape[2])
        return np.stack([_resize(f, w, h) for f in img])

    def n_ImageInvert(self, a: Mapping[str, Any]) -> np.ndarray:
        return 255 - a["image"]

    def n_ImageToMask(self, a: Mapping[str, Any]) -> np.ndarray:
        channel = ["red", "green", "blue", "alpha"].index(a["channel"])
        img = a["image"]
        if channel >= img.shape[-1]:  # what torch says for image[:, :, :, 3] on RGB
            raise NodeFailure("IndexError", f"index {channel} is out of bounds for dimension 3 "
                              f"with size {img.shape[-1]}\n")
        return img[..., channel]

    def n_MaskToImage(self, a: Mapping[str, Any]) -> np.ndarray:
        return np.repeat(a["mask"][..., None], 3, axis=-1)

    def n_ImageBlur(self, a: Mapping[str, Any]) -> np.ndarray:
        k = 2 * int(a["blur_radius"]) + 1
        return np.stack([cv2.GaussianBlur(f, (k, k), float(a["sigma"])) for f in a["image"]])

    def n_ImageBatch(self, a: Mapping[str, Any]) -> np.ndarray:
        one, two = a["image1"], a["image2"]
        two = np.stack([_resize(f, one.shape[2], one.shape[1]) for f in two])
        return np.concatenate([one, two])

    def n_RepeatImageBatch(self, a: Mapping[str, Any]) -> np.ndarray:
        return np.concatenate([a["image"]] * int(a["amount"]))

    def n_ImageFromBatch(self, a: Mapping[str, Any]) -> np.ndarray:
        img = a["image"]
        start = min(int(a["batch_index"]), len(img) - 1)
        return img[start : start + int(a["length"])]

    def n_CreateVideo(self, a: Mapping[str, Any]) -> tuple[np.ndarray, float]:
        return (a["images"], float(a["fps"])),

    # conditioning and latents
    def n_CLIPTextEncode(self, a: Mapping[str, Any]) -> str:
        return str(a["text"])

    def n_ConditioningZeroOut(self, a: Mapping[str, Any]) -> str:
        return ""

    def n_LTXVConditioning(self, a: Mapping[str, Any]) -> tuple[str, str]:
        return a["positive"], a["negative"]

    def n_EmptyLatentImage(self, a: Mapping[str, Any]) -> Latent:
        return Latent(1, int(a["width"]), int(a["height"]))

    def _video_latent(self, a: Mapping[str, Any], step: int, start_key: str) -> Latent:
        length = int(a["length"])
        start = a.get(start_key)
        end = a.get("end_image")
        return Latent(((length - 1) // step) * step + 1, int(a["width"]), int(a["height"]),
                      None if start is None else start[0], None if end is None else end[-1])

    def n_WanImageToVideo(self, a: Mapping[str, Any]) -> tuple[Any, ...]:
        return a["positive"], a["negative"], self._video_latent(a, 4, "start_image")

    n_WanFirstLastFrameToVideo = n_WanImageToVideo

    def n_Wan22ImageToVideoLatent(self, a: Mapping[str, Any]) -> Latent:
        return self._video_latent(a, 4, "start_image")

    def n_LTXVImgToVideo(self, a: Mapping[str, Any]) -> tuple[Any, ...]:
        return a["positive"], a["negative"], self._video_latent(a, 8, "image")

    def n_VAEEncode(self, a: Mapping[str, Any]) -> Latent:
        img = a["pixels"]
        return Latent(1, img.shape[2], img.shape[1], start=img[0])

    def n_FramePackFindNearestBucket(self, a: Mapping[str, Any]) -> tuple[int, int]:
        img = a["image"]
        return max(16, img.shape[2] // 16 * 16), max(16, img.shape[1] // 16 * 16)

    def n_KSampler(self, a: Mapping[str, Any]) -> Latent:
        return replace(a["latent_image"], prompt=a["positive"], seed=int(a["seed"]))

    def n_KSamplerAdvanced(self, a: Mapping[str, Any]) -> Latent:
        return replace(a["latent_image"], prompt=a["positive"], seed=int(a["noise_seed"]))

    def n_SamplerCustom(self, a: Mapping[str, Any]) -> tuple[Latent, Latent]:
        out = replace(a["latent_image"], prompt=a["positive"], seed=int(a["noise_seed"]))
        return out, out

    def n_FramePackSampler(self, a: Mapping[str, Any]) -> Latent:
        lws = int(a["latent_window_size"])
        sections = max(1, round(float(a["total_second_length"]) * 30 / (lws * 4)))
        start: Latent = a["start_latent"]
        end: Latent | None = a.get("end_latent")
        return Latent(sections * lws * 4 + 1, start.width, start.height, start.start,
                      None if end is None else end.start, a["positive"], int(a["seed"]))

    def n_VAEDecode(self, a: Mapping[str, Any]) -> np.ndarray:
        return render_latent(a["samples"])

    n_VAEDecodeTiled = n_VAEDecode
