"""``studio.quality.__all__`` lists exactly the public names."""

from __future__ import annotations

import studio.quality


def test_all_matches_public_names() -> None:
    public = {
        name
        for name in vars(studio.quality)
        if not name.startswith("_") and name not in {"annotations", "inspect"}
    }
    assert set(studio.quality.__all__) == public


def test_public_objects_live_in_the_package() -> None:
    assert studio.quality.VideoAnalysis.__module__ == "studio.quality"
    assert studio.quality.analyze_video.__module__ == "studio.quality"


def test_import_does_not_load_torch_or_matplotlib() -> None:
    import subprocess
    import sys

    code = (
        "import sys, studio.quality; "
        "print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
