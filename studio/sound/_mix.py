"""Mix an episode's sound: dialogue, music ducked under it, effects; then −16 LUFS.

The mix is sample arithmetic on numpy arrays at :data:`~studio.sound._tts.SAMPLE_RATE`
(dialogue centred, music and effects in stereo), so every line lands on the exact
sample its subtitle names. Music is *ducked* by an envelope that follows the dialogue:
it falls by :data:`DUCK_DB` from :data:`DUCK_ATTACK_SECONDS` before a line starts
and comes back over :data:`DUCK_RELEASE_SECONDS` after it ends. Where the music changes
at a scene transition, the old music fades out and the new one fades in over
:data:`MUSIC_FADE_SECONDS`. Loudness is then normalised with ffmpeg's ``loudnorm`` (EBU
R128) in two passes: measure, then a linear gain to :data:`TARGET_LUFS` integrated
with a −1.5 dBTP ceiling, encoded as 48 kHz stereo AAC.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.sound._tts import SAMPLE_RATE, MixError, write_wav

__all__ = [
    "DUCK_DB",
    "TARGET_LUFS",
    "MusicRun",
    "PlacedSound",
    "decode_file",
    "duck_envelope",
    "loudness_normalise",
    "measure_loudness",
    "mix",
]

TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.5
LOUDNESS_RANGE = 11.0
DUCK_DB = 12.0
DUCK_ATTACK_SECONDS = 0.15
DUCK_RELEASE_SECONDS = 0.4
MUSIC_FADE_SECONDS = 0.5
AAC_BITRATE = "192k"
FFMPEG_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class PlacedSound:
    """A mono or stereo sound starting at ``start`` seconds of the episode."""

    samples: np.ndarray
    start: float
    gain_db: float = 0.0


@dataclass(frozen=True)
class MusicRun:
    """One music file under the episode from ``start`` to ``end`` seconds (looped)."""

    samples: np.ndarray  # stereo (n, 2)
    start: float
    end: float
    gain_db: float
    fade_in: bool
    fade_out: bool


def decode_file(path: Path) -> np.ndarray:
    """Any audio file as float32 stereo ``(n, 2)`` at :data:`SAMPLE_RATE`.

    Raises:
        MixError: missing, unreadable or silent-less-than-nothing (no audio stream).
    """
    import av

    if not path.is_file():
        raise MixError(f"sound file {path} does not exist; import the screenplay again")
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise MixError(f"{path} has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="stereo", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                chunks += [out.to_ndarray().reshape(-1, 2) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1, 2) for out in resampler.resample(None)]
    except (av.FFmpegError, ValueError) as error:
        raise MixError(f"cannot read sound file {path}: {error}") from error
    if not chunks:
        raise MixError(f"{path} holds no audio samples")
    return np.concatenate(chunks).astype(np.float32)


def duck_envelope(speech: Sequence[tuple[float, float]], total: int) -> np.ndarray:
    """Per-sample music gain (linear): 1 away from dialogue, ``-DUCK_DB`` under it."""
    active = np.zeros(total, dtype=np.float32)
    attack = int(DUCK_ATTACK_SECONDS * SAMPLE_RATE)
    release = int(DUCK_RELEASE_SECONDS * SAMPLE_RATE)
    for start, end in speech:
        a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        lo, hi = max(0, a - attack), min(total, b + release)
        if lo >= hi:
            continue
        active[max(0, a) : min(total, b)] = 1.0
        if a - lo > 0:  # ramp down ahead of the line
            ramp = np.linspace(0.0, 1.0, a - lo, endpoint=False, dtype=np.float32)
            active[lo:a] = np.maximum(active[lo:a], ramp)
        if hi - b > 0:  # and back up after it
            ramp = np.linspace(1.0, 0.0, hi - b, endpoint=False, dtype=np.float32)
            active[b:hi] = np.maximum(active[b:hi], ramp)
    duck = 10 ** (-DUCK_DB / 20)
    return np.float32(1.0) - active * np.float32(1.0 - duck)


def mix(
    total_seconds: float,
    *,
    dialogue: Sequence[PlacedSound],
    music: Sequence[MusicRun] = (),
    effects: Sequence[PlacedSound] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The episode's stereo mix and its mono dialogue stem, each exactly
    ``round(total_seconds * SAMPLE_RATE)`` samples long."""
    total = round(total_seconds * SAMPLE_RATE)
    stem = np.zeros(total, dtype=np.float32)
    for sound in dialogue:
        _add(stem, _mono(sound.samples) * _gain(sound.gain_db), sound.start)
    bed = np.zeros((total, 2), dtype=np.float32)
    for run in music:
        a, b = round(run.start * SAMPLE_RATE), min(total, round(run.end * SAMPLE_RATE))
        if b <= a:
            continue
        reps = -(-(b - a) // len(run.samples))
        piece = np.tile(run.samples, (reps, 1))[: b - a] * _gain(run.gain_db)
        fade = min(round(MUSIC_FADE_SECONDS * SAMPLE_RATE), (b - a) // 2)
        if fade and run.fade_in:
            piece[:fade] *= np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
        if fade and run.fade_out:
            piece[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
        bed[a:b] += piece
    bed *= duck_envelope([(s.start, s.start + len(s.samples) / SAMPLE_RATE) for s in dialogue], total)[
        :, None
    ]
    out = bed + stem[:, None]
    for sound in effects:
        _add(out, _stereo(sound.samples) * _gain(sound.gain_db), sound.start)
    return out, stem


def _add(target: np.ndarray, samples: np.ndarray, start: float) -> None:
    a = round(start * SAMPLE_RATE)
    if a >= len(target):
        return
    piece = samples[: len(target) - a]
    target[a : a + len(piece)] += piece


def _gain(db: float) -> np.float32:
    return np.float32(10 ** (db / 20))


def _mono(samples: np.ndarray) -> np.ndarray:
    return samples if samples.ndim == 1 else samples.mean(axis=1)


def _stereo(samples: np.ndarray) -> np.ndarray:
    return np.repeat(samples[:, None], 2, axis=1) if samples.ndim == 1 else samples


# --------------------------------------------------------------------------- loudness


def measure_loudness(path: Path) -> dict[str, float]:
    """ffmpeg ``loudnorm``'s measurement of a file: ``input_i`` (LUFS), ``input_tp``…"""
    filters = f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK_DBTP}:LRA={LOUDNESS_RANGE}:print_format=json"
    stderr = _ffmpeg(["-i", str(path), "-af", filters, "-f", "null", "-"], what=f"measuring {path.name}")
    return _loudnorm_json(stderr)


def loudness_normalise(samples: np.ndarray, out: Path, *, work: Path) -> float | None:
    """Write ``samples`` (stereo) to ``out`` as AAC at −16 LUFS; return the measured
    integrated loudness of the input (``None`` for silence, which is written as is)."""
    source = work / "mix.wav"
    write_wav(source, np.clip(samples, -1.0, 1.0))
    encode = ["-ar", str(SAMPLE_RATE), "-ac", "2", "-c:a", "aac", "-b:a", AAC_BITRATE, str(out)]
    if not np.any(np.abs(samples) > 1e-4):
        _ffmpeg(["-i", str(source), *encode], what="encoding the silent mix")
        return None
    measured = measure_loudness(source)
    second = (
        f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK_DBTP}:LRA={LOUDNESS_RANGE}"
        f":measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
        f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
        f":offset={measured['target_offset']}:linear=true:print_format=summary"
    )
    _ffmpeg(["-i", str(source), "-af", second, *encode], what="normalising the mix's loudness")
    return measured["input_i"]


def _loudnorm_json(stderr: str) -> dict[str, float]:
    found = re.findall(r"\{[^{}]*\}", stderr)
    if not found:
        raise MixError(f"ffmpeg loudnorm printed no measurement: {stderr[-300:]}")
    values = json.loads(found[-1])
    try:
        return {key: float(value) for key, value in values.items() if key != "normalization_type"}
    except ValueError as error:
        raise MixError(f"ffmpeg loudnorm measured nothing usable: {values}") from error


def _ffmpeg(arguments: list[str], *, what: str) -> str:
    command = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y", *arguments]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise MixError("ffmpeg is not installed; install it (apt-get install ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise MixError(f"ffmpeg took over {FFMPEG_TIMEOUT_SECONDS} s {what}") from None
    if done.returncode != 0:
        raise MixError(f"ffmpeg failed {what} (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return done.stderr
