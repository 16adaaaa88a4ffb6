"""Opening the database: engine settings per backend, and migrations applied on first use.

`open_database(url)` is all a caller needs: a fresh SQLite path gets created (owner-only
permissions), an empty database gets the newest schema at once and an older one is migrated;
an up-to-date database costs one small query, without importing Alembic, so that an unchanged
`tracker fetch` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from tracker.errors import ConfigError, StorageError, TrackerError
from tracker.logs import redact_url

# The newest migration in migrations/versions; a test checks it equals Alembic's head.
HEAD_REVISION = "0007_catalog_digest"
KNOWN_REVISIONS = (
    "0001_initial",
    "0002_notifications",
    "0003_wider_columns",
    "0004_trusted_record",
    "0005_views",
    "0006_indexes",
    "0007_catalog_digest",
)

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


def create_db_engine(url: str, *, create: bool = True) -> Engine:
    """An engine with the settings this tool relies on for the URL's backend; `create` makes
    a SQLite file (and its directory) that does not exist yet."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL is not valid: {_redact(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, create)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in (
        "psycopg2",
        "",
    ):
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, pool_pre_ping=True, **_JSON_CODEC)
    except Exception as exc:  # missing driver, bad option: a configuration problem
        raise ConfigError(f"cannot use database {_redact(url)}: {exc}") from None
    _raise_storage_faults(engine, _redact(url))
    return engine


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database or another backend).

    >>> sqlite_file("sqlite:////var/lib/tracker/tracker.db"), sqlite_file("sqlite://")
    (PosixPath('/var/lib/tracker/tracker.db'), None)
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database).expanduser()


class DatabaseMissingError(ConfigError):
    """A read found no database file at the configured SQLite path (exit 2); reads never
    create one."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def open_existing(url: str) -> Engine | None:
    """The engine of a database that exists, for reading: nothing is created.

    A SQLite file that does not exist raises `DatabaseMissingError`; a database without the
    tracker's tables (an empty file or schema) is None; an older schema is migrated, as on
    any use.
    """
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseMissingError(f"no database at {path}", path)
    engine = create_db_engine(url, create=False)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        raise ConfigError(f"cannot open database {_redact(url)}: {_first_line(exc)}") from None
    if revision == HEAD_REVISION:
        return engine
    engine.dispose()
    return None if revision is None else open_database(url)


def open_quick_reader(url: str, timeout: float = 1.0) -> Engine | None:
    """An engine for a read that must be quick and change nothing (shell completion), or None
    when there is nothing to read at the newest schema: no SQLite file, no tracker tables, an
    older or newer revision. Nothing is created or migrated; SQLite is read without taking
    the write lock, and no connection waits more than about `timeout` seconds."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": timeout}, **_JSON_CODEC)
    else:
        if parsed.get_driver_name() in ("psycopg2", ""):
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, connect_args={"connect_timeout": max(1, round(timeout))},
                               **_JSON_CODEC)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                        if inspector.has_table("alembic_version") else None)
    except Exception:
        engine.dispose()
        return None
    if revision != HEAD_REVISION:
        engine.dispose()
        return None
    return engine


