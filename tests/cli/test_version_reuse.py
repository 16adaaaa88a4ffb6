"""A catalog_version re-served with different content (issue 10, point 2).

A state is its content: what users pay. The catalog_version is its label and a fast path, so
the same version with other content is another state, flagged `version_reused` on the
observation and the snapshot, and said so in the changelog, in `status` and in
`--format json`. Both sequences of the issue, fetched from a loopback router, on both
backends.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from support.builders import base_catalog
from support.cli import Tracker
from support.db import rows
from support.server import CatalogServer

NOTE = "catalog version v1 was re-served with different content"


def priced(version: str, price: float) -> dict[str, Any]:
    """The base catalog under `version`, gpt-4o on openai at `price` input."""
    payload = copy.deepcopy(base_catalog(version))
    payload["data"][0]["providers"][0]["input_price"] = price
    return payload


def price_moves(run: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(c["old"], c["new"]) for c in run["changes"] if c["kind"] == "price_changed"]


def test_the_same_version_with_other_content_is_a_new_state_and_its_return_a_transition(
    tracker: Tracker, server: CatalogServer, database_url: str, tmp_path: Path
) -> None:
    # Sequence one: v1 at 2.5, then v1 at 3.0 (twice), then v1 at 2.5 again.
    server.serve(priced("v1", 2.5), priced("v1", 3.0), priced("v1", 3.0), priced("v1", 2.5))
    runs = [tracker.json("fetch") for _ in range(4)]

    assert [r["outcome"] for r in runs] == ["new", "new", "unchanged", "reverted"]
    assert [price_moves(r) for r in runs] == [[], [(2.5, 3)], [], [(3, 2.5)]]
    assert [r["version_reused"] for r in runs] == [False, True, False, True]
    assert runs[1]["to"]["version_reused"] is True  # the snapshot is flagged too
    # The 3.0 period is in the record: two states, both labelled v1.
    snapshots = rows(database_url, "SELECT catalog_version, version_reused FROM snapshots "
                                   "ORDER BY id")
    assert [(s[0], bool(s[1])) for s in snapshots] == [("v1", False), ("v1", True)]
    flags = rows(database_url, "SELECT outcome, version_reused FROM observations ORDER BY id")
    assert [(f[0], bool(f[1])) for f in flags] == [
        ("new", False), ("new", True), ("unchanged", False), ("reverted", True)]

    # Each changelog says so, in Markdown and HTML; the fetch line says so (even with -q,
    # which hides the warning that was the only trace before).
    changelogs = sorted((tmp_path / "reports").glob("changelog-*.md"))
    assert len(changelogs) == 2
    for path in changelogs:
        assert f"**Note:** {NOTE}." in path.read_text()
        assert NOTE in path.with_suffix(".html").read_text()
    server.serve(priced("v1", 3.0))
    assert NOTE in tracker("-q", "fetch").stdout

    status = tracker.json("status")["sources"][0]["last_change"]
    assert (status["version_reused"], status["served_version"]) == (True, "v1")
    assert f"(1 changes; {NOTE})" in tracker("status").stdout


def test_a_version_served_again_later_with_other_content_is_not_a_return_to_it(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    # Sequence two: v1 at 2.5, v2 at 3.0, then v1 at 9.99: the router charges 9.99.
    server.serve(priced("v1", 2.5), priced("v2", 3.0), priced("v1", 9.99))
    runs = [tracker.json("fetch") for _ in range(3)]

    assert [r["outcome"] for r in runs] == ["new", "new", "new"]
    assert price_moves(runs[2]) == [(3, 9.99)]
    assert runs[2]["version_reused"] is True and runs[2]["to"]["version_reused"] is True
    assert runs[2]["from"]["catalog_version"] == "v2"
    diff = tracker.json("diff")
    assert [(c["old"], c["new"]) for c in diff["changes"]] == [(3, 9.99)]
    assert diff["to"]["version_reused"] is True
    assert "returned to earlier snapshot" not in tracker("snapshots").stdout
    prices = rows(database_url, "SELECT input_price FROM offers WHERE model_id = 'gpt-4o' "
                                "AND provider = 'openai' AND valid_to IS NULL")
    assert [p[0] for p in prices] == ["9.99"]


def test_the_same_content_under_another_version_is_the_same_state(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(priced("v1", 2.5), priced("v2", 2.5))
    first, second = tracker.json("fetch"), tracker.json("fetch")
    assert (first["outcome"], second["outcome"]) == ("new", "unchanged")
    assert second["served_version"] == "v2" and second["to"]["catalog_version"] == "v1"
    assert [r[0] for r in rows(database_url, "SELECT catalog_version FROM observations "
                                             "ORDER BY id")] == ["v1", "v2"]
