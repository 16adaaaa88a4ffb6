"""`tracker status --format openmetrics`: health as OpenMetrics text, read back with
prometheus_client's own parser as Prometheus would read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families
from support.builders import base_catalog
from support.cli import Tracker
from support.histories import T5
from support.server import CatalogServer, Reply


def metrics(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{metric: {labels: value}} of an OpenMetrics text; the parser refuses anything invalid
    (a missing `# EOF`, a unit the name does not end with, a bad label)."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return found


def test_openmetrics_gauges_of_a_history(tracker: Tracker,
                                         report_history: dict[str, Any]) -> None:
    text = tracker("status", "--format", "openmetrics").stdout
    assert text.endswith("# EOF\n")
    found = metrics(text)
    auriko = (("source", "auriko"),)
    assert found["catalog_tracker_up"] == {(): 1}
    assert found["catalog_tracker_source_up"] == {auriko: 1}
    assert found["catalog_tracker_snapshots"] == {auriko: 4}  # v1 to v4; T5 returned to v2
    assert found["catalog_tracker_observations"] == {auriko: 7}
    assert found["catalog_tracker_failures_in_a_row"] == {auriko: 0}
    last = datetime.fromisoformat(T5).timestamp()
    assert found["catalog_tracker_last_success_timestamp_seconds"] == {auriko: last}
    age = found["catalog_tracker_last_success_age_seconds"][auriko]
    checked = found["catalog_tracker_checked_timestamp_seconds"][()]
    assert age == round(checked - last) or abs(age - (checked - last)) <= 1


def test_an_unhealthy_source_is_a_gauge_not_an_exit_code(tracker: Tracker,
                                                         server: CatalogServer) -> None:
    server.serve(base_catalog("v1"), Reply(503, b"down"))
    tracker("fetch")
    tracker("fetch", "--retries", "0", check=3)
    result = tracker("status", "--max-failures", "1", "--format", "openmetrics")
    assert result.returncode == 0 and result.stderr == ""  # the metrics carry the verdict
    found = metrics(result.stdout)
    auriko = (("source", "auriko"),)
    assert found["catalog_tracker_up"] == {(): 0}
    assert found["catalog_tracker_source_up"] == {auriko: 0}
    assert found["catalog_tracker_failures_in_a_row"] == {auriko: 1}
    assert found["catalog_tracker_observations"] == {auriko: 2}
    assert found["catalog_tracker_pending_notifications"] == {auriko: 0}
    # The same check in text exits 6, as it always did.
    tracker("status", "--max-failures", "1", check=6)


def test_a_source_never_fetched_has_no_timestamps(tracker: Tracker) -> None:
    found = metrics(tracker("status", "--max-age", "2h", "--format", "openmetrics").stdout)
    assert found["catalog_tracker_up"] == {(): 0}
    assert found["catalog_tracker_snapshots"] == {(("source", "auriko"),): 0}
    assert found["catalog_tracker_observations"] == {(("source", "auriko"),): 0}
    assert "catalog_tracker_last_success_timestamp_seconds" not in found
    assert "catalog_tracker_last_success_age_seconds" not in found
