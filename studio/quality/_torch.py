"""The torch twin of the OpenCV pair metrics: SSIM and mean absolute difference.

Same definitions as ``_metrics.py`` (read that module first): an 11x11 sigma-1.5
Gaussian window applied as two 1-D convolutions, population covariance, K1 = 0.01,
K2 = 0.03, L = 255. A convolution without padding yields exactly the valid region
that scikit-image averages (5 pixels cropped per border), so no crop is needed.
Computation is in float64 on values centred on 128: the variances of flat colours
cancel large numbers, and float64 leaves no doubt about the 1e-4 agreement (the
OpenCV engine gets there in float32 by centring each frame on its own mean, see
``_metrics.py``). On CUDA float64 also keeps TF32 convolutions out of the way; its
speed there is not measured yet (no GPU was available).

torch is imported lazily: ``import studio.quality`` never needs it. Optical flow,
colour statistics and sharpness stay on OpenCV in both engines.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import numpy.typing as npt

from studio._exceptions import AnalysisError
from studio.quality._metrics import SSIM_C1, SSIM_C2, SSIM_SIGMA, SSIM_WINDOW

__all__ = ["TorchEngine", "torch_device"]

Luma = npt.NDArray[np.uint8]


def torch_device(*, required: bool) -> str | None:
    """``"cuda"`` when torch sees a GPU, ``"cpu"`` otherwise, ``None`` without torch.

    Raises:
        AnalysisError: ``required`` and torch is not installed.
    """
    if importlib.util.find_spec("torch") is None:
        if required:
            raise AnalysisError(
                "the torch engine needs PyTorch: pip install 'anime-studio[gpu]', "
                "or use engine='opencv'"
            )
        return None
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TorchEngine:
    """Streaming SSIM and frame differences with torch, reusing each frame's blurs.

    Args:
        shape: ``(height, width)`` of every frame.
        device: A torch device string, e.g. ``"cuda"`` or ``"cpu"``.
    """

    name = "torch"

    def __init__(self, shape: tuple[int, int], device: str) -> None:
        import torch

        height, width = shape
        if height < SSIM_WINDOW or width < SSIM_WINDOW:
            raise ValueError(f"SSIM needs frames larger than 10x10 pixels, got {width}x{height}")
        self._torch: Any = torch
        self._device = torch.device(device)
        radius = SSIM_WINDOW // 2
        x = torch.arange(-radius, radius + 1, dtype=torch.float64)
        kernel = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
        kernel = (kernel / kernel.sum()).to(self._device)
        self._row = kernel.view(1, 1, 1, SSIM_WINDOW)
        self._column = kernel.view(1, 1, SSIM_WINDOW, 1)
        self._previous: tuple[Any, Any, Any] | None = None  # x, mu, variance

    def _blur(self, image: Any) -> Any:
        conv2d = self._torch.nn.functional.conv2d
        return conv2d(conv2d(image, self._row), self._column)

    def _load(self, luma: Luma) -> Any:
        tensor = self._torch.from_numpy(np.ascontiguousarray(luma)).to(self._device)
        return (tensor.to(self._torch.float64) - 128.0).view(1, 1, *luma.shape)

    def _moments(self, x: Any) -> tuple[Any, Any, Any]:
        mu = self._blur(x)
        return x, mu, self._blur(x * x) - mu * mu

    def _ssim(self, a: tuple[Any, Any, Any], b: tuple[Any, Any, Any]) -> float:
        (x, mux, vx), (y, muy, vy) = a, b
        cov = self._blur(x * y) - mux * muy
        mx, my = mux + 128.0, muy + 128.0
        numerator = (2.0 * mx * my + SSIM_C1) * (2.0 * cov + SSIM_C2)
        denominator = (mx * mx + my * my + SSIM_C1) * (vx + vy + SSIM_C2)
        return float((numerator / denominator).mean().item())

    def push(self, luma: Luma) -> float | None:
        """Add the next frame; return SSIM(previous, this) or ``None`` for the first."""
        with self._torch.inference_mode():
            current = self._moments(self._load(luma))
            previous, self._previous = self._previous, current
            return None if previous is None else self._ssim(previous, current)

    def ssim(self, a: Luma, b: Luma) -> float:
        """SSIM of two luma images (see ``_metrics.ssim``)."""
        with self._torch.inference_mode():
            return self._ssim(self._moments(self._load(a)), self._moments(self._load(b)))

    def mad(self, a: Luma, b: Luma) -> float:
        """Mean absolute difference in luma levels."""
        with self._torch.inference_mode():
            return float((self._load(a) - self._load(b)).abs().mean().item())
