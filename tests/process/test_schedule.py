"""`tracker schedule`: runs on time in the foreground, one at a time, and stops cleanly.

The tests start the real process against the loopback server, watch it run, then send it
SIGTERM in the middle of a run, as systemd does on `systemctl stop`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.builders import base_catalog, body
from support.cli import TrackerProcess
from support.db import rows
from support.server import CatalogServer, Reply


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def repriced(version: str, input_price: float) -> dict:
    """The base catalog under another version, with gpt-4o's first offer at a new price."""
    catalog = base_catalog(version)
    catalog["data"][0]["providers"][0]["input_price"] = input_price
    return catalog


@pytest.mark.slow
def test_runs_every_second_and_a_sigterm_lets_the_run_in_progress_finish(
    tracker_process: TrackerProcess, server: CatalogServer, database_url: str
) -> None:
    tracker = tracker_process
    # Two quick runs, a new version, then a slow remote: SIGTERM arrives while it answers.
    slow = Reply(200, body(repriced("v3", 2.0)), delay=2.0)
    server.serve(base_catalog("v1"), base_catalog("v1"), repriced("v2", 2.25), slow)
    proc = tracker.start("schedule", "--every", "1s")
    try:
        wait_for(lambda: len(server.requests) >= 4)  # the fourth run is in progress
        time.sleep(0.3)
        code, _out, err = stop(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert "SIGTERM: stopping; a run in progress finishes first" in err
    assert "schedule stopped after" in err
    # A log line per run: source, outcome, snapshot, changes, duration.
    assert "auriko: first snapshot v1 stored (3 models) in" in err
    assert "auriko: unchanged (v1, 3 models) in" in err
    assert "auriko: new snapshot v2: 1 price change in" in err
    # The interrupted run finished and committed; every request is one observation.
    outcomes = [row.outcome for row in rows(database_url,
                                            "SELECT id, outcome FROM observations ORDER BY id")]
    assert len(outcomes) == len(server.requests) == 4
    assert outcomes == ["new", "unchanged", "new", "new"]
    versions = [row.catalog_version for row in rows(
        database_url, "SELECT id, catalog_version FROM snapshots ORDER BY id")]
    assert versions == ["v1", "v2", "v3"]


@pytest.mark.slow
def test_a_failed_run_is_logged_and_the_schedule_goes_on(
    tracker_process: TrackerProcess, server: CatalogServer, database_url: str
) -> None:
    tracker = tracker_process
    server.serve(Reply(503, b'{"error": "down"}'), base_catalog("v1"))
    proc = tracker.start("--log-format", "json", "schedule", "--every", "1s", "--retries", "0")
    try:
        wait_for(lambda: len(server.requests) >= 2)
        wait_for(lambda: len(rows(database_url, "SELECT id FROM observations")) >= 2)
        code, _out, err = stop(proc, signal.SIGINT)  # Ctrl-C stops it the same way
    finally:
        proc.kill()
    assert code == 0, err
    lines = [json.loads(line) for line in err.splitlines()]
    runs = [line for line in lines if line["logger"] == "tracker.run"]
    assert runs[0]["outcome"] == "failed" and runs[0]["exit_code"] == 3
    assert runs[0]["level"] == "warning" and "HTTP 503" in runs[0]["error"]
    assert runs[1]["outcome"] == "new" and runs[1]["snapshot"] == "v1"
    assert runs[1]["changes"] == 0 and isinstance(runs[1]["duration_ms"], int)
    assert runs[1]["source"] == "auriko"


@pytest.mark.slow
def test_no_initial_run_waits_for_the_first_tick(
    tracker_process: TrackerProcess, server: CatalogServer
) -> None:
    tracker = tracker_process
    server.serve(base_catalog())
    proc = tracker.start("schedule", "--cron", "0 3 * * *", "--timezone", "UTC",
                 "--no-initial-run")
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        code, _out, _err = stop(proc)
    finally:
        proc.kill()
    assert "schedule: cron '0 3 * * *' (UTC); sources: auriko; first run " in first
    assert "T03:00:00Z" in first
    assert code == 0 and server.requests == []


@pytest.mark.slow
def test_the_config_file_schedule_is_used(
    tracker_process: TrackerProcess, server: CatalogServer, tmp_path: Path
) -> None:
    tracker = tracker_process
    config = tmp_path / "tracker.toml"
    config.write_text('[schedule]\nevery = "1s"\njitter = "0s"\n')
    server.serve(base_catalog())
    proc = tracker.start("--config", str(config), "schedule")
    try:
        wait_for(lambda: len(server.requests) >= 2)
        code, _out, err = stop(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert "schedule: every 1s;" in err
