"""Speak an episode's dialogue before its pictures are planned.

:func:`speak_episode` gives every line its speaker's voice, speaks it (or reads it from
the :class:`~studio.sound._cache.SpeechCache`), places it in its scene
(:func:`~studio.sound._timing.place_lines`) and says how long each scene must be.
When speech outlasts a scene, the project's ``defaults.speech_overflow`` decides:
``extend`` lengthens the scene (and says so), ``refuse`` stops the render before a
frame is generated. A speech engine that fails leaves :attr:`EpisodeSpeech.error` set
and no lines: the render goes on silent, and the error is reported with it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio._exceptions import RenderError
from studio.project._screenplay import DefaultsSpec, SceneSpec
from studio.sound._cache import SpeechCache
from studio.sound._timing import place_lines
from studio.sound._tts import SoundError, SpeechError, SpeechRequest, TtsBackend, Voice, create_tts_backend
from studio.storage._queries import find_or_raise_episode, find_or_raise_project

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["EpisodeSpeech", "SpokenLine", "speak_episode"]

log = logging.getLogger("studio.sound")
CONCURRENT_LINES = 4


@dataclass(frozen=True)
class SpokenLine:
    scene: int
    index: int  # within the scene's dialogue
    speaker: str
    text: str
    voice: Voice
    start: float  # seconds into the scene, when the voice is first heard
    end: float
    audio: str  # the cached WAV, relative to the home
    cached: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "scene": self.scene,
            "index": self.index,
            "speaker": self.speaker,
            "text": self.text,
            "voice": {"id": self.voice.id, "speed": self.voice.speed, "pitch": self.voice.pitch},
            "start": round(self.start, 4),
            "end": round(self.end, 4),
            "audio": self.audio,
            "cached": self.cached,
        }


@dataclass
class EpisodeSpeech:
    backend: str
    lines: list[SpokenLine] = field(default_factory=list)
    scene_seconds: dict[int, float] = field(default_factory=dict)  # scenes that must be longer
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def spoken(self) -> int:
        return sum(1 for line in self.lines if not line.cached)


async def speak_episode(
    studio: Studio, *, episode: int, project: str | None = None, backend: TtsBackend | None = None
) -> EpisodeSpeech:
    """Speak and place every dialogue line of an episode (see the module docstring).

    Raises:
        RenderError: speech outlasts a scene and ``speech_overflow`` is ``refuse``.
        NotFoundError: unknown project or episode.
    """
    scenes, voices, defaults = _read_episode(studio, episode, project)
    own = backend is None
    engine = backend
    try:
        engine = engine or create_tts_backend(studio.settings.tts_backend, studio.settings)
    except Exception as error:  # a misconfigured engine is a sound failure, not a render failure
        return _failed(studio.settings.tts_backend, error)
    result = EpisodeSpeech(backend=engine.name)
    try:
        lines = await _speak_all(studio.home, engine, scenes, voices)
    except SoundError as error:
        return _failed(engine.name, error)
    finally:
        if own:
            await engine.aclose()
    for spec in scenes:
        mine = [line for line in lines if line[0] == spec.number]
        placement = place_lines([d for *_, d in mine], [spec.dialogue[i].at for _, i, *_ in mine])
        result.notes += [f"scene {spec.number}: {note}" for note in placement.notes]
        for (number, index, voice, audio, cached, _), placed in zip(mine, placement.lines, strict=True):
            line = spec.dialogue[index]
            result.lines.append(
                SpokenLine(
                    number, index, line.speaker, line.line, voice, placed.start, placed.end, audio, cached
                )
            )
        if placement.needed_seconds > spec.duration:
            needed = placement.needed_seconds
            if defaults.speech_overflow == "refuse":
                raise RenderError(
                    f"scene {spec.number}: its dialogue needs {needed:.2f} s but the scene lasts "
                    f"{spec.duration:g} s; lengthen the scene's duration, shorten its lines, or set "
                    "defaults.speech_overflow: extend",
                    episode=episode,
                    scene=spec.number,
                )
            result.scene_seconds[spec.number] = needed
            result.notes.append(
                f"scene {spec.number}: speech runs {needed:.2f} s, longer than its {spec.duration:g} s; "
                f"the scene is extended to {needed:.2f} s"
            )
    for note in result.notes:
        log.warning("%s", note)
    return result


def _failed(name: str, error: Exception) -> EpisodeSpeech:
    message = f"{type(error).__name__}: {error}"
    log.error("dialogue was not spoken, the episode stays silent: %s", message)
    return EpisodeSpeech(backend=name, error=message)


def _read_episode(
    studio: Studio, episode: int, project: str | None
) -> tuple[list[SceneSpec], dict[str, Voice], DefaultsSpec]:

    with studio.database.session() as session:
        project_row = find_or_raise_project(session, project)
        row = find_or_raise_episode(session, project_row, episode)
        scenes = [SceneSpec.model_validate(scene.spec) for scene in row.scenes]
        voices = {
            c.character_name: Voice(c.voice_id or "", c.voice_speed or 1.0, c.voice_pitch or 0.0)
            for c in project_row.characters
        }
        defaults = DefaultsSpec.model_validate((project_row.meta or {}).get("defaults", {}))
    return scenes, voices, defaults


async def _speak_all(
    home: Path, engine: TtsBackend, scenes: list[SceneSpec], voices: dict[str, Voice]
) -> list[tuple[int, int, Voice, str, bool, float]]:
    """``(scene, index, voice, cached file, from cache, seconds)`` per line, in order."""
    cache = SpeechCache(home)
    limit = asyncio.Semaphore(CONCURRENT_LINES)

    async def one(
        scene: int, index: int, speaker: str, text: str
    ) -> tuple[int, int, Voice, str, bool, float]:
        voice = voices.get(speaker, Voice())
        what = f"scene {scene}, line {index + 1} ({speaker}: {text[:40]!r})"
        async with limit:
            try:
                speech, path, cached = await cache.speak(engine, SpeechRequest(text, voice), what=what)
            except SpeechError as error:
                error.scene, error.speaker = scene, speaker
                if not str(error).startswith("scene "):
                    error.args = (f"{what}: {error}",)
                raise
        return scene, index, voice, path.relative_to(home).as_posix(), cached, speech.duration

    jobs = [
        one(spec.number, i, line.speaker, line.line)
        for spec in scenes
        for i, line in enumerate(spec.dialogue)
    ]
    # Every line finishes (or fails) before the engine closes; the first failure in
    # screenplay order is the one reported.
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]
