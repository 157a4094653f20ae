"""Every package folder is installed: pyproject.toml lists packages by hand, because
db/, workflows/ and parameterized/ are mapped into the package."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    data_only = {"studio._data"}  # the demo screenplay: a folder setuptools wants listed too
    assert found | mapped | data_only == listed
    for name in listed:
        importlib.import_module(name)
