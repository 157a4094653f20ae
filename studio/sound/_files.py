"""Music and effect files named by a screenplay: copied into the home on import.

Like reference images, each file is copied once, content-addressed
(``sound/<sha256[:12]>-<name>``), and the spec then points at the copy, relative to
the home: the database never holds a path outside it. An export points at the copies
with absolute paths, so the exported screenplay re-imports from any folder.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any, TypeVar

from studio.project._screenplay import EpisodeSpec, MusicSpec, SceneSpec, Screenplay, SoundEffectSpec

__all__ = ["SOUND_DIR", "episode_sound", "exported_sound", "store_sound_files"]

SOUND_DIR = "sound"

_WithSound = TypeVar("_WithSound", SceneSpec, EpisodeSpec)


def store_sound_files(screenplay: Screenplay, *, base_dir: Path, home: Path) -> Screenplay:
    """Copy every music and effect file into the home and point the specs at the copies."""
    episodes = []
    for episode in screenplay.episodes:
        scenes = [_stored(scene, base_dir, home) for scene in episode.scenes]
        episodes.append(_stored(episode, base_dir, home).model_copy(update={"scenes": scenes}))
    return screenplay.model_copy(update={"episodes": episodes})


def episode_sound(spec: EpisodeSpec) -> dict[str, Any] | None:
    """What ``movie_episodes.sound`` stores for an episode (``None`` when it has none)."""
    if spec.music is None and not spec.effects:
        return None
    return {
        "music": spec.music.model_dump(mode="json") if spec.music else None,
        "effects": [effect.model_dump(mode="json") for effect in spec.effects],
    }


def exported_sound(spec: _WithSound, home: Path) -> _WithSound:
    """The spec with its sound files as absolute paths into ``home``."""
    return _rewrite(spec, lambda name: str(home / name))


def _stored(spec: _WithSound, base_dir: Path, home: Path) -> _WithSound:
    return _rewrite(spec, lambda name: _copy_into_home(base_dir / name, home))


def _rewrite(spec: _WithSound, path_of: Any) -> _WithSound:
    music: MusicSpec | None = spec.music
    if music is not None:
        music = music.model_copy(update={"file": path_of(music.file)})
    effects: list[SoundEffectSpec] = [
        effect.model_copy(update={"file": path_of(effect.file)}) for effect in spec.effects
    ]
    return spec.model_copy(update={"music": music, "effects": effects})


def _copy_into_home(path: Path, home: Path) -> str:
    source = path.expanduser().resolve()
    if source.is_relative_to(home.resolve()):  # already ours (an exported file)
        return source.relative_to(home.resolve()).as_posix()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    relative = Path(SOUND_DIR) / f"{digest}-{source.name}"
    target = home / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return relative.as_posix()
