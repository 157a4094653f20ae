"""``studio.quality.__all__`` lists exactly the public names, and they load lazily."""

from __future__ import annotations

import subprocess
import sys

import studio.quality


def test_all_names_resolve_and_nothing_else_is_public() -> None:
    for name in studio.quality.__all__:
        assert getattr(studio.quality, name) is not None
    public = {
        name
        for name in vars(studio.quality)
        if not name.startswith("_") and name not in {"annotations", "TYPE_CHECKING"}
    }
    assert public == set(studio.quality.__all__)


def test_public_objects_live_in_the_package() -> None:
    assert studio.quality.VideoAnalysis.__module__ == "studio.quality"
    assert studio.quality.analyze_video.__module__ == "studio.quality"


def _loaded_after(statement: str, *modules: str) -> list[bool]:
    code = f"import sys; {statement}; print(*[m in sys.modules for m in {modules!r}])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [word == "True" for word in out.stdout.split()]


def test_analysis_does_not_load_torch_matplotlib_or_pydantic() -> None:
    assert _loaded_after(
        "from studio.quality import analyze_video, decide", "torch", "matplotlib", "pydantic"
    ) == [False, False, False]


def test_thresholds_load_without_opencv_or_pyav() -> None:
    assert _loaded_after("from studio.quality import QualityThresholds", "cv2", "av") == [False, False]
