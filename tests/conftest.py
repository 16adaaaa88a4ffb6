"""Fixtures: a real database per test on each backend, a loopback catalog server, and the
`tracker` CLI pointed at both. The helpers behind them live in tests/support/.

Every database-backed test runs on both backends: a SQLite file, or a schema of its own in a
PostgreSQL database this session creates and drops (tests/support/db.py). Without a reachable
server the PostgreSQL half is skipped, except under CI (CI=true), where that is an error.
Databases are migrated once per session and copied per test, and so are the histories the
report tests read (tests/support/histories.py).

`tracker` runs the CLI in this process; `tracker_process` runs it as a process of its own, for
the tests (marked slow) where the process is the point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import TEST_KEY, Tracker, TrackerProcess, user_env
from support.db import BACKENDS, Postgres, Templates, connect_postgres, migrated
from support.histories import HISTORIES, versions
from support.locks import LockHolder
from support.receiver import Receiver
from support.server import CatalogServer

# --- databases ---


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    """A PostgreSQL database of this test session's own, dropped at the end (None when the
    server is not reachable); each test gets a schema in it."""
    server = connect_postgres() if "postgresql" in BACKENDS else None
    yield server
    if server is not None:
        server.close()


@pytest.fixture(scope="session")
def histories(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres | None) -> Templates:
    """Databases laid once per session and backend (the migrated empty one, and the histories
    of tests/support/histories.py), copied for each test."""
    return Templates(tmp_path_factory.mktemp("histories"), postgres)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own on each backend, at the newest schema and holding no data
    (a copy of one migrated once per session: a SQLite file, or a PostgreSQL schema).

    - Marked `new_database`: a database nothing has touched yet, as a first run finds it
      (SQLite: no file; PostgreSQL: an empty schema), for the tests of creating and
      migrating it.
    - Asking for a history fixture (`report_history`, `two_source_report_history`,
      `huge_price_history`, `lookalike_history`): a copy of that history, with the
      changelogs laying it wrote in tmp_path/reports.
    """
    backend = request.param
    postgres = request.getfixturevalue("postgres") if backend == "postgresql" else None
    if backend == "postgresql" and postgres is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    if request.node.get_closest_marker("new_database"):
        if backend == "sqlite":
            yield f"sqlite:///{tmp_path / 'tracker.db'}"
        else:
            assert postgres is not None
            with postgres.schema() as url:
                yield url
        return
    history = next((name for name in HISTORIES if name in request.fixturenames), None)
    layer = HISTORIES[history] if history is not None else migrated
    templates: Templates = request.getfixturevalue("histories")
    with templates.copy(backend, history or "migrated", layer, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    from tracker.store.db import open_database

    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def report_history(database_url: str) -> dict[str, dict[str, Any]]:
    """This test's database holds the report history (tests/support/histories.py) of source
    auriko; the catalogs by version."""
    return versions()


@pytest.fixture
def two_source_report_history(database_url: str) -> dict[str, dict[str, Any]]:
    """The report history twice: for source auriko and for source other."""
    return versions()


@pytest.fixture
def huge_price_history(database_url: str) -> None:
    """This test's database holds prices up to 40 digits (tests/support/histories.py)."""


@pytest.fixture
def lookalike_history(database_url: str) -> None:
    """This test's database holds three models with look-alike ids (support/histories.py)."""


# --- a loopback catalog server ---


@pytest.fixture
def server() -> Iterator[CatalogServer]:
    srv = CatalogServer()
    yield srv
    srv.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback receiver for notifications (Apprise's `json://` URLs)."""
    srv = Receiver()
    yield srv
    srv.close()


# --- the run lock ---


@pytest.fixture
def hold_lock(database_url: str) -> Iterator[Callable[[str], Callable[[], None]]]:
    """Hold the run lock of a source from this process, as a long run elsewhere would;
    `hold_lock(source)` returns once the lock is held, and gives back a function that
    releases it."""
    holder = LockHolder(database_url)
    yield holder.hold
    holder.close()


# --- running the CLI as a user does ---


@pytest.fixture
def tracker_env(database_url: str, server: CatalogServer, tmp_path: Path) -> dict[str, str]:
    """A user's environment pointed at this test's database, loopback server and reports
    directory (tmp_path/reports), with a home of its own."""
    home = tmp_path / "home"
    home.mkdir()
    return user_env(
        home,
        TRACKER_DATABASE_URL=database_url,
        TRACKER_REPORTS_DIR=str(tmp_path / "reports"),
        AURIKO_BASE_URL=server.base_url,
        AURIKO_API_KEY=TEST_KEY,
        TRACKER_RETRY_BACKOFF="0.01",
    )


@pytest.fixture
def tracker(tracker_env: dict[str, str], tmp_path: Path) -> Tracker:
    """The CLI, run in this process, in the test's directory and environment."""
    return Tracker(env=tracker_env, cwd=tmp_path)


@pytest.fixture
def tracker_process(request: pytest.FixtureRequest, tracker_env: dict[str, str],
                    tmp_path: Path) -> TrackerProcess:
    """The same CLI as `tracker`, but each call a `python -m tracker` process of its own
    (for tests marked slow: `pytest -m "not slow"` leaves them out)."""
    if request.node.get_closest_marker("slow") is None:
        pytest.fail("a test that starts tracker processes is marked slow", pytrace=False)
    return TrackerProcess(env=tracker_env, cwd=tmp_path)
