"""`tracker status`: is the tracker healthy? Per source: the last successful observation, the
last change, failures in a row; and the state of notification deliveries.

With `max_age`, a source whose newest successful observation is older (or that has none) is
stale; with `max_failures`, a source whose last N polls failed is failing. Either makes the
report unhealthy, and the CLI exits 6, so any monitoring system can alert on it.

>>> from tracker.config import SourceConfig
>>> from tracker.demo import demo_catalogs
>>> from tracker.pipeline import Pipeline
>>> from tracker.store.db import open_database
>>> engine = open_database("sqlite://")
>>> _ = Pipeline(engine, SourceConfig(name="auriko")).ingest(demo_catalogs()[0])
>>> report = collect_status(engine, ["auriko", "openrouter"], max_age=timedelta(hours=2))
>>> report.healthy, report.problems
(False, ['openrouter: no successful fetch yet'])
>>> [(s.name, s.state) for s in collect_status(engine, ["auriko", "openrouter"]).sources]
[('auriko', 'ok'), ('openrouter', 'never_fetched')]

`state` says what the polls came to whatever the thresholds ("ok" only when the last poll
succeeded); only the thresholds make a report unhealthy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from tracker.logs import scrub
from tracker.store import reads
from tracker.timeutil import CLOCK_SKEW, format_age, iso
from tracker.vocabulary import snapshot_label


@dataclass
class SourceStatus:
    name: str
    kind: str | None
    checked: bool  # a configured source: its age and failures count toward health
    observations: int = 0
    snapshots: int = 0
    last_success: dict[str, Any] | None = None
    last_change: dict[str, Any] | None = None
    last_failure: dict[str, Any] | None = None
    failures_in_a_row: int = 0
    age: timedelta | None = None
    stale: bool = False
    failing: bool = False
    # Observations dated after the check's time plus CLOCK_SKEW, and the newest time.
    future_observations: int = 0
    newest_observed_at: datetime | None = None
    # Changelogs still owed, per reports directory: {"directory", "pending", "last_error", ...}.
    changelogs_pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        """What the source's polls came to, whatever the thresholds: `ok` (the last poll
        succeeded), `failing` (the last polls failed, after a success), `never_succeeded`
        (polls, none successful), `never_fetched` (no poll at all); `stale` and `failing`
        also when a threshold (--max-age, --max-failures) says so."""
        if self.stale:
            return "stale"
        if self.failing:
            return "failing"
        if self.last_success is None:
            return "never_succeeded" if self.observations else "never_fetched"
        return "failing" if self.failures_in_a_row else "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "kind": self.kind,
            "state": self.state,
            "checked": self.checked,
            "observations": self.observations,
            "snapshots": self.snapshots,
            "last_success": self.last_success,
            "age_seconds": int(self.age.total_seconds()) if self.age is not None else None,
            "last_change": self.last_change,
            "failures_in_a_row": self.failures_in_a_row,
            "last_failure": self.last_failure,
            "stale": self.stale,
            "failing": self.failing,
            "future_observations": self.future_observations,
            "newest_observed_at": (iso(self.newest_observed_at)
                                   if self.newest_observed_at is not None else None),
            "changelogs_pending": self.changelogs_pending,
        }


@dataclass
class StatusReport:
    checked_at: datetime
    max_age: timedelta | None
    max_failures: int | None
    sources: list[SourceStatus] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = []
        for status in self.sources:
            if status.stale and self.max_age is not None:
                if status.last_success is None:
                    found.append(f"{status.name}: no successful fetch yet")
                else:
                    found.append(f"{status.name}: last successful fetch {format_age(status.age)} "
                                 f"ago (max age {format_age(self.max_age)})")
            if status.failing:
                found.append(f"{status.name}: {status.failures_in_a_row} failures in a row")
            if status.checked and status.future_observations:
                assert status.newest_observed_at is not None
                many = status.future_observations
                found.append(
                    f"{status.name}: {many} observation{'s' if many != 1 else ''} dated in the "
                    f"future (newest {iso(status.newest_observed_at)}): a clock ran ahead, or "
                    "an ingest was given a wrong --observed-at")
            for owed in status.changelogs_pending if status.checked else ():
                many = owed["pending"]
                found.append(
                    f"{status.name}: {many} changelog{'s' if many != 1 else ''} not written to "
                    f"{owed['directory']} yet ({owed['last_error'] or 'not attempted yet'})")
        return found

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": iso(self.checked_at),
            "healthy": self.healthy,
            "max_age_seconds": (int(self.max_age.total_seconds())
                                if self.max_age is not None else None),
            "max_failures": self.max_failures,
            "problems": self.problems,
            "sources": [s.to_json() for s in self.sources],
            "notifications": self.notifications,
        }


def collect_status(
    engine: Engine,
    checked: Sequence[str],
    *,
    max_age: timedelta | None = None,
    max_failures: int | None = None,
    only: str | None = None,
    now: datetime | None = None,
) -> StatusReport:
    """The status of the `checked` sources (configured) and of any other source stored in
    the database (listed, but not counted toward health); `only` limits it to one."""
    moment = now or datetime.now(UTC)
    report = StatusReport(moment, max_age, max_failures)
    with engine.connect() as conn:
        stored = {row.name: row for row in reads.all_sources(conn)}
        names = list(dict.fromkeys([*checked, *sorted(stored)]))
        if only is not None:
            names = [only]
        for name in names:
            row = stored.get(name)
            status = SourceStatus(name, row.kind if row else None, name in checked)
            if row is not None:
                _fill(conn, row.id, status, moment)
            if status.checked:
                status.stale = max_age is not None and (status.age is None or status.age > max_age)
                status.failing = (max_failures is not None
                                  and status.failures_in_a_row >= max_failures)
            report.sources.append(status)
        ids = {row.id: name for name, row in stored.items() if name in names}
        report.notifications = _notifications(conn, ids)
    return report


def _fill(conn: Connection, source_id: int, status: SourceStatus, moment: datetime) -> None:
    status.observations = reads.observation_count(conn, source_id)
    status.snapshots = reads.snapshot_count(conn, source_id)
    success = reads.last_success(conn, source_id)
    if success is not None:
        status.last_success = {
            "observed_at": iso(success.observed_at),
            "outcome": success.outcome,
            "origin": success.origin,
            "snapshot": snapshot_label(success.catalog_version, success.content_hash),
            "model_count": success.model_count,
        }
        status.age = moment - success.observed_at

    change = reads.last_transition(conn, source_id)
    if change is not None:
        status.last_change = {
            "observed_at": iso(change.observed_at),
            "from": snapshot_label(change.old_version, change.old_hash),
            "to": snapshot_label(change.new_version, change.new_hash),
            "changes": reads.change_count(conn, change.id),
            # The catalog_version served already labelled another content.
            "version_reused": bool(change.version_reused),
            "served_version": change.served_version,
        }

    # In insertion order: a success dated in the future does not hide the failures after it.
    status.failures_in_a_row = reads.failures_since(conn, source_id,
                                                    reads.last_success_id(conn, source_id))
    status.newest_observed_at = reads.latest_observation_time(conn, source_id)
    if status.newest_observed_at is not None and status.newest_observed_at > moment + CLOCK_SKEW:
        status.future_observations = reads.observations_after(conn, source_id,
                                                              moment + CLOCK_SKEW)
    status.changelogs_pending = [
        {"directory": owed.directory, "pending": owed.pending,
         "last_attempt_at": iso(owed.last_attempt_at) if owed.last_attempt_at else None,
         "last_error": owed.last_error}
        for owed in reads.pending_changelog_summary(conn, [source_id])
    ]
    failure = reads.last_failure(conn, source_id)
    if failure is not None:
        status.last_failure = {
            "observed_at": iso(failure.observed_at),
            "outcome": failure.outcome,
            "http_status": failure.http_status,
            "error": " ".join(scrub(failure.error or "").split())[:500] or None,
        }


def _notifications(conn: Connection, ids: dict[int, str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    from tracker.notify import NOTIFIED_ORIGIN

    result = []
    for row in reads.notification_states(conn, ids):
        pending = reads.pending_transition_count(conn, row.source_id, row.delivered_through,
                                                 NOTIFIED_ORIGIN)
        result.append({
            "target": row.label,
            "source": ids[row.source_id],
            "pending_transitions": pending,
            "failed_attempts": row.failed_attempts,
            "last_error": row.last_error,
            "last_attempt_at": iso(row.last_attempt_at) if row.last_attempt_at else None,
            "last_delivered_at": iso(row.last_delivered_at) if row.last_delivered_at else None,
            "failure_alert_outstanding": row.failure_alert_from is not None,
        })
    return result
