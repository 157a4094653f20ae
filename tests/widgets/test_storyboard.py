"""StoryboardPanel: lazy browsing, scene edits, frames, prompts, playback."""

from __future__ import annotations

from studio._studio import Studio
from studio.project._views import scene_detail
from tests.project._fake_render import FAKE_VIDEO, fake_render, png
from widgets import StoryboardPanel


def test_browse_episode_scene_segment(studio: Studio) -> None:
    fake_render(studio)
    panel = StoryboardPanel(studio)
    assert panel.episodes.options == (("1. High Water · completed · 6/6 segments", 1),)
    assert [v for _, v in panel.scenes.options] == [1, 2, 3]
    assert panel.form.duration.value == 6 and panel.form.camera_movement.value == "pan"
    assert "completed" in panel.scene_status.value
    panel.scenes.value = 2
    assert panel.form.location.value == "harbour rooftops"
    assert [v for _, v in panel.segments.options] == [0, 1]
    assert "scene 2 segment 0, masterpiece" in panel.segment_info.value  # the composed prompt
    assert panel.first_frame.value == png() and panel.last_frame.value == png((200, 80, 40))
    assert panel.entry_frame.value == png()
    panel.segments.value = 1
    assert "scene 2 segment 1" in panel.segment_info.value


def test_play_segment_scene_and_episode(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    panel.play_episode.click()
    assert (
        panel.feedback.last_level == "warning" and "render the episode first" in panel.feedback.last_message
    )
    fake_render(studio)
    panel.refresh()
    for button in (panel.play_segment, panel.play_scene, panel.play_episode):
        panel.player.value = b""
        button.click()
        assert panel.player.value == FAKE_VIDEO, panel.feedback.last_message


def test_edit_scene_duration_marks_it_stale(studio: Studio) -> None:
    fake_render(studio)
    panel = StoryboardPanel(studio)
    panel.scenes.value = 3
    panel.form.duration.value = 9.5
    panel.save_button.click()
    assert panel.feedback.last_level == "success"
    assert "rendered again" in panel.feedback.last_message
    assert scene_detail(studio, 3).spec.duration == 9.5
    assert "stale" in panel.scene_status.value and panel.scenes.value == 3


def test_invalid_scene_edit_shows_the_problem(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    panel.form.duration.value = -1
    panel.save_button.click()
    assert panel.feedback.last_level == "error"
    assert "see the messages under the fields" in panel.feedback.last_message
    beside = panel.form.errors._lines["duration"]
    assert "duration must be greater than 0, got -1" in beside.value and beside.layout.display is None
    assert scene_detail(studio, 1).spec.duration == 6


def test_unrendered_scene_explains_that_segments_come_later(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    assert panel.segments.options == ()
    assert "planned when the episode renders" in panel.segment_info.value


def test_a_new_episode_scene_character_and_line_without_code(studio: Studio) -> None:
    from studio.project import create_character

    create_character(studio, {"name": "Mika"})
    panel = StoryboardPanel(studio)
    panel.new_episode.click()
    assert panel.episodes.value == 2 and panel.feedback.last_level == "success"
    assert "no scenes yet" in panel.scene_status.value
    panel.episode_title.value = "Low Tide"
    panel.save_episode.click()
    assert panel.episodes.options[-1][0].startswith("2. Low Tide · pending")
    panel.new_scene.click()
    assert panel.scenes.value == 4, panel.feedback.last_message
    assert panel.cast.candidates.options == ("Luna", "Kai", "Mika")
    panel.cast.candidates.value = "Mika"
    panel.cast.add.click()
    assert panel.cast.members.options == ("Mika",), panel.feedback.last_message
    panel.cast.expression.value = "sleepy"
    panel.cast.save.click()
    assert scene_detail(studio, 4).spec.characters[0].expression == "sleepy"
    panel.form.dialogue.value = "Mika: Is it morning?"
    panel.form.transition.value = "fade"
    panel.form.actions.value = "Mika yawns"
    panel.save_button.click()
    spec = scene_detail(studio, 4).spec
    assert [(d.speaker, d.line) for d in spec.dialogue] == [("Mika", "Is it morning?")]
    assert (spec.transition, spec.actions) == ("fade", ["Mika yawns"])


def test_errors_show_beside_the_dialogue_and_cast_fields(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    panel.form.dialogue.value = "Kai: It has to be there.\nno speaker here\nLuna: Then we run."
    panel.save_button.click()
    assert "line 2: write it as Name: what they say" in panel.form.errors._lines["dialogue"].value
    panel.form.dialogue.value = "Nobody: hello"
    panel.save_button.click()
    assert "unknown speaker 'Nobody'; known: 'Luna', 'Kai'" in panel.form.errors._lines["dialogue"].value
    assert scene_detail(studio, 1).spec.dialogue[0].speaker == "Kai"
    panel.cast.members.value = "Kai"
    panel.cast.remove.click()
    assert "Kai speaks in scene 1" in panel.feedback.last_message


def test_move_and_delete_scenes_confirming_first(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    panel.scenes.value = 2
    panel.scene_up.click()
    assert panel.scenes.value == 1 and panel.form.location.value == "harbour rooftops"
    panel.delete_scene.click()
    assert panel.feedback.last_level == "warning" and [n for _, n in panel.scenes.options] == [1, 2, 3]
    panel.delete_scene.click()
    assert [n for _, n in panel.scenes.options] == [2, 3], panel.feedback.last_message


def test_an_approved_segment_shows_approved(studio: Studio) -> None:
    from studio.project import list_segments, rate_segment

    fake_render(studio, complete=False)
    segment = list_segments(studio, 1)[0]
    rate_segment(studio, segment.id, rating=5, verdict="approved")
    panel = StoryboardPanel(studio)
    assert panel.segments.options[0][0] == f"{segment.number} · approved"
    assert "studio-badge-approved" in panel.segment_info.value
