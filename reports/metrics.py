"""`tracker status --format openmetrics`: health as OpenMetrics text, for the node_exporter
textfile collector or a Prometheus scrape job.

Input is the status report (`StatusReport.to_json()`). Every metric is a gauge; each
per-source one has a `source` label. `catalog_tracker_up` is 1 when the report is healthy (the
verdict `tracker status` exits 6 on: no checked source stale beyond --max-age or failing
--max-failures times in a row), and `catalog_tracker_source_up` says the same per source.

>>> report = {"healthy": True, "checked_at": "2026-11-02T10:00:00Z", "notifications": [],
...           "sources": [{"source": "auriko", "stale": False, "failing": False,
...                        "last_success": {"observed_at": "2026-11-02T09:00:00Z"},
...                        "age_seconds": 3600, "failures_in_a_row": 0, "snapshots": 2,
...                        "observations": 5}]}
>>> text = status_openmetrics(report)
>>> [line for line in text.splitlines() if line.startswith("catalog_tracker_last")]
['catalog_tracker_last_success_timestamp_seconds{source="auriko"} 1793610000', \
'catalog_tracker_last_success_age_seconds{source="auriko"} 3600']
>>> text.endswith("# EOF\\n")
True
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["METRICS", "status_openmetrics"]

# name, unit (OpenMetrics: the name ends with it), help, value of one source's status.
Metric = tuple[str, str, str, Callable[[dict[str, Any], dict[str, Any]], Any]]


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).timestamp()


def _pending(status: dict[str, Any], report: dict[str, Any]) -> int:
    return sum(int(target.get("pending_transitions") or 0)
               for target in report.get("notifications") or []
               if target.get("source") == status.get("source"))


METRICS: tuple[Metric, ...] = (
    ("catalog_tracker_source_up", "",
     "1 unless the source is stale (--max-age) or failing (--max-failures)",
     lambda s, _: 0 if s.get("stale") or s.get("failing") else 1),
    ("catalog_tracker_last_success_timestamp_seconds", "seconds",
     "When the newest successful poll was observed (Unix time)",
     lambda s, _: _timestamp((s.get("last_success") or {}).get("observed_at"))),
    ("catalog_tracker_last_success_age_seconds", "seconds",
     "How long ago the newest successful poll was observed",
     lambda s, _: s.get("age_seconds")),
    ("catalog_tracker_failures_in_a_row", "",
     "Failed polls since the newest successful one",
     lambda s, _: s.get("failures_in_a_row")),
    ("catalog_tracker_snapshots", "", "Distinct catalog states stored",
     lambda s, _: s.get("snapshots")),
    ("catalog_tracker_observations", "", "Polls recorded, whatever their outcome",
     lambda s, _: s.get("observations")),
    ("catalog_tracker_pending_notifications", "",
     "Transitions not yet delivered to a notification target, summed over the targets",
     _pending),
)


def _label(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _number(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _family(lines: list[str], name: str, unit: str, text: str) -> None:
    lines.append(f"# TYPE {name} gauge")
    if unit:
        lines.append(f"# UNIT {name} {unit}")
    lines.append(f"# HELP {name} {text}")


def status_openmetrics(report: dict[str, Any]) -> str:
    """The status report as OpenMetrics text, ending with `# EOF`."""
    lines: list[str] = []
    _family(lines, "catalog_tracker_up", "",
            "1 when every checked source is healthy, as tracker status exits 0 (else 6)")
    lines.append(f"catalog_tracker_up {_number(bool(report.get('healthy')))}")
    checked = _timestamp(report.get("checked_at"))
    if checked is not None:
        _family(lines, "catalog_tracker_checked_timestamp_seconds", "seconds",
                "When this status was taken (Unix time)")
        lines.append(f"catalog_tracker_checked_timestamp_seconds {_number(checked)}")
    sources = [s for s in report.get("sources") or [] if isinstance(s, dict)]
    for name, unit, text, value_of in METRICS:
        samples = [(status, value_of(status, report)) for status in sources]
        samples = [(status, value) for status, value in samples if value is not None]
        if not samples:
            continue
        _family(lines, name, unit, text)
        for status, value in samples:
            lines.append(f"{name}{{source={_label(status.get('source'))}}} {_number(value)}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
