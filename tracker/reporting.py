"""The read side for windows of time: window reports, the data-policy audit, model histories.

Each function is what one read command does, usable on its own (like `tracker.queries`):

>>> from tracker.reporting import parse_window, window_report
>>> window = parse_window("7d", None)                                    # doctest: +SKIP
>>> window_report(engine, ["auriko"], window).to_json()                  # doctest: +SKIP
{"source": "auriko", "since": ..., "until": ..., "from": {...}, "to": {...},
 "net": [...], "events": [...]}

Semantics (see the guide): a window is half-open, ``[since, until)``. The state at its start is
the latest state observed before ``since``; when the source had none yet, the window starts
from its first state observed inside the window (a first snapshot is not a change). The state at
its end is the latest state observed before ``until``. *Net* changes compare those two states
(a price that went down and back up nets to nothing); *events* are every transition observed
inside the window, each with its stored change records.

Validity intervals are stored in snapshot-id space; a return to an earlier version reuses the
old snapshot id. Histories turn them into *time* intervals by walking the sequence of observed
states (one query) and locating each interval row in it (one query for the rows), never one
query per state or per model.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Text, cast, func, select

from tracker.catalog import POLICY_RANK, Catalog, decimal_to_json
from tracker.diff import Change, diff_catalogs, policy_became_unknown
from tracker.errors import NotFoundError, UsageError
from tracker.store import repo
from tracker.store.repo import SnapshotInfo, iso
from tracker.store.schema import changes, model_states, observations, offers, sources
from tracker.timeutil import parse_when

__all__ = [
    "AuditRecord",
    "CurrentPolicies",
    "ModelHistory",
    "SourceReport",
    "Transition",
    "Window",
    "WindowReport",
    "audit",
    "current_policies",
    "histories",
    "last_complete_week",
    "model_history",
    "parse_window",
    "resolve_sources",
    "transitions",
    "week_window",
    "weeks_between",
    "window_report",
]

TRANSITION_OUTCOMES = ("new", "reverted")


# --- windows ---


@dataclass(frozen=True)
class Window:
    """A half-open window of observation time, ``[since, until)``; ``since`` None: all time."""

    since: datetime | None
    until: datetime

    def contains(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and moment < self.until

    def label(self) -> str:
        start = iso(self.since) if self.since else "the beginning"
        return f"[{start}, {iso(self.until)})"


def parse_window(since: str | None, until: str | None, *,
                 now: datetime | None = None) -> Window:
    """A window from WHEN arguments (ISO date or time, or a span back from now such as 7d).

    ``until`` defaults to now. Both spans are measured from the same ``now``.
    """
    moment = now or datetime.now(UTC)
    start = parse_when(since, now=moment) if since else None
    end = parse_when(until, now=moment) if until else moment
    if start is not None and start >= end:
        raise UsageError(f"empty window: --since {iso(start)} is not before --until {iso(end)}")
    return Window(start, end)


def week_window(year: int, week: int) -> Window:
    """ISO week ``year``-W``week`` as a window: Monday 00:00 UTC to the next Monday."""
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UsageError(f"no such ISO week: {year}-W{week:02d}") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return Window(start, start + timedelta(days=7))


def parse_week(text: str) -> tuple[int, int]:
    """``2026-W45`` (or ``2026W45``) as (year, week)."""
    cleaned = text.strip().upper().replace("-W", "W")
    year, _, week = cleaned.partition("W")
    if not (year.isdigit() and week.isdigit() and len(year) == 4):
        raise UsageError(f"not an ISO week: {text!r} (use e.g. 2026-W45)")
    week_window(int(year), int(week))  # validates
    return int(year), int(week)


def iso_week_of(moment: datetime) -> tuple[int, int]:
    calendar = moment.astimezone(UTC).isocalendar()
    return calendar.year, calendar.week


def last_complete_week(now: datetime | None = None) -> tuple[int, int]:
    """The ISO week before the one ``now`` falls in (the last one that has fully ended)."""
    return iso_week_of((now or datetime.now(UTC)) - timedelta(days=7))


def weeks_between(first: datetime, last: datetime) -> list[tuple[int, int]]:
    """Every ISO week from the one holding ``first`` to the one holding ``last``, in order."""
    weeks: list[tuple[int, int]] = []
    year, week = iso_week_of(first)
    end = iso_week_of(last)
    while (year, week) <= end:
        weeks.append((year, week))
        following = week_window(year, week).until
        year, week = iso_week_of(following)
    return weeks


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


# --- sources ---


def resolve_sources(conn: Connection, names: Sequence[str],
                    configured: Iterable[str] = ()) -> list[tuple[str, int]]:
    """(name, id) of each named source in the database, in the order given, without repeats.

    A source is readable when it has observations, whether or not it is configured; an
    unknown name is a `NotFoundError` naming what exists.
    """
    known = {row.name: row.id for row in conn.execute(select(sources.c.name, sources.c.id))}
    result: list[tuple[str, int]] = []
    for name in dict.fromkeys(names):
        if name in known:
            result.append((name, known[name]))
        elif name in set(configured):
            raise NotFoundError(f"source {name!r} has no observations yet; run `tracker fetch`")
        else:
            stored = ", ".join(sorted(known)) or "none"
            raise NotFoundError(f"unknown source {name!r} (in the database: {stored})")
    return result


# --- transitions ---


@dataclass
class Transition:
    """One observed change of state: an observation that moved the source to another snapshot."""

    source: str
    observation_id: int
    observed_at: datetime
    outcome: str  # new | reverted
    before: SnapshotInfo
    after: SnapshotInfo
    changes: list[Change] = field(default_factory=list)

    def diff_json(self) -> dict[str, Any]:
        """The guide's diff object for this transition (what a changelog renders)."""
        return {"from": self.before.to_json(), "to": self.after.to_json(),
                "changes": self.changes, "source": self.source}

    def to_json(self) -> dict[str, Any]:
        return {
            "observed_at": iso(self.observed_at),
            "from": self.before.to_json(),
            "to": self.after.to_json(),
            "changes": self.changes,
            "source": self.source,
            "outcome": self.outcome,
            "observation_id": self.observation_id,
        }


