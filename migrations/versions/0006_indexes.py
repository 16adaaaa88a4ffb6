"""Indexes that keep `status` and the notifications as fast on a year of polls as on a week.

A year of hourly polls of 20 sources is 175,200 observations. Without these, `status` counted
failures in a row, found the newest success and the newest failure, and counted a
transition's changes by reading every observation of a source (every change, for the last):

- observations (source_id, id): the newest success and the failures after it, in insertion
  order; the newest observation id (notifications).
- observations (source_id, outcome, observed_at): the newest observation of an outcome (the
  last failure), without walking back through the successes.
- changes (observation_id): a transition's change records (status, notifications).

Revision ID: 0006_indexes
Revises: 0005_views
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006_indexes"
down_revision = "0005_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_observations_source_id", "observations", ["source_id", "id"])
    op.create_index("ix_observations_source_outcome", "observations",
                    ["source_id", "outcome", "observed_at"])
    op.create_index("ix_changes_observation", "changes", ["observation_id"])


def downgrade() -> None:
    op.drop_index("ix_changes_observation", table_name="changes")
    op.drop_index("ix_observations_source_outcome", table_name="observations")
    op.drop_index("ix_observations_source_id", table_name="observations")
