"""Takes: every generation of a segment is kept (``generation_takes``); segments can be approved.

Revision ID: v0.3.0.a
Revises: v0.2.0.a
Create Date: 2026-12-03

Frozen: this file never imports the live models, so it keeps meaning what it meant.

- ``generation_takes``: one row per generation of a segment (attempt, pass, retake),
  with its backend, template, seed, parameters, prompt, scores, files and who chose it.
  At most one chosen take per segment, portably: ``chosen_for`` holds the segment id on
  the chosen take only, under a plain UNIQUE constraint (NULLs never collide).
- ``generation_segments.status`` also allows ``approved``.
- Data: every segment that was finished (``completed`` or ``review``) with a video gets
  one take, its chosen one, made from the segment's own columns: ``previs`` when the
  animatic made it, ``final`` otherwise. Done in batches, so a large studio upgrades in
  bounded memory.

Downgrade: approved segments become ``completed`` again (the old schema's nearest
state), and the takes table is dropped (the segment rows still hold the chosen take).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0.3.0.a"
down_revision = "v0.2.0.a"
branch_labels = None
depends_on = None

BATCH = 5000
OLD_SEGMENT_STATUSES = "status IN ('pending', 'queued', 'processing', 'completed', 'failed', 'review')"
NEW_SEGMENT_STATUSES = (
    "status IN ('pending', 'queued', 'processing', 'completed', 'failed', 'review', 'approved')"
)

# Frozen copies of the columns this revision reads and writes.
segments = sa.table(
    "generation_segments",
    sa.column("id", sa.Integer()),
    sa.column("scene_id", sa.Integer()),
    sa.column("segment_number", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("motion_prompt", sa.Text()),
    sa.column("negative_prompt", sa.Text()),
    sa.column("seed", sa.BigInteger()),
    sa.column("backend", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("output_video_path", sa.Text()),
    sa.column("first_frame_path", sa.Text()),
    sa.column("last_frame_path", sa.Text()),
    sa.column("frame_count", sa.Integer()),
    sa.column("leading_duplicate", sa.Boolean()),
    sa.column("scores", sa.JSON()),
    sa.column("overall_quality_score", sa.Float()),
    sa.column("generation_time_seconds", sa.Float()),
    sa.column("completed_at", sa.DateTime()),
    sa.column("created_at", sa.DateTime()),
    sa.column("updated_at", sa.DateTime()),
)
scenes = sa.table(
    "movie_scenes",
    sa.column("id", sa.Integer()),
    sa.column("entry_keyframe_path", sa.Text()),
)
takes = sa.table(
    "generation_takes",
    sa.column("segment_id", sa.Integer()),
    sa.column("take_number", sa.Integer()),
    sa.column("render_pass", sa.String()),
    sa.column("status", sa.String()),
    sa.column("attempt", sa.Integer()),
    sa.column("backend", sa.String()),
    sa.column("seed", sa.BigInteger()),
    sa.column("parameters", sa.JSON()),
    sa.column("prompt", sa.Text()),
    sa.column("negative_prompt", sa.Text()),
    sa.column("start_frame_path", sa.Text()),
    sa.column("output_video_path", sa.Text()),
    sa.column("first_frame_path", sa.Text()),
    sa.column("last_frame_path", sa.Text()),
    sa.column("frame_count", sa.Integer()),
    sa.column("leading_duplicate", sa.Boolean()),
    sa.column("scores", sa.JSON()),
    sa.column("overall_quality_score", sa.Float()),
    sa.column("generation_time_seconds", sa.Float()),
    sa.column("chosen_for", sa.Integer()),
    sa.column("chosen_by", sa.String()),
    sa.column("completed_at", sa.DateTime()),
    sa.column("metadata", sa.JSON()),
    sa.column("created_at", sa.DateTime()),
    sa.column("updated_at", sa.DateTime()),
)


def upgrade() -> None:
    op.create_table(
        "generation_takes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("take_number", sa.Integer(), nullable=False),
        sa.Column("render_pass", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=50), nullable=False),
        sa.Column("template", sa.String(length=255), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("output_dir", sa.Text(), nullable=True),
        sa.Column("start_frame_path", sa.Text(), nullable=True),
        sa.Column("output_video_path", sa.Text(), nullable=True),
        sa.Column("first_frame_path", sa.Text(), nullable=True),
        sa.Column("last_frame_path", sa.Text(), nullable=True),
        sa.Column("frame_count", sa.Integer(), nullable=True),
        sa.Column("leading_duplicate", sa.Boolean(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("overall_quality_score", sa.Float(), nullable=True),
        sa.Column("generation_time_seconds", sa.Float(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("chosen_for", sa.Integer(), nullable=True),
        sa.Column("chosen_by", sa.String(length=10), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "chosen_for IS NULL OR chosen_for = segment_id",
            name=op.f("ck_generation_takes_chosen_own_segment"),
        ),
        sa.CheckConstraint(
            "status IN ('generating', 'passed', 'review', 'retried', 'failed', 'rejected')",
            name=op.f("ck_generation_takes_status"),
        ),
        sa.CheckConstraint(
            "render_pass IN ('previs', 'final')", name=op.f("ck_generation_takes_render_pass")
        ),
        sa.CheckConstraint(
            "chosen_by IS NULL OR chosen_by IN ('auto', 'user')",
            name=op.f("ck_generation_takes_chosen_by"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["generation_segments.id"],
            name=op.f("fk_generation_takes_segment_id_generation_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_takes")),
        sa.UniqueConstraint("chosen_for", name=op.f("uq_generation_takes_chosen_for")),
        sa.UniqueConstraint("segment_id", "take_number", name=op.f("uq_generation_takes_segment_id")),
    )
    with op.batch_alter_table("generation_takes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generation_takes_segment_id"), ["segment_id"], unique=False)

    _segment_statuses(NEW_SEGMENT_STATUSES)
    _one_chosen_take_per_finished_segment()


def _segment_statuses(check: str) -> None:
    """Replace the segments' status CHECK (on SQLite: rebuild the table, see db/env.py)."""
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        (enforced,) = connection.exec_driver_sql("PRAGMA foreign_keys").one()
        if enforced:  # the rebuild's DROP would delete feedback and takes by cascade
            raise RuntimeError("run this migration through db/env.py, which turns SQLite foreign keys off")
    with op.batch_alter_table("generation_segments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_generation_segments_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_generation_segments_status"), check)


