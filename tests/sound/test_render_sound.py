"""An episode rendered with voices, music and subtitles: measured on the rendered file."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import av
import pytest

from studio._config import Settings, load_settings
from studio._exceptions import RenderError
from studio._video import probe
from studio.render._pipeline import prepare_episode, render_episode, scene_summaries
from studio.sound import read_sound_record
from studio.sound._mix import TARGET_LUFS, measure_loudness
from studio.sound._subtitles import parse_cue_times
from tests.sound.conftest import MUSIC_HZ, band_level_db, decode_audio, open_studio, show, sounding_spans
from tests.sound.fake_speech import PADDING_SECONDS, TONE_HZ, FakeSpeechServer, spoken_seconds

FPS = 24
FRAME = 1 / FPS


def streams(path: Path) -> dict[str, float]:
    with av.open(str(path)) as container:
        return {
            s.type: float(s.duration * s.time_base) if s.duration is not None else -1.0
            for s in container.streams
        }


def test_voices_music_and_subtitles_land_where_the_record_says(
    tmp_path: Path, tts_settings: Settings, speech_server: FakeSpeechServer
) -> None:
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play"))
        summary = render_episode(studio, episode=1)
    video = summary.episode_video
    record = read_sound_record(video)
    assert record is not None and record["error"] is None, record
    assert summary.sound == record

    # The audio lasts as long as the picture (to within one frame), and there are subtitles.
    kinds = streams(video)
    assert set(kinds) == {"video", "audio", "subtitle"}
    assert abs(kinds["audio"] - kinds["video"]) < FRAME
    assert abs(kinds["video"] - probe(video).frames / FPS) < FRAME

    # Lines sit where they were placed: `at` 0.5 s, the next in order, scene 2's `at` after
    # the dissolve (scene 2 starts 0.5 s before scene 1's 3 s end).
    lines = record["lines"]
    assert [(ln["speaker"], ln["text"]) for ln in lines] == [
        ("Ada", "Hello there"),
        ("Ben", "Hi"),
        ("Ada", "Bye"),
    ]
    assert lines[0]["episode_start"] == pytest.approx(0.5, abs=0.01)
    assert lines[0]["episode_end"] - lines[0]["episode_start"] == pytest.approx(
        spoken_seconds("Hello there"), abs=0.02
    )
    assert lines[1]["episode_start"] == pytest.approx(lines[0]["episode_end"] + 0.25, abs=0.01)
    assert lines[1]["episode_end"] - lines[1]["episode_start"] == pytest.approx(
        spoken_seconds("Hi", 2.0), abs=0.02
    )
    assert lines[2]["episode_start"] == pytest.approx(3 - 0.5 + 0.4, abs=0.01)
    assert [ln["voice"]["id"] for ln in lines] == ["nova", "onyx", "nova"]

    # Energy detection on the rendered mp4's audio: the speech tone sounds exactly then.
    samples, rate = decode_audio(video)
    assert abs(len(samples) / rate - kinds["video"]) < FRAME
    spans = sounding_spans(band_level_db(samples, rate, TONE_HZ))
    assert len(spans) == 3, spans
    for (start, end), line in zip(spans, lines, strict=True):
        assert start == pytest.approx(line["episode_start"], abs=0.03)
        assert end == pytest.approx(line["episode_end"], abs=0.03)

    # Subtitles (both files, and the mov_text track) carry the spoken times.
    folder = video.parent
    for name in record["subtitles"].values():
        cues = parse_cue_times((folder / name).read_text(encoding="utf-8"))
        assert cues == [(pytest.approx(ln["episode_start"], abs=0.001), pytest.approx(ln["episode_end"], abs=0.001))
                        for ln in lines]  # fmt: skip
    srt = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:s:0", "-f", "srt", "-"],
                         capture_output=True, text=True, check=True, timeout=60).stdout  # fmt: skip
    assert "Ada: Hello there" in srt and "Ben: Hi" in srt
    assert [a for a, _ in parse_cue_times(srt)] == [
        pytest.approx(ln["episode_start"], abs=0.002) for ln in lines
    ]

    # The music ducks under speech: its band is quieter while a line sounds than between lines.
    music = band_level_db(samples, rate, MUSIC_HZ)
    window = 0.02
    under = [music[round((ln["episode_start"] + 0.1) / window) : round((ln["episode_end"] - 0.05) / window)]
             for ln in lines[:1]]  # fmt: skip
    clear = music[round(1.8 / window) : round(2.2 / window)]  # no line between 1.8 and 2.2 s
    drop = float(clear.mean() - under[0].mean())
    assert drop > 8.0, f"music dropped only {drop:.1f} dB under speech"

    # Loudness-normalised (EBU R128) to -16 LUFS.
    assert measure_loudness(video)["input_i"] == pytest.approx(TARGET_LUFS, abs=1.0)

    # A second render speaks nothing again: every line comes from the cache.
    asked = len(speech_server.requests)
    assert asked == 3
    with open_studio(tts_settings) as studio:
        again = render_episode(studio, episode=1)
    assert len(speech_server.requests) == asked
    assert again.sound is not None and all(ln["cached"] for ln in again.sound["lines"])
    assert [ln["episode_start"] for ln in again.sound["lines"]] == [ln["episode_start"] for ln in lines]


@pytest.mark.parametrize("failure", ["dead server", "unknown voice", "garbage audio"])
def test_a_failing_speech_engine_keeps_the_silent_render(
    tmp_path: Path, speech_server: FakeSpeechServer, failure: str
) -> None:
    url = speech_server.base_url
    voice = "nova"
    if failure == "dead server":
        speech_server.stop()
    elif failure == "unknown voice":
        voice = "gollum"
    else:
        speech_server.garbage = True
    env = {"STUDIO_TTS_URL": url, "STUDIO_TTS_API_KEY": "sk-test"}
    settings = load_settings(home=tmp_path / "home", environ=env)
    with open_studio(settings) as studio:
        studio.import_file(show(tmp_path / "play", voice=voice))
        summary = render_episode(studio, episode=1)
    assert summary.episode_video.is_file()
    assert set(streams(summary.episode_video)) == {"video"}  # silent, but rendered
    assert summary.sound is not None
    error = summary.sound["error"]
    expected = {
        "dead server": "TtsUnavailableError: scene 1, line 1 (Ada: 'Hello there'): cannot reach the speech server",
        "unknown voice": "UnknownVoiceError: scene 1, line 1 (Ada: 'Hello there'): the speech server has no voice 'gollum'",
        "garbage audio": "is not audio",
    }[failure]
    assert expected in error, error


def test_speech_longer_than_its_scene_extends_it_or_refuses(tmp_path: Path, tts_settings: Settings) -> None:
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play", music=False, long_line=True))
        summary = render_episode(studio, episode=1)
    assert summary.sound is not None
    last = summary.sound["lines"][-1]
    needed = 0.4 + spoken_seconds("A much longer line than the scene can hold" * 2) + 0.4
    assert any("scene 2: speech runs" in note and "extended" in note for note in summary.sound["notes"])
    scene_two = next(s for s in summary.scenes if s["scene"] == 2)
    assert probe(Path(scene_two["video"])).frames == round(needed * FPS)
    assert last["episode_end"] <= probe(summary.episode_video).frames / FPS

    def rows(scenes: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
        return [(sc["scene"], s["segment"], s["id"]) for sc in scenes for s in sc["segments"]]

    with open_studio(tts_settings) as studio:
        # The extension sticks: planning again without speech (`studio prompts`, a report's
        # fail-fast check) keeps every finished segment, and a second render redoes nothing.
        replanned = scene_summaries(studio, [b.scene_id for b in prepare_episode(studio, episode=1)])
        assert rows(replanned) == rows(summary.scenes)
        assert {s["status"] for sc in replanned for s in sc["segments"]} <= {"completed", "review"}
        again = render_episode(studio, episode=1)
    assert rows(again.scenes) == rows(summary.scenes)  # the same segment rows, none re-planned

    other = load_settings(home=tmp_path / "home2", environ={"STUDIO_TTS_URL": tts_settings.tts_url or "",
                                                             "STUDIO_TTS_API_KEY": "sk-test"})  # fmt: skip
    with open_studio(other) as studio:
        studio.import_file(show(tmp_path / "play2", music=False, long_line=True, overflow="refuse"))
        with pytest.raises(
            RenderError, match=r"scene 2: its dialogue needs \d+\.\d+ s but the scene lasts 2 s"
        ):
            render_episode(studio, episode=1)
    assert not list((tmp_path / "home2").rglob("*.mp4"))  # refused before a frame was made


def test_the_padding_of_the_engine_is_not_part_of_a_line() -> None:
    from studio.sound._tts import decode_speech
    from tests.sound.fake_speech import tone_wav

    speech = decode_speech(tone_wav(0.5), what="a line")
    assert speech.duration == pytest.approx(0.5, abs=0.012)
    assert PADDING_SECONDS > 0.05


def test_the_cli_fails_clearly_when_the_sound_fails_and_keeps_the_video(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from studio._cli import main

    home = tmp_path / "home"
    runner = CliRunner()
    result = runner.invoke(main, ["--home", str(home), "import", str(show(tmp_path / "play"))])
    assert result.exit_code == 0, result.output
    env = {"STUDIO_TTS_URL": "http://127.0.0.1:9"}  # nothing listens on the discard port
    args = ["--home", str(home), "--json", "render", "--episode", "1", "--no-report"]
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)  # still one JSON document, with the failure in it
    assert Path(document["video"]).is_file()
    assert (
        "cannot reach the speech server at http://127.0.0.1:9/v1/audio/speech" in document["sound"]["error"]
    )
    assert "error: the episode has no sound: TtsUnavailableError" in result.stderr
    assert "the silent episode is kept" in result.stderr


def test_a_music_file_gone_from_the_home_is_an_error_that_keeps_the_silent_render(
    tmp_path: Path, tts_settings: Settings
) -> None:
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play"))
        for copy in (tts_settings.home / "sound").iterdir():
            copy.unlink()
        summary = render_episode(studio, episode=1)
    assert set(streams(summary.episode_video)) == {"video"}
    assert summary.sound is not None and "MixError: sound file" in summary.sound["error"]
    assert "does not exist; import the screenplay again" in summary.sound["error"]
