"""``__all__`` lists exactly the public names, and every package folder is installed."""

from __future__ import annotations

import importlib
import inspect
import tomllib
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


def test_public_objects_present_themselves_as_studio() -> None:
    for name in studio.__all__:
        obj = getattr(studio, name)
        if isinstance(obj, type):
            assert obj.__module__ == "studio", name


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for init in ROOT.glob("studio/**/__init__.py"):
        found.add(".".join(init.parent.relative_to(ROOT).parts))
    for init in ROOT.glob("widgets/**/__init__.py"):
        found.add(".".join(init.parent.relative_to(ROOT).parts))
    mapped = {
        "studio._migrations",
        "studio._migrations.versions",
        "studio._workflows",
        "studio._parameterized",
    }
    assert found | mapped == listed
    for name in listed:
        importlib.import_module(name)
