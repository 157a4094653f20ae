"""The sound's building blocks: line timing, ducking, fades, effects, the cache key, the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

import studio.sound
from studio._exceptions import ConfigurationError
from studio.sound import SpeechRequest, Voice
from studio.sound._cache import SpeechCache
from studio.sound._mix import DUCK_DB, MusicRun, PlacedSound, duck_envelope, mix
from studio.sound._openai import OpenAISpeechBackend
from studio.sound._subtitles import Cue, parse_cue_times, srt_text, webvtt_text
from studio.sound._timing import GAP_SECONDS, LEAD_SECONDS, TAIL_SECONDS, place_lines
from studio.sound._tts import SAMPLE_RATE
from tests.sound.fake_speech import FakeSpeechServer

RATE = SAMPLE_RATE


def rms(samples: np.ndarray, start: float, end: float) -> float:
    return float(np.sqrt(np.mean(np.square(samples[round(start * RATE) : round(end * RATE)]))))


def test_lines_are_placed_by_at_or_in_order_and_never_overlap() -> None:
    placement = place_lines([1.0, 0.5, 0.5, 0.2], [None, None, 1.2, 4.0])
    starts = [line.start for line in placement.lines]
    assert starts[0] == LEAD_SECONDS
    assert starts[1] == pytest.approx(LEAD_SECONDS + 1.0 + GAP_SECONDS)
    assert starts[2] == pytest.approx(starts[1] + 0.5)  # its `at` 1.2 falls inside line 2
    assert starts[3] == 4.0
    assert placement.needed_seconds == pytest.approx(4.2 + TAIL_SECONDS)
    assert placement.notes == (
        "line 3 at 1.20 s would overlap line 2 (speaking until 2.05 s); it starts at 2.05 s instead",
    )
    assert place_lines([], []).needed_seconds == 0.0


def test_music_ducks_under_lines_fades_at_changes_and_effects_land_on_time() -> None:
    tone = np.full((RATE, 2), 0.25, dtype=np.float32)  # a 1 s constant "music" loop
    voice = np.full(RATE // 2, 0.5, dtype=np.float32)  # 0.5 s of "speech" at 2.0 s
    bang = np.full(RATE // 10, 0.5, dtype=np.float32)  # 0.1 s effect at 3.5 s
    music = [MusicRun(tone, 0.0, 3.0, 0.0, fade_in=True, fade_out=True),
             MusicRun(tone * 2, 3.0, 5.0, 0.0, fade_in=True, fade_out=True)]  # fmt: skip
    out, stem = mix(5.0, dialogue=[PlacedSound(voice, 2.0)], music=music, effects=[PlacedSound(bang, 3.5)])
    assert out.shape == (5 * RATE, 2) and stem.shape == (5 * RATE,)
    assert rms(stem, 2.0, 2.5) == pytest.approx(0.5) and rms(stem, 0.0, 1.9) == 0.0
    # Away from the line the music is at full level; under it, DUCK_DB lower (plus the voice).
    assert rms(out[:, 0], 1.0, 1.5) == pytest.approx(0.25, rel=1e-3)
    assert rms(out[:, 0] - np.pad(stem, (0, 0)), 2.1, 2.4) == pytest.approx(
        0.25 * 10 ** (-DUCK_DB / 20), rel=1e-3
    )
    # Fades: silent at the very start and at the change at 3.0 s, full half a second in.
    assert abs(out[0, 0]) < 1e-3 and abs(out[3 * RATE - 1, 0]) < 2e-3 and abs(out[3 * RATE, 0]) < 2e-3
    assert rms(out[:, 0], 4.0, 4.4) == pytest.approx(0.5, rel=1e-3)
    # The effect adds its level exactly where it was placed.
    assert rms(out[:, 0], 3.52, 3.58) == pytest.approx(rms(out[:, 0], 3.62, 3.68) + 0.5, abs=0.05)


def test_the_duck_envelope_ramps_before_and_after_a_line() -> None:
    envelope = duck_envelope([(1.0, 2.0)], 3 * RATE)
    low = 10 ** (-DUCK_DB / 20)
    assert envelope[0] == 1.0 and envelope[int(1.5 * RATE)] == pytest.approx(low)
    assert low < envelope[int(0.95 * RATE)] < 1.0 and low < envelope[int(2.2 * RATE)] < 1.0
    assert envelope[int(2.5 * RATE)] == 1.0


def test_subtitles_round_trip_their_times() -> None:
    cues = [Cue(0.5, 1.25, "Ada", "Hello <there> & you"), Cue(61.0, 3723.456, "Ben", "Hi")]
    vtt, srt = webvtt_text(cues), srt_text(cues)
    assert "00:00:00.500 --> 00:00:01.250" in vtt and "<v Ada>Hello &lt;there&gt; &amp; you" in vtt
    assert "00:01:01,000 --> 01:02:03,456" in srt and "Ben: Hi" in srt
    assert parse_cue_times(vtt) == parse_cue_times(srt) == [(0.5, 1.25), (61.0, 3723.456)]


def test_the_cache_speaks_each_text_voice_and_setting_once(tmp_path: Path) -> None:
    server = FakeSpeechServer()
    server.start()
    try:
        engine = OpenAISpeechBackend(server.base_url + "/v1", model="tts-1")
        cache = SpeechCache(tmp_path)

        async def speak_all() -> list[bool]:
            cached = []
            for voice in (
                Voice("nova"),
                Voice("nova"),
                Voice("nova", speed=1.5),
                Voice("echo"),
                Voice("nova"),
            ):
                _, _, hit = await cache.speak(engine, SpeechRequest("Then we run.", voice), what="a line")
                cached.append(hit)
            await engine.aclose()
            return cached

        assert asyncio.run(speak_all()) == [False, True, False, False, True]
        assert [r["voice"] for r in server.requests] == ["nova", "nova", "echo"]
        assert server.requests[0] == {"model": "tts-1", "input": "Then we run.", "voice": "nova",
                                      "response_format": "wav", "speed": 1.0}  # fmt: skip
    finally:
        server.stop()


def test_studio_sound_exports_exactly_its_public_names() -> None:
    public = {name for name in dir(studio.sound) if not name.startswith("_")}
    assert set(studio.sound.__all__) <= public
    for name in studio.sound.__all__:
        obj = getattr(studio.sound, name)
        if isinstance(obj, type):
            assert obj.__module__ == "studio.sound", name


def test_mixing_in_blocks_gives_the_same_samples_as_in_one_piece() -> None:
    from studio.sound._mix import mix_blocks

    rng = np.random.default_rng(7)
    music = [MusicRun(rng.uniform(-0.2, 0.2, (RATE // 3, 2)).astype(np.float32), 0.2, 2.9, -3.0, True, True)]
    voices = [PlacedSound(rng.uniform(-0.5, 0.5, RATE // 2).astype(np.float32), t) for t in (0.1, 1.3)]
    effects = [PlacedSound(rng.uniform(-0.5, 0.5, (RATE // 5, 2)).astype(np.float32), 2.8)]
    parts = dict(dialogue=voices, music=music, effects=effects)
    whole = list(mix_blocks(3.0, **parts, block_seconds=100))  # type: ignore[arg-type]
    pieces = list(mix_blocks(3.0, **parts, block_seconds=0.37))  # type: ignore[arg-type]
    assert len(whole) == 1 and len(pieces) == 9
    np.testing.assert_array_equal(np.concatenate([p[0] for p in pieces]), whole[0][0])
    np.testing.assert_array_equal(np.concatenate([p[1] for p in pieces]), whole[0][1])


def test_the_speech_settings_never_show_the_api_key(tmp_path: Path) -> None:
    from studio._config import load_settings

    env = {"STUDIO_TTS_URL": "http://tts.local:8880/", "STUDIO_TTS_API_KEY": "sk-voice-secret"}
    settings = load_settings(home=tmp_path, environ=env)
    assert (settings.tts_backend, settings.tts_url) == ("openai", "http://tts.local:8880")
    assert "sk-voice-secret" not in repr(settings)
    engine = OpenAISpeechBackend(settings.tts_url or "", api_key=settings.tts_api_key)
    assert "sk-voice-secret" not in repr(engine) and "tts.local:8880/v1/audio/speech" in repr(engine)
    asyncio.run(engine.aclose())
    assert load_settings(home=tmp_path, environ={}).tts_backend == "espeak"
    with pytest.raises(ConfigurationError, match=r"STUDIO_TTS_URL: 'tts.local' is not an http\(s\) URL"):
        load_settings(home=tmp_path, environ={"STUDIO_TTS_URL": "tts.local"})


def test_a_busy_server_is_asked_again_and_a_bad_request_is_not() -> None:
    from studio.sound import SpeechError, TtsUnavailableError

    server = FakeSpeechServer()
    server.start()

    async def scenario() -> None:
        engine = OpenAISpeechBackend(server.base_url, backoff_seconds=0.01)
        try:
            server.busy = 2  # two 503s, then audio: the third attempt speaks
            assert (await engine.speak(SpeechRequest("Faster!", Voice("nova"))))[:4] == b"RIFF"
            assert len(server.requests) == 3
            server.busy = 5  # busy for longer than three attempts
            with pytest.raises(
                TtsUnavailableError, match=r"failed \(503: The model is loading, try again.\)"
            ):
                await engine.speak(SpeechRequest("Faster!", Voice("nova")))
            assert len(server.requests) == 6
            server.busy = 0
            with pytest.raises(SpeechError, match="has no voice 'bob'"):  # a 400 is final: asked once
                await engine.speak(SpeechRequest("Faster!", Voice("bob")))
            assert len(server.requests) == 7
        finally:
            await engine.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
