"""Migrations, on both backends, for every revision in migrations/versions (whatever exists).

- The code knows every revision, in order, and there is one head.
- A database at any revision, holding data written at that revision, upgrades to head with
  every row intact: the same catalogs, bodies, observations and changes, and the tool keeps
  working on it.
- The tables declared in tracker/store/schema.py are exactly what the migrations build.
- Downgrading to base removes everything; upgrading again rebuilds the same schema.
- A database stamped with a revision this tool does not know is refused, untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, func, insert, inspect, select, text
from support.builders import base_catalog, body, model, provider
from support.cli import Result, Tracker, user_env

from tracker.catalog import Catalog, parse_catalog
from tracker.config import SourceConfig
from tracker.diff import diff_catalogs
from tracker.errors import PayloadError
from tracker.pipeline import Pipeline
from tracker.store import db, reads, schema
from tracker.store.db import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    SchemaError,
    alembic_config,
    create_db_engine,
    create_schema,
    current_revision,
    migrations_dir,
    open_database,
    upgrade_database,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.new_database  # databases at every revision, from none at all


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(None))


def revisions_base_to_head() -> list[str]:
    """Every revision in migrations/versions, oldest first."""
    walked = script_directory().walk_revisions(base="base", head="heads")
    return [revision.revision for revision in reversed(list(walked))]


REVISIONS = revisions_base_to_head()


@pytest.fixture
def bare_engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test's empty database, without migrating it (unlike `engine`)."""
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def test_the_code_knows_every_migration_in_order_and_there_is_one_head() -> None:
    heads = script_directory().get_heads()
    assert heads == [HEAD_REVISION], "one head, and tracker.store.db.HEAD_REVISION names it"
    assert tuple(REVISIONS) == KNOWN_REVISIONS, "KNOWN_REVISIONS lists every revision, oldest first"
    assert {path.stem for path in (migrations_dir() / "versions").glob("[0-9]*.py")} == set(
        REVISIONS
    ), "each file in migrations/versions is named after its revision id"


# --- data written at every revision survives the upgrade to head ---


def write_history(engine: Engine) -> None:
    """A realistic history written by the current code: two sources, new, changed, rejected,
    reverted and unchanged observations, unknown fields and hostile strings, change records."""
    v1 = base_catalog("v1")
    v1["data"][0]["providers"][0]["region"] = {"name": "eu|<b>", "zones": [1, 2]}
    v1["data"][1]["tier"] = "gold\n`x`"
    v1["note"] = "top-level \u202e extra"
    v2 = copy.deepcopy(v1)
    v2["catalog_version"] = "v2"
    v2["data"][0]["providers"][0]["input_price"] = 2.0
    v2["data"][1]["providers"].pop()
    v2["data"][1]["tier"] = None
    v2["data"].append(model("new-model", provider("x", 0.075, 0.3, "none"), ctx={"a.b": 1}))

    auriko = Pipeline(engine, SourceConfig(name="auriko"))
    auriko.ingest(body(v1), observed_at=T0)
    auriko.ingest(body(v1), observed_at=T0 + timedelta(hours=1))
    auriko.ingest(body(v2), observed_at=T0 + timedelta(hours=2))
    with pytest.raises(PayloadError):
        auriko.ingest(b"<html>502</html>", observed_at=T0 + timedelta(hours=3))
    auriko.ingest(body(v1), observed_at=T0 + timedelta(hours=4))  # reverted
    other = Pipeline(engine, SourceConfig(name="auriko-responses", endpoint="responses"))
    other.ingest(body(base_catalog(None)), observed_at=T0)


EXAMPLE_VALUES: dict[type, Any] = {
    int: 1, str: "x", datetime: T0, dict: {}, bytes: b"", bool: False, float: 0.5,
}


def fill_empty_tables(engine: Engine) -> None:
    """A row in every table the history left empty (tables of features the pipeline does
    not write, such as notification state): each required column gets a plain value, each
    foreign key the first row it can point to."""
    with engine.begin() as conn:
        for table in schema.metadata.sorted_tables:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                continue
            row: dict[str, Any] = {}
            for column in table.columns:
                if column.primary_key:
                    continue
                foreign = next(iter(column.foreign_keys), None)
                if foreign is not None:
                    row[column.name] = conn.execute(select(func.min(foreign.column))).scalar()
                elif not column.nullable:
                    row[column.name] = EXAMPLE_VALUES[column.type.python_type]
            conn.execute(insert(table).values(**row))


def reflected(engine: Engine) -> MetaData:
    metadata = MetaData()
    metadata.reflect(engine)
    return metadata


