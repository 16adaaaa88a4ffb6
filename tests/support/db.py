"""Test databases on both backends, and reading them back as a user would: plain SQL on the
documented tables (README, "Database schema").

PostgreSQL is expected on 127.0.0.1:5432 (user postgres, trust auth; override with
TRACKER_TEST_PG_URL). `TRACKER_TEST_BACKENDS=sqlite` runs only the SQLite half.

    assert scalar(database_url, "SELECT count(*) FROM snapshots") == 1
    assert [r.outcome for r in rows(database_url, "SELECT outcome FROM observations")] == ["new"]
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PG_ADMIN_URL = os.environ.get(
    "TRACKER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("TRACKER_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


# --- reading what was stored ---


_READERS: dict[str, Any] = {}  # PostgreSQL URL -> engine, newest last
_READERS_LOCK = threading.Lock()
_READERS_KEPT = 2


def _reader(database_url: str) -> Any:
    """An engine for reading `database_url`. PostgreSQL's are kept for the next query of the
    same test (a new connection costs the server a process); SQLite gets a new one every time,
    so that a file replaced under the same name is the one read."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    if not database_url.startswith("postgresql"):
        return create_engine(database_url, poolclass=NullPool)
    with _READERS_LOCK:
        engine = _READERS.pop(database_url, None) or create_engine(database_url, pool_size=2)
        _READERS[database_url] = engine
        while len(_READERS) > _READERS_KEPT:  # a test's schema outlives no later test's reads
            _READERS.pop(next(iter(_READERS))).dispose()
        return engine


def rows(database_url: str, sql: str, **params: Any) -> list[Any]:
    """The rows of one SQL query (`:name` parameters), in a transaction of its own."""
    from sqlalchemy import text

    engine = _reader(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        if not database_url.startswith("postgresql"):
            engine.dispose()


def execute(database_url: str, *statements: str, **params: Any) -> None:
    """Run `statements` in one committed transaction, as a user's own SQL would (to damage
    or age a record on purpose); each gets the same `:name` parameters."""
    from sqlalchemy import text

    engine = _reader(database_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement), params)
    finally:
        if not database_url.startswith("postgresql"):
            engine.dispose()


def scalar(database_url: str, sql: str, **params: Any) -> Any:
    """The one value of a one-row, one-column query."""
    (row,) = rows(database_url, sql, **params)
    (value,) = row
    return value


def count(database_url: str, table: str, where: str = "", **params: Any) -> int:
    """`SELECT count(*) FROM table [WHERE ...]`."""
    return int(scalar(database_url, f"SELECT count(*) FROM {table}"
                      + (f" WHERE {where}" if where else ""), **params))


# --- PostgreSQL ---


