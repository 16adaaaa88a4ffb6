"""Opening the database: engine settings per backend, and migrations applied on first use.

`open_database(url)` is all a caller needs: a fresh SQLite path gets created (owner-only
permissions) and migrated; an up-to-date database costs one small query, without importing
Alembic, so that an unchanged `tracker fetch` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from tracker.errors import ConfigError, TrackerError
from tracker.logs import redact_url

# The newest migration in migrations/versions; a test checks it equals Alembic's head.
HEAD_REVISION = "0003_wider_columns"
KNOWN_REVISIONS = ("0001_initial", "0002_notifications", "0003_wider_columns")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_loads(value: Any) -> Any:
    # SQLite gives a column declared JSON numeric affinity: the text "2.5" is stored, and
    # returned, as the number 2.5. A number is its own JSON value.
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


# JSON columns through orjson: reading a catalog back decodes thousands of small values.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}


class SchemaError(TrackerError):
    """The database schema is newer than this version of the tool, or unreadable (exit 2)."""

    exit_code = 2


def migrations_dir() -> Path:
    """Where the installed Alembic scripts live: the package `tracker.migrations` (in a
    checkout, a link to the top-level migrations/)."""
    from importlib.resources import files

    return Path(str(files("tracker.migrations")))


def create_db_engine(url: str) -> Engine:
    """An engine with the settings this tool relies on for the URL's backend."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL is not valid: {_redact(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in (
        "psycopg2",
        "",
    ):
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(parsed, pool_pre_ping=True, **_JSON_CODEC)
    except Exception as exc:  # missing driver, bad option: a configuration problem
        raise ConfigError(f"cannot use database {_redact(url)}: {exc}") from None


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # New database files are readable by their owner only: they hold the audit trail.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    pool: dict[str, Any] = {}
    if not database or database == ":memory:":
        # One in-memory database for the whole engine (every connection and thread sees it).
        from sqlalchemy.pool import StaticPool

        connect_args["check_same_thread"] = False
        pool["poolclass"] = StaticPool
    engine = create_engine(url, connect_args=connect_args, **pool, **_JSON_CODEC)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # can fail with "database is locked" regardless of the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_database(url: str, *, upgrade: bool = True) -> Engine:
    """The engine for `url`, migrated to the newest schema when `upgrade` is set."""
    engine = create_db_engine(url)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise ConfigError(f"cannot open database {_redact(url)}: {_first_line(exc)}") from None
    if revision == HEAD_REVISION:
        return engine
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise SchemaError(
            f"database schema revision {revision!r} is newer than this tracker "
            f"(knows up to {HEAD_REVISION!r}); upgrade catalog-tracker"
        )
    if upgrade:
        upgrade_database(engine)
    return engine


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision stamped in the database, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if rows else None


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (Alembic imported only when there is work to do)."""
    from alembic import command

    revision_now = current_revision(engine)
    if revision_now is not None and revision_now not in KNOWN_REVISIONS:
        raise SchemaError(
            f"database schema revision {revision_now!r} is newer than this tracker "
            f"(knows up to {HEAD_REVISION!r}); upgrade catalog-tracker"
        )
    command.upgrade(alembic_config(engine), revision)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


def _redact(url: str) -> str:
    return redact_url(url, database=True)