def copy_rows(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row of `source` (at head) into `target` (at an older revision), keeping
    only the columns `target` has; the row count of each table copied.

    Data written by the current code, cut down to an older revision's columns, is data that
    revision could hold, as long as no later migration changes what an existing column means;
    a migration that does should bring its own rows for the revisions before it.
    """
    source_tables, target_tables = reflected(source).tables, reflected(target)
    counts = {}
    with source.connect() as reading, target.begin() as writing:
        for table in target_tables.sorted_tables:
            if table.name == "alembic_version":
                continue
            origin = source_tables[table.name]
            rows = [
                {k: v for k, v in row._mapping.items() if k in table.columns}
                for row in reading.execute(select(origin).order_by(origin.c.id))
            ]
            if rows:
                writing.execute(insert(table), rows)
            counts[table.name] = len(rows)
            if writing.dialect.name == "postgresql":
                # Rows arrived with their ids: move the id sequence past them.
                writing.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
                ))
    return counts


def everything(engine: Engine) -> dict[str, Any]:
    """What a user reads back, through the current code: per source, every snapshot with
    its catalog and exact bytes, every observation and every change record."""
    result: dict[str, Any] = {}
    with engine.connect() as conn:
        for name in conn.execute(select(schema.sources.c.name)).scalars():
            source = reads.source_id(conn, name)
            assert source is not None
            snapshots = reads.list_snapshots(conn, source)
            catalogs: list[Catalog] = [reads.load_catalog(conn, source, s) for s in snapshots]
            result[name] = {
                "snapshots": snapshots,
                "catalogs": [(c, c.content_hash) for c in catalogs],
                "bodies": [reads.raw_body(conn, s.id) for s in snapshots],
                "observations": [tuple(row) for row in reads.observations_for(conn, source)],
                "changes": [
                    reads.change_from_row(row)
                    for row in conn.execute(
                        select(schema.changes)
                        .where(schema.changes.c.source_id == source)
                        .order_by(schema.changes.c.id)
                    )
                ],
            }
    return result


@pytest.fixture(scope="module")
def history_at_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite database at head holding `write_history`, written once for the module."""
    path = tmp_path_factory.mktemp("history") / "history.db"
    engine = open_database(f"sqlite:///{path}")
    write_history(engine)
    fill_empty_tables(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("revision", REVISIONS)
def test_data_written_at_a_revision_survives_the_upgrade_to_head(
    bare_engine: Engine, database_url: str, history_at_head: Engine, revision: str
) -> None:
    command.upgrade(alembic_config(bare_engine), revision)
    copied = copy_rows(history_at_head, bare_engine)
    assert all(copied.values()), f"every table that exists at {revision} holds data: {copied}"

    upgrade_database(bare_engine)

    assert current_revision(bare_engine) == HEAD_REVISION
    with bare_engine.connect() as conn:
        for name, count in copied.items():
            table = schema.metadata.tables[name]
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == count
    assert everything(bare_engine) == everything(history_at_head)

    # The tool keeps working on the upgraded database: the next run diffs from its state.
    engine = open_database(database_url)
    try:
        later = base_catalog("v3")
        later["data"].pop()
        result = Pipeline(engine, SourceConfig(name="auriko")).ingest(
            body(later), observed_at=T0 + timedelta(days=1)
        )
        assert result.outcome == "new"
        state = everything(history_at_head)["auriko"]["catalogs"][0][0]  # v1, reverted to
        assert result.changes == diff_catalogs(state, parse_catalog(body(later)))
    finally:
        engine.dispose()


# --- the declared tables are what the migrations build ---


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        # SQLite enforces no declared column type (0003 widens types on PostgreSQL only).
        compare_type = conn.dialect.name != "sqlite"
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        return list(compare_metadata(context, schema.metadata))


def test_the_tables_declared_in_the_code_match_the_migrations(engine: Engine) -> None:
    # `alembic check`: autogenerate would find nothing to write.
    assert schema_differences(engine) == []


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_downgrades_to_base_and_upgrades_again_step_by_step(bare_engine: Engine) -> None:
    config = alembic_config(bare_engine)
    tables_at: dict[str | None, set[str]] = {None: set()}
    for revision in REVISIONS:
        command.upgrade(config, revision)
        tables_at[revision] = table_names(bare_engine)
    assert tables_at[HEAD_REVISION] == set(schema.metadata.tables)

    for below, revision in reversed(list(zip([None, *REVISIONS], REVISIONS, strict=False))):
        assert current_revision(bare_engine) == revision
        command.downgrade(config, below or "base")
        assert table_names(bare_engine) == tables_at[below], f"downgrade of {revision}"
    assert current_revision(bare_engine) is None

    command.upgrade(config, "head")
    assert current_revision(bare_engine) == HEAD_REVISION
    assert schema_differences(bare_engine) == []


# --- a new database gets at once the schema the migrations build ---


@pytest.fixture
def another_new_database(database_url: str, tmp_path: Path,
                         request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty database on the test's backend."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.db'}"
    else:
        with request.getfixturevalue("postgres").schema() as url:
            yield url


def _affinity(declared: str) -> str:
    """SQLite's type affinity of a declared column type (all SQLite makes of it)."""
    declared = declared.upper()
    for part, affinity in (("INT", "INTEGER"), ("CHAR", "TEXT"), ("CLOB", "TEXT"),
                           ("TEXT", "TEXT"), ("BLOB", "BLOB"), ("REAL", "REAL"),
                           ("FLOA", "REAL"), ("DOUB", "REAL")):
        if part in declared:
            return affinity
    return "BLOB" if not declared else "NUMERIC"


def reflected_schema(engine: Engine) -> dict[str, Any]:
    """Everything the database says about its tables and views, as the backend keeps it
    (on SQLite, a column's declared type as its affinity: 0003 widens types on PostgreSQL
    only, and SQLite makes nothing of a declared length)."""
    inspector = inspect(engine)
    sqlite = engine.dialect.name == "sqlite"

    def by_name(item: Any) -> str:
        return str(item.get("name"))

    tables = {}
    for table in sorted(inspector.get_table_names()):
        columns = [(c["name"], _affinity(str(c["type"])) if sqlite else str(c["type"]),
                    c["nullable"], c.get("default"), c.get("autoincrement"))
                   for c in inspector.get_columns(table)]
        tables[table] = {
            "columns": columns,
            "primary key": inspector.get_pk_constraint(table),
            "foreign keys": sorted(inspector.get_foreign_keys(table), key=by_name),
            "indexes": sorted(inspector.get_indexes(table), key=by_name),
            "unique": sorted(inspector.get_unique_constraints(table), key=by_name),
            "checks": sorted(inspector.get_check_constraints(table), key=by_name),
        }
    views = {name: " ".join(str(inspector.get_view_definition(name)).split())
             for name in sorted(inspector.get_view_names())}
    return {"tables": tables, "views": views}


def test_a_new_database_gets_at_once_the_schema_the_migrations_build(
    bare_engine: Engine, another_new_database: str
) -> None:
    command.upgrade(alembic_config(bare_engine), "head")  # every migration, one by one
    created = open_database(another_new_database)  # a first run: the schema at once
    try:
        assert current_revision(created) == HEAD_REVISION
        migrated_schema, created_schema = reflected_schema(bare_engine), reflected_schema(created)
        assert set(migrated_schema["views"]) == set(schema.VIEWS)
        assert created_schema == migrated_schema
        assert schema_differences(created) == []
        with created.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        created.dispose()


def test_a_database_that_holds_any_table_is_migrated_not_created(bare_engine: Engine) -> None:
    with bare_engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id integer)"))
    assert create_schema(bare_engine) is False
    assert table_names(bare_engine) == {"someone_elses"}


def test_a_schema_created_while_the_revision_is_read_is_found_current(
    bare_engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Eight fetches start together on a new database: one creates the schema just after
    # another found no alembic_version, and before it looks for the tracker's tables. The
    # other then finds the tables and the revision stamped with them, not a damaged database.
    other = create_db_engine(database_url)
    real_inspect = db.inspect

    def meanwhile(conn: Any) -> Any:
        monkeypatch.setattr(db, "inspect", real_inspect)  # once, and not in create_schema
        assert create_schema(other) is True
        return real_inspect(conn)

    monkeypatch.setattr(db, "inspect", meanwhile)
    try:
        assert current_revision(bare_engine) == HEAD_REVISION
    finally:
        other.dispose()


# --- a database newer than the tool ---


def run_tracker(*args: str, cwd: Path) -> Result:
    return Tracker(user_env(cwd), cwd)(*args, check=False)


def test_a_database_newer_than_the_tool_is_refused_and_left_untouched(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))

    with pytest.raises(SchemaError, match="newer than this tracker") as caught:
        open_database(database_url)
    assert caught.value.exit_code == 2

    result = run_tracker("--database-url", database_url, "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("tracker: error: ")
    assert "'9999_from_the_future' is newer than this tracker" in line
    assert "Traceback" not in result.stderr
    assert current_revision(engine) == "9999_from_the_future"
    assert schema_differences(engine) == []  # nothing was dropped or altered


def test_the_cli_upgrades_an_empty_database_and_says_so(database_url: str, tmp_path: Path) -> None:
    first = run_tracker("--database-url", database_url, "db", "upgrade", cwd=tmp_path)
    assert (first.returncode, first.stdout) == (0, f"upgraded empty database -> {HEAD_REVISION}\n")
    again = run_tracker("--database-url", database_url, "db", "upgrade", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, f"already at {HEAD_REVISION}\n")
    current = run_tracker("--database-url", database_url, "db", "current", cwd=tmp_path)
    assert f": {HEAD_REVISION} (up to date)" in current.stdout