# The change columns as text, decoded here: on SQLite a JSON column has NUMERIC affinity, so a
# price stored as the JSON text "2.5" comes back as a REAL that the JSON type cannot decode.
CHANGE_COLUMNS = (
    changes.c.id, changes.c.observation_id, changes.c.observed_at, changes.c.kind,
    changes.c.model, changes.c.provider, changes.c.field,
    cast(changes.c.old, Text).label("old"), cast(changes.c.new, Text).label("new"),
    changes.c.change_pct, changes.c.weakened,
    changes.c.from_snapshot_id, changes.c.to_snapshot_id,
)


@dataclass(frozen=True)
class _ChangeRow:
    """A `changes` row with its JSON values decoded (what `repo.change_from_row` reads)."""

    kind: str
    model: str | None
    provider: str | None
    field: str | None
    old: Any
    new: Any
    change_pct: float | None
    weakened: bool | None


def _json_value(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def change_record(row: Any) -> Change:
    """A stored change (selected with `CHANGE_COLUMNS`) as the guide's change record."""
    decoded = _ChangeRow(row.kind, row.model, row.provider, row.field, _json_value(row.old),
                         _json_value(row.new), row.change_pct, row.weakened)
    return repo.change_from_row(decoded)  # type: ignore[arg-type]


def snapshot_map(conn: Connection, source_id: int) -> dict[int, SnapshotInfo]:
    return {snap.id: snap for snap in repo.list_snapshots(conn, source_id)}


def _time_filter(column: Any, window: Window | None) -> list[Any]:
    if window is None:
        return []
    conditions = [column < window.until]
    if window.since is not None:
        conditions.append(column >= window.since)
    return conditions


def transitions(conn: Connection, source: str, source_id: int, window: Window | None = None,
                *, snapshots: dict[int, SnapshotInfo] | None = None,
                with_changes: bool = True) -> list[Transition]:
    """Every transition of a source observed in the window, oldest first, with its changes.

    Two queries: the transitions, and all their change records at once.
    """
    snaps = snapshots if snapshots is not None else snapshot_map(conn, source_id)
    rows = conn.execute(
        select(observations.c.id, observations.c.observed_at, observations.c.outcome,
               observations.c.snapshot_id, observations.c.previous_snapshot_id)
        .where(observations.c.source_id == source_id,
               observations.c.outcome.in_(TRANSITION_OUTCOMES),
               observations.c.snapshot_id.is_not(None),
               observations.c.previous_snapshot_id.is_not(None),
               *_time_filter(observations.c.observed_at, window))
        .order_by(observations.c.observed_at, observations.c.id)
    ).all()
    result = [
        Transition(source, row.id, row.observed_at, row.outcome,
                   snaps[row.previous_snapshot_id], snaps[row.snapshot_id])
        for row in rows
    ]
    if with_changes and result:
        by_observation = {t.observation_id: t for t in result}
        change_rows = conn.execute(
            select(*CHANGE_COLUMNS)
            .where(changes.c.source_id == source_id,
                   *_time_filter(changes.c.observed_at, window))
            .order_by(changes.c.observation_id, changes.c.id)
        )
        for row in change_rows:
            owner = by_observation.get(row.observation_id)
            if owner is not None:
                owner.changes.append(change_record(row))
    return result


def state_sequence(conn: Connection, source_id: int,
                   until: datetime | None = None) -> list[tuple[datetime, int]]:
    """The observed states of a source in time order: (first observed at, snapshot id).

    Only the observations that set a state (the first one and every transition); an unchanged
    poll does not start a new state.
    """
    query = (
        select(observations.c.observed_at, observations.c.snapshot_id)
        .where(observations.c.source_id == source_id,
               observations.c.outcome.in_(TRANSITION_OUTCOMES),
               observations.c.snapshot_id.is_not(None))
        .order_by(observations.c.observed_at, observations.c.id)
    )
    if until is not None:
        query = query.where(observations.c.observed_at < until)
    return [(row.observed_at, row.snapshot_id) for row in conn.execute(query)]


def last_observed(conn: Connection, source_id: int) -> datetime | None:
    """When the source was last seen with a state (failed polls do not count)."""
    return conn.execute(
        select(func.max(observations.c.observed_at))
        .where(observations.c.source_id == source_id, observations.c.snapshot_id.is_not(None))
    ).scalar()


# --- window reports ---


@dataclass
class SourceReport:
    """One source over a window: the states at both ends, the net changes, every transition."""

    source: str
    window: Window
    start: SnapshotInfo | None
    start_observed_at: datetime | None
    end: SnapshotInfo | None
    end_observed_at: datetime | None
    starts_inside: bool  # no state before `since`: the window starts at its first state
    net: list[Change]
    events: list[Transition]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "since": iso(self.window.since) if self.window.since else None,
            "until": iso(self.window.until),
            "from": self.start.to_json() if self.start else None,
            "to": self.end.to_json() if self.end else None,
            "net": self.net,
            "events": [event.to_json() for event in self.events],
            # When each end's state was last observed before the window's bound.
            "from_observed_at": iso(self.start_observed_at) if self.start_observed_at else None,
            "to_observed_at": iso(self.end_observed_at) if self.end_observed_at else None,
            "starts_inside": self.starts_inside,
        }


