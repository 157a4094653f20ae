"""The contract every text-to-speech backend fulfils, and the registry of backends.

A backend turns one :class:`SpeechRequest` (a line's text and its speaker's
:class:`Voice`) into audio bytes in some container (WAV, MP3, FLAC, Opus…);
:func:`decode_speech` turns those bytes into :class:`Speech`: mono float samples at
:data:`SAMPLE_RATE`, trimmed of leading and trailing silence so a line's start and end
are when the voice is heard. A backend only speaks; caching, timing and mixing are
the studio's.

Errors::

    SoundError                     anything about an episode's sound
    ├── SpeechError                a line could not be spoken (carries scene and speaker)
    │   ├── TtsUnavailableError    no speech engine: dead server, espeak-ng missing
    │   ├── UnknownVoiceError      the engine has no such voice
    │   └── BadAudioError          the engine answered with audio that does not decode
    └── MixError                   music/effects that cannot be read, ffmpeg failures
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from studio._config import Settings
from studio._exceptions import StudioError
from studio._registry import Registry

__all__ = [
    "SAMPLE_RATE",
    "BadAudioError",
    "MixError",
    "SoundError",
    "Speech",
    "SpeechError",
    "SpeechRequest",
    "TtsBackend",
    "TtsUnavailableError",
    "UnknownVoiceError",
    "Voice",
    "WavWriter",
    "available_tts_backends",
    "create_tts_backend",
    "decode_speech",
    "read_wav",
    "register_tts_backend",
    "write_wav",
]

SAMPLE_RATE = 48_000  # 2000 samples per frame at 24 fps: audio and video share frame edges
SILENCE_DBFS = -45.0  # quieter than this at a line's ends is trimmed away


class SoundError(StudioError):
    """An episode's sound could not be made; the silent episode is kept."""

    def __init__(self, message: str, *, scene: int | None = None, speaker: str | None = None) -> None:
        super().__init__(message)
        self.scene = scene
        self.speaker = speaker


class SpeechError(SoundError):
    """A dialogue line could not be spoken."""


class TtsUnavailableError(SpeechError):
    """No speech engine answered: the server is down or espeak-ng is not installed."""


class UnknownVoiceError(SpeechError):
    """The speech engine does not know the character's voice id."""


class BadAudioError(SpeechError):
    """The speech engine answered with something that is not decodable audio."""


class MixError(SoundError):
    """Music or effects could not be read, or ffmpeg could not mix or mux."""


@dataclass(frozen=True)
class Voice:
    """A character's voice: an id the backend knows ("" = its default), speed, pitch."""

    id: str = ""
    speed: float = 1.0  # 1.0 is the engine's natural rate
    pitch: float = 0.0  # semitones from the voice's natural pitch


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    voice: Voice


@dataclass(frozen=True)
class Speech:
    """Decoded speech: mono float32 samples in [-1, 1] at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@runtime_checkable
class TtsBackend(Protocol):
    """A speech engine. Implementations are registered by name."""

    name: str

    def identity(self) -> str:
        """What, besides the request, changes the audio (engine, model, server): part of
        the speech cache key, so another model never reuses this one's audio."""
        ...

    async def speak(self, request: SpeechRequest) -> bytes:
        """The audio for one line, in any container :func:`decode_speech` reads.

        Raises:
            TtsUnavailableError, UnknownVoiceError, SpeechError: see the module docstring.
        """
        ...

    async def aclose(self) -> None: ...


TtsFactory = Callable[[Settings], TtsBackend]
_REGISTRY: Registry[TtsBackend] = Registry("STUDIO_TTS: unknown speech backend {name}; known: {known}")


def register_tts_backend(name: str, factory: TtsFactory) -> None:
    """Make a speech engine available as ``STUDIO_TTS=name``."""
    _REGISTRY.register(name, factory)


def available_tts_backends() -> list[str]:
    return _REGISTRY.names()


def create_tts_backend(name: str, settings: Settings) -> TtsBackend:
    """Build the speech engine registered as ``name``.

    Raises:
        ConfigurationError: no engine has that name (the message lists the known ones).
    """
    return _REGISTRY.create(name, settings)


# ------------------------------------------------------------------------- audio bytes


def decode_speech(data: bytes, *, what: str) -> Speech:
    """Decode any audio container to trimmed mono float samples at :data:`SAMPLE_RATE`.

    Raises:
        BadAudioError: the bytes are not audio, or hold no sound at all.
    """
    import av

    if not data:
        raise BadAudioError(f"{what}: the speech engine returned no audio (0 bytes)")
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise BadAudioError(f"{what}: the speech engine's answer has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.FFmpegError, ValueError, EOFError) as error:
        head = data[:16]
        raise BadAudioError(
            f"{what}: the speech engine's answer is not audio ({len(data)} bytes starting {head!r}): {error}"
        ) from error
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    trimmed = trim_silence(samples)
    if not len(trimmed):
        raise BadAudioError(f"{what}: the speech engine returned only silence ({len(samples)} samples)")
    return Speech(trimmed)


def trim_silence(samples: np.ndarray, *, threshold_dbfs: float = SILENCE_DBFS) -> np.ndarray:
    """``samples`` without the silence before the first and after the last sound."""
    threshold = 10 ** (threshold_dbfs / 20)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if not len(loud):
        return samples[:0]
    margin = SAMPLE_RATE // 200  # 5 ms, so a soft consonant is not clipped
    return samples[max(0, loud[0] - margin) : loud[-1] + 1 + margin]


def write_wav(path: Path, samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> None:
    """16-bit PCM WAV of float samples (mono ``(n,)`` or interleaved ``(n, channels)``)."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    pcm = np.clip(np.rint(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


class WavWriter:
    """A 16-bit PCM WAV written block by block (float samples, as :func:`write_wav`)."""

    def __init__(self, path: Path, *, channels: int, sample_rate: int = SAMPLE_RATE) -> None:
        self._out = wave.open(str(path), "wb")  # noqa: SIM115 (closed in close())
        self._out.setnchannels(channels)
        self._out.setsampwidth(2)
        self._out.setframerate(sample_rate)
        self.peak = 0.0

    def write(self, samples: np.ndarray) -> None:
        if len(samples):
            self.peak = max(self.peak, float(np.abs(samples).max()))
        pcm = np.clip(np.rint(samples * 32767), -32768, 32767).astype("<i2")
        self._out.writeframes(pcm.tobytes())

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_wav(path: Path) -> np.ndarray:
    """Float samples of a 16-bit WAV written by :func:`write_wav` (mono: ``(n,)``)."""
    with wave.open(str(path), "rb") as source:
        channels = source.getnchannels()
        pcm = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32767
    return samples if channels == 1 else samples.reshape(-1, channels)


def _espeak(settings: Settings) -> TtsBackend:
    from studio.sound._espeak import create_espeak_backend

    return create_espeak_backend(settings)


def _openai(settings: Settings) -> TtsBackend:
    # Imported on first use, so the embedded voices pull no httpx.
    from studio.sound._openai import create_openai_backend

    return create_openai_backend(settings)


register_tts_backend("espeak", _espeak)
register_tts_backend("openai", _openai)
