"""Outline edits (shows, episodes, scenes, a scene's cast and lines) on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from studio import NotFoundError, ScreenplayError
from studio._config import Settings
from studio._studio import Studio
from studio.project import (
    EditError,
    add_episode,
    add_scene,
    add_scene_character,
    create_project,
    delete_episode,
    delete_scene,
    list_episodes,
    list_projects,
    list_scenes,
    move_episode,
    move_scene,
    remove_scene_character,
    scene_detail,
    update_episode,
    update_scene,
    update_scene_character,
)
from tests.project._fake_render import fake_render


@pytest.fixture
def studio(settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=settings, upgrade=True) as opened:
        opened.import_demo()
        yield opened


def numbers(studio: Studio, episode: int, project: str | None = None) -> list[tuple[int, str]]:
    return [(s.number, s.title) for s in list_scenes(studio, episode, project=project)]


def test_a_new_show_gets_an_episode_a_scene_a_character_and_a_line(studio: Studio) -> None:
    summary = create_project(studio, "Paper Moon")
    assert summary.project_created
    assert list_projects(studio) == ["Neon Tide", "Paper Moon"]
    assert add_episode(studio, title="Pilot", project="Paper Moon") == 1
    assert add_scene(studio, 1, title="Opening", duration=5, project="Paper Moon") == 1
    from studio.project import create_character

    create_character(studio, {"name": "Aoi"}, project="Paper Moon")
    add_scene_character(studio, 1, "Aoi", {"expression": "curious"}, project="Paper Moon")
    update_scene(studio, 1, {"dialogue": [{"speaker": "Aoi", "line": "Hello?"}]}, project="Paper Moon")
    spec = scene_detail(studio, 1, project="Paper Moon").spec
    assert [(c.name, c.expression) for c in spec.characters] == [("Aoi", "curious")]
    assert [(d.speaker, d.line) for d in spec.dialogue] == [("Aoi", "Hello?")]
    assert [(e.number, e.title, e.scenes) for e in list_episodes(studio, project="Paper Moon")] == [
        (1, "Pilot", 1)
    ]


def test_a_duplicate_or_empty_show_title_is_refused(studio: Studio) -> None:
    with pytest.raises(EditError, match="already exists"):
        create_project(studio, "Neon Tide")
    with pytest.raises(ScreenplayError) as caught:
        create_project(studio, "  ")
    assert [i.location for i in caught.value.issues] == ["title"]


def test_adding_a_scene_takes_the_next_number_and_moves_later_scenes_up(studio: Studio) -> None:
    second = add_episode(studio, title="Two")
    fifth = add_scene(studio, second, title="later")
    assert fifth == 4
    new = add_scene(studio, 1, title="inserted")
    assert new == 4
    assert numbers(studio, 1)[-1] == (4, "inserted")
    assert numbers(studio, second) == [(5, "later")]


def test_moving_a_scene_swaps_numbers_and_marks_both_stale(studio: Studio) -> None:
    fake_render(studio)
    before = numbers(studio, 1)
    summary = move_scene(studio, 1, 1)
    assert numbers(studio, 1) == [(1, before[1][1]), (2, before[0][1]), before[2]]
    assert sorted(summary.stale_scenes) == [1, 2]
    with pytest.raises(EditError, match="already the first"):
        move_scene(studio, 1, -1)


def test_moving_an_episode_keeps_scene_numbers_in_story_order(studio: Studio) -> None:
    two = add_episode(studio, title="Two")
    add_scene(studio, two, title="A")
    move_episode(studio, two, -1)
    episodes = list_episodes(studio)
    assert [(e.number, e.title) for e in episodes] == [(1, "Two"), (2, "High Water")]
    assert numbers(studio, 1) == [(1, "A")]
    assert [n for n, _ in numbers(studio, 2)] == [2, 3, 4]
    with pytest.raises(EditError, match="already the last"):
        move_episode(studio, 2, 1)


def test_deleting_scenes_and_episodes(studio: Studio) -> None:
    delete_scene(studio, 2)
    assert [n for n, _ in numbers(studio, 1)] == [1, 3]
    two = add_episode(studio, title="Two")
    update_episode(studio, two, {"title": "Second"})
    assert [e.title for e in list_episodes(studio)][-1] == "Second"
    delete_episode(studio, two)
    assert [e.number for e in list_episodes(studio)] == [1]
    with pytest.raises(NotFoundError, match="no episode 9"):
        delete_episode(studio, 9)
    with pytest.raises(EditError, match="only title and synopsis"):
        update_episode(studio, 1, {"number": 4})


def test_a_scene_character_with_a_bad_detail_names_the_field(studio: Studio) -> None:
    with pytest.raises(ScreenplayError) as caught:
        update_scene_character(studio, 1, "Luna", {"facing": "up"})
    issue = caught.value.issues[0]
    assert issue.location == "facing"
    assert "use one of: left, right, camera, away" in issue.message
    before = scene_detail(studio, 1).spec.characters
    with pytest.raises(ScreenplayError):
        update_scene_character(studio, 1, "Luna", {"facing": "up", "expression": "sad"})
    assert scene_detail(studio, 1).spec.characters == before  # nothing written
    update_scene_character(studio, 1, "Luna", {"facing": "left", "exits": True})
    luna = next(c for c in scene_detail(studio, 1).spec.characters if c.name == "Luna")
    assert (luna.facing, luna.exits) == ("left", True)


def test_a_speaker_must_be_in_the_scene(studio: Studio) -> None:
    with pytest.raises(EditError, match="Kai speaks in scene 1"):
        remove_scene_character(studio, 1, "Kai")
    with pytest.raises(ScreenplayError) as caught:
        update_scene(
            studio, 3, {"dialogue": [{"speaker": "Kai", "line": "hi"}, {"speaker": "Mika", "line": ""}]}
        )
    located = {i.location: i.message for i in caught.value.issues}
    # Every problem at once: the schema's and the cross-references'.
    assert located == {
        "dialogue[1].line": "line must not be empty",
        "dialogue[1].speaker": "unknown speaker 'Mika'; known: 'Luna', 'Kai'",
    }
    with pytest.raises(ScreenplayError) as caught:
        update_scene(studio, 1, {"dialogue": [{"speaker": "Mika", "line": "hi"}]})
    # Mika is nobody in this show: the screenplay's own check names the known speakers.
    assert [i.location for i in caught.value.issues] == ["dialogue[0].speaker"]
    assert "unknown speaker 'Mika'; known: 'Luna', 'Kai'" in caught.value.issues[0].message
    with pytest.raises(EditError, match="already in scene 1"):
        add_scene_character(studio, 1, "Luna")
    with pytest.raises(ScreenplayError, match="unknown character 'Mika'"):
        add_scene_character(studio, 1, "Mika")


def test_a_project_reads_in_production_then_completed_and_plurals_read_right(studio: Studio) -> None:
    assert studio.status()[0]["status"] == "planning"
    fake_render(studio, complete=False)
    assert studio.status()[0]["status"] == "in_production"
    from studio.storage._models import EpisodeModel

    with studio.database.session() as session:
        session.query(EpisodeModel).one().status = "completed"
    assert studio.status()[0]["status"] == "completed"
    assert "[completed]" in studio.status_text().splitlines()[0]
    assert update_scene(studio, 1, {"duration": 7}).describe() == (
        "Neon Tide: updated 1 episode, 1 scene; scene marked stale: 1"
    )
