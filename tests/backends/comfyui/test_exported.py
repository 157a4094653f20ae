"""``studio.backends.comfyui.__all__`` lists exactly its public names."""

from __future__ import annotations

import studio.backends.comfyui


def test_all_matches_the_public_names() -> None:
    public = {name for name in dir(studio.backends.comfyui) if not name.startswith("_")}
    assert public == set(studio.backends.comfyui.__all__)
    assert studio.backends.comfyui.AsyncComfyClient.__module__ == "studio.backends.comfyui"


def test_importing_backends_does_not_import_httpx() -> None:
    import subprocess
    import sys

    code = ("import sys, studio.backends; "
            "assert 'httpx' not in sys.modules and 'websockets' not in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith(('httpx', 'websockets')))")
    subprocess.run([sys.executable, "-c", code], check=True)
