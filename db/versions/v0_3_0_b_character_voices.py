"""Voices and sound: ``anime_characters.voice_*`` and ``movie_episodes.sound``.

Revision ID: v0.3.0.b
Revises: v0.3.0.a
Create Date: 2026-12-03

Frozen: this file never imports the live models. Only new, nullable columns: existing
rows keep every value (a character without a voice speaks in the TTS backend's default
voice), and the downgrade drops exactly these columns, in place (see ``downgrade``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0.3.0.b"
down_revision = "v0.3.0.a"  # after the takes
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anime_characters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voice_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("voice_speed", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("voice_pitch", sa.Float(), nullable=True))
    with op.batch_alter_table("movie_episodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sound", sa.JSON(), nullable=True))


def downgrade() -> None:
    # recreate="never": SQLite (3.35+) drops a column in place. Batch mode's default would
    # copy and drop the table, and dropping it cascades (ON DELETE CASCADE) to the rows
    # that reference it: every scene memory of every character would be lost.
    with op.batch_alter_table("movie_episodes", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("sound")
    with op.batch_alter_table("anime_characters", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("voice_pitch")
        batch_op.drop_column("voice_speed")
        batch_op.drop_column("voice_id")
