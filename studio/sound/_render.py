"""The two places the render pipeline calls into sound: before planning, after stitching."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.project._screenplay import EpisodeSpec
from studio.render._memory import SceneBrief
from studio.sound._episode import finish_episode_sound, lay_out_scenes
from studio.sound._speech import EpisodeSpeech, speak_episode
from studio.storage._models import SceneModel

if TYPE_CHECKING:
    from studio._studio import Studio

__all__ = ["finish_sound", "speak_episode"]


def finish_sound(
    studio: Studio,
    briefs: Sequence[SceneBrief],
    video: Path,
    speech: EpisodeSpeech,
    *,
    transition_seconds: float,
) -> dict[str, Any]:
    """Mix and mux the episode's sound into ``video`` (see :mod:`studio.sound._episode`)."""
    home = studio.home
    scenes = []
    with studio.database.session() as session:
        episode_sound: dict[str, Any] = {}
        for brief in briefs:
            row = session.get(SceneModel, brief.scene_id)
            assert row is not None and row.final_video_path
            episode_sound = (row.episode.sound if row.episode is not None else None) or {}
            cut = brief is briefs[-1] or brief.spec.transition == "cut"
            overlap = 0 if cut else round(transition_seconds * brief.defaults.fps)
            scenes.append((brief.spec, home / row.final_video_path, overlap))
    fps = float(briefs[0].defaults.fps)
    sound = EpisodeSpec(number=briefs[0].episode, **episode_sound)
    return finish_episode_sound(
        home,
        video,
        speech,
        lay_out_scenes(scenes, fps),
        episode_music=sound.music,
        episode_effects=sound.effects,
    )
