"""One run at a time: concurrent `tracker fetch` processes and the run lock.

Reads like an operator's bad day: cron and a manual run (or eight of them) start together,
and the database still holds exactly one snapshot per version and one observation per run.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from support.builders import base_catalog
from support.cli import TrackerProcess
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
