"""notifications: delivery state of each notification target per source

Revision ID: 0002_notifications
Revises: 0001_initial
Create Date: 2026-11-26 13:01:24.145060
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_notifications"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("delivered_through", sa.Integer(), nullable=False),
        sa.Column("failure_alert_from", sa.Integer(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_delivered_at", sa.DateTime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_notifications_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("target", "source_id", name="uq_notifications_target_source"),
    )


def downgrade() -> None:
    op.drop_table("notifications")
