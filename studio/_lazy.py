"""Public names that load on first use (PEP 562), shared by ``studio`` and its subpackages.

A package lists each public name with the private module that defines it; the
module is imported the first time the name is looked up, so importing the
package stays cheap (``studio analyze`` never loads SQLAlchemy, a screenplay can
check its quality thresholds without OpenCV).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any


def present_as(obj: object, package: str) -> object:
    """Show users ``package.Name``, not the private module it lives in (as httpx does).

    Only classes and functions are renamed; type aliases keep their module.
    """
    if (isinstance(obj, type) or inspect.isfunction(obj)) and obj.__module__.startswith(f"{package}._"):
        obj.__module__ = package
    return obj


def lazy_names(
    namespace: dict[str, Any], modules: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's module ``__getattr__`` and ``__dir__`` for ``modules``.

    Args:
        namespace: The package's ``globals()``; a loaded name is stored there, so
            it is looked up only once.
        modules: Each lazy name and the private module (relative to the package,
            e.g. ``"_studio"``) that defines it.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> object:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{modules[name]}")
        value = namespace[name] = present_as(getattr(module, name), package)
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return __getattr__, __dir__
