"""Faults of the machine, not of the tool, that can be foreseen: a full disk, a corrupt or
damaged database, an output path under a file, a time out of range, a read-only database.
None of them is "unexpected" (exit 1): each is one clear line that names the file, with its
documented exit code (7 for storage faults, 2 for arguments), and no SQL, SQLAlchemy text or
bound parameter ever reaches that line. After the fault, the next normal run works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog, body, catalog, model, provider
from support.cli import TEST_KEY, Result, Tracker, user_env
from support.db import execute, rows
from support.server import CatalogServer

STORAGE = 7


def one_clean_line(result: Result, *words: str) -> str:
    """The single error line of a failure, which holds `words`; no line on stderr (the log
    lines of -v included) holds SQL, SQLAlchemy text or a parameter."""
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("tracker: ")]
    assert line.startswith("tracker: error: "), line
    assert "unexpected" not in line
    for leak in ("[SQL", "SELECT", "INSERT", "UPDATE", "parameters", "sqlalche.me",
                 "sqlite3.", "psycopg.", "(Background", "Traceback"):
        assert leak not in result.stderr, result.stderr
    for word in words:
        assert word in line, line
    return line


def big_catalog(version: str = "v1") -> dict[str, Any]:
    """Enough models that storing them needs new pages of the database file."""
    return catalog(*(model(f"model-{i:04d}", provider("p", 1 + i / 100, 2)) for i in range(400)),
                   version=version)


# --- a full disk ---


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up as the snapshot is written: SQLite reaches its page limit (the same
    SQLITE_FULL a full disk gives); on PostgreSQL the offers' rows meet its disk_full error
    (SQLSTATE 53100) as they go in, raised when the run's queued writes are waited for
    (tracker.store.queued). The trigger that raises it is made in the run's own transaction,
    and goes with it."""
    fill_disk_at(monkeypatch, 1)


def fill_disk_at(monkeypatch: pytest.MonkeyPatch, snapshot: int) -> None:
    """The disk fills up as the `snapshot`-th snapshot of the process is written (and each
    one after it)."""
    from tracker.store import writes

    real = writes.insert_snapshot
    written = 0

    def insert_snapshot(conn: Any, **kwargs: Any) -> Any:
        nonlocal written
        written += 1
        if written < snapshot:
            return real(conn, **kwargs)
        if conn.dialect.name == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'could not extend file \"base/16384/16390\": No space left"
                " on device' USING ERRCODE = 'disk_full'; END $$")
            conn.exec_driver_sql("CREATE TRIGGER disk_full BEFORE INSERT ON offers"
                                 " FOR EACH ROW EXECUTE FUNCTION disk_full()")
        return real(conn, **kwargs)

    monkeypatch.setattr(writes, "insert_snapshot", insert_snapshot)