@dataclass
class WindowReport:
    window: Window
    sources: list[SourceReport]

    def to_json(self) -> dict[str, Any]:
        """The guide's report object for one source; ``{"since", "until", "sources": [...]}``
        (each of them that object) for several."""
        if len(self.sources) == 1:
            return self.sources[0].to_json()
        return {
            "since": iso(self.window.since) if self.window.since else None,
            "until": iso(self.window.until),
            "sources": [report.to_json() for report in self.sources],
        }


def _first_state_in(conn: Connection, source_id: int,
                    window: Window) -> tuple[int, datetime] | None:
    row = conn.execute(
        select(observations.c.snapshot_id, observations.c.observed_at)
        .where(observations.c.source_id == source_id, observations.c.snapshot_id.is_not(None),
               *_time_filter(observations.c.observed_at, window))
        .order_by(observations.c.observed_at, observations.c.id)
        .limit(1)
    ).first()
    return (row.snapshot_id, row.observed_at) if row else None


def source_report(conn: Connection, name: str, source_id: int, window: Window,
                  *, catalogs: dict[int, Catalog] | None = None) -> SourceReport:
    """The report of one source over a window (see the module's semantics).

    ``catalogs`` caches loaded catalogs by snapshot id across calls (the site's weeks).
    """
    cache = catalogs if catalogs is not None else {}
    snaps = snapshot_map(conn, source_id)
    start: SnapshotInfo | None = None
    start_at: datetime | None = None
    starts_inside = False
    if window.since is not None:
        before = repo.state_at(conn, source_id, window.since)
        if before is not None:
            start, start_at = before
    if start is None:
        first = _first_state_in(conn, source_id, window)
        if first is not None:
            start, start_at = snaps[first[0]], first[1]
            starts_inside = True
    end_state = repo.state_at(conn, source_id, window.until)
    end, end_at = end_state if end_state else (None, None)

    def catalog(snap: SnapshotInfo) -> Catalog:
        if snap.id not in cache:
            cache[snap.id] = repo.load_catalog(conn, source_id, snap)
        return cache[snap.id]

    net: list[Change] = []
    if start is not None and end is not None and start.id != end.id:
        net = diff_catalogs(catalog(start), catalog(end))
    events = transitions(conn, name, source_id, window, snapshots=snaps)
    return SourceReport(name, window, start, start_at, end, end_at, starts_inside, net, events)


