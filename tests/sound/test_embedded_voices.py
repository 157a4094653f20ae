"""The embedded espeak-ng voices, the screenplay's sound fields, and their import."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import av
import pytest
import yaml
from click.testing import CliRunner

from studio._cli import main
from studio._exceptions import ScreenplayError
from studio.project._importer import dump_screenplay, export_screenplay
from studio.project._screenplay import parse_screenplay
from studio.sound import SpeechRequest, TtsUnavailableError, UnknownVoiceError, Voice, decode_speech
from studio.sound._espeak import EspeakBackend
from studio.storage._models import CharacterModel
from tests.conftest import IN_CI
from tests.sound.conftest import open_studio, show

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and not IN_CI,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


@needs_espeak
def test_studio_demo_has_embedded_voices_and_subtitles(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(
        main, ["--home", str(home), "--json", "demo", "--no-report"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    video = Path(document["video"])
    with av.open(str(video)) as container:
        kinds = sorted(s.type for s in container.streams)
        audio = container.streams.audio[0]
        assert (audio.codec_context.name, audio.rate, audio.channels) == ("aac", 48_000, 2)
    assert kinds == ["audio", "subtitle", "video"]
    sound = document["sound"]
    assert sound["backend"] == "espeak" and sound["error"] is None
    assert [ln["voice"]["id"] for ln in sound["lines"]] == ["en-us+m3", "en-us+f3", "en-us+m3", "en-us+f3"]
    vtt = (video.parent / sound["subtitles"]["vtt"]).read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "<v Kai>It has to be there before the tide turns." in vtt


@needs_espeak
def test_espeak_speaks_and_names_an_unknown_voice() -> None:
    engine = EspeakBackend()
    data = asyncio.run(engine.speak(SpeechRequest("Then we run.", Voice("en-us", 1.0, 0.0))))
    fast = asyncio.run(engine.speak(SpeechRequest("Then we run.", Voice("en-us", 2.0, 0.0))))
    slow, quick = decode_speech(data, what="a"), decode_speech(fast, what="b")
    assert 0.3 < quick.duration < slow.duration < 2.0
    with pytest.raises(UnknownVoiceError, match=r"espeak-ng has no voice 'xx-nowhere'; `espeak-ng --voices`"):
        asyncio.run(engine.speak(SpeechRequest("Hi", Voice("xx-nowhere"))))


def test_a_missing_espeak_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on this PATH
    with pytest.raises(TtsUnavailableError, match=r"espeak-ng is not installed.*apt-get install espeak-ng"):
        asyncio.run(EspeakBackend().speak(SpeechRequest("Hi", Voice())))


def test_the_screenplay_names_bad_voices_and_missing_sound_files(tmp_path: Path) -> None:
    text = """
title: T
characters:
  - {name: Ada, voice: {id: nova, speed: 9, pich: 2}}
episodes:
  - number: 1
    music: nowhere.ogg
    scenes:
      - {number: 1, duration: 2, dialogue: [{speaker: Ada, line: Hi, at: -1}],
         effects: [{file: bang.wav, at: 1}]}
"""
    with pytest.raises(ScreenplayError) as info:
        parse_screenplay(text, source="show.yaml", base_dir=tmp_path)
    message = str(info.value)
    assert "characters[0].voice.speed: speed must be at most 4, got 9" in message
    assert "unknown field 'pich' (did you mean 'pitch'?)" in message
    assert "at must be at least 0, got -1" in message
    play = parse_screenplay(text.replace("speed: 9, pich: 2", "speed: 1.5, pitch: 2").replace("at: -1", "at: 0.5"),
                            source="show.yaml")  # fmt: skip
    assert play.characters[0].voice.speed == 1.5
    with pytest.raises(ScreenplayError) as info:
        parse_screenplay(text.replace("speed: 9, pich: 2", "speed: 1").replace("at: -1", "at: 0"),
                         source="show.yaml", base_dir=tmp_path)  # fmt: skip
    message = str(info.value)
    assert "episodes[0].music.file: sound file 'nowhere.ogg' does not exist" in message
    assert "episodes[0].scenes[0].effects[0].file: sound file 'bang.wav' does not exist" in message


def test_import_stores_voices_and_copies_music_into_the_home(tmp_path: Path) -> None:
    from studio._config import load_settings

    settings = load_settings(home=tmp_path / "home", environ={})
    with open_studio(settings) as studio:
        studio.import_file(show(tmp_path / "play"))
        with studio.database.session() as session:
            voices = {
                c.character_name: (c.voice_id, c.voice_speed, c.voice_pitch)
                for c in session.query(CharacterModel)
            }
        assert voices == {"Ada": ("nova", 1.0, 0.0), "Ben": ("onyx", 2.0, 0.0)}
        copies = list((settings.home / "sound").iterdir())
        assert len(copies) == 1 and copies[0].name.endswith("-theme.wav")
        exported = export_screenplay(studio.database, home=settings.home)
        assert exported.episodes[0].music is not None
        assert exported.episodes[0].music.file == str(copies[0])
        assert exported.episodes[0].scenes[0].dialogue[0].at == 0.5
        # Re-importing the export changes nothing, and sound-only edits keep the pictures.
        again = tmp_path / "exported.yaml"
        again.write_text(dump_screenplay(exported), encoding="utf-8")
        assert not studio.import_file(again).changed
        data = yaml.safe_load(again.read_text(encoding="utf-8"))
        data["episodes"][0]["scenes"][0]["dialogue"][0]["at"] = 1.0
        data["characters"][0]["voice"]["speed"] = 1.2
        again.write_text(yaml.safe_dump(data), encoding="utf-8")
        summary = studio.import_file(again)
        assert summary.stale_scenes == [] and summary.updated["scenes"] == 0
        assert (
            export_screenplay(studio.database, home=settings.home).episodes[0].scenes[0].dialogue[0].at == 1.0
        )


def test_a_panel_edit_keeps_sound_files_inside_the_home_and_sets_the_voice(tmp_path: Path) -> None:
    from studio._config import load_settings
    from studio.project._editing import update_character
    from studio.storage._models import EpisodeModel

    settings = load_settings(home=tmp_path / "home", environ={})
    with open_studio(settings) as studio:
        studio.import_file(show(tmp_path / "play"))
        update_character(studio, "Ben", {"name": "Ben", "voice": {"id": "echo", "speed": 1.25, "pitch": 0}})
        with studio.database.session() as session:
            ben = session.query(CharacterModel).filter_by(character_name="Ben").one()
            assert (ben.voice_id, ben.voice_speed) == ("echo", 1.25)
            (episode,) = session.query(EpisodeModel).all()
            assert episode.sound is not None
            assert episode.sound["music"]["file"].startswith("sound/")  # relative, as imported
