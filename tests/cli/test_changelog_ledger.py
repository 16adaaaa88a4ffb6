"""A changelog is never lost (issue 10, point 3).

The changelogs a transition owes its reports directory are recorded in the `changelogs` table
in the transaction that stores the transition. When they cannot be written (the directory is
a file, the disk is full) the state stays stored, the run exits 8 with one line that says so,
no temporary file is left behind, `status` shows what is owed, and the next run writes it.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog, body
from support.cli import Tracker
from support.db import count, rows
from support.server import CatalogServer

T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


def cheaper() -> dict[str, Any]:
    payload = copy.deepcopy(base_catalog("v2"))
    payload["data"][0]["providers"][0]["input_price"] = 2.0
    return payload


def leftovers(directory: Path) -> list[str]:
    """Temporary files of the atomic writer (`.<name>.tmp`) left in `directory`."""
    return sorted(p.name for p in directory.glob(".*.tmp")) if directory.is_dir() else []


def owed(database_url: str) -> list[tuple[Any, ...]]:
    return [(r[0], bool(r[1]), r[2], r[3]) for r in rows(
        database_url, "SELECT directory, written_at IS NULL, failed_attempts, last_error "
                      "FROM changelogs ORDER BY id")]


def test_an_unwritable_reports_directory_exits_8_and_the_next_run_writes_the_changelog(
    tracker: Tracker, server: CatalogServer, database_url: str, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    reports.write_text("not a directory")  # where TRACKER_REPORTS_DIR points
    server.serve(base_catalog("v1"), cheaper())
    tracker("fetch")  # a first snapshot owes no changelog

    failed = tracker("fetch", check=8)
    (line,) = failed.stderr.splitlines()
    assert line.startswith("tracker: error: source auriko: snapshot v2 is stored, but the "
                           "changelog of v1 -> v2 (")
    assert f"could not be written to {reports}: not a directory: {reports}" in line
    assert "next run" in line and "unexpected" not in line and "Traceback" not in line
    assert count(database_url, "snapshots") == 2  # the state is in the record all the same
    assert owed(database_url) == [(str(reports), True, 1, f"not a directory: {reports}")]

    status = tracker("status", check=6)
    assert f"changelogs not written: 1 owed to {reports}" in status.stdout
    report = json.loads(tracker("status", "--format", "json", check=6).stdout)
    assert report["sources"][0]["changelogs_pending"][0]["pending"] == 1

    reports.unlink()  # the operator fixes the directory; the next run (unchanged) catches up
    caught_up = tracker("fetch")
    assert "unchanged (v2, 3 models)" in caught_up.stdout
    written = sorted(p.name for p in reports.glob("changelog-*"))
    assert len(written) == 2 and written[0].endswith("-v2.html")
    assert f"  wrote {reports / written[1]}" in caught_up.stdout
    assert "$2.50 | $2.00" in (reports / written[1]).read_text()
    assert owed(database_url) == [(str(reports), False, 1, None)]
    assert leftovers(reports) == []
    tracker("status")  # healthy again


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_leaves_no_temporary_file_and_loses_no_changelog(
    tracker: Tracker, database_url: str, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    tracker("ingest", "-", "--observed-at", T1, input=body(base_catalog("v1")))
    # The changelog's temporary file lands on a full device: every write fails with ENOSPC.
    stem = "changelog-20260102T000000Z-v2"
    (reports / f".{stem}.md.tmp").symlink_to("/dev/full")

    failed = tracker("ingest", "-", "--observed-at", T2, input=body(cheaper()), check=8)
    (line,) = failed.stderr.splitlines()
    assert "snapshot v2 is stored" in line and "No space left on device" in line
    assert leftovers(reports) == [] and list(reports.iterdir()) == []
    assert owed(database_url)[0][1:3] == (True, 1)

    # The disk has room again: the next run, whatever it brings, writes what is owed.
    tracker("ingest", "-", "--observed-at", T3, input=body(cheaper()))
    assert sorted(p.name for p in reports.iterdir()) == [f"{stem}.html", f"{stem}.md"]
    assert owed(database_url)[0][1:3] == (False, 1)


def test_each_transition_owes_its_changelog_once(
    tracker: Tracker, database_url: str, tmp_path: Path
) -> None:
    tracker("ingest", "-", "--observed-at", T1, input=body(base_catalog("v1")))
    tracker("ingest", "-", "--observed-at", T2, input=body(cheaper()))
    tracker("ingest", "-", "--observed-at", T3, input=body(cheaper()))
    assert [r[1:3] for r in owed(database_url)] == [(False, 0)]
    assert len(list((tmp_path / "reports").glob("changelog-*"))) == 2