def window_report(engine: Engine, names: Sequence[str], window: Window,
                  *, configured: Iterable[str] = ()) -> WindowReport:
    """Net changes and the timeline of transitions over a window, for each named source."""
    with engine.connect() as conn:
        resolved = resolve_sources(conn, names, configured)
        return WindowReport(window, [source_report(conn, name, sid, window)
                                     for name, sid in resolved])


# --- the data-policy audit ---


@dataclass(frozen=True)
class AuditRecord:
    """One data-policy change as the audit lists it (the guide's audit record)."""

    observed_at: datetime
    source: str
    catalog_version: str | None
    snapshot_label: str
    content_hash: str
    previous_catalog_version: str | None
    model: str
    provider: str
    old: str | None
    new: str | None
    weakened: bool
    became_unknown: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "observed_at": iso(self.observed_at),
            "catalog_version": self.catalog_version,
            "model": self.model,
            "provider": self.provider,
            "old": self.old,
            "new": self.new,
            "weakened": self.weakened,
            "became_unknown": self.became_unknown,
            "source": self.source,
            "previous_catalog_version": self.previous_catalog_version,
            "content_hash": self.content_hash,
        }


def audit(engine: Engine, names: Sequence[str], window: Window | None = None,
          *, configured: Iterable[str] = ()) -> list[AuditRecord]:
    """Every data-policy change observed in the window, oldest first (source, model, provider
    break ties). ``catalog_version`` is the version the change was first observed in."""
    records: list[AuditRecord] = []
    with engine.connect() as conn:
        for name, source_id in resolve_sources(conn, names, configured):
            snaps = snapshot_map(conn, source_id)
            rows = conn.execute(
                select(*CHANGE_COLUMNS)
                .where(changes.c.source_id == source_id,
                       changes.c.kind == "data_policy_changed",
                       *_time_filter(changes.c.observed_at, window))
                .order_by(changes.c.observed_at, changes.c.id)
            )
            for row in rows:
                record = change_record(row)
                after, before = snaps[row.to_snapshot_id], snaps[row.from_snapshot_id]
                records.append(AuditRecord(
                    observed_at=row.observed_at, source=name,
                    catalog_version=after.catalog_version, snapshot_label=after.label,
                    content_hash=after.content_hash,
                    previous_catalog_version=before.catalog_version,
                    model=row.model or "", provider=row.provider or "",
                    old=record["old"], new=record["new"], weakened=bool(row.weakened),
                    became_unknown=policy_became_unknown(record["old"], record["new"]),
                ))
    records.sort(key=lambda r: (r.observed_at, r.source, r.model, r.provider))
    return records


@dataclass(frozen=True)
class PolicyOffer:
    model: str
    provider: str
    data_policy: str | None
    input_price: Decimal
    output_price: Decimal


