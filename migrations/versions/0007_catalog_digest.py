"""snapshots.catalog_sha256: the digest of a snapshot's catalog text, without its volatile
members, so that an unchanged poll whose body differs only in `catalog_age_seconds` is
recognised without reading the stored body back (docs/schema.md, `snapshots`).

Nullable and filled as polls meet it: the first unchanged poll of a state with other volatile
values compares the bodies and records the digest; the later ones compare digests.

Revision ID: 0007_catalog_digest
Revises: 0006_indexes
Create Date: 2026-12-06 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_catalog_digest"
down_revision = "0006_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite adds a column in place (no copy of the table the views read).
    op.add_column("snapshots", sa.Column("catalog_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # In place on SQLite too (3.35 and later): a copy of the table, as batch mode makes one,
    # would break the foreign keys that point at it.
    op.execute("ALTER TABLE snapshots DROP COLUMN catalog_sha256")
