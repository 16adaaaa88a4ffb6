"""`tracker status`: is the tracker healthy? Per source: the last successful observation, the
last change, failures in a row; and the state of notification deliveries.

With `max_age`, a source whose newest successful observation is older (or that has none) is
stale; with `max_failures`, a source whose last N polls failed is failing. Either makes the
report unhealthy, and the CLI exits 6, so any monitoring system can alert on it.

>>> report = collect_status(engine, ["auriko"], max_age=timedelta(hours=2))   # doctest: +SKIP
>>> report.healthy, report.problems                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from tracker.logs import scrub
from tracker.store.repo import iso
from tracker.store.schema import changes, notifications, observations, snapshots, sources

SUCCESS = ("new", "unchanged", "reverted")
FAILURE = ("failed", "rejected")
TRANSITION = ("new", "reverted")


@dataclass
class SourceStatus:
    name: str
    kind: str | None
    checked: bool  # a configured source: its age and failures count toward health
    observations: int = 0
    last_success: dict[str, Any] | None = None
    last_change: dict[str, Any] | None = None
    last_failure: dict[str, Any] | None = None
    failures_in_a_row: int = 0
    age: timedelta | None = None
    stale: bool = False
    failing: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "kind": self.kind,
            "checked": self.checked,
            "observations": self.observations,
            "last_success": self.last_success,
            "age_seconds": int(self.age.total_seconds()) if self.age is not None else None,
            "last_change": self.last_change,
            "failures_in_a_row": self.failures_in_a_row,
            "last_failure": self.last_failure,
            "stale": self.stale,
            "failing": self.failing,
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


def format_age(age: timedelta | None) -> str:
    """`45s`, `12m`, `3h 5m`, `2d 4h`."""
    if age is None:
        return "never"
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86_400
    if seconds < 3600:
        return f"{minutes}m"
    if seconds < 86_400:
        return f"{hours}h {minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{days}d {hours % 24}h" if hours % 24 else f"{days}d"


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
        stored = {row.name: row for row in conn.execute(select(sources)).all()}
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


def _snap_label(version: str | None, content_hash: str | None) -> str | None:
    if content_hash is None:
        return version
    return version or f"#{content_hash[:12]}"


def _fill(conn: Connection, source_id: int, status: SourceStatus, moment: datetime) -> None:
    mine = observations.c.source_id == source_id
    status.observations = conn.execute(
        select(func.count()).select_from(observations).where(mine)
    ).scalar_one()
    success = conn.execute(
        select(observations.c.id, observations.c.observed_at, observations.c.outcome,
               observations.c.origin, snapshots.c.catalog_version, snapshots.c.content_hash,
               snapshots.c.model_count)
        .join(snapshots, snapshots.c.id == observations.c.snapshot_id)
        .where(mine, observations.c.outcome.in_(SUCCESS))
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc()).limit(1)
    ).first()
    if success is not None:
        status.last_success = {
            "observed_at": iso(success.observed_at),
            "outcome": success.outcome,
            "origin": success.origin,
            "snapshot": _snap_label(success.catalog_version, success.content_hash),
            "model_count": success.model_count,
        }
        status.age = moment - success.observed_at

    old, new = snapshots.alias("old"), snapshots.alias("new")
    change = conn.execute(
        select(observations.c.id, observations.c.observed_at,
               old.c.catalog_version.label("old_version"), old.c.content_hash.label("old_hash"),
               new.c.catalog_version.label("new_version"), new.c.content_hash.label("new_hash"))
        .join(old, old.c.id == observations.c.previous_snapshot_id)
        .join(new, new.c.id == observations.c.snapshot_id)
        .where(mine, observations.c.outcome.in_(TRANSITION))
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc()).limit(1)
    ).first()
    if change is not None:
        count = conn.execute(
            select(func.count()).select_from(changes)
            .where(changes.c.observation_id == change.id)
        ).scalar_one()
        status.last_change = {
            "observed_at": iso(change.observed_at),
            "from": _snap_label(change.old_version, change.old_hash),
            "to": _snap_label(change.new_version, change.new_hash),
            "changes": count,
        }

    failures = observations.c.outcome.in_(FAILURE)
    streak = select(func.count()).select_from(observations).where(mine, failures)
    if success is not None:
        streak = streak.where(
            (observations.c.observed_at > success.observed_at)
            | ((observations.c.observed_at == success.observed_at)
               & (observations.c.id > success.id))
        )
    status.failures_in_a_row = conn.execute(streak).scalar_one()
    failure = conn.execute(
        select(observations.c.observed_at, observations.c.outcome, observations.c.http_status,
               observations.c.error)
        .where(mine, failures)
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc()).limit(1)
    ).first()
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
    rows = conn.execute(
        select(notifications).where(notifications.c.source_id.in_(list(ids)))
        .order_by(notifications.c.label, notifications.c.source_id)
    ).all()
    result = []
    for row in rows:
        pending = conn.execute(
            select(func.count()).select_from(observations).where(
                observations.c.source_id == row.source_id,
                observations.c.id > row.delivered_through,
                observations.c.origin == "fetch",
                observations.c.outcome.in_(TRANSITION),
                observations.c.previous_snapshot_id.is_not(None),
            )
        ).scalar_one()
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


def render_text(report: StatusReport) -> str:
    """The report for people: a block per source, then the notification targets."""
    lines: list[str] = []
    for status in report.sources:
        flag = "STALE" if status.stale else ("FAILING" if status.failing else "ok")
        if not status.checked:
            flag = "not configured"
        lines.append(f"{status.name} ({status.kind or 'no observations yet'}): {flag}")
        if status.last_success is not None:
            success = status.last_success
            lines.append(
                f"  last success:  {success['observed_at']} ({format_age(status.age)} ago), "
                f"{success['outcome']}, {success['snapshot']}, {success['model_count']} models")
        else:
            lines.append("  last success:  never")
        if status.last_change is not None:
            change = status.last_change
            lines.append(f"  last change:   {change['observed_at']}, {change['from']} -> "
                         f"{change['to']} ({change['changes']} changes)")
        else:
            lines.append("  last change:   none")
        lines.append(f"  failures in a row: {status.failures_in_a_row}")
        if status.last_failure is not None and status.failures_in_a_row:
            failure = status.last_failure
            http = f"HTTP {failure['http_status']}: " if failure["http_status"] else ""
            lines.append(f"  last failure:  {failure['observed_at']}, {failure['outcome']}: "
                         f"{http}{failure['error'] or ''}"[:300])
    if report.notifications:
        lines.append("notifications:")
        for item in report.notifications:
            state = "ok"
            if item["failed_attempts"]:
                state = (f"{item['failed_attempts']} failed deliveries, last: "
                         f"{item['last_error']}")
            elif item["pending_transitions"]:
                state = f"{item['pending_transitions']} transitions pending"
            lines.append(f"  {item['target']} / {item['source']}: {state}")
    if report.problems:
        lines.append("unhealthy: " + "; ".join(report.problems))
    return "\n".join(lines)