@dataclass
class SourcePolicies:
    """The data policies of one source as they stand at one state."""

    source: str
    as_of: datetime
    snapshot: SnapshotInfo | None
    observed_at: datetime | None
    offers: list[PolicyOffer]
    only_none: list[str]  # models every provider of which has policy `none`
    no_known_protection: list[str]  # the others with no zdr/no_training provider (null mixed in)
    no_providers: list[str]

    @property
    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = {"zdr": 0, "no_training": 0, "none": 0, "unknown": 0}
        for offer in self.offers:
            key = offer.data_policy if offer.data_policy in POLICY_RANK else "unknown"
            tally[key or "unknown"] += 1
        return tally

    def providers_of(self, model: str) -> list[PolicyOffer]:
        return [offer for offer in self.offers if offer.model == model]

    def to_json(self) -> dict[str, Any]:
        by_model: dict[str, list[PolicyOffer]] = defaultdict(list)
        for offer in self.offers:
            by_model[offer.model].append(offer)

        def model_entry(model: str) -> dict[str, Any]:
            return {"model": model, "providers": [
                {"provider": o.provider, "data_policy": o.data_policy} for o in by_model[model]
            ]}

        return {
            "source": self.source,
            "as_of": iso(self.as_of),
            "snapshot": self.snapshot.to_json() if self.snapshot else None,
            "observed_at": iso(self.observed_at) if self.observed_at else None,
            "counts": self.counts,
            "only_none": [model_entry(m) for m in self.only_none],
            "no_known_protection": [model_entry(m) for m in self.no_known_protection],
            "no_providers": self.no_providers,
            "policies": [
                {"model": o.model, "provider": o.provider, "data_policy": o.data_policy,
                 "input_price": decimal_to_json(o.input_price),
                 "output_price": decimal_to_json(o.output_price)}
                for o in self.offers
            ],
        }


@dataclass
class CurrentPolicies:
    as_of: datetime
    sources: list[SourcePolicies]

    def to_json(self) -> dict[str, Any]:
        if len(self.sources) == 1:
            return self.sources[0].to_json()
        return {"as_of": iso(self.as_of), "sources": [s.to_json() for s in self.sources]}


def current_policies(engine: Engine, names: Sequence[str], as_of: datetime | None = None,
                     *, configured: Iterable[str] = ()) -> CurrentPolicies:
    """Every offer's data policy in the state observed last before ``as_of`` (default: now),
    and the models reachable only through providers with policy ``none``."""
    moment = as_of or datetime.now(UTC)
    result: list[SourcePolicies] = []
    with engine.connect() as conn:
        for name, source_id in resolve_sources(conn, names, configured):
            state = repo.state_at(conn, source_id, moment)
            if state is None:
                result.append(SourcePolicies(name, moment, None, None, [], [], [], []))
                continue
            snap, observed_at = state
            catalog = repo.load_catalog(conn, source_id, snap)
            offer_list: list[PolicyOffer] = []
            only_none: list[str] = []
            unprotected: list[str] = []
            empty: list[str] = []
            for model_id in sorted(catalog.models):
                providers = catalog.models[model_id].providers
                policies = [providers[p].data_policy for p in sorted(providers)]
                for provider_name in sorted(providers):
                    p = providers[provider_name]
                    offer_list.append(PolicyOffer(model_id, provider_name, p.data_policy,
                                                  p.input_price, p.output_price))
                if not policies:
                    empty.append(model_id)
                elif all(policy == "none" for policy in policies):
                    only_none.append(model_id)
                elif not any(policy in ("zdr", "no_training") for policy in policies):
                    unprotected.append(model_id)
            result.append(SourcePolicies(name, moment, snap, observed_at, offer_list,
                                         only_none, unprotected, empty))
    return CurrentPolicies(moment, result)


# --- histories: validity intervals as time intervals ---


@dataclass(frozen=True)
class OfferSpan:
    """One value of a provider's offer and when it held: ``[start, end)``, end None: still."""

    start: datetime
    end: datetime | None
    input_price: Decimal
    output_price: Decimal
    data_policy: str | None
    snapshot: SnapshotInfo  # the state it was first observed in

    def to_json(self) -> dict[str, Any]:
        return {
            "from": iso(self.start),
            "to": iso(self.end) if self.end else None,
            "input_price": decimal_to_json(self.input_price),
            "output_price": decimal_to_json(self.output_price),
            "data_policy": self.data_policy,
            "first_catalog_version": self.snapshot.catalog_version,
        }


@dataclass(frozen=True)
class ModelSpan:
    """One value of a model's own fields (context window, endpoints, owner) and when it held."""

    start: datetime
    end: datetime | None
    context_window: int | None
    supported_endpoints: tuple[str, ...] | None
    owned_by: str
    created: int
    snapshot: SnapshotInfo

    def to_json(self) -> dict[str, Any]:
        return {
            "from": iso(self.start),
            "to": iso(self.end) if self.end else None,
            "context_window": self.context_window,
            "supported_endpoints": (list(self.supported_endpoints)
                                    if self.supported_endpoints is not None else None),
            "owned_by": self.owned_by,
            "created": self.created,
            "first_catalog_version": self.snapshot.catalog_version,
        }


