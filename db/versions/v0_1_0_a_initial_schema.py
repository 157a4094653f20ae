"""Initial schema: the seed system's eleven tables, made portable.

Revision ID: v0.1.0.a
Revises:
Create Date: 2026-11-24

Frozen: this file never imports the live models, so it keeps meaning what it meant.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0.1.0.a"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "movie_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("target_duration_minutes", sa.Float(), nullable=False),
        sa.Column("target_fps", sa.Integer(), nullable=False),
        sa.Column("resolution_width", sa.Integer(), nullable=False),
        sa.Column("resolution_height", sa.Integer(), nullable=False),
        sa.Column("style_preset", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_scenes", sa.Integer(), nullable=False),
        sa.Column("completed_scenes", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('planning', 'in_production', 'completed', 'archived')",
            name=op.f("ck_movie_projects_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movie_projects")),
        sa.UniqueConstraint("title", name=op.f("uq_movie_projects_title")),
    )
    op.create_table(
        "workflow_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_name", sa.String(length=255), nullable=False),
        sa.Column("workflow_type", sa.String(length=100), nullable=True),
        sa.Column("config_data", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_configs")),
        sa.UniqueConstraint("workflow_name", name=op.f("uq_workflow_configs_workflow_name")),
    )
    op.create_table(
        "anime_characters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("character_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("character_prompt", sa.Text(), nullable=True),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("style_tags", sa.JSON(), nullable=False),
        sa.Column("reference_images", sa.JSON(), nullable=False),
        sa.Column("palette", sa.JSON(), nullable=False),
        sa.Column("lora_name", sa.String(length=255), nullable=True),
        sa.Column("lora_strength", sa.Float(), nullable=True),
        sa.Column("lora_family", sa.String(length=50), nullable=True),
        sa.Column("usage_count", sa.Integer(), nullable=False),
        sa.Column("last_used", sa.DateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["movie_projects.id"],
            name=op.f("fk_anime_characters_project_id_movie_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anime_characters")),
        sa.UniqueConstraint(
            "project_id", "character_name", name=op.f("uq_anime_characters_project_id")
        ),
    )
    op.create_index(
        op.f("ix_anime_characters_project_id"), "anime_characters", ["project_id"], unique=False
    )
    op.create_table(
        "movie_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("episode_number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("synopsis", sa.Text(), nullable=True),
        sa.Column("target_duration_minutes", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("final_video_path", sa.Text(), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'generating', 'completed', 'failed', 'review', 'stale')",
            name=op.f("ck_movie_episodes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["movie_id"],
            ["movie_projects.id"],
            name=op.f("fk_movie_episodes_movie_id_movie_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movie_episodes")),
        sa.UniqueConstraint("movie_id", "episode_number", name=op.f("uq_movie_episodes_movie_id")),
    )
    op.create_index(
        op.f("ix_movie_episodes_movie_id"), "movie_episodes", ["movie_id"], unique=False
    )
    op.create_table(
        "movie_scenes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("scene_number", sa.Integer(), nullable=False),
        sa.Column("scene_title", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("target_duration_seconds", sa.Float(), nullable=False),
        sa.Column("actual_duration_seconds", sa.Float(), nullable=True),
        sa.Column("entry_keyframe_path", sa.Text(), nullable=True),
        sa.Column("exit_keyframe_path", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("time_of_day", sa.String(length=50), nullable=True),
        sa.Column("weather", sa.String(length=50), nullable=True),
        sa.Column("mood", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_segments", sa.Integer(), nullable=False),
        sa.Column("completed_segments", sa.Integer(), nullable=False),
        sa.Column("final_video_path", sa.Text(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'generating', 'completed', 'failed', 'review', 'stale')",
            name=op.f("ck_movie_scenes_status"),
        ),
        sa.CheckConstraint(
            "target_duration_seconds > 0", name=op.f("ck_movie_scenes_duration_positive")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["movie_episodes.id"],
            name=op.f("fk_movie_scenes_episode_id_movie_episodes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["movie_id"],
            ["movie_projects.id"],
            name=op.f("fk_movie_scenes_movie_id_movie_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movie_scenes")),
        sa.UniqueConstraint("movie_id", "scene_number", name=op.f("uq_movie_scenes_movie_id")),
    )
    op.create_index(
        op.f("ix_movie_scenes_episode_id"), "movie_scenes", ["episode_id"], unique=False
    )
    op.create_index(op.f("ix_movie_scenes_movie_id"), "movie_scenes", ["movie_id"], unique=False)
    op.create_table(
        "production_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("comfyui_job_id", sa.String(length=64), nullable=True),
        sa.Column("job_type", sa.String(length=100), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("style", sa.String(length=100), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("output_path", sa.Text(), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("echo_task_id", sa.String(length=36), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_production_jobs_status"),
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_production_jobs_progress_range")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["movie_episodes.id"],
            name=op.f("fk_production_jobs_episode_id_movie_episodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["movie_projects.id"],
            name=op.f("fk_production_jobs_project_id_movie_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_jobs")),
        sa.UniqueConstraint("comfyui_job_id", name=op.f("uq_production_jobs_comfyui_job_id")),
    )
    op.create_index(
        op.f("ix_production_jobs_episode_id"), "production_jobs", ["episode_id"], unique=False
    )
    op.create_index(
        op.f("ix_production_jobs_lease_expires_at"),
        "production_jobs",
        ["lease_expires_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_production_jobs_project_id"), "production_jobs", ["project_id"], unique=False
    )
    op.create_index(op.f("ix_production_jobs_status"), "production_jobs", ["status"], unique=False)
    op.create_table(
        "character_scene_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scene_id", sa.Integer(), nullable=False),
        sa.Column("character_id", sa.Integer(), nullable=False),
        sa.Column("outfit_description", sa.Text(), nullable=True),
        sa.Column("hair_style", sa.String(length=255), nullable=True),
        sa.Column("accessories", sa.JSON(), nullable=False),
        sa.Column("facial_expression", sa.String(length=255), nullable=True),
        sa.Column("body_pose", sa.String(length=255), nullable=True),
        sa.Column("emotional_state", sa.String(length=255), nullable=True),
        sa.Column("position_description", sa.String(length=255), nullable=True),
        sa.Column("facing_direction", sa.String(length=20), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("face_embedding_path", sa.Text(), nullable=True),
        sa.Column("pose_embedding_path", sa.Text(), nullable=True),
        sa.Column("entered_scene_at", sa.Integer(), nullable=False),
        sa.Column("exited_scene_at", sa.Integer(), nullable=True),
        sa.Column("carried_from_scene", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "facing_direction IS NULL OR facing_direction IN ('left', 'right', 'camera', 'away')",
            name=op.f("ck_character_scene_memory_facing"),
        ),
        sa.ForeignKeyConstraint(
            ["character_id"],
            ["anime_characters.id"],
            name=op.f("fk_character_scene_memory_character_id_anime_characters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["movie_scenes.id"],
            name=op.f("fk_character_scene_memory_scene_id_movie_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_character_scene_memory")),
        sa.UniqueConstraint(
            "scene_id", "character_id", name=op.f("uq_character_scene_memory_scene_id")
        ),
    )
    op.create_index(
        op.f("ix_character_scene_memory_character_id"),
        "character_scene_memory",
        ["character_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_character_scene_memory_scene_id"),
        "character_scene_memory",
        ["scene_id"],
        unique=False,
    )
    op.create_table(
        "generation_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scene_id", sa.Integer(), nullable=False),
        sa.Column("segment_number", sa.Integer(), nullable=False),
        sa.Column("first_frame_path", sa.Text(), nullable=True),
        sa.Column("last_frame_path", sa.Text(), nullable=True),
        sa.Column("motion_prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("fps", sa.Integer(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=True),
        sa.Column("leading_duplicate", sa.Boolean(), nullable=False),
        sa.Column("comfyui_prompt_id", sa.String(length=64), nullable=True),
        sa.Column("output_video_path", sa.Text(), nullable=True),
        sa.Column("frame_consistency_score", sa.Float(), nullable=True),
        sa.Column("motion_smoothness_score", sa.Float(), nullable=True),
        sa.Column("overall_quality_score", sa.Float(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=50), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("generation_time_seconds", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'processing', 'completed', 'failed', 'review')",
            name=op.f("ck_generation_segments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["movie_scenes.id"],
            name=op.f("fk_generation_segments_scene_id_movie_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_segments")),
        sa.UniqueConstraint(
            "scene_id", "segment_number", name=op.f("uq_generation_segments_scene_id")
        ),
    )
    op.create_index(
        op.f("ix_generation_segments_scene_id"), "generation_segments", ["scene_id"], unique=False
    )
    op.create_table(
        "story_state_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scene_id", sa.Integer(), nullable=False),
        sa.Column("plot_summary", sa.Text(), nullable=True),
        sa.Column("prior_context", sa.Text(), nullable=True),
        sa.Column("upcoming_context", sa.Text(), nullable=True),
        sa.Column("tension_level", sa.Float(), nullable=False),
        sa.Column("pacing", sa.String(length=20), nullable=True),
        sa.Column("story_beat", sa.String(length=255), nullable=True),
        sa.Column("key_dialogue", sa.JSON(), nullable=False),
        sa.Column("background_sounds", sa.JSON(), nullable=False),
        sa.Column("music_mood", sa.String(length=100), nullable=True),
        sa.Column("transition_from_previous", sa.String(length=20), nullable=True),
        sa.Column("transition_to_next", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "transition_to_next IS NULL OR transition_to_next IN ('cut', 'fade', 'dissolve', 'wipe')",
            name=op.f("ck_story_state_memory_transition"),
        ),
        sa.CheckConstraint(
            "tension_level >= 0 AND tension_level <= 1",
            name=op.f("ck_story_state_memory_tension_range"),
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["movie_scenes.id"],
            name=op.f("fk_story_state_memory_scene_id_movie_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_state_memory")),
        sa.UniqueConstraint("scene_id", name=op.f("uq_story_state_memory_scene_id")),
    )
    op.create_table(
        "visual_style_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scene_id", sa.Integer(), nullable=False),
        sa.Column("lighting_type", sa.String(length=100), nullable=True),
        sa.Column("lighting_direction", sa.String(length=100), nullable=True),
        sa.Column("lighting_color", sa.String(length=50), nullable=True),
        sa.Column("shadow_intensity", sa.Float(), nullable=False),
        sa.Column("primary_colors", sa.JSON(), nullable=False),
        sa.Column("accent_colors", sa.JSON(), nullable=False),
        sa.Column("color_temperature", sa.String(length=50), nullable=True),
        sa.Column("saturation_level", sa.String(length=50), nullable=True),
        sa.Column("camera_angle", sa.String(length=100), nullable=True),
        sa.Column("camera_movement", sa.String(length=100), nullable=True),
        sa.Column("depth_of_field", sa.String(length=100), nullable=True),
        sa.Column("style_keywords", sa.JSON(), nullable=False),
        sa.Column("negative_style_keywords", sa.JSON(), nullable=False),
        sa.Column("reference_frame_path", sa.Text(), nullable=True),
        sa.Column("style_lora_path", sa.Text(), nullable=True),
        sa.Column("style_lora_strength", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["movie_scenes.id"],
            name=op.f("fk_visual_style_memory_scene_id_movie_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visual_style_memory")),
        sa.UniqueConstraint("scene_id", name=op.f("uq_visual_style_memory_scene_id")),
    )
    op.create_table(
        "generation_quality_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("character_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=False),
        sa.Column("frame_consistency_score", sa.Float(), nullable=True),
        sa.Column("motion_smoothness_score", sa.Float(), nullable=True),
        sa.Column("character_accuracy_score", sa.Float(), nullable=True),
        sa.Column("style_consistency_score", sa.Float(), nullable=True),
        sa.Column("full_prompt", sa.Text(), nullable=True),
        sa.Column("successful_elements", sa.JSON(), nullable=False),
        sa.Column("failed_elements", sa.JSON(), nullable=False),
        sa.Column("generation_parameters", sa.JSON(), nullable=False),
        sa.Column("user_rating", sa.Integer(), nullable=True),
        sa.Column("user_notes", sa.Text(), nullable=True),
        sa.Column("feedback_type", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "feedback_type IN ('automatic', 'user', 'review')",
            name=op.f("ck_generation_quality_feedback_feedback_type"),
        ),
        sa.CheckConstraint(
            "user_rating IS NULL OR (user_rating BETWEEN 1 AND 5)",
            name=op.f("ck_generation_quality_feedback_rating"),
        ),
        sa.ForeignKeyConstraint(
            ["character_id"],
            ["anime_characters.id"],
            name=op.f("fk_generation_quality_feedback_character_id_anime_characters"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["generation_segments.id"],
            name=op.f("fk_generation_quality_feedback_segment_id_generation_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_quality_feedback")),
    )
    op.create_index(
        op.f("ix_generation_quality_feedback_character_id"),
        "generation_quality_feedback",
        ["character_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_generation_quality_feedback_overall_score"),
        "generation_quality_feedback",
        ["overall_score"],
        unique=False,
    )
    op.create_index(
        op.f("ix_generation_quality_feedback_segment_id"),
        "generation_quality_feedback",
        ["segment_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_generation_quality_feedback_segment_id"), table_name="generation_quality_feedback"
    )
    op.drop_index(
        op.f("ix_generation_quality_feedback_overall_score"),
        table_name="generation_quality_feedback",
    )
    op.drop_index(
        op.f("ix_generation_quality_feedback_character_id"),
        table_name="generation_quality_feedback",
    )
    op.drop_table("generation_quality_feedback")
    op.drop_table("visual_style_memory")
    op.drop_table("story_state_memory")
    op.drop_index(op.f("ix_generation_segments_scene_id"), table_name="generation_segments")
    op.drop_table("generation_segments")
    op.drop_index(op.f("ix_character_scene_memory_scene_id"), table_name="character_scene_memory")
    op.drop_index(
        op.f("ix_character_scene_memory_character_id"), table_name="character_scene_memory"
    )
    op.drop_table("character_scene_memory")
    op.drop_index(op.f("ix_production_jobs_status"), table_name="production_jobs")
    op.drop_index(op.f("ix_production_jobs_project_id"), table_name="production_jobs")
    op.drop_index(op.f("ix_production_jobs_lease_expires_at"), table_name="production_jobs")
    op.drop_index(op.f("ix_production_jobs_episode_id"), table_name="production_jobs")
    op.drop_table("production_jobs")
    op.drop_index(op.f("ix_movie_scenes_movie_id"), table_name="movie_scenes")
    op.drop_index(op.f("ix_movie_scenes_episode_id"), table_name="movie_scenes")
    op.drop_table("movie_scenes")
    op.drop_index(op.f("ix_movie_episodes_movie_id"), table_name="movie_episodes")
    op.drop_table("movie_episodes")
    op.drop_index(op.f("ix_anime_characters_project_id"), table_name="anime_characters")
    op.drop_table("anime_characters")
    op.drop_table("workflow_configs")
    op.drop_table("movie_projects")
