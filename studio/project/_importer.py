"""Screenplay <-> database: import (idempotent, change-detecting) and export.

Import runs in one transaction: an error leaves the database untouched. Rows are
matched by identity (project title, character name, episode number, scene number) and
updated in place. A scene whose content changed (its own fields, the characters it
shows, or the render defaults) is marked ``stale`` so the next render regenerates it;
unchanged scenes keep their generated segments. Re-importing an unchanged file writes
nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.project._screenplay import (
    CharacterSpec,
    DefaultsSpec,
    EpisodeSpec,
    SceneSpec,
    Screenplay,
    load_screenplay,
)
from studio.sound._files import episode_sound, exported_sound, store_sound_files
from studio.storage._database import Database
from studio.storage._models import (
    CharacterModel,
    CharacterSceneMemoryModel,
    EpisodeModel,
    ProjectModel,
    SceneModel,
    StoryStateMemoryModel,
    VisualStyleMemoryModel,
)
from studio.storage._queries import find_or_raise_project
from studio.storage._states import SceneState

__all__ = [
    "ImportSummary",
    "dump_screenplay",
    "export_screenplay",
    "import_file",
    "import_screenplay",
]

REFERENCES_DIR = "references"


_KINDS = ("characters", "episodes", "scenes")


@dataclass
class ImportSummary:
    """What an import did, per kind of row."""

    project: str
    project_created: bool = False
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    stale_scenes: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.project_created or any(
            sum(counts.values()) for counts in (self.created, self.updated, self.deleted)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "project_created": self.project_created,
            "changed": self.changed,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "stale_scenes": self.stale_scenes,
        }

    def describe(self) -> str:
        if not self.changed:
            return f"{self.project}: nothing changed"
        parts = []
        for verb, counts in (("created", self.created), ("updated", self.updated), ("deleted", self.deleted)):
            done = [f"{n} {kind if n != 1 else kind[:-1]}" for kind, n in counts.items() if n]
            if done:
                parts.append(f"{verb} " + ", ".join(done))
        text = f"{self.project}: " + "; ".join(parts or ["project settings updated"])
        if self.stale_scenes:
            which = "scene" if len(self.stale_scenes) == 1 else "scenes"
            text += f"; {which} marked stale: {', '.join(map(str, self.stale_scenes))}"
        return text


def import_file(database: Database, path: str | Path, *, home: Path) -> ImportSummary:
    """Validate the screenplay at ``path`` and import it (see :func:`import_screenplay`)."""
    # Exported screenplays name their images by absolute paths into the home's copies.
    screenplay = load_screenplay(path, allowed_dirs=[home / REFERENCES_DIR])
    screenplay = _store_references(screenplay, base_dir=Path(path).parent, home=home)
    screenplay = store_sound_files(screenplay, base_dir=Path(path).parent, home=home)
    return import_screenplay(database, screenplay)


def import_screenplay(database: Database, screenplay: Screenplay) -> ImportSummary:
    """Write a validated screenplay in one transaction.

    Reference image paths must already be relative to the studio home (see
    :func:`import_file`). Raises :class:`studio.StorageError` on database failure, with
    nothing written.
    """
    summary = ImportSummary(project=screenplay.title)
    with database.session() as session:
        project = session.scalars(
            select(ProjectModel).where(ProjectModel.title == screenplay.title)
        ).one_or_none()
        if project is None:
            project = ProjectModel(title=screenplay.title, meta={})
            session.add(project)
            summary.project_created = True
        defaults = screenplay.defaults
        _assign(
            project,
            description=screenplay.description or None,
            target_fps=defaults.fps,
            resolution_width=defaults.width,
            resolution_height=defaults.height,
            style_preset=defaults.style_preset,
            meta={**(project.meta or {}), "defaults": defaults.model_dump(mode="json")},
        )
        session.flush()
        characters = _sync_characters(session, project, screenplay.characters, summary)
        _sync_episodes(session, project, screenplay, characters, summary)
        scene_count = sum(len(e.scenes) for e in screenplay.episodes)
        _assign(project, total_scenes=scene_count)
    return summary


def _sync_characters(
    session: Session, project: ProjectModel, specs: list[CharacterSpec], summary: ImportSummary
) -> dict[str, CharacterModel]:
    existing = {c.character_name: c for c in project.characters}
    result: dict[str, CharacterModel] = {}
    for spec in specs:
        row = existing.pop(spec.name, None)
        if row is None:
            row = CharacterModel(project_id=project.id, character_name=spec.name, meta={})
            session.add(row)
            summary.created["characters"] += 1
        values = dict(
            description=spec.description or None,
            character_prompt=spec.prompt or None,
            negative_prompt=spec.negative or None,
            palette=list(spec.palette),
            reference_images=list(spec.reference_images),
            lora_name=spec.lora.name if spec.lora else None,
            lora_strength=spec.lora.strength if spec.lora else None,
            lora_family=spec.lora.family if spec.lora else None,
            voice_id=spec.voice.id or None,
            voice_speed=spec.voice.speed,
            voice_pitch=spec.voice.pitch,
            meta={**(row.meta or {}), "spec": spec.model_dump(mode="json")},
        )
        if _assign(row, **values) and row.id is not None:
            summary.updated["characters"] += 1
        elif row.id is not None:
            summary.unchanged["characters"] += 1
        result[spec.name] = row
    for row in existing.values():
        session.delete(row)
        summary.deleted["characters"] += 1
    session.flush()
    return result


def _sync_episodes(
    session: Session,
    project: ProjectModel,
    screenplay: Screenplay,
    characters: dict[str, CharacterModel],
    summary: ImportSummary,
) -> None:
    episodes = {e.episode_number: e for e in project.episodes}
    scenes = {
        s.scene_number: s
        for s in session.scalars(select(SceneModel).where(SceneModel.movie_id == project.id))
    }
    for spec in screenplay.episodes:
        row = episodes.pop(spec.number, None)
        if row is None:
            row = EpisodeModel(movie_id=project.id, episode_number=spec.number)
            session.add(row)
            summary.created["episodes"] += 1
        minutes = round(sum(s.duration for s in spec.scenes) / 60, 4)
        changed = _assign(
            row,
            title=spec.title or None,
            synopsis=spec.synopsis or None,
            target_duration_minutes=minutes,
            sound=episode_sound(spec),
        )
        if row.id is not None:
            (summary.updated if changed else summary.unchanged)["episodes"] += 1
        session.flush()
        for scene_spec in spec.scenes:
            _sync_scene(session, project, row, scene_spec, screenplay, characters, scenes, summary)
    for row in episodes.values():
        session.delete(row)
        summary.deleted["episodes"] += 1
    for scene in scenes.values():
        session.delete(scene)
        summary.deleted["scenes"] += 1


def _sync_scene(
    session: Session,
    project: ProjectModel,
    episode: EpisodeModel,
    spec: SceneSpec,
    screenplay: Screenplay,
    characters: dict[str, CharacterModel],
    scenes: dict[int, SceneModel],
    summary: ImportSummary,
) -> None:
    content_hash = scene_hash(spec, screenplay)
    row = scenes.pop(spec.number, None)
    if row is None:
        row = SceneModel(movie_id=project.id, scene_number=spec.number, status=SceneState.PENDING)
        session.add(row)
        summary.created["scenes"] += 1
    elif row.content_hash == content_hash and row.episode_id == episode.id:
        # Sound-only changes (a line's `at`, music, effects) keep the pictures.
        _assign(row, spec=spec.model_dump(mode="json"))
        summary.unchanged["scenes"] += 1
        return
    else:
        summary.updated["scenes"] += 1
        if row.status != SceneState.PENDING or row.segments:
            row.status = SceneState.STALE
            summary.stale_scenes.append(spec.number)
    _assign(
        row,
        episode_id=episode.id,
        scene_title=spec.title or None,
        description=spec.description or None,
        target_duration_seconds=spec.duration,
        location=spec.location or None,
        time_of_day=spec.time_of_day or None,
        weather=spec.weather or None,
        mood=spec.mood or None,
        spec=spec.model_dump(mode="json"),
        content_hash=content_hash,
    )
    session.flush()
    _initialise_memory(session, row, spec, screenplay, characters)


def _initialise_memory(
    session: Session,
    scene: SceneModel,
    spec: SceneSpec,
    screenplay: Screenplay,
    characters: dict[str, CharacterModel],
) -> None:
    """Write the scene's memory rows from the screenplay (the seed's initialize_scene_memory)."""
    story = session.scalars(
        select(StoryStateMemoryModel).where(StoryStateMemoryModel.scene_id == scene.id)
    ).one_or_none() or StoryStateMemoryModel(scene_id=scene.id)
    _assign(
        story,
        plot_summary=spec.description or spec.title or None,
        tension_level=spec.tension,
        pacing=spec.pacing,
        story_beat=spec.story_beat or None,
        key_dialogue=[d.model_dump(exclude_none=True) for d in spec.dialogue],
        transition_to_next=spec.transition,
    )
    session.add(story)
    style = session.scalars(
        select(VisualStyleMemoryModel).where(VisualStyleMemoryModel.scene_id == scene.id)
    ).one_or_none() or VisualStyleMemoryModel(scene_id=scene.id)
    palette = [colour for c in spec.characters for colour in screenplay.character(c.name).palette[:1]]
    _assign(
        style,
        lighting_type=spec.lighting or None,
        camera_angle=spec.camera.angle,
        camera_movement=spec.camera.movement,
        style_keywords=list(spec.style),
        negative_style_keywords=list(spec.negative),
        primary_colors=palette,
    )
    session.add(style)
    existing = {
        m.character_id: m
        for m in session.scalars(
            select(CharacterSceneMemoryModel).where(CharacterSceneMemoryModel.scene_id == scene.id)
        )
    }
    for present in spec.characters:
        character = characters[present.name]
        memory = existing.pop(character.id, None) or CharacterSceneMemoryModel(
            scene_id=scene.id, character_id=character.id
        )
        # Only what the scene states; gaps are filled by propagation at render time.
        _assign(
            memory,
            outfit_description=present.outfit or None,
            hair_style=present.hair or None,
            accessories=list(present.accessories),
            facial_expression=present.expression or None,
            body_pose=present.pose or None,
            position_description=present.position or None,
            facing_direction=present.facing,
            action=present.action or None,
            exited_scene_at=0 if present.exits else None,
            carried_from_scene=None,
        )
        session.add(memory)
    for memory in existing.values():
        session.delete(memory)


def scene_hash(spec: SceneSpec, screenplay: Screenplay) -> str:
    """Everything that changes a scene's pixels: its spec, its characters, the defaults."""
    names = sorted({c.name for c in spec.characters})
    document = {
        # Sound changes no pixel: voices, line times, music and effects stay out of it,
        # so a project imported before they existed keeps its rendered scenes.
        "scene": spec.model_dump(mode="json", exclude=_SOUND_ONLY_SCENE),
        "characters": [screenplay.character(n).model_dump(mode="json", exclude={"voice"}) for n in names],
        "defaults": _render_defaults(screenplay.defaults),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_SOUND_ONLY_SCENE: Any = {"music": True, "effects": True, "dialogue": {"__all__": {"at"}}}


def _render_defaults(defaults: DefaultsSpec) -> dict[str, Any]:
    return defaults.model_dump(
        mode="json", include={"fps", "width", "height", "style_preset", "negative_prompt"}
    )


def _assign(row: Any, **values: Any) -> bool:
    """Set only the attributes that differ, so an unchanged import issues no UPDATE."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _store_references(screenplay: Screenplay, *, base_dir: Path, home: Path) -> Screenplay:
    """Copy reference images into the home (content-addressed) and point the specs there."""
    characters = []
    for character in screenplay.characters:
        stored = []
        for image in character.reference_images:
            source = (base_dir / image).resolve()
            if source.is_relative_to(home.resolve()):  # already ours (an exported file)
                stored.append(source.relative_to(home.resolve()).as_posix())
                continue
            digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
            relative = Path(REFERENCES_DIR) / f"{digest}-{source.name}"
            target = home / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            stored.append(relative.as_posix())
        characters.append(character.model_copy(update={"reference_images": stored}))
    return screenplay.model_copy(update={"characters": characters})


# ---------------------------------------------------------------------------- export


def export_screenplay(database: Database, *, project: str | None = None, home: Path) -> Screenplay:
    """Rebuild the screenplay of a project from the database.

    Reference images point at their copies in the home (absolute paths), so the
    exported file re-imports to the same database from any folder.
    """
    with database.session() as session:
        row = find_or_raise_project(session, project)
        defaults = DefaultsSpec.model_validate((row.meta or {}).get("defaults", {}))
        characters = []
        for character in row.characters:
            spec = CharacterSpec.model_validate(
                (character.meta or {}).get("spec", {"name": character.character_name})
            )
            images = [str(home / image) for image in spec.reference_images]
            characters.append(spec.model_copy(update={"reference_images": images}))
        episodes = []
        for episode in row.episodes:
            scenes = [
                exported_sound(SceneSpec.model_validate(scene.spec), home) for scene in episode.scenes
            ]
            episode_spec = EpisodeSpec(
                number=episode.episode_number,
                title=episode.title or "",
                synopsis=episode.synopsis or "",
                scenes=scenes,
                **(episode.sound or {}),
            )
            episodes.append(exported_sound(episode_spec, home))
        return Screenplay(
            title=row.title,
            description=row.description or "",
            defaults=defaults,
            characters=characters,
            episodes=episodes,
        )


def dump_screenplay(screenplay: Screenplay) -> str:
    """YAML text of a screenplay, leaving out fields that hold their defaults."""
    data = screenplay.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("title", screenplay.title)
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