@dataclass
class ModelHistory:
    """Every price and policy a model had in one source, per provider, as time intervals."""

    source: str
    model: str
    observed_from: datetime | None  # the source's first state
    observed_until: datetime | None  # the source's last successful observation
    states: list[ModelSpan]
    providers: dict[str, list[OfferSpan]]
    provider_filter: str | None = None

    @property
    def current(self) -> bool:
        """In the catalog at the latest state."""
        return bool(self.states) and self.states[-1].end is None

    @property
    def presence(self) -> list[tuple[datetime, datetime | None]]:
        """When the model was in the catalog (model-level spans merged)."""
        merged: list[tuple[datetime, datetime | None]] = []
        for span in self.states:
            if merged and merged[-1][1] == span.start:
                merged[-1] = (merged[-1][0], span.end)
            else:
                merged.append((span.start, span.end))
        return merged

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model": self.model,
            "provider": self.provider_filter,
            "observed_from": iso(self.observed_from) if self.observed_from else None,
            "observed_until": iso(self.observed_until) if self.observed_until else None,
            "current": self.current,
            "presence": [{"from": iso(a), "to": iso(b) if b else None}
                         for a, b in self.presence],
            "model_states": [span.to_json() for span in self.states],
            "providers": [
                {"provider": name, "intervals": [span.to_json() for span in spans]}
                for name, spans in sorted(self.providers.items())
            ],
        }


class StateIndex:
    """Locates validity intervals (snapshot-id space) in the sequence of observed states.

    The sequence is split into runs of increasing snapshot ids (a return to an earlier version
    starts a new run); inside a run a bisection finds the states an interval covers, so a
    row costs O(runs x log states) whatever the length of the history.
    """

    def __init__(self, sequence: Sequence[tuple[datetime, int]]) -> None:
        self.times = [moment for moment, _ in sequence]
        self.ids = [sid for _, sid in sequence]
        self.runs: list[tuple[int, list[int]]] = []
        for index, sid in enumerate(self.ids):
            if self.runs and sid > self.runs[-1][1][-1]:
                self.runs[-1][1].append(sid)
            else:
                self.runs.append((index, [sid]))

    def __len__(self) -> int:
        return len(self.ids)

    def covered(self, valid_from: int, valid_to: int | None) -> list[tuple[int, int]]:
        """Index ranges ``[a, b)`` of the states at which the interval row was valid."""
        ranges: list[tuple[int, int]] = []
        for offset, ids in self.runs:
            lo = bisect_left(ids, valid_from)
            hi = len(ids) if valid_to is None else bisect_left(ids, valid_to)
            if lo < hi:
                ranges.append((offset + lo, offset + hi))
        return ranges

    def end_time(self, index: int) -> datetime | None:
        return self.times[index] if index < len(self.times) else None


