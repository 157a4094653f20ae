"""Import is one transaction, idempotent, and marks only changed scenes stale — on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from studio import ScreenplayError
from studio._config import Settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio.project._screenplay import load_screenplay
from studio.storage._models import (
    CharacterModel,
    CharacterSceneMemoryModel,
    EpisodeModel,
    SceneModel,
    SegmentModel,
    StoryStateMemoryModel,
)


@pytest.fixture
def studio(settings: Settings) -> Studio:
    with Studio.open(settings=settings, upgrade=True) as opened:
        yield opened


def snapshot(studio: Studio) -> dict[str, list[tuple[object, ...]]]:
    """Every row with its updated_at, to prove an unchanged import writes nothing."""
    with studio.database.session() as session:
        return {
            "scenes": sorted(
                session.execute(
                    select(SceneModel.scene_number, SceneModel.status, SceneModel.updated_at)
                ).all()
            ),
            "characters": sorted(
                session.execute(select(CharacterModel.character_name, CharacterModel.updated_at)).all()
            ),
            "episodes": sorted(
                session.execute(select(EpisodeModel.episode_number, EpisodeModel.updated_at)).all()
            ),
            "memory": sorted(
                session.execute(
                    select(CharacterSceneMemoryModel.id, CharacterSceneMemoryModel.updated_at)
                ).all()
            ),
        }


def test_demo_imports_every_episode_scene_and_character(studio: Studio) -> None:
    summary = studio.import_demo()
    assert summary.project_created
    assert summary.created == {"characters": 2, "episodes": 1, "scenes": 3}
    [project] = studio.status()
    assert project["characters"] == ["Luna", "Kai"]
    assert [s["number"] for s in project["episodes"][0]["scenes"]] == [1, 2, 3]
    with studio.database.session() as session:
        assert session.scalar(select(func.count()).select_from(CharacterSceneMemoryModel)) == 6
        story = session.scalars(select(StoryStateMemoryModel).order_by(StoryStateMemoryModel.id)).first()
        assert story is not None and story.transition_to_next == "fade"
        assert story.key_dialogue[0] == {
            "speaker": "Kai",
            "line": "It has to be there before the tide turns.",
        }


def test_reimporting_an_unchanged_file_changes_nothing(studio: Studio) -> None:
    studio.import_demo()
    before = snapshot(studio)
    summary = studio.import_demo()
    assert not summary.changed
    assert summary.unchanged == {"characters": 2, "episodes": 1, "scenes": 3}
    assert snapshot(studio) == before


def test_an_edited_scene_is_updated_in_place_and_marked_stale(studio: Studio, tmp_path: Path) -> None:
    studio.import_demo()
    with studio.database.session() as session:
        scenes = {s.scene_number: s for s in session.scalars(select(SceneModel))}
        ids = {n: s.id for n, s in scenes.items()}
        for scene in scenes.values():  # pretend every scene was rendered
            scene.status = "completed"
            session.add(
                SegmentModel(scene_id=scene.id, segment_number=0, motion_prompt="p", status="completed")
            )
    edited = tmp_path / "show.yaml"
    edited.write_text(DEMO_SCREENPLAY.read_text().replace("location: harbour rooftops\n        time_of_day: night\n        weather: rain", "location: bridge\n        time_of_day: night\n        weather: rain"))
    summary = studio.import_file(edited)
    assert summary.updated["scenes"] == 1
    assert summary.unchanged["scenes"] == 2
    assert summary.stale_scenes == [2]
    with studio.database.session() as session:
        rows = {s.scene_number: s for s in session.scalars(select(SceneModel))}
        assert {n: s.id for n, s in rows.items()} == ids  # in place, not re-created
        assert rows[2].location == "bridge"
        assert [rows[n].status for n in (1, 2, 3)] == ["completed", "stale", "completed"]
        # Generated segments of unchanged scenes are kept.
        assert session.scalar(select(func.count()).select_from(SegmentModel)) == 3


def test_changing_a_character_marks_every_scene_that_shows_them_stale(studio: Studio, tmp_path: Path) -> None:
    studio.import_demo()
    with studio.database.session() as session:
        for scene in session.scalars(select(SceneModel)):
            scene.status = "completed"
    edited = tmp_path / "show.yaml"
    edited.write_text(DEMO_SCREENPLAY.read_text().replace('"#ee6c4d"', '"#ff0000"'))
    summary = studio.import_file(edited)
    assert summary.updated["characters"] == 1
    assert summary.stale_scenes == [1, 2, 3]


def test_removed_scenes_and_characters_are_deleted(studio: Studio, tmp_path: Path) -> None:
    studio.import_demo()
    play = load_screenplay(DEMO_SCREENPLAY)
    episode = play.episodes[0].model_copy(update={"scenes": play.episodes[0].scenes[:2]})
    smaller = play.model_copy(update={"episodes": [episode]})
    from studio.project._importer import dump_screenplay

    path = tmp_path / "show.yaml"
    path.write_text(dump_screenplay(smaller))
    summary = studio.import_file(path)
    assert summary.deleted["scenes"] == 1
    assert [s["number"] for s in studio.status()[0]["episodes"][0]["scenes"]] == [1, 2]


def test_a_failing_import_leaves_the_database_untouched(studio: Studio, tmp_path: Path) -> None:
    studio.import_demo()
    before = snapshot(studio)
    broken = tmp_path / "show.yaml"
    broken.write_text(
        DEMO_SCREENPLAY.read_text().replace(
            "{name: Kai, expression: laughing", "{name: Kaj, expression: laughing"
        )
    )
    with pytest.raises(ScreenplayError, match="unknown character 'Kaj' \\(did you mean 'Kai'\\?\\)"):
        studio.import_file(broken)
    assert snapshot(studio) == before


def test_export_reimports_to_the_same_database(studio: Studio, tmp_path: Path) -> None:
    studio.import_demo()
    before = snapshot(studio)
    exported = tmp_path / "elsewhere" / "export.yaml"
    exported.parent.mkdir()
    exported.write_text(studio.export_text())
    summary = studio.import_file(exported)
    assert not summary.changed, summary.describe()
    assert snapshot(studio) == before
    assert studio.export() == load_screenplay(exported)


def test_reference_images_are_copied_into_the_home(studio: Studio, tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "luna.png").write_bytes(b"\x89PNG fake but present")
    path = tmp_path / "show.yaml"
    path.write_text(
        DEMO_SCREENPLAY.read_text().replace(
            'palette: ["#3fb7b0"', 'reference_images: [refs/luna.png]\n    palette: ["#3fb7b0"'
        )
    )
    studio.import_file(path)
    with studio.database.session() as session:
        luna = session.scalars(select(CharacterModel).where(CharacterModel.character_name == "Luna")).one()
        [stored] = luna.reference_images
    assert not Path(stored).is_absolute()
    assert (studio.home / stored).read_bytes() == b"\x89PNG fake but present"
    # The export points at the copy, and re-imports without change.
    exported = tmp_path / "out" / "export.yaml"
    exported.parent.mkdir()
    exported.write_text(studio.export_text())
    assert not studio.import_file(exported).changed
