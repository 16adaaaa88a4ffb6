"""Alembic environment: the tracker passes its engine in; the `alembic` CLI uses the URL.

From a checkout, `alembic upgrade head` uses `TRACKER_DATABASE_URL` (see alembic.ini).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, text

from tracker.store.db import MIGRATION_LOCK
from tracker.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        # SQLite enforces no declared column type, and 0003 widens types on PostgreSQL only.
        compare_type=connection.dialect.name != "sqlite",
        # All of a migration or none of it: SQLite and PostgreSQL both run DDL in
        # transactions, so a process killed mid-migration leaves the previous schema.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # One process at a time (see MIGRATION_LOCK).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from tracker.config import default_database_url
        from tracker.store.db import create_db_engine

        url = os.environ.get("TRACKER_DATABASE_URL") or default_database_url()
        engine = create_db_engine(url)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
