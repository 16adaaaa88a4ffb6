"""Terminal text: what `fetch`, `snapshots`, `sources`, `status` and `import-git` print, and the
one sentence that says what a run came to (the CLI, the log line and the demo all use it).

Every remote string goes through ``plain_text``: control characters (ANSI escapes included)
and bidi controls become visible escapes, so a catalog cannot clear or reorder the terminal.

>>> run = {"source": "auriko", "outcome": "unchanged", "from": None, "changes": [],
...        "to": {"id": 1, "catalog_version": "v1", "content_hash": "ab", "model_count": 3,
...               "first_observed_at": "2026-11-01T09:00:00Z"}, "changelogs": []}
>>> run_text(run)
'auriko: unchanged (v1, 3 models)'
>>> outcome_sentence({**run, "outcome": "new"})
'first snapshot v1 stored (3 models)'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from tracker.timeutil import format_age

from .format import plain_text, snapshot_label

__all__ = [
    "import_text",
    "outcome_sentence",
    "run_text",
    "snapshots_text",
    "sources_text",
    "status_text",
]


def outcome_sentence(run: Mapping[str, Any]) -> str:
    """What one poll came to, in words: `unchanged (v3, 12 models)`, `first snapshot v1
    stored (12 models)`, `new snapshot v4`, `returned to earlier snapshot v2` (plain text)."""
    snap = run.get("to")
    label = plain_text(snapshot_label(snap)) if snap else "?"
    count = snap.get("model_count", 0) if snap else 0
    outcome = run.get("outcome")
    if outcome == "unchanged":
        return f"unchanged ({label}, {count} models)"
    if run.get("from") is None and outcome in ("new", "reverted"):
        return f"first snapshot {label} stored ({count} models)"
    if outcome == "new":
        return f"new snapshot {label}"
    if outcome == "reverted":
        return f"returned to earlier snapshot {label}"
    return plain_text(str(outcome).replace("_", " "))


def run_text(run: Mapping[str, Any]) -> str:
    """A fetch or ingest result (`RunResult.to_json()`): the sentence, the change summary of a
    transition, and the changelogs written."""
    from .changelog import summary

    line = f"{plain_text(run.get('source'))}: {outcome_sentence(run)}"
    if run.get("from") is not None and run.get("outcome") in ("new", "reverted"):
        line += f". {summary(dict(run))}"
    lines = [line] + [f"  wrote {path}" for path in run.get("changelogs") or ()]
    return "\n".join(lines)


def snapshots_text(rows: list[Mapping[str, Any]]) -> str:
    """The `tracker snapshots` table (rows: SNAP plus `last_observed_at`)."""
    lines = [f"{'id':>6}  {'first observed':<20}  {'last observed':<20}  {'models':>6}  version"]
    for row in rows:
        lines.append(f"{row['id']:>6}  {str(row['first_observed_at'])[:19]:<20}  "
                     f"{str(row['last_observed_at'])[:19]:<20}  {row['model_count']:>6}  "
                     f"{plain_text(snapshot_label(dict(row)))}")
    return "\n".join(lines)


def sources_text(rows: list[Mapping[str, Any]], *, kinds: Mapping[str, str] | None = None) -> str:
    """The `tracker sources` table; `kinds` fills in configured sources never stored."""
    lines = [f"{'source':<24} {'kind':<17} {'snapshots':>9}  {'last observed':<20}  "
             "outcome    current"]
    for row in rows:
        kind = row["kind"] or (kinds or {}).get(row["name"], "?")
        last = (row["last_observed_at"] or "never")[:19]
        lines.append(f"{plain_text(row['name']):<24} {plain_text(kind):<17} "
                     f"{row['snapshots']:>9}  {last:<20}  {row['last_outcome'] or '-':<10} "
                     f"{plain_text(row['current'] or '-')}")
    return "\n".join(lines)


def status_text(report: Mapping[str, Any]) -> str:
    """`tracker status` for people (`StatusReport.to_json()`): a block per source, then the
    notification targets and the problems."""
    lines: list[str] = []
    for status in report["sources"]:
        flag = "STALE" if status["stale"] else ("FAILING" if status["failing"] else "ok")
        if not status["checked"]:
            flag = "not configured"
        kind = plain_text(status["kind"]) if status["kind"] else "no observations yet"
        lines.append(f"{plain_text(status['source'])} ({kind}): {flag}")
        success = status["last_success"]
        if success is not None:
            age = status["age_seconds"]
            ago = format_age(timedelta(seconds=age) if age is not None else None)
            lines.append(
                f"  last success:  {success['observed_at']} ({ago} ago), "
                f"{success['outcome']}, {plain_text(success['snapshot'])}, "
                f"{success['model_count']} models")
        else:
            lines.append("  last success:  never")
        change = status["last_change"]
        if change is not None:
            lines.append(f"  last change:   {change['observed_at']}, "
                         f"{plain_text(change['from'])} -> {plain_text(change['to'])} "
                         f"({change['changes']} changes)")
        else:
            lines.append("  last change:   none")
        lines.append(f"  failures in a row: {status['failures_in_a_row']}")
        failure = status["last_failure"]
        if failure is not None and status["failures_in_a_row"]:
            http = f"HTTP {failure['http_status']}: " if failure["http_status"] else ""
            lines.append(plain_text(f"  last failure:  {failure['observed_at']}, "
                                    f"{failure['outcome']}: {http}{failure['error'] or ''}")[:300])
    if report["notifications"]:
        lines.append("notifications:")
        for item in report["notifications"]:
            state = "ok"
            if item["failed_attempts"]:
                state = (f"{item['failed_attempts']} failed deliveries, last: "
                         f"{plain_text(item['last_error'])}")
            elif item["pending_transitions"]:
                state = f"{item['pending_transitions']} transitions pending"
            lines.append(f"  {plain_text(item['target'])} / {plain_text(item['source'])}: "
                         f"{state}")
    if report["problems"]:
        lines.append(plain_text("unhealthy: " + "; ".join(report["problems"])))
    return "\n".join(lines)


def import_text(summary: Mapping[str, Any]) -> str:
    """The `tracker import-git` summary line (`ImportSummary.to_json()`)."""
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary["outcomes"].items())) or "none"
    return (f"{summary['commits']} commits: {summary['imported']} imported ({outcomes}), "
            f"{summary['skipped']} skipped, {summary['rejected']} rejected, "
            f"{summary['held']} held")
