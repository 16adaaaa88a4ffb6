"""Observations from the future (issue 10, point 6).

A time given to `ingest --observed-at` later than now plus a small skew is refused. An
observation dated ahead anyway (given by an older version, or by a clock that ran ahead and
was corrected since) never blocks a fetch: fetch records what it saw, just after the newest
observation, and warns; `status` flags the observations from the future, and counts
"failures in a row" in the order they were recorded, whatever their timestamps say.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

from support.builders import base_catalog, body
from support.cli import Tracker
from support.db import count, execute, rows
from support.server import CatalogServer, Reply

FUTURE = "2030-01-01 00:00:00"


def date_in_the_future(database_url: str, which: str = "max") -> None:
    """What `ingest --observed-at 2030-01-01T00:00Z` left before this fix (or a clock that
    ran ahead): the newest (`max`) or the first (`min`) observation dated 2030."""
    execute(database_url, f"UPDATE observations SET observed_at = :t "
            f"WHERE id = (SELECT {which}(id) FROM observations)", t=FUTURE)


def observed(database_url: str) -> list[tuple[str, str]]:
    return [(r[0], str(r[1])[:26]) for r in rows(
        database_url, "SELECT outcome, observed_at FROM observations ORDER BY id")]


def test_an_observation_time_in_the_future_is_refused(tracker: Tracker,
                                                      database_url: str) -> None:
    result = tracker("ingest", "-", "--observed-at", "2030-01-01T00:00Z",
                     input=body(base_catalog()), check=2)
    (line,) = result.stderr.splitlines()
    assert line.startswith("tracker: error: refusing an observation time of "
                           "2030-01-01T00:00:00Z: it is later than now (")
    assert line.endswith("by more than 5m")
    assert count(database_url, "observations") == 0
    # A clock a little ahead of this one (within the skew) is fine.
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    tracker("ingest", "-", "--observed-at", soon, input=body(base_catalog()))


def test_fetch_records_what_it_saw_after_an_observation_from_the_future(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    changed = copy.deepcopy(base_catalog("v2"))
    changed["data"][0]["providers"][0]["input_price"] = 2.0
    server.serve(base_catalog("v1"), base_catalog("v1"), changed)
    tracker("fetch")
    date_in_the_future(database_url)

    unchanged = tracker("fetch")  # before: exit 2, "refusing to ingest ...", nothing recorded
    assert "unchanged (v1, 3 models)" in unchanged.stdout
    assert "the clock reads" in unchanged.stderr
    assert "recording this one at 2030-01-01T00:00:00.000001Z" in unchanged.stderr
    new = tracker.json("fetch")
    assert new["outcome"] == "new" and new["observed_at"] == "2030-01-01T00:00:00.000002Z"
    assert [o for o, _ in observed(database_url)] == ["new", "unchanged", "new"]

    report = json.loads(tracker("status", "--format", "json", check=6).stdout)
    (source,) = report["sources"]
    assert source["future_observations"] == 3
    assert source["newest_observed_at"] == "2030-01-01T00:00:00.000002Z"
    assert report["problems"] == [
        "auriko: 3 observations dated in the future (newest 2030-01-01T00:00:00.000002Z): a "
        "clock ran ahead, or an ingest was given a wrong --observed-at"]
    text = tracker("status", check=6).stdout
    assert "in the future), new, v2, 3 models" in text
    assert "FROM THE FUTURE: 3 observations dated after now" in text


def test_failures_in_a_row_count_in_insertion_order(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog("v1"), Reply(503, b"down"))
    tracker("fetch")
    tracker("fetch", "--retries", "0", check=3)
    date_in_the_future(database_url, "min")  # the success, recorded first, dated 2030
    assert [o for o, _ in observed(database_url)] == ["new", "failed"]

    report = json.loads(tracker("status", "--max-failures", "1", "--format", "json",
                                check=6).stdout)
    assert report["sources"][0]["failures_in_a_row"] == 1
    assert "auriko: 1 failures in a row" in report["problems"]
