"""Notifications through Apprise: Slack, Discord, Teams, email, ntfy, webhooks and more.

After each run of a source, every `[[notify]]` rule that covers the source is asked whether
there is news for it:

- **changes**: the transitions fetched since the rule's target was last told, filtered by the
  rule (kinds, smallest price move, direction, weakened policies only, model and provider
  globs, smallest monthly cost impact on the usage file), as one short Markdown message with
  the changelog path; with effective floors (the rule's `effective_floors`, else the config
  file's), each transition also carries its `effective_price_changed` records;
- **failure alerts** (`on_failure = N`, `--notify-on-failure N`): when the source's last N
  runs failed in a row, once per streak, and a recovery message when it fetches again.

What each target (one URL of one rule) has been told is kept in the `notifications` table,
per source. A delivery that fails is logged and left pending, so the next run sends it again;
a notification never fails a run and never loses a snapshot. Apprise is imported only when a
message is about to be sent, so runs without notifications start as fast as before.

>>> from tracker.config import NotifyRule, SourceConfig
>>> from tracker.demo import demo_catalogs
>>> from tracker.pipeline import Pipeline
>>> from tracker.store.db import open_database
>>> engine = open_database("sqlite://")
>>> pipeline = Pipeline(engine, SourceConfig(name="auriko"))
>>> sent = []  # (a test double for `apprise_send`)
>>> notifier = Notifier(engine, [NotifyRule(name="ops", url=("json://hooks.internal/x",))],
...                     send=lambda url, title, body, kind: sent.append(title))
>>> for body in demo_catalogs()[:2]:
...     result = pipeline.ingest(body, origin="fetch")
...     notifier.after_run("auriko", result.observation_id)
>>> sent
['auriko: catalog 2026-11-01.1 → 2026-11-02.1: 7 price changes']
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine

from tracker.config import NotifyRule
from tracker.diff import Change
from tracker.effective import DEFAULT_BLEND, EFFECTIVE_KIND, Blend
from tracker.errors import ConfigError, TrackerError
from tracker.logs import redact_url, register_secret, scrub
from tracker.reports.phrases import count_text, markdown_line
from tracker.store import reads, writes
from tracker.store.reads import Transition

if TYPE_CHECKING:
    from tracker.catalog import Catalog
    from tracker.config import Settings
    from tracker.usage import UsageRow

log = logging.getLogger(__name__)

# Only what `fetch` and `schedule` observed is announced: not ingests or git backfills.
NOTIFIED_ORIGIN = "fetch"

# A message stays short: this many change lines in all, this many versions in detail.
MAX_LINES = 12
MAX_TRANSITIONS = 5
# Transitions read per run and target; a long backlog is worked off over several runs.
MAX_PENDING = 100


class DeliveryError(Exception):
    """A notification could not be delivered (the next run tries again)."""


# (url, title, body, kind) -> None; kind is "info", "success", "warning" or "failure".
Sender = Callable[[str, str, str, str], None]


@dataclass(frozen=True)
class Target:
    """One URL of one rule: what is delivered to, and tracked in the notifications table."""

    rule: NotifyRule
    url: str = field(repr=False)

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.rule.name}\n{self.url}".encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.rule.name} ({redact_url(self.url)})"


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    kind: str = "info"


# --- filters ---


def _glob(name: str | None, patterns: Sequence[str]) -> bool:
    return name is not None and any(fnmatchcase(name.lower(), p.lower()) for p in patterns)


def change_providers(change: Change) -> list[str]:
    """The providers a change is about: its own, or those of an added or removed model."""
    if change.get("provider") is not None:
        return [str(change["provider"])]
    if change["kind"] in ("model_added", "model_removed"):
        record = change.get("new") if change["kind"] == "model_added" else change.get("old")
        if isinstance(record, dict):
            return [str(p.get("name")) for p in record.get("providers") or []
                    if isinstance(p, dict)]
    return []


def direction(change: Change) -> str | None:
    """`up` or `down` for a price move (an effective price that lost its last qualifying
    offer is `up`, one that gained an offer `down`); None for any other record."""
    kind = change["kind"]
    old, new = change.get("old"), change.get("new")
    if kind == EFFECTIVE_KIND:
        if old is None or new is None:
            return "up" if new is None else "down"
        old, new = old.get("blended"), new.get("blended")
    elif kind != "price_changed":
        return None
    if not isinstance(old, int | float) or not isinstance(new, int | float) or old == new:
        return None
    return "up" if new > old else "down"


# (change) -> (whether it concerns the usage, its monthly cost impact in USD or None).
Impact = Callable[[Change], tuple[bool, Decimal | None]]


def matches(rule: NotifyRule, change: Change, impact: Impact | None = None) -> bool:
    """Whether a change record passes every filter of the rule. `impact` prices a record on
    the usage file, for `min_monthly_impact_usd` (without it, that filter is not applied)."""
    kind = change["kind"]
    if rule.kinds is not None and kind not in rule.kinds:
        return False
    if kind in ("price_changed", EFFECTIVE_KIND) and rule.min_price_change_pct is not None:
        pct = change.get("change_pct")
        # A price that was 0 has no percentage: any new charge passes.
        if pct is not None and abs(float(pct)) < rule.min_price_change_pct:
            return False
    if rule.direction is not None and direction(change) not in (None, rule.direction):
        return False
    if rule.min_monthly_impact_usd is not None and impact is not None:
        concerned, amount = impact(change)
        # A change the usage does not depend on is left out; one that cannot be priced (a
        # model or offer the usage needs came or went) always counts.
        if not concerned or (amount is not None and abs(amount) < rule.min_monthly_impact_usd):
            return False
    if (kind == "data_policy_changed" and rule.only_weakened_policies
            and not (change.get("weakened") or change.get("became_unknown"))):
        return False
    if rule.models and not _glob(change.get("model"), rule.models):
        return False
    return not rule.providers or any(_glob(p, rule.providers) for p in change_providers(change))


def applies_to_source(rule: NotifyRule, source: str) -> bool:
    return not rule.sources or _glob(source, rule.sources)


# --- messages ---


def _priority(change: Change) -> tuple[int, float]:
    """What a reader wants first: shutdowns, weakened policies, big price moves, removals."""
    kind = change["kind"]
    if kind == "shutdown_announced":
        return (0, 0.0)
    if kind == "data_policy_changed" and (change.get("weakened") or change.get("became_unknown")):
        return (1, 0.0)
    if kind == "price_changed":
        pct = change.get("change_pct")
        return (2, -abs(float(pct)) if pct is not None else float("-inf"))
    if kind == EFFECTIVE_KIND:  # what a team at that floor pays: with the weakenings
        pct = change.get("change_pct")
        return (1, -abs(float(pct)) if pct is not None else float("-inf"))
    order = ("model_removed", "provider_removed", "data_policy_changed", "model_added",
             "provider_added", "context_window_changed", "endpoints_changed")
    return (3 + order.index(kind), 0.0) if kind in order else (3 + len(order), 0.0)


def changes_message(
    source: str,
    items: Sequence[tuple[Transition, list[Change]]],
    *,
    reports_dir: Path | None,
) -> Message:
    """The Markdown message for the filtered changes of one or more transitions."""
    from tracker.publish import transition_stem
    from tracker.reports.format import md_escape

    everything = [c for _, chosen in items for c in chosen]
    first, last = items[0][0], items[-1][0]
    span = (f"{first.before.label} → {last.after.label}" if len(items) == 1
            else f"{first.before.label} → {last.after.label} ({len(items)} versions)")
    title = f"{source}: catalog {span}: {count_text(everything)}"
    lines: list[str] = []
    budget = MAX_LINES
    shown = items[-MAX_TRANSITIONS:]
    if len(items) > len(shown):
        skipped = items[: len(items) - len(shown)]
        n = sum(len(chosen) for _, chosen in skipped)
        lines.append(f"{len(skipped)} earlier versions with {n} matching changes are not "
                     "shown; see their changelogs.\n")
    for transition, chosen in shown:
        total = len(transition.changes)
        filtered = f" ({len(chosen)} of {total} changes match)" if len(chosen) != total else ""
        lines.append(
            f"**{md_escape(source)}** catalog **{md_escape(transition.before.label)} → "
            f"{md_escape(transition.after.label)}** (observed "
            f"{transition.observed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC): "
            f"{count_text(chosen)}{filtered}.\n"
        )
        ordered = sorted(chosen, key=_priority)
        for change in ordered[:max(budget, 0)]:
            lines.append(f"- {markdown_line(change, transition.changes)}")
        if len(ordered) > max(budget, 0):
            lines.append(f"- …and {len(ordered) - max(budget, 0)} more")
        budget -= len(ordered)
        if reports_dir is not None:
            stem = transition_stem(transition)
            path = reports_dir / f"{stem}.md"
            if path.exists():
                lines.append(f"\nChangelog: `{path.resolve()}`")
        lines.append("")
    return Message(title=title, body="\n".join(lines).strip() + "\n", kind="info")


def failure_message(source: str, streak: int, since: datetime, latest: Any,
                    last_success: datetime | None) -> Message:
    from tracker.reports.format import md_escape

    status = f"HTTP {latest.http_status}, " if latest.http_status else ""
    error = " ".join(scrub(str(latest.error or latest.outcome)).split())[:300]
    good = (f"{last_success.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if last_success
            else "never")
    body = (
        f"**{md_escape(source)}**: the last {streak} runs failed "
        f"(since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC).\n\n"
        f"- latest: {latest.outcome}: {status}{md_escape(error)}\n"
        f"- last successful fetch: {good}\n\n"
        "`tracker status` shows the details.\n"
    )
    return Message(title=f"{source}: {streak} failed runs in a row", body=body, kind="failure")


def recovery_message(source: str, latest: Any) -> Message:
    from tracker.reports.format import md_escape

    body = (f"**{md_escape(source)}** is fetching again: the latest run was "
            f"{latest.outcome} at {latest.observed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.\n")
    return Message(title=f"{source}: fetching again", body=body, kind="success")


# --- delivery ---


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def apprise_send(url: str, title: str, body: str, kind: str) -> None:
    """Deliver one message to one Apprise URL; raise DeliveryError with the reason."""
    import apprise

    app = apprise.Apprise()
    if not app.add(url):
        raise DeliveryError("not a valid Apprise URL (see https://appriseit.com/services/)")
    capture = _Capture()
    apprise_log = logging.getLogger("apprise")
    quiet = not log.isEnabledFor(logging.DEBUG)
    apprise_log.addHandler(capture)
    propagate = apprise_log.propagate
    if quiet:  # its warnings become part of our one line instead
        apprise_log.propagate = False
    try:
        ok = app.notify(
            title=title,
            body=body,
            body_format=apprise.NotifyFormat.MARKDOWN,
            notify_type=kind,
        )
    finally:
        apprise_log.removeHandler(capture)
        apprise_log.propagate = propagate
    if not ok:
        reason = "; ".join(dict.fromkeys(capture.messages)) or "delivery failed"
        raise DeliveryError(" ".join(scrub(reason).split())[:300])


# --- the notifier ---


class Notifier:
    """Sends what each rule wants to know after a run of a source; never raises."""

    def __init__(
        self,
        engine: Engine,
        rules: Sequence[NotifyRule],
        *,
        reports_dir: Path | None = None,
        send: Sender = apprise_send,
        environ: Mapping[str, str] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.engine = engine
        self.rules = list(rules)
        self.reports_dir = reports_dir
        self.send = send
        self.environ = environ
        # Effective prices and the usage file (`settings`: the config's; None: neither).
        self.effective_floors: tuple[str, ...] = settings.effective_floors if settings else ()
        self.blend: Blend = settings.blend if settings else DEFAULT_BLEND
        self.usage_file = settings.usage_file if settings else None
        self.usage_floor = settings.usage_floor if settings else "any"
        self._usage: list[UsageRow] | None = None
        self._catalogs: dict[int, Catalog] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def targets(self, source: str) -> list[Target]:
        found: list[Target] = []
        for rule in self.rules:
            if not applies_to_source(rule, source):
                continue
            try:
                urls = rule.resolve_urls(self.environ)
            except ConfigError as exc:
                log.error("%s; its notifications are skipped", exc)
                continue
            for url in urls:
                register_secret(url)
                with contextlib.suppress(ValueError):
                    register_secret(urlsplit(url).password)
                found.append(Target(rule, url))
        return found

    def after_run(self, source: str, observation_id: int | None = None) -> None:
        """Notify every target about `source` after a run (`observation_id`: the run's own
        observation, if it got that far)."""
        if not self.rules:
            return
        try:
            targets = self.targets(source)
            if not targets:
                return
            with self.engine.connect() as conn:
                source_id = reads.source_id(conn, source)
            if source_id is None:
                return
            self._catalogs = {}  # the states loaded for effective prices, shared by the targets
            for target in targets:
                self._notify_target(target, source, source_id, observation_id)
        except Exception:
            log.exception("notifications for source %s failed unexpectedly; the run is not "
                          "affected", source)

    def _notify_target(self, target: Target, source: str, source_id: int,
                       observation_id: int | None) -> None:
        rule = target.rule
        floors = self.rule_floors(rule)
        with self.engine.begin() as conn:
            state = _state(conn, target, source_id, observation_id)
            pending = reads.transitions_after(conn, source, source_id, state.delivered_through,
                                              origin=NOTIFIED_ORIGIN, limit=MAX_PENDING)
            streak = _failure_streak(conn, source_id) if target.rule.on_failure else None
            if pending and floors:
                from tracker.history import add_effective

                add_effective(conn, source_id, pending, floors, self.blend,
                              catalogs=self._catalogs)

        if pending:
            through = pending[-1].observation_id
            impact = self._impact() if rule.min_monthly_impact_usd is not None else None
            items = [(t, [c for c in t.changes if matches(rule, c, impact)]) for t in pending]
            items = [(t, chosen) for t, chosen in items if chosen]
            if items:
                message = changes_message(source, items, reports_dir=self.reports_dir)
                if not self._deliver(target, source_id, message):
                    return
                count = sum(len(chosen) for _, chosen in items)
                log.info("notify %s: sent %d change%s of source %s", target.label, count,
                         "" if count == 1 else "s", source)
            with self.engine.begin() as conn:
                writes.set_delivered_through(conn, target.key, source_id, through)

        if streak is None or rule.on_failure is None:
            return
        if streak.count >= rule.on_failure and state.failure_alert_from != streak.first_id:
            assert streak.first_at is not None and streak.latest is not None
            message = failure_message(source, streak.count, streak.first_at, streak.latest,
                                      streak.last_success_at)
            if self._deliver(target, source_id, message):
                log.info("notify %s: sent a failure alert for source %s (%d failed runs)",
                         target.label, source, streak.count)
                self._set_failure_alert(target, source_id, streak.first_id)
        elif (streak.count == 0 and state.failure_alert_from is not None and streak.latest
              and self._deliver(target, source_id, recovery_message(source, streak.latest))):
            log.info("notify %s: sent a recovery notice for source %s", target.label, source)
            self._set_failure_alert(target, source_id, None)

    def rule_floors(self, rule: NotifyRule) -> tuple[str, ...]:
        """The floors whose effective_price_changed records a rule gets: its own
        `effective_floors`, else the config file's."""
        return rule.effective_floors if rule.effective_floors is not None \
            else self.effective_floors

    def _impact(self) -> Impact | None:
        """Prices a change record on the usage file; None (the filter is not applied, and
        the error logged) when the file cannot be read."""
        from tracker.usage import read_usage, record_impact

        if self.usage_file is None:
            return None
        if self._usage is None:
            try:
                self._usage = read_usage(self.usage_file)
            except TrackerError as exc:
                log.error("%s; min_monthly_impact_usd is not applied", exc)
                return None
        rows, floor = self._usage, self.usage_floor
        return lambda change: record_impact(change, rows, floor=floor)

    def _deliver(self, target: Target, source_id: int, message: Message) -> bool:
        now = datetime.now(UTC)
        try:
            self.send(target.url, message.title, message.body, message.kind)
        except Exception as exc:
            error = " ".join(scrub(str(exc) or type(exc).__name__).split())[:500]
            with self.engine.begin() as conn:
                writes.record_delivery_failure(conn, target.key, source_id, now, error)
            log.warning("notify %s: delivery failed (%s); the next run tries again",
                        target.label, error)
            return False
        with self.engine.begin() as conn:
            writes.record_delivery(conn, target.key, source_id, now)
        return True

    def _set_failure_alert(self, target: Target, source_id: int,
                           first_failure_id: int | None) -> None:
        with self.engine.begin() as conn:
            writes.set_failure_alert(conn, target.key, source_id, first_failure_id)