def _merge_spans(pieces: list[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
    """Sort index ranges with their values and merge touching ones that hold equal values."""
    pieces.sort(key=lambda piece: piece[0])
    merged: list[tuple[int, int, Any]] = []
    for start, end, value in pieces:
        if merged and merged[-1][1] == start and merged[-1][2] == value:
            merged[-1] = (merged[-1][0], end, value)
        else:
            merged.append((start, end, value))
    return merged


def histories(conn: Connection, name: str, source_id: int, *,
              models: Sequence[str] | None = None,
              provider: str | None = None) -> dict[str, ModelHistory]:
    """Histories of the given models (default: every model ever seen) of one source.

    Three queries whatever the number of models: the state sequence, the model rows, and the
    offer rows.
    """
    snaps = snapshot_map(conn, source_id)
    index = StateIndex(state_sequence(conn, source_id))
    observed_from = index.times[0] if len(index) else None
    observed_until = last_observed(conn, source_id)

    state_query = select(
        model_states.c.model_id, model_states.c.valid_from, model_states.c.valid_to,
        model_states.c.context_window, model_states.c.supported_endpoints,
        model_states.c.owned_by, model_states.c.created,
    ).where(model_states.c.source_id == source_id)
    offer_query = select(
        offers.c.model_id, offers.c.provider, offers.c.valid_from, offers.c.valid_to,
        offers.c.input_price, offers.c.output_price, offers.c.data_policy,
    ).where(offers.c.source_id == source_id)
    if models is not None:
        state_query = state_query.where(model_states.c.model_id.in_(list(models)))
        offer_query = offer_query.where(offers.c.model_id.in_(list(models)))
    if provider is not None:
        offer_query = offer_query.where(offers.c.provider == provider)

    state_pieces: dict[str, list[tuple[int, int, Any]]] = defaultdict(list)
    for row in conn.execute(state_query):
        endpoints = row.supported_endpoints
        value = (row.context_window, tuple(endpoints) if endpoints is not None else None,
                 row.owned_by, row.created)
        for a, b in index.covered(row.valid_from, row.valid_to):
            state_pieces[row.model_id].append((a, b, value))
    offer_pieces: dict[tuple[str, str], list[tuple[int, int, Any]]] = defaultdict(list)
    for row in conn.execute(offer_query):
        offer_value = (Decimal(row.input_price), Decimal(row.output_price), row.data_policy)
        for a, b in index.covered(row.valid_from, row.valid_to):
            offer_pieces[(row.model_id, row.provider)].append((a, b, offer_value))

    result: dict[str, ModelHistory] = {}
    for model_id, pieces in state_pieces.items():
        spans = [
            ModelSpan(index.times[a], index.end_time(b), value[0], value[1], value[2], value[3],
                      snaps[index.ids[a]])
            for a, b, value in _merge_spans(pieces)
        ]
        result[model_id] = ModelHistory(name, model_id, observed_from, observed_until, spans, {},
                                        provider)
    for (model_id, provider_name), pieces in offer_pieces.items():
        history = result.get(model_id)
        if history is None:  # cannot happen: an offer lives inside its model
            continue
        history.providers[provider_name] = [
            OfferSpan(index.times[a], index.end_time(b), value[0], value[1], value[2],
                      snaps[index.ids[a]])
            for a, b, value in _merge_spans(pieces)
        ]
    return result


def model_ids(conn: Connection, source_id: int) -> list[str]:
    """Every model id a source ever listed."""
    return list(conn.execute(
        select(model_states.c.model_id).where(model_states.c.source_id == source_id)
        .distinct().order_by(model_states.c.model_id)
    ).scalars())


def closest(name: str, candidates: Sequence[str], limit: int = 5) -> list[str]:
    """The candidates most like ``name``: close spellings first, then containing matches."""
    import difflib

    lowered = {c.lower(): c for c in candidates}
    found = [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered),
                                                           n=limit, cutoff=0.6)]
    needle = name.lower()
    for candidate in candidates:
        if len(found) >= limit:
            break
        low = candidate.lower()
        if candidate not in found and needle and (needle in low or low in needle):
            found.append(candidate)
    return found[:limit]


def model_history(engine: Engine, source: str, model: str, provider: str | None = None,
                  *, configured: Iterable[str] = ()) -> ModelHistory:
    """One model's history in one source; an unknown model or provider suggests the closest."""
    with engine.connect() as conn:
        ((name, source_id),) = resolve_sources(conn, [source], configured)
        found = histories(conn, name, source_id, models=[model])
        if model not in found:
            suggestions = closest(model, model_ids(conn, source_id))
            hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
            raise NotFoundError(f"unknown model {model!r} in source {name!r}{hint}")
        history = found[model]
        if provider is not None:
            if provider not in history.providers:
                offered = sorted(history.providers)
                suggestions = closest(provider, offered)
                hint = (f"; did you mean: {', '.join(suggestions)}?" if suggestions
                        else f"; its providers: {', '.join(offered) or 'none'}")
                raise NotFoundError(
                    f"model {model!r} was never offered by provider {provider!r}{hint}")
            history.providers = {provider: history.providers[provider]}
            history.provider_filter = provider
        return history


def source_span(conn: Connection, source_id: int) -> tuple[datetime, datetime] | None:
    """The first and last observation times of a source with a state."""
    row = conn.execute(
        select(func.min(observations.c.observed_at), func.max(observations.c.observed_at))
        .where(observations.c.source_id == source_id, observations.c.snapshot_id.is_not(None))
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]

