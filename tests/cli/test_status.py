"""`tracker status`: what a monitoring check runs. Exit 0 when fresh, 6 when stale or failing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.builders import base_catalog, body
from support.cli import Tracker
from support.server import CatalogServer, Reply


def test_an_empty_database_is_stale_and_a_fresh_fetch_makes_it_healthy(
    tracker: Tracker, server: CatalogServer
) -> None:
    result = tracker("status", "--max-age", "2h", check=6)
    assert "auriko (no observations yet): STALE" in result.stdout
    assert result.stderr == "tracker: error: unhealthy: auriko: no successful fetch yet\n"

    server.serve(base_catalog("v1"))
    tracker("fetch")
    result = tracker("status", "--max-age", "2h")
    assert "auriko (auriko): ok" in result.stdout
    assert "  last success:  " in result.stdout and ", new, v1, 3 models" in result.stdout
    assert "  last change:   none" in result.stdout
    assert "  failures in a row: 0" in result.stdout
    # Without --max-age it only reports.
    assert tracker("status").returncode == 0


def test_a_stale_database_exits_6(tracker: Tracker, tmp_path: Path) -> None:
    saved = tmp_path / "models.json"
    saved.write_bytes(body(base_catalog("v1")))
    three_hours_ago = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    tracker("ingest", str(saved), "--observed-at", three_hours_ago)
    result = tracker("status", "--max-age", "2h", "--format", "json", check=6)
    assert "auriko: last successful fetch 3h ago (max age 2h)" in result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    [source] = report["sources"]
    assert source["stale"] is True and 3 * 3600 - 60 < source["age_seconds"] < 3 * 3600 + 60
    tracker("status", "--max-age", "4h")


def test_failures_in_a_row_and_the_last_change(
    tracker: Tracker, server: CatalogServer
) -> None:
    v2 = base_catalog("v2")
    v2["data"][0]["providers"][0]["input_price"] = 2.0
    server.serve(base_catalog("v1"), v2, Reply(503, b"down"), Reply(401, b"no"))
    tracker("fetch")
    tracker("fetch")
    tracker("fetch", "--retries", "0", check=3)
    tracker("fetch", "--retries", "0", check=3)

    report = tracker.json("status", "--max-age", "1h")
    [source] = report["sources"]
    assert report["healthy"] is True and report["problems"] == []
    assert source["failures_in_a_row"] == 2
    assert source["last_failure"]["http_status"] == 401
    assert source["last_success"]["snapshot"] == "v2"
    assert source["last_change"]["from"] == "v1" and source["last_change"]["to"] == "v2"
    assert source["last_change"]["changes"] == 1
    assert source["observations"] == 4

    result = tracker("status", "--max-failures", "2", check=6)
    assert "auriko (auriko): FAILING" in result.stdout
    assert "  failures in a row: 2" in result.stdout
    assert "  last failure:  " in result.stdout and "HTTP 401" in result.stdout
    assert "auriko: 2 failures in a row" in result.stderr


def test_status_of_an_unknown_source_is_a_usage_error(tracker: Tracker) -> None:
    result = tracker("status", "--source", "nope", check=2)
    assert "unknown source 'nope'" in result.stderr
