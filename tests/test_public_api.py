"""``__all__`` lists exactly the public names, and every package folder is installed."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import studio

ROOT = Path(__file__).resolve().parent.parent


def test_all_matches_the_public_names() -> None:
    # Subpackages (studio.backends, studio.quality...) become attributes once imported.
    public = {
        name
        for name in dir(studio)
        if not name.startswith("_") and not inspect.ismodule(getattr(studio, name))
    }
    assert public == set(studio.__all__) - {"__version__"}


PACKAGES = ["studio", "studio.project", "studio.render", "studio.jobs", "studio.storage", "studio.backends"]


def test_public_objects_present_themselves_by_a_public_module() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) or inspect.isfunction(obj):
                assert not any(part.startswith("_") for part in obj.__module__.split(".")), (package, name)


def test_each_package_lists_what_it_exports() -> None:
    for package in PACKAGES[1:]:
        module = importlib.import_module(package)
        assert len(set(module.__all__)) == len(module.__all__), package
        for name in module.__all__:
            getattr(module, name)  # every listed name resolves


def test_the_notebooks_and_panels_find_what_they_need_at_the_top() -> None:
    for name in ("render_episode", "enqueue_renders", "Worker", "Studio", "SegmentState", "run_render_report"):
        assert name in studio.__all__
