"""A small show with timed lines and music, the fake speech server, and audio probes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import yaml

from studio._config import Settings, load_settings
from studio._studio import Studio
from studio.sound._tts import write_wav
from tests.sound.fake_speech import FakeSpeechServer

MUSIC_HZ = 220.0


def show(folder: Path, *, voice: str = "nova", music: bool = True, overflow: str = "extend",
         long_line: bool = False) -> Path:  # fmt: skip
    """Two scenes (3 s, dissolve, 2 s) at 96x64; scene 1 has a line at 0.5 s and one in order."""
    folder.mkdir(parents=True, exist_ok=True)
    if music:
        t = np.arange(48_000 * 2) / 48_000  # 2 s, looped under the episode
        write_wav(folder / "theme.wav", (0.3 * np.sin(2 * math.pi * MUSIC_HZ * t)).astype(np.float32))
    episode: dict[str, Any] = {
        "number": 1,
        "title": "Tones",
        "scenes": [
            {
                "number": 1, "location": "pier", "duration": 3, "characters": ["Ada"],
                "transition": "dissolve", "camera": {"movement": "pan"},
                "dialogue": [
                    {"speaker": "Ada", "line": "Hello there", "at": 0.5},  # 11 chars: 0.66 s
                    {"speaker": "Ben", "line": "Hi"},
                ],
            },
            {
                "number": 2, "location": "street", "duration": 2, "characters": ["Ada"],
                "camera": {"movement": "zoom"},
                "dialogue": [{"speaker": "Ada", "line": "A much longer line than the scene can hold" * 2
                              if long_line else "Bye", "at": 0.4}],
            },
        ],
    }  # fmt: skip
    if music:
        episode["music"] = {"file": "theme.wav", "volume_db": -6}
    play = {
        "title": "Tone Test",
        "defaults": {"fps": 24, "width": 96, "height": 64, "max_attempts": 1, "speech_overflow": overflow,
                     "quality": {"min_overall": 0.0}},
        "characters": [
            {"name": "Ada", "palette": ["#3fb7b0"], "voice": {"id": voice, "speed": 1.0}},
            {"name": "Ben", "voice": {"id": "onyx", "speed": 2.0}},
        ],
        "episodes": [episode],
    }  # fmt: skip
    path = folder / "show.yaml"
    path.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def speech_server() -> Iterator[FakeSpeechServer]:
    server = FakeSpeechServer(api_key="sk-test")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tts_settings(tmp_path: Path, speech_server: FakeSpeechServer) -> Settings:
    env = {
        "STUDIO_TTS_URL": speech_server.base_url,
        "STUDIO_TTS_MODEL": "tts-1",
        "STUDIO_TTS_API_KEY": "sk-test",
    }
    return load_settings(home=tmp_path / "home", environ=env)


def open_studio(settings: Settings) -> Studio:
    return Studio.open(settings=settings, upgrade=True)


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples of a file's first audio stream, and its rate."""
    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    return np.concatenate(chunks), rate


def band_level_db(samples: np.ndarray, rate: int, hz: float, *, window: float = 0.02) -> np.ndarray:
    """Per-window level (dB) of one frequency: energy detection that music cannot confuse."""
    size = round(window * rate)
    count = len(samples) // size
    frames = samples[: count * size].reshape(count, size) * np.hanning(size)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    column = round(hz * size / rate)
    level = spectrum[:, max(0, column - 1) : column + 2].max(axis=1)
    return 20 * np.log10(level + 1e-9)


def sounding_spans(level_db: np.ndarray, *, window: float = 0.02, below_peak_db: float = 20.0,
                   bridge: float = 0.1) -> list[tuple[float, float]]:  # fmt: skip
    """Where a band sounds (within ``below_peak_db`` of its peak), gaps under ``bridge`` closed."""
    on = level_db > level_db.max() - below_peak_db
    spans: list[list[float]] = []
    for index in np.flatnonzero(on):
        start = index * window
        if spans and start - spans[-1][1] <= bridge:
            spans[-1][1] = start + window
        else:
            spans.append([start, start + window])
    return [(a, b) for a, b in spans]
