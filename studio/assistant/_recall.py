"""Semantic recall: find characters, scenes and feedback notes by meaning.

Every call embeds the project's documents and the query with one embedder (so all
vectors share a space) and ranks the documents by cosine similarity. Vectors live only
for the call: a project has tens to hundreds of documents, which the server embeds in
a request or two, and recomputing them means an edit is never searched in its old
form. Nothing is ever made up: without an embedder the error says how to get one.

Documents describe what a reader would ask about:

- a character: name, description, prompt tokens, outfit, hair, accessories;
- a scene: its spec text (title, description, place, time, mood, lighting, camera,
  dialogue) and each character as scene memory resolved them (``Luna wearing teal rain
  jacket``), so "which scenes had Luna in the teal jacket" finds scenes where the outfit
  was carried over from the character sheet rather than written in the scene;
- a feedback note: a person's note on a rendered segment, with its rating.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from studio.assistant._embeddings import Embedder, rank_by_similarity
from studio.render._memory import load_scene_brief
from studio.storage._database import Database
from studio.storage._models import QualityFeedbackModel, SceneModel, SegmentModel
from studio.storage._queries import find_or_raise_project

__all__ = ["RecallItem", "RecallMatch", "recall", "recall_items"]

RecallKind = Literal["character", "scene", "feedback"]
KINDS: tuple[RecallKind, ...] = ("character", "scene", "feedback")
#: Texts per embedding request: small enough for any server's batch limit.
BATCH = 64


@dataclass(frozen=True)
class RecallItem:
    """One searchable document.

    Attributes:
        kind: ``"character"``, ``"scene"`` or ``"feedback"``.
        key: The character's name, the scene's number, or the feedback row's id.
        title: A one-line label for display.
        text: What is embedded.
    """

    kind: RecallKind
    key: str | int
    title: str
    text: str


@dataclass(frozen=True)
class RecallMatch:
    """A ranked result: the document and its cosine similarity to the query."""

    item: RecallItem
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.item.kind,
            "key": self.item.key,
            "title": self.item.title,
            "score": round(self.score, 4),
            "text": self.item.text,
        }


def _join(*parts: str) -> str:
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip()) + "."


def recall_items(database: Database, *, project: str | None = None) -> list[RecallItem]:
    """Every searchable document of the project: characters, then scenes, then notes.

    Raises:
        NotFoundError: no such project (or several and none named).
    """
    items: list[RecallItem] = []
    with database.session() as session:
        project_row = find_or_raise_project(session, project)
        for character in project_row.characters:
            spec = (character.meta or {}).get("spec", {})
            accessories = ", ".join(spec.get("accessories") or [])
            items.append(
                RecallItem(
                    "character",
                    character.character_name,
                    f"character {character.character_name}",
                    _join(
                        f"Character {character.character_name}",
                        character.description or "",
                        f"Looks: {character.character_prompt}" if character.character_prompt else "",
                        f"Outfit: {spec['outfit']}" if spec.get("outfit") else "",
                        f"Hair: {spec['hair']}" if spec.get("hair") else "",
                        f"Accessories: {accessories}" if accessories else "",
                    ),
                )
            )
        scenes = session.scalars(
            select(SceneModel).where(SceneModel.movie_id == project_row.id).order_by(SceneModel.scene_number)
        ).all()
        for scene in scenes:
            brief = load_scene_brief(session, scene, learn=False)
            spec, inputs = brief.spec, brief.inputs
            cast = []
            for c in inputs.characters:
                look = [c.name]
                if c.outfit:
                    look.append(f"wearing {c.outfit}")
                if c.hair:
                    look.append(f"with {c.hair} hair")
                if c.accessories:
                    look.append("with " + " and ".join(c.accessories))
                if c.expression:
                    look.append(f"looking {c.expression}")
                if c.action:
                    look.append(c.action)
                cast.append(" ".join(look))
            dialogue = " ".join(f'{d.speaker}: "{d.line}"' for d in spec.dialogue)
            items.append(
                RecallItem(
                    "scene",
                    scene.scene_number,
                    f"scene {scene.scene_number} (episode {brief.episode}): {spec.title}",
                    _join(
                        f"Scene {scene.scene_number}: {spec.title}",
                        spec.description,
                        ", ".join(x for x in (spec.location, spec.time_of_day, spec.weather) if x),
                        f"Mood: {spec.mood}" if spec.mood else "",
                        f"Characters: {'; '.join(cast)}" if cast else "",
                        f"Lighting: {inputs.lighting}" if inputs.lighting else "",
                        f"Camera: {spec.camera.angle} {spec.camera.movement}".strip(),
                        f"Dialogue: {dialogue}" if dialogue else "",
                    ),
                )
            )
        notes = session.execute(
            select(QualityFeedbackModel, SceneModel.scene_number, SegmentModel.segment_number)
            .join(SegmentModel, SegmentModel.id == QualityFeedbackModel.segment_id)
            .join(SceneModel, SceneModel.id == SegmentModel.scene_id)
            .where(SceneModel.movie_id == project_row.id, QualityFeedbackModel.user_notes.is_not(None))
            .order_by(QualityFeedbackModel.id)
        ).all()
        for row, scene_number, segment_number in notes:
            if not (row.user_notes or "").strip():
                continue
            rating = f", rated {row.user_rating}/5" if row.user_rating else ""
            where = f"scene {scene_number}, segment {segment_number}{rating}"
            text = _join(f"Feedback on {where}", row.user_notes or "")
            items.append(RecallItem("feedback", row.id, f"note on {where}", text))
    return items


def _embed(embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        vectors.extend(embedder.embed(texts[start : start + BATCH]))
    if len(vectors) != len(texts):  # a broken embedder must not shift every result
        raise ValueError(f"the embedder returned {len(vectors)} vectors for {len(texts)} texts")
    return vectors


def recall(
    database: Database,
    embedder: Embedder,
    query: str,
    *,
    project: str | None = None,
    top_k: int = 5,
    kinds: Iterable[RecallKind] = KINDS,
) -> list[RecallMatch]:
    """The project's documents most similar in meaning to ``query``, best first.

    Args:
        database: The studio's database.
        embedder: Embeds the query and the documents (the same one for both).
        query: A question or phrase, e.g. ``"which scenes had Luna in the teal jacket"``.
        project: The project's title (needed when the database holds several).
        top_k: The most matches to return.
        kinds: Which documents to search.

    Returns:
        Up to ``top_k`` matches; empty when the project has no such documents.

    Raises:
        ValueError: an empty query, an unknown kind or a non-positive ``top_k``.
        NotFoundError: no such project.
        AssistantError: the embedder failed (never replaced by made-up vectors).
    """
    if not query.strip():
        raise ValueError("recall needs a query: what to look for")
    wanted = set(kinds)
    if unknown := wanted - set(KINDS):
        raise ValueError(f"unknown recall kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    if top_k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")
    items = [item for item in recall_items(database, project=project) if item.kind in wanted]
    if not items:
        return []
    vectors = _embed(embedder, [query.strip(), *(item.text for item in items)])
    ranked = rank_by_similarity(vectors[0], zip(range(len(items)), vectors[1:], strict=True), top_k=top_k)
    return [RecallMatch(items[index], score) for index, score in ranked]
