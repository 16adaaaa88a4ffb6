"""The run lock from the command line: a run that cannot get it exits 5 with one line."""

from __future__ import annotations

from typing import Any

from support.builders import base_catalog
from support.cli import Tracker
from support.db import rows
from support.server import CatalogServer


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


def test_the_lock_is_per_source(
    tracker: Tracker, server: CatalogServer, database_url: str, hold_lock: Any
) -> None:
    server.serve(base_catalog())
    hold_lock("some-other-source")
    tracker("fetch", "--lock-timeout", "0")
