"""Node schemas for the fake ComfyUI, written the way ``GET /object_info`` returns them.

Each definition copies the real node's inputs (names, order, types, defaults, ranges)
from ComfyUI 0.3.64 and ComfyUI-FramePackWrapper a7c4b70 (video-workflows.md §2), in
both encodings the server uses (V1 combos ``[[...], {}]``, V3 ``["COMBO", {"options"}]``).
Model-loader combos list the files of the fake's model folders, so a missing model
shows up as ``value_not_in_list`` exactly as on a real server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_RES = 16384
MAX_SEED = 0xFFFFFFFFFFFFFFFF
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "uni_pc", "uni_pc_bh2"]
SCHEDULERS = ["simple", "normal", "karras", "exponential", "sgm_uniform", "beta"]
CLIP_TYPES = ["stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv",
              "pixart", "cosmos", "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2",
              "qwen_image", "hunyuan_image"]
DUAL_CLIP_TYPES = ["sdxl", "sd3", "flux", "hunyuan_video", "hidream"]


def INT(default: int, lo: int = 0, hi: int = MAX_RES, step: int = 1, **extra: Any) -> list[Any]:
    return ["INT", {"default": default, "min": lo, "max": hi, "step": step, **extra}]


def FLOAT(default: float, lo: float, hi: float, step: float = 0.01, **extra: Any) -> list[Any]:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": step, **extra}]


def STRING(default: str = "", multiline: bool = False) -> list[Any]:
    return ["STRING", {"default": default, "multiline": multiline}]


def BOOL(default: bool) -> list[Any]:
    return ["BOOLEAN", {"default": default}]


def COMBO(options: Sequence[str], **extra: Any) -> list[Any]:
    """V1 combo: ``[[options], {...}]``."""
    return [list(options), dict(extra)]


def COMBO3(options: Sequence[str], **extra: Any) -> list[Any]:
    """V3 combo: ``["COMBO", {"options": [...]}]``."""
    return ["COMBO", {"multiselect": False, "options": list(options), **extra}]


def LINK(kind: str) -> list[Any]:
    return [kind, {}]


def node(
    name: str,
    required: Mapping[str, Any],
    outputs: Sequence[tuple[str, str]] = (),
    *,
    optional: Mapping[str, Any] | None = None,
    output_node: bool = False,
    module: str = "nodes",
    category: str = "",
    hidden: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"required": dict(required)}
    order: dict[str, Any] = {"required": list(required)}
    if optional:
        inputs["optional"] = dict(optional)
        order["optional"] = list(optional)
    if hidden:
        inputs["hidden"] = dict(hidden)
        order["hidden"] = list(hidden)
    return {
        "input": inputs, "input_order": order,
        "output": [t for t, _ in outputs], "output_is_list": [False] * len(outputs),
        "output_name": [n for _, n in outputs], "name": name, "display_name": name,
        "description": "", "python_module": module, "category": category,
        "output_node": output_node,
    }


PNG_HIDDEN = {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}


def core_nodes(models: Mapping[str, Sequence[str]], inputs: Sequence[str]) -> list[dict[str, Any]]:
    m = {k: list(v) for k, v in models.items()}
    ckpt, loras = m.get("checkpoints", []), m.get("loras", [])
    unets, tes = m.get("diffusion_models", []), m.get("text_encoders", [])
    vaes, cvs = m.get("vae", []), m.get("clip_vision", [])
    latent_video = [("CONDITIONING", "positive"), ("CONDITIONING", "negative"), ("LATENT", "latent")]
    wan_common = {
        "positive": LINK("CONDITIONING"), "negative": LINK("CONDITIONING"), "vae": LINK("VAE"),
        "width": INT(832, 16, MAX_RES, 16), "height": INT(480, 16, MAX_RES, 16),
        "length": INT(81, 1, MAX_RES, 4), "batch_size": INT(1, 1, 4096),
    }
    return [
        node("EmptyImage", {"width": INT(512, 1), "height": INT(512, 1),
                            "batch_size": INT(1, 1, 4096),
                            "color": INT(0, 0, 0xFFFFFF, display="color")}, [("IMAGE", "IMAGE")]),
        node("LoadImage", {"image": COMBO(sorted(inputs), image_upload=True)},
             [("IMAGE", "IMAGE"), ("MASK", "MASK")]),
        node("ImageScale", {"image": LINK("IMAGE"),
                            "upscale_method": COMBO(["nearest-exact", "bilinear", "area",
                                                     "bicubic", "lanczos"]),
                            "width": INT(512, 0), "height": INT(512, 0),
                            "crop": COMBO(["disabled", "center"])}, [("IMAGE", "IMAGE")]),
        node("ImageInvert", {"image": LINK("IMAGE")}, [("IMAGE", "IMAGE")]),
        node("ImageToMask", {"image": ["IMAGE"], "channel": [["red", "green", "blue", "alpha"]]},
             [("MASK", "MASK")], module="comfy_extras.nodes_mask", category="mask"),
        node("MaskToImage", {"mask": ["MASK"]}, [("IMAGE", "IMAGE")],
             module="comfy_extras.nodes_mask", category="mask"),
        node("ImageBlur", {"image": LINK("IMAGE"), "blur_radius": INT(1, 1, 31),
                           "sigma": FLOAT(1.0, 0.1, 10.0, 0.1)}, [("IMAGE", "IMAGE")],
             module="comfy_extras.nodes_post_processing"),
        node("ImageBatch", {"image1": LINK("IMAGE"), "image2": LINK("IMAGE")},
             [("IMAGE", "IMAGE")]),
        node("RepeatImageBatch", {"image": LINK("IMAGE"), "amount": INT(1, 1, 4096)},
             [("IMAGE", "IMAGE")], module="comfy_extras.nodes_images"),
        node("ImageFromBatch", {"image": LINK("IMAGE"), "batch_index": INT(0, 0, 4095),
                                "length": INT(1, 1, 4096)}, [("IMAGE", "IMAGE")],
             module="comfy_extras.nodes_images"),
        node("SaveImage", {"images": LINK("IMAGE"), "filename_prefix": STRING("ComfyUI")},
             output_node=True, hidden=PNG_HIDDEN),
        node("PreviewImage", {"images": LINK("IMAGE")}, output_node=True, hidden=PNG_HIDDEN),
        node("CreateVideo", {"images": LINK("IMAGE"), "fps": FLOAT(30.0, 1.0, 120.0, 1.0)},
             [("VIDEO", "VIDEO")], optional={"audio": LINK("AUDIO")},
             module="comfy_extras.nodes_video"),
        node("SaveVideo", {"video": LINK("VIDEO"), "filename_prefix": STRING("video/ComfyUI"),
                           "format": COMBO3(["auto", "mp4"]), "codec": COMBO3(["auto", "h264"])},
             output_node=True, module="comfy_extras.nodes_video", hidden=PNG_HIDDEN),
        node("PrimitiveInt", {"value": INT(0, -MAX_SEED, MAX_SEED)}, [("INT", "INT")],
             module="comfy_extras.nodes_primitive"),
        node("CheckpointLoaderSimple", {"ckpt_name": COMBO(ckpt)},
             [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")]),
        node("LoraLoader", {"model": LINK("MODEL"), "clip": LINK("CLIP"),
                            "lora_name": COMBO(loras),
                            "strength_model": FLOAT(1.0, -100.0, 100.0),
                            "strength_clip": FLOAT(1.0, -100.0, 100.0)},
             [("MODEL", "MODEL"), ("CLIP", "CLIP")]),
        node("LoraLoaderModelOnly", {"model": LINK("MODEL"), "lora_name": COMBO(loras),
                                     "strength_model": FLOAT(1.0, -100.0, 100.0)},
             [("MODEL", "MODEL")]),
        node("CLIPTextEncode", {"text": ["STRING", {"multiline": True, "dynamicPrompts": True}],
                                "clip": LINK("CLIP")}, [("CONDITIONING", "CONDITIONING")]),
        node("ConditioningZeroOut", {"conditioning": LINK("CONDITIONING")},
             [("CONDITIONING", "CONDITIONING")]),
        node("EmptyLatentImage", {"width": INT(512, 16, MAX_RES, 8),
                                  "height": INT(512, 16, MAX_RES, 8),
                                  "batch_size": INT(1, 1, 4096)}, [("LATENT", "LATENT")]),
        node("KSampler", {"model": LINK("MODEL"),
                          "seed": INT(0, 0, MAX_SEED, control_after_generate=True),
                          "steps": INT(20, 1, 10000), "cfg": FLOAT(8.0, 0.0, 100.0, 0.1),
                          "sampler_name": COMBO(SAMPLERS), "scheduler": COMBO(SCHEDULERS),
                          "positive": LINK("CONDITIONING"), "negative": LINK("CONDITIONING"),
                          "latent_image": LINK("LATENT"), "denoise": FLOAT(1.0, 0.0, 1.0)},
             [("LATENT", "LATENT")]),
        node("KSamplerAdvanced", {"model": LINK("MODEL"), "add_noise": COMBO(["enable", "disable"]),
                                  "noise_seed": INT(0, 0, MAX_SEED, control_after_generate=True),
                                  "steps": INT(20, 1, 10000), "cfg": FLOAT(8.0, 0.0, 100.0, 0.1),
                                  "sampler_name": COMBO(SAMPLERS), "scheduler": COMBO(SCHEDULERS),
                                  "positive": LINK("CONDITIONING"),
                                  "negative": LINK("CONDITIONING"),
                                  "latent_image": LINK("LATENT"), "start_at_step": INT(0, 0, 10000),
                                  "end_at_step": INT(10000, 0, 10000),
                                  "return_with_leftover_noise": COMBO(["disable", "enable"])},
             [("LATENT", "LATENT")]),
        node("VAEDecode", {"samples": LINK("LATENT"), "vae": LINK("VAE")}, [("IMAGE", "IMAGE")]),
        node("VAEEncode", {"pixels": LINK("IMAGE"), "vae": LINK("VAE")}, [("LATENT", "LATENT")]),
        node("VAEDecodeTiled", {"samples": LINK("LATENT"), "vae": LINK("VAE"),
                                "tile_size": INT(512, 64, 4096, 32),
                                "overlap": INT(64, 0, 4096, 32),
                                "temporal_size": INT(64, 8, 4096, 4),
                                "temporal_overlap": INT(8, 4, 4096, 4)}, [("IMAGE", "IMAGE")]),
        node("VAELoader", {"vae_name": COMBO(vaes)}, [("VAE", "VAE")]),
        node("UNETLoader", {"unet_name": COMBO(unets),
                            "weight_dtype": COMBO(["default", "fp8_e4m3fn", "fp8_e4m3fn_fast",
                                                   "fp8_e5m2"])}, [("MODEL", "MODEL")]),
        node("CLIPLoader", {"clip_name": COMBO(tes), "type": COMBO(CLIP_TYPES)},
             [("CLIP", "CLIP")], optional={"device": COMBO(["default", "cpu"])}),
        node("DualCLIPLoader", {"clip_name1": COMBO(tes), "clip_name2": COMBO(tes),
                                "type": COMBO(DUAL_CLIP_TYPES)}, [("CLIP", "CLIP")],
             optional={"device": COMBO(["default", "cpu"])}),
        node("CLIPVisionLoader", {"clip_name": COMBO(cvs)}, [("CLIP_VISION", "CLIP_VISION")]),
        node("CLIPVisionEncode", {"clip_vision": LINK("CLIP_VISION"), "image": LINK("IMAGE"),
                                  "crop": COMBO(["center", "none"])},
             [("CLIP_VISION_OUTPUT", "CLIP_VISION_OUTPUT")]),
        node("ModelSamplingSD3", {"model": LINK("MODEL"), "shift": FLOAT(3.0, 0.0, 100.0)},
             [("MODEL", "MODEL")], module="comfy_extras.nodes_model_advanced"),
        node("WanImageToVideo", wan_common, latent_video,
             optional={"clip_vision_output": LINK("CLIP_VISION_OUTPUT"),
                       "start_image": LINK("IMAGE")}, module="comfy_extras.nodes_wan"),
        node("WanFirstLastFrameToVideo", wan_common, latent_video,
             optional={"clip_vision_start_image": LINK("CLIP_VISION_OUTPUT"),
                       "clip_vision_end_image": LINK("CLIP_VISION_OUTPUT"),
                       "start_image": LINK("IMAGE"), "end_image": LINK("IMAGE")},
             module="comfy_extras.nodes_wan"),
        node("Wan22ImageToVideoLatent", {"vae": LINK("VAE"),
                                         "width": INT(1280, 32, MAX_RES, 32),
                                         "height": INT(704, 32, MAX_RES, 32),
                                         "length": INT(49, 1, MAX_RES, 4),
                                         "batch_size": INT(1, 1, 4096)},
             [("LATENT", "LATENT")], optional={"start_image": LINK("IMAGE")},
             module="comfy_extras.nodes_wan"),
        node("LTXVImgToVideo", {"positive": LINK("CONDITIONING"),
                                "negative": LINK("CONDITIONING"), "vae": LINK("VAE"),
                                "image": LINK("IMAGE"), "width": INT(768, 64, MAX_RES, 32),
                                "height": INT(512, 64, MAX_RES, 32),
                                "length": INT(97, 9, MAX_RES, 8), "batch_size": INT(1, 1, 4096),
                                "strength": FLOAT(1.0, 0.0, 1.0)}, latent_video,
             module="comfy_extras.nodes_lt"),
        node("LTXVConditioning", {"positive": LINK("CONDITIONING"),
                                  "negative": LINK("CONDITIONING"),
                                  "frame_rate": FLOAT(25.0, 0.0, 1000.0)},
             [("CONDITIONING", "positive"), ("CONDITIONING", "negative")],
             module="comfy_extras.nodes_lt"),
        node("LTXVScheduler", {"steps": INT(20, 1, 10000), "max_shift": FLOAT(2.05, 0.0, 100.0),
                               "base_shift": FLOAT(0.95, 0.0, 100.0), "stretch": BOOL(True),
                               "terminal": FLOAT(0.1, 0.0, 0.99)}, [("SIGMAS", "SIGMAS")],
             optional={"latent": LINK("LATENT")}, module="comfy_extras.nodes_lt"),
        node("KSamplerSelect", {"sampler_name": COMBO(SAMPLERS)}, [("SAMPLER", "SAMPLER")],
             module="comfy_extras.nodes_custom_sampler"),
        node("SamplerCustom", {"model": LINK("MODEL"), "add_noise": BOOL(True),
                               "noise_seed": INT(0, 0, MAX_SEED, control_after_generate=True),
                               "cfg": FLOAT(8.0, 0.0, 100.0, 0.1),
                               "positive": LINK("CONDITIONING"),
                               "negative": LINK("CONDITIONING"), "sampler": LINK("SAMPLER"),
                               "sigmas": LINK("SIGMAS"), "latent_image": LINK("LATENT")},
             [("LATENT", "output"), ("LATENT", "denoised_output")],
             module="comfy_extras.nodes_custom_sampler"),
    ]


def framepack_nodes(models: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """kijai/ComfyUI-FramePackWrapper (video-workflows.md §2)."""
    unets, loras = list(models.get("diffusion_models", ())), list(models.get("loras", ()))
    mod = "custom_nodes.ComfyUI-FramePackWrapper"
    return [
        node("LoadFramePackModel",
             {"model": COMBO(unets), "base_precision": COMBO(["fp32", "bf16", "fp16"],
                                                             default="bf16"),
              "quantization": COMBO(["disabled", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]),
              "load_device": COMBO(["main_device", "offload_device"], default="cuda")},
             [("FramePackMODEL", "model")],
             optional={"attention_mode": COMBO(["sdpa", "flash_attn", "sageattn"]),
                       "compile_args": LINK("FRAMEPACKCOMPILEARGS"), "lora": LINK("FPLORA")},
             module=mod, category="FramePackWrapper"),
        node("FramePackLoraSelect", {"lora": COMBO(loras), "strength": FLOAT(1.0, -10.0, 10.0),
                                     "fuse_lora": BOOL(True)}, [("FPLORA", "lora")],
             optional={"prev_lora": LINK("FPLORA")}, module=mod),
        node("FramePackFindNearestBucket", {"image": LINK("IMAGE"),
                                            "base_resolution": INT(640, 64, 2048, 16)},
             [("INT", "width"), ("INT", "height")], module=mod),
        node("FramePackSampler",
             {"model": LINK("FramePackMODEL"), "positive": LINK("CONDITIONING"),
              "negative": LINK("CONDITIONING"), "start_latent": LINK("LATENT"),
              "steps": INT(30, 1), "use_teacache": BOOL(True),
              "teacache_rel_l1_thresh": FLOAT(0.15, 0.0, 1.0),
              "cfg": FLOAT(1.0, 0.0, 30.0), "guidance_scale": FLOAT(10.0, 0.0, 32.0),
              "shift": FLOAT(0.0, 0.0, 1000.0), "seed": INT(0, 0, MAX_SEED),
              "latent_window_size": INT(9, 1, 33), "total_second_length": FLOAT(5.0, 1.0, 120.0,
                                                                                0.1),
              "gpu_memory_preservation": FLOAT(6.0, 0.0, 128.0, 0.1),
              "sampler": COMBO(["unipc_bh1", "unipc_bh2"])},
             [("LATENT", "samples")],
             optional={"image_embeds": LINK("CLIP_VISION_OUTPUT"), "end_latent": LINK("LATENT"),
                       "end_image_embeds": LINK("CLIP_VISION_OUTPUT"),
                       "embed_interpolation": COMBO(["disabled", "weighted_average", "linear"]),
                       "start_embed_strength": FLOAT(1.0, 0.0, 1.0),
                       "initial_samples": LINK("LATENT"),
                       "denoise_strength": FLOAT(1.0, 0.0, 1.0)}, module=mod),
    ]


def build_object_info(
    models: Mapping[str, Sequence[str]] | None = None,
    inputs: Sequence[str] = (),
    *,
    packs: Sequence[str] = ("core", "framepack"),
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``/object_info`` document for the given model files and node packs.

    Args:
        models: Folder -> file names (``checkpoints``, ``loras``, ``diffusion_models``...).
        inputs: Files in the input folder (LoadImage's options).
        packs: ``core`` and/or ``framepack``.
        only: Keep just these class types (a test's object_info "from the nodes it uses").
    """
    models = models or {}
    defs: list[dict[str, Any]] = []
    if "core" in packs:
        defs += core_nodes(models, inputs)
    if "framepack" in packs:
        defs += framepack_nodes(models)
    info = {d["name"]: d for d in defs}
    if only is not None:
        info = {k: v for k, v in info.items() if k in set(only)}
    return info


ALL_MODELS: dict[str, list[str]] = {
    "checkpoints": ["illustriousXL_v01.safetensors", "sd_xl_base_1.0.safetensors",
                    "ltx-video-2b-v0.9.5.safetensors"],
    "loras": ["hero_illustrious.safetensors", "hero_sd15.safetensors",
              "hero_wan21.safetensors", "hero_hunyuan.safetensors"],
    "diffusion_models": ["FramePackI2V_HY_fp8_e4m3fn.safetensors",
                         "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
                         "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
                         "wan2.1_flf2v_720p_14B_fp16.safetensors",
                         "wan2.1_i2v_480p_14B_fp16.safetensors",
                         "wan2.2_ti2v_5B_fp16.safetensors"],
    "text_encoders": ["clip_l.safetensors", "llava_llama3_fp16.safetensors",
                      "umt5_xxl_fp8_e4m3fn_scaled.safetensors", "t5xxl_fp16.safetensors"],
    "vae": ["hunyuan_video_vae_bf16.safetensors", "wan_2.1_vae.safetensors",
            "wan2.2_vae.safetensors"],
    "clip_vision": ["sigclip_vision_patch14_384.safetensors", "clip_vision_h.safetensors"],
}
