"""Finish an episode's sound after its pictures are stitched.

:func:`finish_episode_sound` lays the spoken lines, music and effects on the episode's
real timeline (each scene starts where the stitched episode shows it: after the frames
of the scenes before, less the frames their transitions overlap), mixes and normalises
them, writes the subtitles beside the episode (``.vtt``, ``.srt``), and muxes the AAC
audio and a ``mov_text`` subtitle track into the episode mp4 (the video stream is
copied, not re-encoded). A record of it all, ``episode_NN.sound.json``, sits beside
the episode for the report, the panels and ``studio export-timeline``.

Any :class:`~studio.sound.SoundError` leaves the episode mp4 as stitched (silent) and is
written into the record; nothing else is lost.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio._exceptions import StudioError
from studio._video import probe
from studio.project._screenplay import MusicSpec, SceneSpec, SoundEffectSpec
from studio.sound._mix import (
    FFMPEG_TIMEOUT_SECONDS,
    MusicRun,
    PlacedSound,
    decode_file,
    loudness_normalise,
    mix_blocks,
)
from studio.sound._speech import EpisodeSpeech
from studio.sound._subtitles import Cue, srt_text, webvtt_text
from studio.sound._tts import SAMPLE_RATE, MixError, WavWriter, read_wav

__all__ = ["SceneOnTimeline", "finish_episode_sound", "read_sound_record", "sound_record_path"]

log = logging.getLogger("studio.sound")


@dataclass(frozen=True)
class SceneOnTimeline:
    """A stitched scene as it sits in the episode."""

    spec: SceneSpec
    video: Path
    start_frame: int  # in the episode
    frames: int  # of the scene's own video
    overlap_out: int  # frames shared with the next scene by its transition


def sound_record_path(video: Path) -> Path:
    return video.with_suffix(".sound.json")


def read_sound_record(video: Path) -> dict[str, Any] | None:
    """The episode's sound record, or ``None`` when it was never finished with sound."""
    path = sound_record_path(video)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def lay_out_scenes(scenes: Sequence[tuple[SceneSpec, Path, int]], fps: float) -> list[SceneOnTimeline]:
    """Place scenes ``(spec, video, overlap frames into the next)`` on the episode."""
    placed, start = [], 0
    for spec, video, overlap in scenes:
        frames = probe(video).frames
        placed.append(SceneOnTimeline(spec, video, start, frames, overlap))
        start += frames - overlap
    return placed


def finish_episode_sound(
    home: Path,
    video: Path,
    speech: EpisodeSpeech,
    scenes: Sequence[SceneOnTimeline],
    *,
    episode_music: MusicSpec | None = None,
    episode_effects: Sequence[SoundEffectSpec] = (),
) -> dict[str, Any]:
    """Mix, subtitle and mux the episode's sound into ``video``; return the record.

    Never raises a :class:`~studio.sound.SoundError` (nor any studio error or
    ``OSError`` on the way): it is recorded (``error``) and the silent episode is kept.
    """
    record: dict[str, Any] = {
        "backend": speech.backend,
        "lines": [],
        "notes": list(speech.notes),
        "error": speech.error,
        "audio": None,
        "dialogue": None,
        "subtitles": None,
    }
    if speech.error is None:
        try:
            record.update(_finish(home, video, speech, scenes, episode_music, episode_effects))
        except (StudioError, OSError) as error:  # SoundError, or an unreadable file: never the pictures
            record["error"] = f"{type(error).__name__}: {error}"
            log.error("the episode's sound failed; the silent episode is kept: %s", error)
    path = sound_record_path(video)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(record, indent=2), encoding="utf-8")
    os.replace(partial, path)
    return record