def _sqlite_engine(url: str, database: str | None, create: bool = True) -> Engine:
    on_disk = bool(database) and database != ":memory:" and not str(database).startswith("file:")
    path = Path(str(database)).expanduser() if on_disk else None
    if create and path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                # New database files are readable by their owner only: they hold the audit
                # trail.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise StorageError(f"cannot create database file {path}: {exc.strerror}") from None
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    pool: dict[str, Any] = {}
    if not database or database == ":memory:":
        # One in-memory database for the whole engine (every connection and thread sees it).
        from sqlalchemy.pool import StaticPool

        connect_args["check_same_thread"] = False
        pool["poolclass"] = StaticPool
    read_only = _read_only_uri(path) if path is not None else None
    if read_only is not None:
        # A file this process cannot write (a read-only file, directory or mount): opened
        # read-only, so that reading commands work; a write fails as "read-only" (exit 7).
        def connect() -> sqlite3.Connection:
            return sqlite3.connect(read_only, uri=True, check_same_thread=False,
                                   timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

        pool["creator"] = connect
    engine = create_engine(url, connect_args=connect_args, **pool, **_JSON_CODEC)
    _raise_storage_faults(engine, str(path) if path is not None else "in memory")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if read_only is None:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # can fail with "database is locked" regardless of the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if read_only is None else "BEGIN")

    return engine


def _read_only_uri(path: Path) -> str | None:
    """How to open an existing database file that this process cannot write (a read-only
    file, directory or mount): a read-only SQLite URI; None when it can write there.

    On a read-only mount nothing can change the file, so it is opened `immutable` (SQLite
    needs no lock and no `-shm` file, which it could not create), unless a write-ahead log
    holds transactions not yet copied into the file; those need SQLite's own read-only mode.
    """
    if not path.is_file() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    wal = path.with_name(f"{path.name}-wal")
    if os.statvfs(path.parent).f_flag & os.ST_RDONLY and not (
            wal.exists() and wal.stat().st_size):
        uri += "&immutable=1"
    try:  # one look now, so that a file that cannot be read says why in one line
        with sqlite3.connect(uri, uri=True) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        fault = storage_fault(exc, str(path))
        if fault is not None and getattr(exc, "sqlite_errorcode", 0) & 0xFF != 14:
            raise fault from None  # corrupt, not a database: said as for any database
        raise StorageError(
            f"database {path} is read-only here and cannot be opened for reading "
            f"({_first_line(exc)}): SQLite needs {path.name}-shm next to a database in WAL "
            "mode; open it once where it is writable, or copy it"
        ) from None
    return uri


# --- storage faults: one clear line that names the database, never SQL ---

# SQLite's primary result codes (`sqlite3.Error.sqlite_errorcode & 0xff`) that are faults of
# the file or the disk, and what the line says.
_SQLITE_FAULTS = {
    13: "the disk is full",  # SQLITE_FULL
    10: "a disk I/O error (is the disk full or failing?)",  # SQLITE_IOERR
    11: "the database file is corrupt; restore it from a backup",  # SQLITE_CORRUPT
    26: "the file is not a SQLite database, or it is corrupt",  # SQLITE_NOTADB
    8: "the database is read-only",  # SQLITE_READONLY
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
    3: "permission denied",  # SQLITE_PERM
}
# PostgreSQL SQLSTATEs, and classes of them, that are faults of the server's storage.
_POSTGRES_FAULTS = {
    "53100": "the database server's disk is full",
    "53": "the database server is out of resources",
    "58030": "an I/O error on the database server",
    "XX001": "the database is corrupt (a data page)",
    "XX002": "the database is corrupt (an index)",
    "25006": "the database is read-only (a read-only transaction or a standby server)",
}


def storage_fault(error: BaseException, where: str) -> StorageError | None:
    """The `StorageError` for a driver error that is a fault of the storage (disk full,
    corrupt, read-only), or None for any other error. Its line names `where` and the
    driver's own first line, never the statement or its parameters.

    >>> storage_fault(sqlite3.OperationalError("database or disk is full"), "x.db") is None
    True
    >>> import sqlite3 as s; db = s.connect(":memory:"); _ = db.execute("PRAGMA max_page_count=1")
    >>> try:
    ...     db.execute("CREATE TABLE t (x)")
    ... except s.Error as exc:
    ...     print(storage_fault(exc, "/var/lib/tracker/tracker.db"))
    database /var/lib/tracker/tracker.db: the disk is full (database or disk is full)
    """
    orig = getattr(error, "orig", None) or error
    what: str | None = None
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        what = _SQLITE_FAULTS.get(code & 0xFF)
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        what = _POSTGRES_FAULTS.get(sqlstate) or _POSTGRES_FAULTS.get(sqlstate[:2])
    if what is None:
        return None
    if sqlstate == "25006":  # "cannot execute UPDATE in a read-only transaction": said above
        return StorageError(f"database {where}: {what}")
    return StorageError(f"database {where}: {what} ({_first_line(orig)})")


def _raise_storage_faults(engine: Engine, where: str) -> None:
    """Every statement and connection of `engine`: a storage fault raises `StorageError`."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        fault = storage_fault(context.original_exception, where)
        if fault is not None:
            raise fault


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
    """The Alembic revision stamped in the database, or None for an empty database.

    A database that holds the tracker's tables but no revision (an emptied or dropped
    `alembic_version`) is damaged: migrations could not tell what to apply (`StorageError`).
    """
    with engine.connect() as conn:
        # The common case, a stamped database, in one statement; the catalog is asked only
        # when that fails (on PostgreSQL its queries cost more than the rest of a small read).
        rows = _stamped(conn)
        if rows:
            return str(rows[0])
        inspector = inspect(conn)
        if inspector.has_table("snapshots") or inspector.has_table("observations"):
            # Another process may have created the schema between the two questions: it
            # stamps the revision in the same transaction, so asked again it is there.
            again = _stamped(conn)
            if again:
                return str(again[0])
            where = (engine.url.database if engine.dialect.name == "sqlite"
                     else engine.url.render_as_string(hide_password=True))
            state = "missing" if again is None else "empty"
            raise StorageError(
                f"database {where} holds the tracker's tables but no schema revision (its "
                f"alembic_version table is {state}), so migrations "
                "cannot tell what to apply: restore it from a backup, or put back the "
                "revision its schema is at (see the docs, 'Exit codes')"
            )
    return None


def _stamped(conn: Connection) -> list[Any] | None:
    """The rows of alembic_version; None when there is no such table."""
    try:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except (OperationalError, ProgrammingError):
        conn.rollback()
        return None


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`; an empty database gets the newest schema at once
    (`create_schema`). Alembic is imported only when there are migrations to run."""
    revision_now = current_revision(engine)
    if revision_now is not None and revision_now not in KNOWN_REVISIONS:
        raise SchemaError(
            f"database schema revision {revision_now!r} is newer than this tracker "
            f"(knows up to {HEAD_REVISION!r}); upgrade catalog-tracker"
        )
    if revision_now is None and revision in ("head", HEAD_REVISION) and create_schema(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


# A fixed advisory-lock key for schema changes (the two-integer key space of the run locks and
# the per-source keys of the pipeline never produce it: it is a bigint outside 32 bits).
# Processes that start together on a new PostgreSQL database create or migrate its schema one
# after the other; the later ones then find it current (SQLite's BEGIN IMMEDIATE does the same).
MIGRATION_LOCK = 0x7472_6163_6B65_7201

# The migration whose views are the newest (`create_schema` takes them from it).
VIEWS_REVISION = "0005_views"

# Alembic's own table, as `alembic upgrade` creates it.
_alembic_version = Table(
    "alembic_version", MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_schema(engine: Engine) -> bool:
    """Give an empty database the newest schema in one transaction, as Rails loads schema.rb
    rather than replaying every migration: the tables of `tracker.store.schema`, the views of
    `VIEWS_REVISION`, and the head revision stamped in alembic_version. A test checks that
    this is exactly the schema the migrations build. False, and nothing done, when the
    database holds any table (another process may have just created it): migrations decide.

    A first run pays a few milliseconds for it instead of importing Alembic (about 0.25 s
    of CPU) and running every migration (a second and more on PostgreSQL).
    """
    from tracker.store.schema import metadata

    views = importlib.import_module(f"tracker.migrations.versions.{VIEWS_REVISION}")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        if inspect(conn).get_table_names():
            return False
        metadata.create_all(conn, checkfirst=False)
        for statement in views.create_view_statements(conn.dialect.name):
            conn.execute(text(statement))
        _alembic_version.create(conn, checkfirst=False)
        conn.execute(_alembic_version.insert().values(version_num=HEAD_REVISION))
    return True


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


def _redact(url: str) -> str:
    return redact_url(url, database=True)


def redacted_url(url: Any) -> str:
    """An engine's URL as error messages name it: no password, no secret query value."""
    return _redact(str(url))
