"""Alembic migrations, installed as `tracker.migrations` so the tool finds them anywhere."""
