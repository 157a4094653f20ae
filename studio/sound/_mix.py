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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.sound._tts import SAMPLE_RATE, MixError

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
    "mix_blocks",
]

TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.5
LOUDNESS_RANGE = 11.0
DUCK_DB = 12.0
DUCK_ATTACK_SECONDS = 0.15
DUCK_RELEASE_SECONDS = 0.4
MUSIC_FADE_SECONDS = 0.5
BLOCK_SECONDS = 30.0  # mixed at a time
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


def duck_envelope(speech: Sequence[tuple[float, float]], total: int, *, start: int = 0) -> np.ndarray:
    """Music gain (linear) for samples ``start .. start + total``: 1 away from dialogue,
    ``-DUCK_DB`` under it, ramping over the attack before and the release after a line."""
    positions = np.arange(start, start + total)
    active = np.zeros(total, dtype=np.float32)
    attack = int(DUCK_ATTACK_SECONDS * SAMPLE_RATE)
    release = int(DUCK_RELEASE_SECONDS * SAMPLE_RATE)
    for begin, end in speech:
        a, b = int(begin * SAMPLE_RATE), int(end * SAMPLE_RATE)
        if b + release <= start or a - attack >= start + total:
            continue
        level = np.zeros(total, dtype=np.float32)
        level[(positions >= a) & (positions < b)] = 1.0
        down = (positions >= a - attack) & (positions < a)
        level[down] = (positions[down] - (a - attack)) / attack
        up = (positions >= b) & (positions < b + release)
        level[up] = 1.0 - (positions[up] - b) / release
        np.maximum(active, level, out=active)
    duck = 10 ** (-DUCK_DB / 20)
    return np.float32(1.0) - active * np.float32(1.0 - duck)


def mix_blocks(
    total_seconds: float,
    *,
    dialogue: Sequence[PlacedSound],
    music: Sequence[MusicRun] = (),
    effects: Sequence[PlacedSound] = (),
    block_seconds: float = BLOCK_SECONDS,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The episode's stereo mix and its mono dialogue stem, block by block, together
    exactly ``round(total_seconds * SAMPLE_RATE)`` samples long. Blocks keep an hour of
    sound from ever being in memory at once."""
    total = round(total_seconds * SAMPLE_RATE)
    block = max(1, round(block_seconds * SAMPLE_RATE))
    voices = [(round(s.start * SAMPLE_RATE), _mono(s.samples) * _gain(s.gain_db)) for s in dialogue]
    sounds = [(round(s.start * SAMPLE_RATE), _stereo(s.samples) * _gain(s.gain_db)) for s in effects]
    spans = [(s.start, s.start + len(s.samples) / SAMPLE_RATE) for s in dialogue]
    for lo in range(0, total, block):
        hi = min(total, lo + block)
        stem = np.zeros(hi - lo, dtype=np.float32)
        for at, samples in voices:
            _add(stem, lo, samples, at)
        bed = np.zeros((hi - lo, 2), dtype=np.float32)
        for run in music:
            _add_music(bed, lo, run)
        bed *= duck_envelope(spans, hi - lo, start=lo)[:, None]
        out = bed + stem[:, None]
        for at, samples in sounds:
            _add(out, lo, samples, at)
        yield out, stem


def mix(
    total_seconds: float,
    *,
    dialogue: Sequence[PlacedSound],
    music: Sequence[MusicRun] = (),
    effects: Sequence[PlacedSound] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mix_blocks` in one piece (for short sounds and checks)."""
    blocks = list(mix_blocks(total_seconds, dialogue=dialogue, music=music, effects=effects))
    if not blocks:
        return np.zeros((0, 2), dtype=np.float32), np.zeros(0, dtype=np.float32)
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def _add(target: np.ndarray, lo: int, samples: np.ndarray, at: int) -> None:
    """Add ``samples`` (starting at sample ``at``) to ``target`` (starting at ``lo``)."""
    start, end = max(at, lo), min(at + len(samples), lo + len(target))
    if start < end:
        target[start - lo : end - lo] += samples[start - at : end - at]


def _add_music(bed: np.ndarray, lo: int, run: MusicRun) -> None:
    a, b = round(run.start * SAMPLE_RATE), round(run.end * SAMPLE_RATE)
    start, end = max(a, lo), min(b, lo + len(bed))
    if start >= end:
        return
    index = np.arange(start - a, end - a)  # position in the run
    piece = run.samples[index % len(run.samples)] * _gain(run.gain_db)
    fade = min(round(MUSIC_FADE_SECONDS * SAMPLE_RATE), (b - a) // 2)
    if fade > 1:
        gain = np.ones(len(index), dtype=np.float32)
        if run.fade_in:
            gain = np.minimum(gain, index / (fade - 1))
        if run.fade_out:
            gain = np.minimum(gain, (b - a - 1 - index) / (fade - 1))
        piece *= gain.astype(np.float32)[:, None]
    bed[start - lo : end - lo] += piece


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


def loudness_normalise(source: Path, out: Path, *, silent: bool) -> float | None:
    """Encode the stereo WAV ``source`` to ``out`` as AAC at −16 LUFS; return the measured
    integrated loudness of the input (``None`` for silence, which is encoded as is)."""
    encode = ["-ar", str(SAMPLE_RATE), "-ac", "2", "-c:a", "aac", "-b:a", AAC_BITRATE, str(out)]
    if silent:
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
