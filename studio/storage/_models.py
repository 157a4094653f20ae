"""SQLAlchemy 2.0 ORM models: one definition per table (the seed had several).

Tables and column meanings follow the seed system (``reference/seed-system.md`` §1),
made portable: JSON instead of jsonb and ``text[]``, naive UTC timestamps (aware
columns are not portable), CHECK constraints on every status column, the seed's
unique numbering and cascade rules. Media paths are stored relative to the studio home.

Query classmethods are named by their result: ``find_by_*`` may return ``None``,
``find_or_raise_by_*`` raises :class:`studio.NotFoundError`, ``where_*`` returns a list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from studio.storage._states import (
    ChosenBy,
    EpisodeState,
    ProjectState,
    RenderPass,
    SceneState,
    SegmentState,
    TakeState,
)

# Statuses, shared with the code that moves rows between them.
PROJECT_STATUSES = tuple(state.value for state in ProjectState)
EPISODE_STATUSES = tuple(state.value for state in EpisodeState)
SCENE_STATUSES = tuple(state.value for state in SceneState)
SEGMENT_STATUSES = tuple(state.value for state in SegmentState)
TAKE_STATUSES = tuple(state.value for state in TakeState)
RENDER_PASSES = tuple(p.value for p in RenderPass)
CHOOSERS = tuple(c.value for c in ChosenBy)
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FEEDBACK_TYPES = ("automatic", "user", "review")
TRANSITIONS = ("cut", "fade", "dissolve", "wipe")
FACINGS = ("left", "right", "camera", "away")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC: the portable way to store time on SQLite and PostgreSQL alike."""
    return datetime.now(UTC).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class ProjectModel(Timestamps, Base):
    """A show or movie: the top of the hierarchy (seed: ``movie_projects``)."""

    __tablename__ = "movie_projects"
    __table_args__ = (CheckConstraint(_in("status", PROJECT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    target_duration_minutes: Mapped[float] = mapped_column(Float, default=90)
    target_fps: Mapped[int] = mapped_column(Integer, default=30)
    resolution_width: Mapped[int] = mapped_column(Integer, default=1280)
    resolution_height: Mapped[int] = mapped_column(Integer, default=720)
    style_preset: Mapped[str] = mapped_column(String(100), default="anime")
    status: Mapped[str] = mapped_column(String(20), default=ProjectState.PLANNING.value, nullable=False)
    total_scenes: Mapped[int] = mapped_column(Integer, default=0)
    completed_scenes: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Screenplay defaults beyond the columns (negative prompt, quality thresholds...).
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    episodes: Mapped[list[EpisodeModel]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EpisodeModel.episode_number",
    )
    characters: Mapped[list[CharacterModel]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CharacterModel.id",
    )


class CharacterModel(Timestamps, Base):
    """A character defined once and used in many scenes (seed: ``anime_characters``)."""

    __tablename__ = "anime_characters"
    __table_args__ = (UniqueConstraint("project_id", "character_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("movie_projects.id", ondelete="CASCADE"), index=True
    )
    character_name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    character_prompt: Mapped[str | None] = mapped_column(Text)  # prompt tokens
    negative_prompt: Mapped[str | None] = mapped_column(Text)  # negative tokens
    style_tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reference_images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    palette: Mapped[list[Any]] = mapped_column(JSON, default=list)  # "#rrggbb"
    lora_name: Mapped[str | None] = mapped_column(String(255))
    lora_strength: Mapped[float | None] = mapped_column(Float)
    lora_family: Mapped[str | None] = mapped_column(String(50))
    # The TTS voice (v0.3.0.b): id (empty: the backend's default), speed factor, semitones.
    voice_id: Mapped[str | None] = mapped_column(String(255))
    voice_speed: Mapped[float | None] = mapped_column(Float)
    voice_pitch: Mapped[float | None] = mapped_column(Float)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    last_used: Mapped[datetime | None] = mapped_column(DateTime)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    project: Mapped[ProjectModel | None] = relationship(back_populates="characters")


class EpisodeModel(Timestamps, Base):
    __tablename__ = "movie_episodes"
    __table_args__ = (
        UniqueConstraint("movie_id", "episode_number"),
        CheckConstraint(_in("status", EPISODE_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movie_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    episode_number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str | None] = mapped_column(String(255))
    synopsis: Mapped[str | None] = mapped_column(Text)
    target_duration_minutes: Mapped[float] = mapped_column(Float, default=24)
    status: Mapped[str] = mapped_column(String(20), default=EpisodeState.PENDING.value, nullable=False)
    final_video_path: Mapped[str | None] = mapped_column(Text)
    # Episode-wide music and effects (v0.3.0.b): {"music": {...} | None, "effects": [...]}.
    sound: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report_path: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    project: Mapped[ProjectModel] = relationship(back_populates="episodes")
    scenes: Mapped[list[SceneModel]] = relationship(
        back_populates="episode", order_by="SceneModel.scene_number", passive_deletes=True
    )


class SceneModel(Timestamps, Base):
    """One continuous take, rendered as a chain of segments (seed: ``movie_scenes``).

    Scene numbers are unique within a project, as in the seed and in a shooting script;
    the memory propagation walks scene_number + 1.
    """

    __tablename__ = "movie_scenes"
    __table_args__ = (
        UniqueConstraint("movie_id", "scene_number"),
        CheckConstraint(_in("status", SCENE_STATUSES), name="status"),
        CheckConstraint("target_duration_seconds > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movie_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("movie_episodes.id", ondelete="SET NULL"), index=True
    )
    scene_number: Mapped[int] = mapped_column(Integer, nullable=False)
    scene_title: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    target_duration_seconds: Mapped[float] = mapped_column(Float, default=30, nullable=False)
    actual_duration_seconds: Mapped[float | None] = mapped_column(Float)
    entry_keyframe_path: Mapped[str | None] = mapped_column(Text)
    exit_keyframe_path: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(255))
    time_of_day: Mapped[str | None] = mapped_column(String(50))
    weather: Mapped[str | None] = mapped_column(String(50))
    mood: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=SceneState.PENDING.value, nullable=False)
    total_segments: Mapped[int] = mapped_column(Integer, default=0)
    completed_segments: Mapped[int] = mapped_column(Integer, default=0)
    final_video_path: Mapped[str | None] = mapped_column(Text)
    # The screenplay's scene exactly as imported, and its hash for change detection.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    episode: Mapped[EpisodeModel | None] = relationship(back_populates="scenes")
    segments: Mapped[list[SegmentModel]] = relationship(
        back_populates="scene",
        order_by="SegmentModel.segment_number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class SegmentModel(Timestamps, Base):
    """One backend call; segments of a scene chain by last frame (seed: ``generation_segments``)."""

    __tablename__ = "generation_segments"
    __table_args__ = (
        UniqueConstraint("scene_id", "segment_number"),
        CheckConstraint(_in("status", SEGMENT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int] = mapped_column(
        ForeignKey("movie_scenes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    segment_number: Mapped[int] = mapped_column(Integer, nullable=False)
    first_frame_path: Mapped[str | None] = mapped_column(Text)
    last_frame_path: Mapped[str | None] = mapped_column(Text)
    motion_prompt: Mapped[str] = mapped_column(Text, nullable=False)
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    duration_seconds: Mapped[float] = mapped_column(Float, default=30)
    fps: Mapped[int] = mapped_column(Integer, default=30)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    leading_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    comfyui_prompt_id: Mapped[str | None] = mapped_column(String(64))
    output_video_path: Mapped[str | None] = mapped_column(Text)
    frame_consistency_score: Mapped[float | None] = mapped_column(Float)
    motion_smoothness_score: Mapped[float | None] = mapped_column(Float)
    overall_quality_score: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=SegmentState.PENDING.value, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    backend: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(Text)
    generation_time_seconds: Mapped[float | None] = mapped_column(Float)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    scene: Mapped[SceneModel] = relationship(back_populates="segments")
    takes: Mapped[list[TakeModel]] = relationship(
        back_populates="segment",
        order_by="TakeModel.take_number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TakeModel(Timestamps, Base):
    """One generation of a segment: every attempt, every pass, every retake.

    A segment has at most one chosen take, enforced by the database on SQLite and
    PostgreSQL alike without a partial index: ``chosen_for`` is the segment's id on the
    chosen take and NULL on every other, under a plain UNIQUE constraint (NULLs never
    collide) and a CHECK that it can only name the take's own segment. The render sets
    it in the same transaction that finishes the take, so a segment with a finished
    take always has exactly one chosen. The segment row mirrors the chosen take's file,
    frames and scores, so every reader of ``generation_segments`` sees the chosen take.
    """

    __tablename__ = "generation_takes"
    __table_args__ = (
        UniqueConstraint("segment_id", "take_number"),
        UniqueConstraint("chosen_for"),
        CheckConstraint("chosen_for IS NULL OR chosen_for = segment_id", name="chosen_own_segment"),
        CheckConstraint(_in("status", TAKE_STATUSES), name="status"),
        CheckConstraint(_in("render_pass", RENDER_PASSES), name="render_pass"),
        CheckConstraint("chosen_by IS NULL OR " + _in("chosen_by", CHOOSERS), name="chosen_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("generation_segments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    take_number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2, ... per segment
    render_pass: Mapped[str] = mapped_column(String(20), default=RenderPass.PREVIS.value, nullable=False)
    status: Mapped[str] = mapped_column(String(20), default=TakeState.GENERATING.value, nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, default=1, nullable=False)  # within its run
    backend: Mapped[str] = mapped_column(String(50), nullable=False)
    template: Mapped[str | None] = mapped_column(String(255))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)  # the director's notes it answers (a retake)
    output_dir: Mapped[str | None] = mapped_column(Text)  # the take's own folder
    start_frame_path: Mapped[str | None] = mapped_column(Text)  # the picture it continues
    output_video_path: Mapped[str | None] = mapped_column(Text)
    first_frame_path: Mapped[str | None] = mapped_column(Text)
    last_frame_path: Mapped[str | None] = mapped_column(Text)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    leading_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overall_quality_score: Mapped[float | None] = mapped_column(Float)
    generation_time_seconds: Mapped[float | None] = mapped_column(Float)
    error_message: Mapped[str | None] = mapped_column(Text)
    chosen_for: Mapped[int | None] = mapped_column(Integer)
    chosen_by: Mapped[str | None] = mapped_column(String(10))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    segment: Mapped[SegmentModel] = relationship(back_populates="takes")

    @property
    def chosen(self) -> bool:
        return self.chosen_for is not None


class CharacterSceneMemoryModel(Timestamps, Base):
    __tablename__ = "character_scene_memory"
    __table_args__ = (
        UniqueConstraint("scene_id", "character_id"),
        CheckConstraint(
            "facing_direction IS NULL OR " + _in("facing_direction", FACINGS),
            name="facing",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int] = mapped_column(
        ForeignKey("movie_scenes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    character_id: Mapped[int] = mapped_column(
        ForeignKey("anime_characters.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outfit_description: Mapped[str | None] = mapped_column(Text)
    hair_style: Mapped[str | None] = mapped_column(String(255))
    accessories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    facial_expression: Mapped[str | None] = mapped_column(String(255))
    body_pose: Mapped[str | None] = mapped_column(String(255))
    emotional_state: Mapped[str | None] = mapped_column(String(255))
    position_description: Mapped[str | None] = mapped_column(String(255))
    facing_direction: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str | None] = mapped_column(Text)
    face_embedding_path: Mapped[str | None] = mapped_column(Text)
    pose_embedding_path: Mapped[str | None] = mapped_column(Text)
    entered_scene_at: Mapped[int] = mapped_column(Integer, default=0)
    exited_scene_at: Mapped[int | None] = mapped_column(Integer)
    # Set when memory propagation carried this state over from an earlier scene.
    carried_from_scene: Mapped[int | None] = mapped_column(Integer)

    character: Mapped[CharacterModel] = relationship()


class StoryStateMemoryModel(Timestamps, Base):
    __tablename__ = "story_state_memory"
    __table_args__ = (
        CheckConstraint(
            "transition_to_next IS NULL OR " + _in("transition_to_next", TRANSITIONS),
            name="transition",
        ),
        CheckConstraint("tension_level >= 0 AND tension_level <= 1", name="tension_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int] = mapped_column(
        ForeignKey("movie_scenes.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    plot_summary: Mapped[str | None] = mapped_column(Text)
    prior_context: Mapped[str | None] = mapped_column(Text)
    upcoming_context: Mapped[str | None] = mapped_column(Text)
    tension_level: Mapped[float] = mapped_column(Float, default=0.5)
    pacing: Mapped[str | None] = mapped_column(String(20))
    story_beat: Mapped[str | None] = mapped_column(String(255))
    key_dialogue: Mapped[list[Any]] = mapped_column(JSON, default=list)
    background_sounds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    music_mood: Mapped[str | None] = mapped_column(String(100))
    transition_from_previous: Mapped[str | None] = mapped_column(String(20))
    transition_to_next: Mapped[str | None] = mapped_column(String(20))


class VisualStyleMemoryModel(Timestamps, Base):
    __tablename__ = "visual_style_memory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int] = mapped_column(
        ForeignKey("movie_scenes.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    lighting_type: Mapped[str | None] = mapped_column(String(100))
    lighting_direction: Mapped[str | None] = mapped_column(String(100))
    lighting_color: Mapped[str | None] = mapped_column(String(50))
    shadow_intensity: Mapped[float] = mapped_column(Float, default=0.5)
    primary_colors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    accent_colors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    color_temperature: Mapped[str | None] = mapped_column(String(50))
    saturation_level: Mapped[str | None] = mapped_column(String(50))
    camera_angle: Mapped[str | None] = mapped_column(String(100))
    camera_movement: Mapped[str | None] = mapped_column(String(100))
    depth_of_field: Mapped[str | None] = mapped_column(String(100))
    style_keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    negative_style_keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reference_frame_path: Mapped[str | None] = mapped_column(Text)
    style_lora_path: Mapped[str | None] = mapped_column(Text)
    style_lora_strength: Mapped[float] = mapped_column(Float, default=0.7)


class QualityFeedbackModel(Base):
    """Learning data: one row per attempt and character (seed: ``generation_quality_feedback``)."""

    __tablename__ = "generation_quality_feedback"
    __table_args__ = (
        CheckConstraint(_in("feedback_type", FEEDBACK_TYPES), name="feedback_type"),
        CheckConstraint("user_rating IS NULL OR (user_rating BETWEEN 1 AND 5)", name="rating"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("generation_segments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    character_id: Mapped[int | None] = mapped_column(
        ForeignKey("anime_characters.id", ondelete="SET NULL"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    overall_score: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    frame_consistency_score: Mapped[float | None] = mapped_column(Float)
    motion_smoothness_score: Mapped[float | None] = mapped_column(Float)
    character_accuracy_score: Mapped[float | None] = mapped_column(Float)
    style_consistency_score: Mapped[float | None] = mapped_column(Float)
    full_prompt: Mapped[str | None] = mapped_column(Text)
    successful_elements: Mapped[list[Any]] = mapped_column(JSON, default=list)
    failed_elements: Mapped[list[Any]] = mapped_column(JSON, default=list)
    generation_parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_rating: Mapped[int | None] = mapped_column(Integer)
    user_notes: Mapped[str | None] = mapped_column(Text)
    feedback_type: Mapped[str] = mapped_column(String(20), default="automatic", nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class WorkflowConfigModel(Timestamps, Base):
    """Named ComfyUI templates and their defaults (seed: ``workflow_configs``)."""

    __tablename__ = "workflow_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    workflow_type: Mapped[str | None] = mapped_column(String(100))
    config_data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class JobModel(Timestamps, Base):
    """The durable job queue (seed: ``production_jobs``) with lease and heartbeat columns."""

    __tablename__ = "production_jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("movie_projects.id", ondelete="CASCADE"), index=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("movie_episodes.id", ondelete="CASCADE"), index=True
    )
    comfyui_job_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    job_type: Mapped[str] = mapped_column(String(100), nullable=False)
    prompt: Mapped[str | None] = mapped_column(Text)
    style: Mapped[str | None] = mapped_column(String(100))
    frames: Mapped[int] = mapped_column(Integer, default=120)
    status: Mapped[str] = mapped_column(String(20), default="queued", nullable=False, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    progress: Mapped[float] = mapped_column(Float, default=0, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3, nullable=False)
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output_path: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    echo_task_id: Mapped[str | None] = mapped_column(String(36))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


# ----------------------------------------------------------------------------- assistant

MESSAGE_ROLES = ("system", "user", "assistant")
PROPOSAL_STATUSES = ("proposed", "accepted", "rejected")


class AssistantConversationModel(Timestamps, Base):
    """A stored Echo Brain conversation about one project, resumable by id.

    ``task`` is the routed task that started it (``chat``, ``prompt``...); ``model`` the
    model that answered first (each message records its own, as routing may change).
    """

    __tablename__ = "assistant_conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("movie_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    task: Mapped[str] = mapped_column(String(50), default="chat", nullable=False)
    model: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    messages: Mapped[list[AssistantMessageModel]] = relationship(
        back_populates="conversation",
        order_by="AssistantMessageModel.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class AssistantMessageModel(Base):
    """One message of a conversation, in order (``position`` counts from 0).

    Token counts are the server's when it reports them, else the context fitter's
    estimate. A message that carried a proposal keeps it (``proposal``) with its fate
    (``status``); plain replies leave both NULL.
    """

    __tablename__ = "assistant_messages"
    __table_args__ = (
        # Two writers appending to one conversation at once collide here instead of
        # interleaving silently; the loser's turn is refused and can be sent again.
        UniqueConstraint("conversation_id", "position"),
        CheckConstraint(_in("role", MESSAGE_ROLES), name="role"),
        CheckConstraint("status IS NULL OR " + _in("status", PROPOSAL_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str | None] = mapped_column(String(255))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    conversation: Mapped[AssistantConversationModel] = relationship(back_populates="messages")
