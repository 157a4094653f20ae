"""Which model answers which task.

Configuration (``Settings.llm_models``, from ``STUDIO_LLM_MODEL`` and
``STUDIO_LLM_MODELS``) maps names to models. A task's model is looked up as:

1. the task's own name (``breakdown=qwen2.5:14b``),
2. its tier: ``fast`` for short edits (``prompt``, ``chat``, ``summary``), ``story`` for
   long structured work (``breakdown``, ``expand``, ``character``),
3. ``default``.

Embeddings are different: a chat model is not an embedding model, so ``embed`` never
falls back to ``default``; it must be named (``STUDIO_LLM_MODELS=embed=nomic-embed-text``).
"""

from __future__ import annotations

from collections.abc import Mapping

from studio._config import Settings
from studio.assistant._exceptions import ModelNotConfiguredError

__all__ = ["TASKS", "Router"]

#: Every task the assistant routes, with its tier.
TASKS: Mapping[str, str] = {
    "prompt": "fast",
    "chat": "fast",
    "summary": "fast",
    "breakdown": "story",
    "expand": "story",
    "character": "story",
    "embed": "embed",
}


class Router:
    """Maps tasks to model names.

    Args:
        models: Task, tier or ``"default"`` to a model name; empty names are ignored.
    """

    def __init__(self, models: Mapping[str, str]) -> None:
        self._models = {key: name for key, name in models.items() if name}

    @classmethod
    def from_settings(cls, settings: Settings) -> Router:
        return cls(settings.llm_models)

    def __repr__(self) -> str:
        return f"Router({self._models!r})"

    def model_for(self, task: str) -> str:
        """The model for ``task``.

        Raises:
            ValueError: ``task`` is not one of :data:`TASKS` (a programming error).
            ModelNotConfiguredError: nothing is configured for it, not even a default.
        """
        try:
            tier = TASKS[task]
        except KeyError:
            known = ", ".join(sorted(TASKS))
            raise ValueError(f"unknown assistant task {task!r}; known tasks: {known}") from None
        candidates = [task, tier] if tier == "embed" else [task, tier, "default"]
        for key in candidates:
            if key in self._models:
                return self._models[key]
        raise ModelNotConfiguredError(task)

    def table(self) -> dict[str, str | None]:
        """Every task and its model (``None`` where none is configured), for display."""
        table: dict[str, str | None] = {}
        for task in TASKS:
            try:
                table[task] = self.model_for(task)
            except ModelNotConfiguredError:
                table[task] = None
        return table
