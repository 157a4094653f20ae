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
    assert panel.duration.value == 6 and panel.camera_movement.value == "pan"
    assert "completed" in panel.scene_status.value
    panel.scenes.value = 2
    assert panel.location.value == "harbour rooftops"
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
    panel.duration.value = 9.5
    panel.save_button.click()
    assert panel.feedback.last_level == "success"
    assert "re-rendered" in panel.feedback.last_message
    assert scene_detail(studio, 3).spec.duration == 9.5
    assert "stale" in panel.scene_status.value and panel.scenes.value == 3


def test_invalid_scene_edit_shows_the_problem(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    panel.duration.value = -1
    panel.save_button.click()
    assert panel.feedback.last_level == "error"
    assert "duration: duration must be greater than 0, got -1" in panel.feedback.last_message
    assert scene_detail(studio, 1).spec.duration == 6


def test_unrendered_scene_explains_that_segments_come_later(studio: Studio) -> None:
    panel = StoryboardPanel(studio)
    assert panel.segments.options == ()
    assert "planned when the episode renders" in panel.segment_info.value
