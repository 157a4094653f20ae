"""Panel edits go through screenplay validation and import, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from studio import NotFoundError, ScreenplayError
from studio._config import Settings
from studio._studio import Studio
from studio.project._editing import (
    EditError,
    create_character,
    delete_character,
    rate_segment,
    store_reference_image,
    update_character,
    update_scene,
)
from studio.project._views import list_characters, scene_detail
from studio.storage._models import CharacterModel, QualityFeedbackModel, SceneModel, SegmentModel
from tests.project._fake_render import fake_render, png


@pytest.fixture
def studio(settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=settings, upgrade=True) as opened:
        opened.import_demo()
        yield opened


def scene_status(studio: Studio, number: int) -> str:
    with studio.database.session() as session:
        return session.scalars(select(SceneModel.status).where(SceneModel.scene_number == number)).one()


def test_create_character_validates_and_stores(studio: Studio) -> None:
    summary = create_character(
        studio,
        {
            "name": "Mika",
            "palette": ["#ABC"],
            "lora": {"name": "mika.safetensors", "strength": 0.6, "family": "wan"},
        },
    )
    assert summary.created["characters"] == 1
    mika = list_characters(studio)[-1]
    assert (mika.name, mika.palette, mika.lora and mika.lora.family) == ("Mika", ["#aabbcc"], "wan")


def test_invalid_character_reports_the_field_and_writes_nothing(studio: Studio) -> None:
    with pytest.raises(ScreenplayError) as caught:
        create_character(studio, {"name": "Mika", "palette": ["red"], "lora": {"name": "x", "strength": 5}})
    issues = {issue.location: issue.message for issue in caught.value.issues}
    assert "bad colour 'red'" in issues["palette[0]"]
    assert issues["lora.strength"] == "strength must be at most 2, got 5"
    assert all(issue.path == "character 'Mika'" for issue in caught.value.issues)
    assert [c.name for c in list_characters(studio)] == ["Luna", "Kai"]


def test_duplicate_names_are_refused(studio: Studio) -> None:
    with pytest.raises(EditError, match="already exists"):
        create_character(studio, {"name": "Luna"})
    with pytest.raises(EditError, match="already exists"):
        update_character(studio, "Kai", {"name": "Luna"})


def test_renaming_a_character_follows_into_scenes_and_marks_them_stale(studio: Studio) -> None:
    fake_render(studio)
    kai = list_characters(studio)[1].model_dump()
    summary = update_character(studio, "Kai", {**kai, "name": "Kaito"})
    assert sorted(summary.stale_scenes) == [1, 2, 3]
    assert "Kaito" in scene_detail(studio, 1).row.characters
    assert scene_detail(studio, 1).spec.dialogue[0].speaker == "Kaito"


def test_delete_refuses_a_character_in_use_and_names_the_scenes(studio: Studio) -> None:
    with pytest.raises(EditError, match="appears in scenes 1, 2, 3"):
        delete_character(studio, "Kai")
    create_character(studio, {"name": "Extra"})
    assert delete_character(studio, "Extra").deleted["characters"] == 1
    with pytest.raises(NotFoundError, match="no character 'Extra'"):
        delete_character(studio, "Extra")


def test_update_scene_merges_validates_and_marks_rendered_scenes_stale(studio: Studio) -> None:
    fake_render(studio)
    summary = update_scene(studio, 2, {"duration": 8, "camera": {"movement": "pan"}})
    assert summary.stale_scenes == [2]
    spec = scene_detail(studio, 2).spec
    assert (spec.duration, spec.camera.movement, spec.camera.angle) == (8, "pan", "wide")
    assert scene_status(studio, 2) == "stale" and scene_status(studio, 1) == "completed"
    assert not update_scene(studio, 2, {"duration": 8}).changed


def test_invalid_scene_edit_is_refused_with_a_readable_issue(studio: Studio) -> None:
    with pytest.raises(ScreenplayError) as caught:
        update_scene(studio, 3, {"duration": 0, "pacing": "warp"})
    messages = sorted(str(issue) for issue in caught.value.issues)
    assert messages == [
        "scene 3: duration: duration must be greater than 0, got 0",
        "scene 3: pacing: unknown pacing 'warp'; use one of: slow, medium, fast, frantic",
    ]
    with pytest.raises(NotFoundError):
        update_scene(studio, 99, {"duration": 3})
    with pytest.raises(EditError):
        update_scene(studio, 3, {"number": 4})


def test_reference_images_are_stored_in_the_home_and_kept_relative(studio: Studio) -> None:
    path = store_reference_image(studio, "../../evil name.png", png())
    assert path.parent == studio.home / "references" and path.name.endswith("-evil_name.png")
    luna = list_characters(studio)[0].model_dump()
    update_character(studio, "Luna", {**luna, "reference_images": [str(path)]})
    assert list_characters(studio)[0].reference_images == [str(path)]
    with studio.database.session() as session:
        stored = session.scalars(
            select(CharacterModel.reference_images).where(CharacterModel.character_name == "Luna")
        ).one()
    assert stored == [f"references/{path.name}"]
    with pytest.raises(EditError, match="not a PNG"):
        store_reference_image(studio, "notes.txt", b"hello")


def test_rate_segment_stores_user_feedback_and_the_latest_review(studio: Studio) -> None:
    fake_render(studio)
    with studio.database.session() as session:
        segment_id = session.scalars(select(SegmentModel.id).order_by(SegmentModel.id)).first()
    assert segment_id is not None
    feedback_id = rate_segment(studio, segment_id, rating=4, verdict="approved", notes=" nice motion ")
    with studio.database.session() as session:
        row = session.get(QualityFeedbackModel, feedback_id)
        assert row is not None
        # The person's 4/5 is the score (0.75), not the measured 0.8 the fake render stored.
        assert (row.feedback_type, row.user_rating, row.user_notes, row.overall_score) == (
            "user",
            4,
            "nice motion",
            0.75,
        )
        assert row.character_id is not None  # one row per character present
        segment = session.get(SegmentModel, segment_id)
        assert segment is not None and segment.meta["review"]["verdict"] == "approved"
        assert segment.status == "approved"
    rate_segment(studio, segment_id, rating=2, verdict="rejected", notes="too dark")
    with studio.database.session() as session:
        segment = session.get(SegmentModel, segment_id)
        assert segment is not None and segment.status == "queued"
        assert segment.meta["retake"]["notes"] == "too dark"
    with pytest.raises(EditError):
        rate_segment(studio, segment_id, rating=6, verdict="approved")
    with pytest.raises(NotFoundError):
        rate_segment(studio, 10**6, rating=3, verdict="rejected")