# --- state queries ---


def _state(conn: Connection, target: Target, source_id: int,
           observation_id: int | None) -> Any:
    """The target's row for the source, created on first use: a new target starts with the
    current run (it is not told about history from before it was configured)."""
    row = reads.notification_state(conn, target.key, source_id)
    if row is not None:
        return row
    if observation_id is not None:
        start = observation_id - 1
    else:
        start = reads.max_observation_id(conn, source_id)
    writes.insert_notification_state(conn, target=target.key, label=target.label[:500],
                                     source_id=source_id, delivered_through=start)
    row = reads.notification_state(conn, target.key, source_id)
    assert row is not None
    return row


@dataclass
class FailureStreak:
    count: int
    first_id: int | None = None
    first_at: datetime | None = None
    latest: Any = None
    last_success_at: datetime | None = None


def _failure_streak(conn: Connection, source_id: int) -> FailureStreak:
    """The failed runs since the last successful one (fetches only), oldest first."""
    last_ok = reads.last_success_of_origin(conn, source_id, NOTIFIED_ORIGIN)
    after = last_ok.id if last_ok is not None else 0
    failures = reads.failures_of_origin_after(conn, source_id, NOTIFIED_ORIGIN, after)
    last_success_at = last_ok.observed_at if last_ok is not None else None
    if not failures:
        latest = reads.latest_of_origin(conn, source_id, NOTIFIED_ORIGIN)
        return FailureStreak(0, latest=latest, last_success_at=last_success_at)
    return FailureStreak(len(failures), failures[0].id, failures[0].observed_at, failures[-1],
                         last_success_at)