def test_a_full_disk_is_one_line_exit_7_and_the_next_run_stores_the_catalog(
    tracker: Tracker, server: CatalogServer, database_url: str, disk_full: None,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve(big_catalog())
    for args in (("fetch",), ("-v", "fetch")):
        line = one_clean_line(tracker(*args, check=STORAGE), "disk is full")
        assert ("tracker.db" in line) if database_url.startswith("sqlite") else (
            "postgresql+psycopg://" in line)
        assert TEST_KEY not in line and "model-0001" not in line
    assert rows(database_url, "SELECT id FROM snapshots") == []  # nothing half-written
    monkeypatch.undo()  # space again
    assert "first snapshot v1 stored (400 models)" in tracker("fetch").stdout


def test_a_backfill_that_fills_the_disk_keeps_nothing_half_written_and_resumes(
    tracker: Tracker, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # import-git writes its versions in shared transactions: the full disk at the second
    # version undoes the first too, as a crash would, and the next run imports all three.
    from support.git import scrape_repo

    versions = [big_catalog(f"v{n}") for n in (1, 2, 3)]
    for n, version in enumerate(versions):
        version["data"][0]["providers"][0]["input_price"] = 10 + n
    repo = scrape_repo(tmp_path / "scrape", versions)
    fill_disk_at(monkeypatch, 2)
    one_clean_line(tracker("import-git", str(repo), "models.json", check=STORAGE),
                   "disk is full")
    assert rows(database_url, "SELECT id FROM snapshots") == []
    assert rows(database_url, "SELECT id FROM observations") == []
    monkeypatch.undo()
    again = tracker.json("import-git", str(repo), "models.json")
    assert (again["imported"], again["outcomes"]) == (3, {"new": 3})


# --- a corrupt SQLite file, an emptied alembic_version ---


@pytest.fixture
def sqlite_cli(tmp_path: Path, server: CatalogServer) -> Tracker:
    """The CLI on a SQLite file of its own (tmp_path/own.db): corruption is a file's."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Tracker(env=user_env(home, TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'own.db'}",
                                TRACKER_REPORTS_DIR=str(tmp_path / "reports"),
                                AURIKO_BASE_URL=server.base_url, AURIKO_API_KEY=TEST_KEY),
                   cwd=tmp_path)


def corrupt_pages(path: Path) -> None:
    """Overwrite every page but the first (the header stays valid): "malformed"."""
    data = bytearray(path.read_bytes())
    for i in range(4096, len(data)):
        data[i] = 0xA5
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["not a database", "malformed"])
def test_a_corrupt_sqlite_file_is_one_line_exit_7(
    sqlite_cli: Tracker, server: CatalogServer, tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "own.db"
    if damage == "not a database":
        path.write_bytes(b"this was a PDF, once\n" * 500)
        words = "is not a SQLite database"
    else:
        sqlite_cli("ingest", "-", input=body(big_catalog()))
        for extra in ("-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        corrupt_pages(path)
        words = "corrupt"
    server.serve(base_catalog())
    for args in (("snapshots",), ("diff",), ("report", "--since", "7d"), ("fetch",),
                 ("db", "upgrade")):
        one_clean_line(sqlite_cli(*args, check=STORAGE), str(path), words)


def test_an_emptied_alembic_version_is_one_line_exit_7(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog())
    tracker("fetch")
    execute(database_url, "DELETE FROM alembic_version")
    for args in (("snapshots",), ("fetch",), ("db", "upgrade"), ("db", "current")):
        one_clean_line(tracker(*args, check=STORAGE),
                       "holds the tracker's tables but no schema revision", "empty")
    # Nothing was created over the existing tables or lost: stamping it back repairs it.
    from tracker.store.db import HEAD_REVISION

    execute(database_url, f"INSERT INTO alembic_version VALUES ('{HEAD_REVISION}')")
    assert len(tracker.json("snapshots")) == 1


# --- output paths under a file ---


@pytest.mark.parametrize("args", [
    ("diff", "-o", "{file}/out.md"),
    ("report", "--since", "7d", "-o", "{file}/deeper/out.html"),
    ("audit", "--format", "csv", "-o", "{file}/audit.csv"),
    ("feed", "-o", "{file}/changes.atom"),
    ("site", "{file}/site"),
    ("report", "--weekly", "--reports-dir", "{file}/weekly"),
], ids=lambda args: args[0] + (" --weekly" if "--weekly" in args else ""))
def test_an_output_path_under_a_file_is_one_line_exit_7(
    tracker: Tracker, server: CatalogServer, tmp_path: Path, args: tuple[str, ...]
) -> None:
    server.serve(base_catalog("v1"), base_catalog("v2"))
    tracker("fetch")
    tracker("fetch")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a directory\n")
    result = tracker(*(a.format(file=blocker) for a in args), check=STORAGE)
    one_clean_line(result, "cannot write", f"{blocker} is a file, not a directory")
    assert blocker.read_text() == "a file, not a directory\n"


# --- WHEN out of range ---


@pytest.mark.parametrize("args", [
    ("report", "--since", "999999999d"),
    ("report", "--since", "99999999999d"),
    ("report", "--since", "9999-12-31T23:00-05:00"),
    ("report", "--since", "2026-01-01", "--until", "0001-01-01T00:00+01:00"),
    ("audit", "--since", "999999999d"),
    ("feed", "--since", "9999-12-31T23:00-05:00"),
    ("report", "--weekly", "--week", "9999-W52"),
], ids=lambda args: " ".join(args))
def test_a_time_out_of_range_is_a_usage_error(tracker: Tracker, args: tuple[str, ...]) -> None:
    one_clean_line(tracker(*args, check=2), "out of range")


# --- a read-only database: reading works, writing says why not ---


@pytest.fixture
def read_only_url(database_url: str, tracker: Tracker, server: CatalogServer) -> Iterator[str]:
    """The test's database, with two snapshots, opened read-only: PostgreSQL through a
    session that may only read (`default_transaction_read_only`, as on a standby); the
    read-only SQLite mount is a process test (tests/process/test_read_only_mount.py)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a read-only SQLite file is a read-only mount: tests/process")
    server.serve(base_catalog("v1"), base_catalog("v2") | {"data": base_catalog()["data"][:2]})
    tracker("fetch")
    tracker("fetch")
    yield database_url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20", 1)


def test_read_commands_work_on_a_read_only_database(tracker: Tracker,
                                                     read_only_url: str) -> None:
    env = {"TRACKER_DATABASE_URL": read_only_url}
    assert [s["catalog_version"] for s in json.loads(
        tracker("snapshots", "--format", "json", extra_env=env).stdout)] == ["v1", "v2"]
    assert tracker("diff", "--format", "json", extra_env=env).stdout.count("model_removed") == 1
    for args in (("report", "--since", "7d"), ("audit",), ("history", "gpt-4o"), ("feed",),
                 ("status",), ("sources",), ("db", "current")):
        tracker(*args, extra_env=env)
    line = one_clean_line(tracker("fetch", extra_env=env, check=STORAGE), "read-only")
    assert "postgresql+psycopg://" in line
