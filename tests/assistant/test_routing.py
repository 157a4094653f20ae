"""Routing tasks to models from configuration."""

from __future__ import annotations

import pytest

from studio import load_settings
from studio.assistant import TASKS, ModelNotConfiguredError, Router


def test_one_model_for_everything_but_embeddings() -> None:
    settings = load_settings(home="/tmp/studio-test-home", environ={"STUDIO_LLM_MODEL": "gemma3"})
    router = Router.from_settings(settings)
    for task in TASKS:
        if task != "embed":
            assert router.model_for(task) == "gemma3"
    with pytest.raises(ModelNotConfiguredError, match="STUDIO_LLM_MODELS=embed=NAME"):
        router.model_for("embed")


def test_task_then_tier_then_default() -> None:
    router = Router(
        {"default": "mid", "fast": "small", "story": "large", "breakdown": "huge", "embed": "e"}
    )
    assert router.model_for("breakdown") == "huge"
    assert router.model_for("expand") == "large"
    assert router.model_for("character") == "large"
    assert router.model_for("prompt") == "small"
    assert router.model_for("chat") == "small"
    assert router.model_for("embed") == "e"
    assert Router({"default": "mid"}).model_for("summary") == "mid"


def test_from_environment_pairs() -> None:
    settings = load_settings(
        home="/tmp/studio-test-home",
        environ={"STUDIO_LLM_MODELS": "fast=qwen2.5:3b,story=qwen2.5:14b,embed=nomic-embed-text"},
    )
    table = Router.from_settings(settings).table()
    assert table["prompt"] == "qwen2.5:3b"
    assert table["breakdown"] == "qwen2.5:14b"
    assert table["embed"] == "nomic-embed-text"


def test_nothing_configured_is_a_clear_error() -> None:
    router = Router({})
    with pytest.raises(ModelNotConfiguredError) as info:
        router.model_for("breakdown")
    assert "no model configured for the 'breakdown' task: set STUDIO_LLM_MODEL" in str(info.value)
    assert info.value.exit_code == 2
    assert set(router.table().values()) == {None}


def test_unknown_task_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown assistant task 'poetry'; known tasks: "):
        Router({"default": "m"}).model_for("poetry")


def test_empty_names_are_ignored() -> None:
    with pytest.raises(ModelNotConfiguredError):
        Router({"default": ""}).model_for("chat")