def _finish(
    home: Path,
    video: Path,
    speech: EpisodeSpeech,
    scenes: Sequence[SceneOnTimeline],
    episode_music: MusicSpec | None,
    episode_effects: Sequence[SoundEffectSpec],
) -> dict[str, Any]:
    info = probe(video)
    fps = info.fps
    total_seconds = info.frames / fps
    starts = {s.spec.number: s.start_frame / fps for s in scenes}
    lines, dialogue, cues = [], [], []
    for line in speech.lines:
        offset = starts[line.scene]
        samples = read_wav(home / line.audio)
        dialogue.append(PlacedSound(samples, offset + line.start))
        start, end = offset + line.start, offset + line.start + len(samples) / SAMPLE_RATE
        cues.append(Cue(start, end, line.speaker, line.text))
        lines.append({**line.as_dict(), "episode_start": round(start, 4), "episode_end": round(end, 4)})
    music = _music_runs(home, scenes, fps, total_seconds, episode_music)
    effects = [
        PlacedSound(decode_file(home / e.file), starts[s.spec.number] + e.at, e.volume_db)
        for s in scenes
        for e in s.spec.effects
    ] + [PlacedSound(decode_file(home / e.file), e.at, e.volume_db) for e in episode_effects]
    audio = video.with_suffix(".m4a")
    stem_path = video.with_suffix(".dialogue.wav")
    vtt, srt = video.with_suffix(".vtt"), video.with_suffix(".srt")
    with tempfile.TemporaryDirectory(dir=video.parent, prefix=".sound-") as work:
        source = Path(work) / "mix.wav"
        with WavWriter(source, channels=2) as mixed, WavWriter(stem_path, channels=1) as voices:
            for block, stem in mix_blocks(total_seconds, dialogue=dialogue, music=music, effects=effects):
                mixed.write(np.clip(block, -1.0, 1.0))
                voices.write(stem)
        measured = loudness_normalise(source, audio, silent=mixed.peak < 1e-4)
        vtt.write_text(webvtt_text(cues), encoding="utf-8")
        srt.write_text(srt_text(cues), encoding="utf-8")
        _mux(video, audio, srt if cues else None, Path(work))
    return {
        "lines": lines,
        "audio": audio.name,
        "dialogue": stem_path.name,
        "subtitles": {"vtt": vtt.name, "srt": srt.name},
        "input_loudness_lufs": measured,
        "music": [
            {"file": str(run[0]), "start": round(run[1], 4), "end": round(run[2], 4)}
            for run in _music_spans(scenes, fps, total_seconds, episode_music)
        ],
        "seconds": round(total_seconds, 4),
        "sample_rate": SAMPLE_RATE,
    }


def _music_spans(
    scenes: Sequence[SceneOnTimeline], fps: float, total: float, episode_music: MusicSpec | None
) -> list[tuple[str, float, float, float]]:
    """``(file, start, end, gain)`` runs: consecutive scenes with the same music play
    one continuous run; a change of music happens at the scene's first frame."""
    runs: list[tuple[str, float, float, float]] = []
    for scene in scenes:
        chosen = scene.spec.music or episode_music
        start = scene.start_frame / fps
        end = min(total, (scene.start_frame + scene.frames - scene.overlap_out) / fps)
        if scene is scenes[-1]:
            end = total
        if chosen is None:
            continue
        if runs and runs[-1][0] == chosen.file and abs(runs[-1][2] - start) < 1e-6:
            runs[-1] = (chosen.file, runs[-1][1], end, runs[-1][3])
        else:
            runs.append((chosen.file, start, end, chosen.volume_db))
    return runs


def _music_runs(
    home: Path, scenes: Sequence[SceneOnTimeline], fps: float, total: float, episode_music: MusicSpec | None
) -> list[MusicRun]:
    decoded: dict[str, Any] = {}
    runs = []
    for file, start, end, gain in _music_spans(scenes, fps, total, episode_music):
        if file not in decoded:
            decoded[file] = decode_file(home / file)
        runs.append(MusicRun(decoded[file], start, end, gain, fade_in=True, fade_out=True))
    return runs


def _mux(video: Path, audio: Path, subtitles: Path | None, work: Path) -> None:
    """Put the audio (copied) and subtitles (``mov_text``) beside the copied video."""
    out = work / "muxed.mp4"
    command = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-i", str(video), "-i", str(audio)]
    if subtitles is not None:
        command += ["-i", str(subtitles)]
    command += ["-map", "0:v:0", "-map", "1:a:0"]
    if subtitles is not None:
        command += ["-map", "2:0", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
    command += ["-c:v", "copy", "-c:a", "copy", "-metadata:s:a:0", "language=eng"]
    command += ["-movflags", "+faststart", str(out)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        raise MixError(f"ffmpeg could not mux the episode's sound: {error}") from error
    if done.returncode != 0:
        raise MixError(f"ffmpeg could not mux the episode's sound: {done.stderr.strip()[-400:]}")
    os.replace(out, video)