class Postgres:
    """The test server: one database of this session's own (dropped at the end), and a schema
    in it per test, made from the SQL of a template schema (see `dump`).

    A thread with a connection of its own makes the schemas tests will ask for ahead of time,
    and drops the ones they are done with: the server does that work while the tests run.
    A schema a test is done with is made again from its rows instead when its tables,
    columns, indexes, constraints and views are still those the SQL made (`_shape`): every
    row is deleted and the SQL's own rows and sequence values put back, a tenth of the
    server's work of creating the schema anew.
    """

    AHEAD = 2  # schemas of each kind kept ready

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        import psycopg

        self.admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
        self.database = f"tracker_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.admin.execute(f'CREATE DATABASE "{self.database}"')
        self.plain_url = f"{admin_url.rsplit('/', 1)[0]}/{self.database}"
        self.conn = psycopg.connect(self.plain_url, autocommit=True)
        self._changed = threading.Condition()
        self._ready: dict[str, list[str]] = {}  # SQL -> schemas made with it, not yet taken
        self._waiting: dict[str, int] = {}  # SQL -> tests waiting for a schema made with it
        self._in_use: dict[str, int] = {}  # SQL -> schemas made with it that tests hold
        self._to_drop: list[tuple[str, str]] = []  # (schema, the SQL it was made with)
        self._shapes: dict[str, list[str]] = {}  # SQL -> the shape of a schema it made
        self._data: dict[str, str] = {}  # SQL -> the SQL of its rows alone (see `dump`)
        self._stopping = False
        self._failure: BaseException | None = None
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    def url(self, schema: str) -> str:
        """The SQLAlchemy URL of one schema of the session's database."""
        url = self.plain_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{url}?options=-csearch_path%3D{schema}"

    def new_schema(self, sql: str = "", *, conn: Any = None) -> str:
        """A new, empty schema, then `sql` run in it (SCHEMA stands for its name)."""
        conn = conn or self.conn
        name = f"t_{uuid.uuid4().hex[:16]}"
        with conn.transaction():
            conn.execute(f'CREATE SCHEMA "{name}"')
            if sql:
                conn.execute(sql.replace(SCHEMA, name))
        return name

    def drop_schema(self, name: str, *, conn: Any = None) -> None:
        (conn or self.conn).execute(f'DROP SCHEMA "{name}" CASCADE')

    def _shape(self, conn: Any, name: str) -> list[str]:
        """What a schema is made of, its own name written SCHEMA: every relation, column,
        index, constraint, view definition and function."""
        rows = conn.execute(_SHAPE_SQL, {"schema": name}).fetchall()
        return [str(row[0]).replace(name, SCHEMA) for row in rows]

    def _recycle(self, conn: Any, name: str, sql: str) -> bool:
        """Make `name` again as `sql` made it, from its rows: False (nothing done) when its
        shape has changed, or the cleaning cannot be done here."""
        import psycopg

        if sql not in self._shapes or self._shape(conn, name) != self._shapes[sql]:
            return False
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (name,))]
        data = self._data.get(sql, "")
        sequences = [row[0] for row in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = %s", (name,))]
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '2s'")
                conn.execute("SET LOCAL session_replication_role = replica")  # no FK order
                for table in tables:
                    conn.execute(f'DELETE FROM "{name}"."{table}"')
                for sequence in sequences:
                    conn.execute(f'ALTER SEQUENCE "{name}"."{sequence}" RESTART')
                if data:
                    conn.execute(data.replace(SCHEMA, name))
        except psycopg.Error:  # a lock still held, or not a superuser: made anew instead
            return False
        return True

    @contextlib.contextmanager
    def schema(self, sql: str = "") -> Iterator[str]:
        """A schema of the test's own (see `new_schema`), dropped afterwards; yields its URL."""
        name = self._take(sql)
        try:
            yield self.url(name)
        finally:
            with self._changed:
                self._in_use[sql] -= 1
                self._to_drop.append((name, sql))
                self._changed.notify_all()

    def _take(self, sql: str) -> str:
        with self._changed:
            ready = self._ready.setdefault(sql, [])
            self._waiting[sql] = self._waiting.get(sql, 0) + 1
            self._changed.notify_all()
            try:
                while not ready:
                    if self._failure is not None:
                        raise RuntimeError("making a test schema failed") from self._failure
                    self._changed.wait(60)
                self._in_use[sql] = self._in_use.get(sql, 0) + 1
                return ready.pop(0)
            finally:
                self._waiting[sql] -= 1

    def _next_job(self) -> tuple[str, Any] | None:
        """What the worker does next: a schema a test waits for, a drop, a schema ahead."""
        for sql, ready in self._ready.items():
            if self._waiting.get(sql) and not ready:
                for index, (_, made_with) in enumerate(self._to_drop):
                    if made_with == sql:  # one a test is done with, if it can be recycled
                        return ("recycle", self._to_drop.pop(index))
                return ("make", sql)
        if self._to_drop:
            return ("recycle", self._to_drop.pop(0))
        for sql, ready in self._ready.items():  # the ones in use come back (recycled)
            if len(ready) + self._in_use.get(sql, 0) < self.AHEAD and not self._stopping:
                return ("make", sql)
        return None

    def _work(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.plain_url, autocommit=True) as conn:
                while True:
                    with self._changed:
                        job = self._next_job()
                        while job is None and not self._stopping:
                            self._changed.wait()
                            job = self._next_job()
                    if job is None:
                        return
                    what, arg = job
                    if what == "make":
                        name = self.new_schema(arg, conn=conn)
                        if arg not in self._shapes:
                            self._shapes[arg] = self._shape(conn, name)
                        with self._changed:
                            self._ready[arg].append(name)
                            self._changed.notify_all()
                        continue
                    name, sql = arg
                    with self._changed:  # wanted again: tests wait, or fewer than AHEAD ready
                        wanted = not self._stopping and sql in self._ready and len(
                            self._ready[sql]) < self.AHEAD + self._waiting.get(sql, 0)
                    if wanted and self._recycle(conn, name, sql):
                        with self._changed:
                            self._ready[sql].append(name)
                            self._changed.notify_all()
                    else:
                        self.drop_schema(name, conn=conn)
        except BaseException as exc:
            with self._changed:
                self._failure = exc
                self._changed.notify_all()
            raise

    def dump(self, schema: str) -> str:
        """The SQL that rebuilds `schema` with its rows (pg_dump), its name written SCHEMA.
        The rows alone are kept too, for recycling the schemas made with it."""
        sql = self._pg_dump(schema)
        self._data[sql] = self._pg_dump(schema, "--section=data")
        return sql

    def _pg_dump(self, schema: str, *options: str) -> str:
        done = subprocess.run(
            ["pg_dump", "--dbname", self.plain_url, "--schema", schema, "--no-owner",
             "--no-privileges", "--inserts", *options],
            capture_output=True, text=True, check=True, timeout=120)
        # Without psql's meta-commands (\restrict KEY): this SQL runs through psycopg.
        sql = re.sub(r"(?m)^\\(un)?restrict \S+$", "", done.stdout)
        # The name is random: it stands for nothing else in the dump.
        return sql.replace(schema, SCHEMA).replace(f"CREATE SCHEMA {SCHEMA};", "")

    def close(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._worker.join(60)
        self.conn.close()
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.admin.close()


SCHEMA = "__schema__"  # the placeholder for a schema's name in `Postgres.dump`'s SQL

# One line per part of a schema (see Postgres._shape), sorted.
_SHAPE_SQL = """
SELECT line FROM (
    SELECT c.relkind::text || ' ' || c.relname || '.' || a.attname || ' '
           || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null'
           ELSE '' END || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE n.nspname = %(schema)s
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
           || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = %(schema)s::regnamespace
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = %(schema)s
    UNION ALL
    SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = %(schema)s
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
    FROM pg_proc p WHERE p.pronamespace = %(schema)s::regnamespace
    UNION ALL
    SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %(schema)s::regnamespace
      AND NOT t.tgisinternal
) AS parts ORDER BY line
"""


def connect_postgres() -> Postgres | None:
    """The test server, or None when it is not reachable (an error under CI=true)."""
    import psycopg

    try:
        return Postgres()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required under CI: {exc}") from exc
        return None


# --- databases laid once, copied per test ---

Layer = Callable[[str, Path], None]  # (database URL, reports directory) -> None


def migrated(database_url: str, reports_dir: Path) -> None:
    """A database at the newest schema, holding no data: as `tracker db upgrade` leaves it."""
    from tracker.store.db import open_database

    open_database(database_url).dispose()


class Templates:
    """Databases laid once per session and backend, then copied for each test that uses
    them: a SQLite file copied with shutil, or a PostgreSQL schema rebuilt from a dump of
    the template schema (pg_dump). The changelogs written while laying are copied too."""

    def __init__(self, root: Path, postgres: Postgres | None) -> None:
        self.root = root
        self.postgres = postgres
        self._laid: dict[tuple[str, str], str] = {}  # (backend, name) -> file, or SQL

    def _template(self, backend: str, name: str, layer: Layer) -> str:
        key = (backend, name)
        if key not in self._laid:
            reports = self.reports_dir(backend, name)
            if backend == "sqlite":
                path = self.root / f"{name}.db"
                layer(f"sqlite:///{path}", reports)
                self._laid[key] = str(path)
            else:
                assert self.postgres is not None
                schema = self.postgres.new_schema()
                layer(self.postgres.url(schema), reports)
                self._laid[key] = self.postgres.dump(schema)
                self.postgres.drop_schema(schema)
        return self._laid[key]

    def reports_dir(self, backend: str, name: str) -> Path:
        return self.root / f"{name}-{backend}-reports"

    @contextlib.contextmanager
    def copy(self, backend: str, name: str, layer: Layer, tmp_path: Path) -> Iterator[str]:
        """A copy of the database `name` for one test; yields its URL. Its changelogs land
        in `tmp_path / "reports"`, where the `tracker` fixture writes them."""
        template = self._template(backend, name, layer)
        laid_reports = self.reports_dir(backend, name)
        if laid_reports.exists():
            shutil.copytree(laid_reports, tmp_path / "reports", dirs_exist_ok=True)
        if backend == "sqlite":
            path = tmp_path / "tracker.db"
            shutil.copy(template, path)  # the file mode too: readable by its owner only
            yield f"sqlite:///{path}"
        else:
            assert self.postgres is not None
            with self.postgres.schema(template) as url:
                yield url
