"""One run at a time: concurrent `tracker fetch` processes, the run lock, exit code 5.

Reads like an operator's bad day: cron and a manual run (or eight of them) start together,
and the database still holds exactly one snapshot per version and one observation per run.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

import pytest
from support.builders import base_catalog
from support.cli import Tracker, TrackerProcess
from support.db import rows
from support.server import CatalogServer

PROCESSES = 8
FIRST = 4  # on the empty database


def start_fetches(tracker: TrackerProcess, count: int, *args: str) -> list[subprocess.Popen[str]]:
    """`count` fetch processes started together (a barrier would not be closer than this)."""
    return [tracker.start("fetch", *args) for _ in range(count)]


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    results = []
    for proc in processes:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


@pytest.mark.slow
@pytest.mark.new_database
def test_eight_fetches_at_once_store_one_snapshot_and_eight_observations(
    tracker_process: TrackerProcess, server: CatalogServer, database_url: str
) -> None:
    tracker = tracker_process
    # On a new, empty database the first runs also race to create the schema. (Their runs
    # overlap: each takes the run lock in turn, the later ones waiting for the earlier.)
    server.serve(base_catalog("v1"))
    results = finish(start_fetches(tracker, FIRST))
    for code, _out, err in results:
        assert code == 0, err
        assert "database is locked" not in err
    assert sorted(out.split(":")[1].split()[0] for _, out, _ in results) == (
        ["first"] + ["unchanged"] * (FIRST - 1))
    assert len(rows(database_url, "SELECT id FROM snapshots")) == 1

    # Eight at once against the same new version of the catalog.
    server.serve(_cheaper("v2"))
    results = finish(start_fetches(tracker, PROCESSES))
    for code, out, err in results:
        assert code == 0, err
        assert "database is locked" not in err
    assert sum("new snapshot v2" in out for _, out, _ in results) == 1
    assert sum("unchanged (v2" in out for _, out, _ in results) == PROCESSES - 1
    versions = [r.catalog_version for r in rows(database_url,
                                                "SELECT catalog_version FROM snapshots")]
    assert versions == ["v1", "v2"]
    observed = rows(database_url, "SELECT outcome, catalog_version FROM observations"
                                  " WHERE catalog_version = 'v2'")
    assert sorted(r.outcome for r in observed) == ["new"] + ["unchanged"] * (PROCESSES - 1)
    # One transition, recorded once: its change records belong to a single observation.
    owners = {r.observation_id for r in rows(database_url, "SELECT observation_id FROM changes")}
    assert len(owners) == 1
    written = sorted(p.name for p in (tracker.cwd / "reports").iterdir())
    assert len(written) == 2 and written[0].endswith("-v2.html")


def _cheaper(version: str) -> dict[str, Any]:
    payload = base_catalog(version)
    payload["data"][0]["providers"][0]["input_price"] = 2.0
    return payload


@pytest.fixture
def hold_lock(database_url: str) -> Any:
    """Hold the run lock of a source from this process, as a long run elsewhere would;
    `hold(source)` returns once the lock is held, and gives back a function that releases it."""
    from tracker.locking import run_lock
    from tracker.store.db import open_database

    engine = open_database(database_url)
    releases: list[threading.Event] = []
    threads: list[threading.Thread] = []

    def hold(source: str) -> Any:
        taken, release = threading.Event(), threading.Event()

        def body() -> None:
            with run_lock(engine, source, timeout=5):
                taken.set()
                release.wait(60)

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        releases.append(release)
        threads.append(thread)
        assert taken.wait(10)
        return release.set

    yield hold
    for release in releases:
        release.set()
    for thread in threads:
        thread.join(30)
    engine.dispose()


def test_a_run_that_cannot_get_the_lock_exits_5_with_one_line(
    tracker: Tracker, server: CatalogServer, database_url: str, hold_lock: Any
) -> None:
    server.serve(base_catalog())
    hold_lock("auriko")
    result = tracker("fetch", "--lock-timeout", "0.5", check=5)
    assert result.stderr.count("\n") == 1
    assert "another run of source 'auriko' is in progress" in result.stderr
    assert "gave up after waiting 0.5 s" in result.stderr
    # Nothing was fetched or recorded: the run never started.
    assert server.requests == []
    assert rows(database_url, "SELECT id FROM observations") == []


@pytest.mark.slow
def test_a_second_run_waits_for_the_first_then_goes_ahead(
    tracker_process: TrackerProcess, server: CatalogServer, database_url: str, hold_lock: Any
) -> None:
    server.serve(base_catalog())
    release = hold_lock("auriko")
    proc = tracker_process.start("-v", "fetch", "--lock-timeout", "30")
    assert proc.stderr is not None
    waiting = proc.stderr.readline()
    assert "source auriko: waiting up to 30 s for another run to finish" in waiting
    assert server.requests == []
    release()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "first snapshot v1 stored" in out


def test_the_lock_is_per_source(
    tracker: Tracker, server: CatalogServer, database_url: str, hold_lock: Any
) -> None:
    server.serve(base_catalog())
    hold_lock("some-other-source")
    tracker("fetch", "--lock-timeout", "0")


def test_the_sqlite_lock_file_sits_next_to_the_database(tmp_path: Any) -> None:
    from tracker.locking import sqlite_lock_path
    from tracker.store.db import create_db_engine

    engine = create_db_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert sqlite_lock_path(engine, "auriko") == tmp_path / "tracker.db-run-auriko.lock"
    odd = sqlite_lock_path(engine, "a/b c")
    assert odd is not None and odd.parent == tmp_path and "/" not in odd.name[len("tracker"):]
    assert sqlite_lock_path(create_db_engine("sqlite://"), "auriko") is None


def test_a_stopping_scheduler_stops_waiting_for_the_lock(
    database_url: str, hold_lock: Any
) -> None:
    from tracker.errors import LockBusyError
    from tracker.locking import run_lock
    from tracker.store.db import open_database

    hold_lock("auriko")
    engine = open_database(database_url)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    began = time.monotonic()
    with pytest.raises(LockBusyError, match="stopped while waiting"), \
            run_lock(engine, "auriko", timeout=30, cancel=cancel):
        pass
    assert time.monotonic() - began < 5
    engine.dispose()
