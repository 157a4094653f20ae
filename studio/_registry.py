"""Named factories that build a part from the settings: generation backends, speech engines.

papermill's engine registry, in small: register a factory under a name, list the names,
build one by name; an unknown name is a :class:`ConfigurationError` that lists the known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from studio._config import Settings
from studio._exceptions import ConfigurationError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict[str, Callable[[Settings], T]]):
    """Factories by name (a dict of them, so tests can ``monkeypatch.setitem`` one).

    Args:
        unknown: The error for an unknown name, formatted with ``name`` (its repr) and
            ``known`` (the registered names, comma-separated, or ``none``).
    """

    def __init__(self, unknown: str) -> None:
        super().__init__()
        self._unknown = unknown

    def register(self, name: str, factory: Callable[[Settings], T]) -> None:
        self[name] = factory

    def names(self) -> list[str]:
        return sorted(self)

    def create(self, name: str, settings: Settings) -> T:
        """Build the part registered as ``name``.

        Raises:
            ConfigurationError: no factory has that name (the message lists the known ones).
        """
        try:
            factory = self[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ConfigurationError(self._unknown.format(name=repr(name), known=known)) from None
        return factory(settings)