def _one_chosen_take_per_finished_segment() -> None:
    connection = op.get_bind()
    # What each segment started from when it was rendered: the previous segment's last
    # frame, or the scene's entry keyframe for the first (the chain check compares it).
    previous = segments.alias("previous")
    started_from = sa.func.coalesce(
        sa.select(previous.c.last_frame_path)
        .where(
            previous.c.scene_id == segments.c.scene_id,
            previous.c.segment_number == segments.c.segment_number - 1,
        )
        .scalar_subquery(),
        sa.select(scenes.c.entry_keyframe_path).where(scenes.c.id == segments.c.scene_id).scalar_subquery(),
    ).label("started_from")
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(segments, started_from)
            .where(
                segments.c.id > last_id,
                segments.c.status.in_(("completed", "review")),
                segments.c.output_video_path.is_not(None),
            )
            .order_by(segments.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            takes.insert(),
            [
                {
                    "segment_id": row.id,
                    "take_number": 1,
                    "render_pass": "previs" if (row.backend or "animatic") == "animatic" else "final",
                    "status": "review" if row.status == "review" else "passed",
                    "attempt": max(row.attempts or 1, 1),
                    "backend": row.backend or "animatic",
                    "seed": row.seed,
                    "parameters": {"seed": row.seed} if row.seed is not None else {},
                    "prompt": row.motion_prompt,
                    "negative_prompt": row.negative_prompt,
                    "start_frame_path": row.started_from,
                    "output_video_path": row.output_video_path,
                    "first_frame_path": row.first_frame_path,
                    "last_frame_path": row.last_frame_path,
                    "frame_count": row.frame_count,
                    "leading_duplicate": bool(row.leading_duplicate),
                    "scores": row.scores or {},
                    "overall_quality_score": row.overall_quality_score,
                    "generation_time_seconds": row.generation_time_seconds,
                    "chosen_for": row.id,
                    "chosen_by": "auto",
                    "completed_at": row.completed_at,
                    "metadata": {"migrated": "v0.3.0.a"},
                    "created_at": row.completed_at or row.created_at,
                    "updated_at": row.updated_at,
                }
                for row in rows
            ],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    op.execute(segments.update().where(segments.c.status == "approved").values(status="completed"))
    _segment_statuses(OLD_SEGMENT_STATUSES)
    with op.batch_alter_table("generation_takes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_takes_segment_id"))
    op.drop_table("generation_takes")
