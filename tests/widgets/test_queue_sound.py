"""The queue panel plays an episode with its sound, and shows its waveform, voices and subtitles."""

from __future__ import annotations

from pathlib import Path

from studio._config import Settings, load_settings
from studio._studio import Studio
from studio.project._views import list_characters
from studio.render._pipeline import render_episode
from tests.sound.conftest import open_studio, show, speech_server, tts_settings  # noqa: F401 (fixtures)
from tests.sound.fake_speech import FakeSpeechServer
from widgets import QueuePanel


def test_playing_an_episode_shows_its_sound(tmp_path: Path, tts_settings: Settings) -> None:  # noqa: F811
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play"))
        summary = render_episode(studio, episode=1)
        panel = QueuePanel(studio, auto_refresh=False)
        panel.play_episode.click()
        assert panel.player.value == summary.episode_video.read_bytes()
        sound = panel.sound.value
        assert 'class="studio-waveform"' in sound
        assert "nova · ×1 · +0 st" in sound and "onyx · ×2 · +0 st" in sound and "Hello there" in sound
        assert "WEBVTT" in sound and "&lt;v Ada&gt;Hello there" in sound
        panel.close()


def test_a_silent_episode_says_why(tmp_path: Path, speech_server: FakeSpeechServer) -> None:  # noqa: F811
    settings = load_settings(home=tmp_path / "home", environ={"STUDIO_TTS_URL": speech_server.base_url})
    with open_studio(settings) as studio:  # no API key: the server refuses every line
        studio.import_file(show(tmp_path / "play"))
        render_episode(studio, episode=1)
        panel = QueuePanel(studio, auto_refresh=False)
        panel.play_episode.click()
        assert "Sound failed; the episode is silent." in panel.sound.value
        assert "check STUDIO_TTS_API_KEY" in panel.sound.value
        panel.close()


def test_the_character_panel_keeps_and_edits_a_voice(studio: Studio) -> None:
    from widgets import CharacterPanel

    panel = CharacterPanel(studio)
    panel.selector.value = "Luna"
    assert (panel.voice_id.value, panel.voice_speed.value, panel.voice_pitch.value) == ("en-us+f3", 1.0, 2.0)
    panel.description.value = "A quiet courier."
    panel.save()  # an edit elsewhere keeps the voice
    assert next(c for c in list_characters(studio) if c.name == "Luna").voice.id == "en-us+f3"
    panel.voice_id.value, panel.voice_speed.value = "en-gb", 1.5
    panel.save()
    voice = next(c for c in list_characters(studio) if c.name == "Luna").voice
    assert (voice.id, voice.speed, voice.pitch) == ("en-gb", 1.5, 2.0)
    panel.close()
