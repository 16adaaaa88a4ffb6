"""Text and bigint columns for remote values; changes.absent.

Ids, owners, provider names, policies, versions and field paths come from the remote and
have no documented length; creation times in milliseconds and context windows need 64 bits.
On PostgreSQL a value beyond VARCHAR(n) or INTEGER failed the whole run. `changes.absent`
keeps which side of a field_changed record had no such field (removed vs set to null).

Revision ID: 0003_wider_columns
Revises: 0002_notifications
Create Date: 2026-11-26 14:09:53.258315
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_wider_columns"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite enforces no VARCHAR length and stores 64-bit integers already: only the new
        # column is needed (and no table has to be copied).
        op.add_column("changes", sa.Column("absent", sa.String(length=3), nullable=True))
        return
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("absent", sa.String(length=3), nullable=True))
        batch_op.alter_column(
            "model", existing_type=sa.VARCHAR(length=500), type_=sa.Text(), existing_nullable=True
        )
        batch_op.alter_column(
            "provider",
            existing_type=sa.VARCHAR(length=500),
            type_=sa.Text(),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "field", existing_type=sa.VARCHAR(length=500), type_=sa.Text(), existing_nullable=True
        )

    with op.batch_alter_table("model_states", schema=None) as batch_op:
        batch_op.alter_column(
            "model_id",
            existing_type=sa.VARCHAR(length=500),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "created", existing_type=sa.INTEGER(), type_=sa.BigInteger(), existing_nullable=False
        )
        batch_op.alter_column(
            "owned_by",
            existing_type=sa.VARCHAR(length=500),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "context_window",
            existing_type=sa.INTEGER(),
            type_=sa.BigInteger(),
            existing_nullable=True,
        )

    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.alter_column(
            "catalog_version",
            existing_type=sa.VARCHAR(length=200),
            type_=sa.Text(),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "origin", existing_type=sa.VARCHAR(length=200), type_=sa.Text(), existing_nullable=True
        )

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.alter_column(
            "model_id",
            existing_type=sa.VARCHAR(length=500),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "provider",
            existing_type=sa.VARCHAR(length=500),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "data_policy",
            existing_type=sa.VARCHAR(length=100),
            type_=sa.Text(),
            existing_nullable=True,
        )

    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.alter_column(
            "identity",
            existing_type=sa.VARCHAR(length=200),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "catalog_version",
            existing_type=sa.VARCHAR(length=200),
            type_=sa.Text(),
            existing_nullable=True,
        )



def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("changes", schema=None) as batch_op:
            batch_op.drop_column("absent")
        return
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.alter_column(
            "catalog_version",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=200),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "identity",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=200),
            existing_nullable=False,
        )

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.alter_column(
            "data_policy",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=100),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "provider",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=500),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "model_id",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=500),
            existing_nullable=False,
        )

    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.alter_column(
            "origin", existing_type=sa.Text(), type_=sa.VARCHAR(length=200), existing_nullable=True
        )
        batch_op.alter_column(
            "catalog_version",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=200),
            existing_nullable=True,
        )

    with op.batch_alter_table("model_states", schema=None) as batch_op:
        batch_op.alter_column(
            "context_window",
            existing_type=sa.BigInteger(),
            type_=sa.INTEGER(),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "owned_by",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=500),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "created", existing_type=sa.BigInteger(), type_=sa.INTEGER(), existing_nullable=False
        )
        batch_op.alter_column(
            "model_id",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=500),
            existing_nullable=False,
        )

    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.alter_column(
            "field", existing_type=sa.Text(), type_=sa.VARCHAR(length=500), existing_nullable=True
        )
        batch_op.alter_column(
            "provider",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=500),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "model", existing_type=sa.Text(), type_=sa.VARCHAR(length=500), existing_nullable=True
        )
        batch_op.drop_column("absent")

