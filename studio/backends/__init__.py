"""Generation backends: the contract and the registry (``animatic``, ``comfyui``)."""

from studio._config import Settings
from studio._lazy import present_as as _present_as
from studio.backends._animatic import AnimaticBackend
from studio.backends._animatic_render import render_still
from studio.backends._base import (
    Backend,
    CharacterInShot,
    DialogueLine,
    ProgressCallback,
    ProgressEvent,
    SceneContext,
    SegmentRequest,
    SegmentResult,
    available_backends,
    create_backend,
    register_backend,
)

__all__ = [
    "AnimaticBackend",
    "Backend",
    "CharacterInShot",
    "DialogueLine",
    "ProgressCallback",
    "ProgressEvent",
    "SceneContext",
    "SegmentRequest",
    "SegmentResult",
    "available_backends",
    "create_backend",
    "register_backend",
    "render_still",
]


def _comfyui(settings: Settings) -> Backend:
    # Imported on first use, so `import studio.backends` pulls no httpx/websockets.
    from studio.backends.comfyui._backend import create_comfy_backend

    return create_comfy_backend(settings)


register_backend("comfyui", _comfyui)

for _name in __all__:
    _present_as(globals()[_name], "studio.backends")
