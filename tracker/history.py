"""The read side of the stored history: window reports, the data-policy audit, the policies
as they stand, model histories, and references to snapshots and diffs between them.

Each function is what one read command does, usable on its own; every query is in
`tracker.store.reads`:

>>> from tracker.config import SourceConfig
>>> from tracker.demo import demo_catalogs
>>> from tracker.pipeline import Pipeline
>>> from tracker.store.db import open_database
>>> from tracker.windows import parse_window
>>> engine = open_database("sqlite://")
>>> pipeline = Pipeline(engine, SourceConfig(name="auriko"))
>>> for body in demo_catalogs()[:3]:
...     _ = pipeline.ingest(body)
>>> [snapshot.label for snapshot in list_snapshots(engine, "auriko")]
['2026-11-01.1', '2026-11-02.1', '2026-11-03.1']
>>> diff = diff_between(engine, "auriko", "previous", "latest")
>>> diff["from"]["catalog_version"], diff["to"]["catalog_version"], len(diff["changes"])
('2026-11-02.1', '2026-11-03.1', 5)
>>> report = window_report(engine, ["auriko"], parse_window("7d", None)).to_json()
>>> report["from"]["catalog_version"], len(report["events"])
('2026-11-01.1', 2)
>>> [(r.model, r.old, r.new) for r in audit(engine, ["auriko"]) if r.weakened]
[('llama-3.3-70b-instruct', 'zdr', 'none')]

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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Engine

from tracker.catalog import POLICY_RANK, Catalog, Model, decimal_to_json
from tracker.diff import (
    Change,
    diff_catalogs,
    policy_became_unknown,
    policy_strengthened,
)
from tracker.effective import (
    DEFAULT_BLEND,
    FLOORS,
    Blend,
    EffectiveOffer,
    OffersMemo,
    effective_changes,
    effective_offers,
    effective_timeline,
    replay_offer_changes,
    touched_models,
)
from tracker.errors import NotFoundError
from tracker.store import reads
from tracker.store.reads import SnapshotInfo, Transition, source_span, state_sequence
from tracker.timeutil import iso, looks_like_iso, parse_iso
from tracker.windows import Window

if TYPE_CHECKING:
    from tracker.usage import CostImpact, Pricing
    from tracker.vocabulary import Diff

__all__ = [
    "AuditRecord",
    "CurrentPolicies",
    "EffectiveReport",
    "ModelHistory",
    "PolicyTimeline",
    "SnapshotInfo",
    "SourceReport",
    "Transition",
    "WindowReport",
    "add_effective",
    "audit",
    "current_policies",
    "diff_between",
    "effective_prices",
    "histories",
    "list_snapshots",
    "mark_restorations",
    "model_history",
    "resolve",
    "resolve_sources",
    "snapshot_map",
    "source_overview",
    "source_report",
    "source_span",
    "state_sequence",
    "stored_source_names",
    "transitions",
    "window_report",
]


# --- sources ---


def stored_source_names(engine: Engine) -> list[str]:
    """The names of the sources stored in the database, sorted."""
    with engine.connect() as conn:
        return sorted(reads.source_ids(conn))


def resolve_sources(conn: Connection, names: Sequence[str],
                    configured: Iterable[str] = (), *,
                    missing_ok: bool = False) -> list[tuple[str, int]]:
    """(name, id) of each named source in the database, in the order given, without repeats.

    A source is readable when it has observations, whether or not it is configured; an
    unknown name is a `NotFoundError` naming what exists. A configured source without
    observations is an error too, or, with `missing_ok` (a listing: its history is empty),
    left out.
    """
    known = reads.source_ids(conn)
    result: list[tuple[str, int]] = []
    for name in dict.fromkeys(names):
        if name in known:
            result.append((name, known[name]))
        elif missing_ok and name in set(configured):
            continue
        elif name in set(configured):
            raise NotFoundError(f"source {name!r} has no observations yet; run `tracker fetch`")
        else:
            stored = ", ".join(sorted(known)) or "none"
            raise NotFoundError(f"unknown source {name!r} (in the database: {stored})")
    return result


def source_or_fail(conn: Connection, source: str) -> int:
    source_id = reads.source_id(conn, source)
    if source_id is None:
        raise NotFoundError(f"source {source!r} has no observations yet; run `tracker fetch`")
    return source_id


def source_overview(engine: Engine, configured: list[str]) -> list[dict[str, Any]]:
    """Each configured source and each source in the database, with its last observation,
    its last successful one, and how many snapshots it has."""
    with engine.connect() as conn:
        stored = {row.name: row for row in reads.all_sources(conn)}
        counts = reads.snapshot_counts(conn)
        overview = []
        for name in sorted(set(configured) | set(stored)):
            row = stored.get(name)
            last = reads.observations_for(conn, row.id, limit=1) if row is not None else []
            state = reads.state_at(conn, row.id) if row is not None else None
            overview.append({
                "name": name,
                "kind": row.kind if row is not None else None,
                "configured": name in configured,
                "snapshots": counts.get(row.id, 0) if row is not None else 0,
                "last_observed_at": iso(last[0].observed_at) if last else None,
                "last_outcome": last[0].outcome if last else None,
                "current": state[0].label if state else None,
            })
    return overview


# --- snapshots: references and diffs ---


def list_snapshots(engine: Engine, source: str,
                   *, configured: Iterable[str] = ()) -> list[SnapshotInfo]:
    """Stored snapshots of a source, oldest first; none for a configured source that has no
    observations yet (an unknown source is a `NotFoundError`)."""
    with engine.connect() as conn:
        found = resolve_sources(conn, [source], configured, missing_ok=True)
        return reads.list_snapshots(conn, found[0][1]) if found else []


def snapshot_map(conn: Connection, source_id: int) -> dict[int, SnapshotInfo]:
    return {snap.id: snap for snap in reads.list_snapshots(conn, source_id)}


def resolve(conn: Connection, source_id: int, ref: str) -> SnapshotInfo:
    """A snapshot from a reference: latest, previous, a catalog_version, an id, a content-hash
    prefix (optionally after a `#`, as a snapshot without a catalog_version is labelled), or
    an ISO date/time (the latest state observed at or before then)."""
    ref = ref.strip()
    if ref == "latest":
        state = reads.state_at(conn, source_id)
        if state is None:
            raise NotFoundError("no snapshot stored yet")
        return state[0]
    if ref == "previous":
        return _previous(conn, source_id)
    matches = reads.snapshots_by_version_or_hash(conn, source_id, ref)
    exact = [m for m in matches if m.catalog_version == ref]
    if len(exact) == 1:
        return exact[0]
    if exact:  # the version was re-served with other content: it labels several states
        states = ", ".join(f"{m.id} (#{m.content_hash[:12]})" for m in exact)
        raise NotFoundError(f"catalog version {ref!r} labels {len(exact)} states (it was "
                            f"re-served with different content): {states}; give the id or "
                            "the #hash")
    served = reads.snapshot_served_as(conn, source_id, ref)
    if served is not None:  # served under this version, first seen under another
        return served
    if ref.startswith("#"):
        # `snapshot_label`'s form: `#` and the start of the content hash, never an id.
        matches = reads.snapshots_by_hash_prefix(conn, source_id, ref[1:].lower())
    elif ref.isdigit():
        found = reads.snapshot_by_id(conn, source_id, int(ref))
        if found is not None:
            return found
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NotFoundError(f"snapshot reference {ref!r} is ambiguous; give more of the hash")
    if looks_like_iso(ref):
        moment = parse_iso(ref)
        if len(ref.strip()) == 10:  # a date alone means the state as that day ends
            state = reads.state_at(conn, source_id, moment + timedelta(days=1))
        else:
            state = reads.state_at(conn, source_id, moment, inclusive=True)
        if state is None:
            raise NotFoundError(f"no snapshot observed at or before {ref}")
        return state[0]
    raise NotFoundError(
        f"no snapshot matches {ref!r} (use an id, a catalog_version, a hash prefix, "
        "an ISO date or time, latest or previous)"
    )


def _previous(conn: Connection, source_id: int) -> SnapshotInfo:
    """The state before the latest transition."""
    found = reads.previous_snapshot(conn, source_id)
    if found is None:
        raise NotFoundError("there is no previous snapshot yet (only one state observed)")
    return found


def _state_before(conn: Connection, source_id: int, target: SnapshotInfo) -> SnapshotInfo | None:
    """The state observed just before `target` was first observed."""
    state = reads.state_at(conn, source_id, target.first_observed_at)
    return state[0] if state else None


def diff_between(
    engine: Engine, source: str, from_ref: str | None = None, to_ref: str | None = None,
    *, effective: Sequence[str] = (), blend: Blend = DEFAULT_BLEND,
) -> Diff:
    """The guide's diff object between two stored states (default: previous to latest).

    With a single state stored and no references given, `from` is null and there are no
    changes: a first snapshot is not a change. `effective` (floors) appends the
    `effective_price_changed` records at those floors (`tracker.effective`).
    """
    with engine.connect() as conn:
        source_id = source_or_fail(conn, source)
        target = resolve(conn, source_id, to_ref or "latest")
        if from_ref is None:
            try:
                origin: SnapshotInfo | None = (
                    _previous(conn, source_id) if to_ref is None else None
                )
            except NotFoundError:
                origin = None
            if to_ref is not None:
                origin = _state_before(conn, source_id, target)
        else:
            origin = resolve(conn, source_id, from_ref)
        new = reads.load_catalog(conn, source_id, target)
        old = reads.load_catalog(conn, source_id, origin) if origin is not None else None
    changes = diff_catalogs(old, new) if origin is not None else []
    if any(_strengthens(c) for c in changes):
        with engine.connect() as conn:
            PolicyTimeline.load(conn, source_id).mark(changes, through=target.last_observed_at)
    changes += effective_changes(old, new, effective, blend)
    return cast("Diff", {
        "from": origin.to_json() if origin else None,
        "to": target.to_json(),
        "changes": changes,
    })


# --- policy strengthenings that undo a weakening ---


class PolicyTimeline:
    """Every stored data-policy change of one source, per offer (model, provider), oldest
    first: what tells a strengthening that undoes the offer's last weakening (`restored`)
    from any other one."""

    def __init__(self, stored: Iterable[reads.StoredChange]) -> None:
        self.offers: dict[tuple[str, str], list[tuple[datetime, Change]]] = defaultdict(list)
        for item in stored:
            record = item.record
            key = (record["model"] or "", record["provider"] or "")
            self.offers[key].append((item.observed_at, record))

    @classmethod
    def load(cls, conn: Connection, source_id: int) -> PolicyTimeline:
        return cls(reads.policy_changes(conn, source_id))

    def mark(self, changes: Iterable[Change], *, before: datetime | None = None,
             through: datetime | None = None) -> None:
        """Flag each strengthening in `changes` that undoes the offer's last weakening
        observed before `before` (or at or before `through`): `restored` is set, and
        `weakened_at` says when the weakening was observed (in place)."""
        for change in changes:
            if not _strengthens(change):
                continue
            earlier = [(at, record) for at, record in
                       self.offers.get((change["model"] or "", change["provider"] or ""), [])
                       if (before is None or at < before) and (through is None or at <= through)]
            if earlier and (earlier[-1][1]["old"], earlier[-1][1]["new"]) == (
                    change["old"], change["new"]):
                earlier.pop()  # the change itself, when the cut-off includes it
            if not earlier:
                continue
            at, last = earlier[-1]
            if last.get("weakened") and (last["old"], last["new"]) == (change["new"],
                                                                       change["old"]):
                change["restored"] = True
                change["weakened_at"] = iso(at)


def _strengthens(change: Change) -> bool:
    return (change.get("kind") == "data_policy_changed"
            and policy_strengthened(change.get("old"), change.get("new")))


def mark_restorations(conn: Connection, source_id: int, items: Iterable[Transition]) -> None:
    """`PolicyTimeline.mark` for the changes of each transition (in place): one query, and
    only when a transition holds a strengthening."""
    listed = list(items)
    if any(_strengthens(c) for t in listed for c in t.changes):
        timeline = PolicyTimeline.load(conn, source_id)
        for item in listed:
            timeline.mark(item.changes, before=item.observed_at)


# --- transitions ---


def _bounds(window: Window | None) -> tuple[datetime | None, datetime | None]:
    """A window's bounds; no window: no bounds (all time)."""
    return (None, None) if window is None else (window.since, window.until)


def transitions(conn: Connection, source: str, source_id: int, window: Window | None = None,
                *, snapshots: dict[int, SnapshotInfo] | None = None,
                with_changes: bool = True) -> list[Transition]:
    """Every transition of a source observed in the window, oldest first, with its changes.

    Two queries: the transitions, and all their change records at once.
    """
    snaps = snapshots if snapshots is not None else snapshot_map(conn, source_id)
    since, until = _bounds(window)
    found = reads.transitions(conn, source, source_id, snaps, since=since, until=until,
                              with_changes=with_changes)
    if with_changes:
        mark_restorations(conn, source_id, found)
    return found


def add_effective(conn: Connection, source_id: int, items: Sequence[Transition],
                  floors: Sequence[str], blend: Blend = DEFAULT_BLEND, *,
                  catalogs: dict[int, Catalog] | None = None) -> None:
    """Append to each transition's changes its `effective_price_changed` records at
    `floors` (in place; oldest first, as `transitions` returns them).

    One catalog is loaded (the state before the first transition) into a working copy; each
    transition's stored records are replayed onto it (`replay_offer_changes`), and only the
    models they touch are priced, before and after. A transition that does not follow the
    one before, or whose records do not apply, has its states loaded instead.
    """
    if not floors or not items:
        return
    cache = catalogs if catalogs is not None else {}

    def load(snap: SnapshotInfo) -> dict[str, Model]:
        if snap.id not in cache:
            cache[snap.id] = reads.load_catalog(conn, source_id, snap)
        return dict(cache[snap.id].models)  # a copy: the cached catalog stays as stored

    models: dict[str, Model] = {}
    memo: OffersMemo = {}  # a transition's "after" models are the next one's "before"
    current_id: int | None = None
    for item in items:
        if current_id != item.before.id:
            models = load(item.before)
        stored = list(item.changes)
        touched = touched_models(stored)
        before = Catalog({m: models[m] for m in touched if m in models})
        try:
            replay_offer_changes(models, stored)
        except ValueError:
            models = load(item.after)
        after = Catalog({m: models[m] for m in touched if m in models})
        item.changes.extend(effective_changes(before, after, floors, blend, memo=memo))
        current_id = item.after.id


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
    # The floors whose effective_price_changed records `net` and `events` carry (the config's
    # effective_floors), and the cost impact on a usage file (`report --usage`).
    effective_floors: tuple[str, ...] = ()
    impact: CostImpact | None = None

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.effective_floors:
            extra["effective_floors"] = list(self.effective_floors)
        if self.impact is not None:
            extra["impact"] = self.impact.to_json()
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
            **extra,
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


def source_report(conn: Connection, name: str, source_id: int, window: Window,
                  *, catalogs: dict[int, Catalog] | None = None,
                  pricing: Pricing | None = None) -> SourceReport:
    """The report of one source over a window (see the module's semantics).

    ``catalogs`` caches loaded catalogs by snapshot id across calls (the site's weeks).
    ``pricing`` adds the effective-price records at its floors (net and timeline) and the
    cost impact on its usage rows.
    """
    cache = catalogs if catalogs is not None else {}
    snaps = snapshot_map(conn, source_id)
    start: SnapshotInfo | None = None
    start_at: datetime | None = None
    starts_inside = False
    if window.since is not None:
        before = reads.state_at(conn, source_id, window.since)
        if before is not None:
            start, start_at = before
    if start is None:
        first = reads.first_state_in(conn, source_id, window.since, window.until)
        if first is not None:
            start, start_at = snaps[first[0]], first[1]
            starts_inside = True
    end_state = reads.state_at(conn, source_id, window.until)
    end, end_at = end_state if end_state else (None, None)

    def catalog(snap: SnapshotInfo) -> Catalog:
        if snap.id not in cache:
            cache[snap.id] = reads.load_catalog(conn, source_id, snap)
        return cache[snap.id]

    floors = pricing.floors if pricing is not None else ()
    blend = pricing.blend if pricing is not None else DEFAULT_BLEND
    net: list[Change] = []
    if start is not None and end is not None and start.id != end.id:
        net = diff_catalogs(catalog(start), catalog(end))
        if any(_strengthens(c) for c in net):
            PolicyTimeline.load(conn, source_id).mark(net, before=window.until)
        net += effective_changes(catalog(start), catalog(end), floors, blend)
    events = transitions(conn, name, source_id, window, snapshots=snaps)
    add_effective(conn, source_id, events, floors, blend, catalogs=cache)
    report = SourceReport(name, window, start, start_at, end, end_at, starts_inside, net,
                          events, effective_floors=tuple(floors))
    if pricing is not None and pricing.usage is not None:
        from tracker.usage import cost_impact

        report.impact = cost_impact(
            pricing.usage, catalog(start) if start is not None else None,
            catalog(end) if end is not None else None, floor=pricing.usage_floor,
            blend=blend, usage_file=pricing.usage_file)
    return report


def window_report(engine: Engine, names: Sequence[str], window: Window,
                  *, configured: Iterable[str] = (),
                  pricing: Pricing | None = None) -> WindowReport:
    """Net changes and the timeline of transitions over a window, for each named source
    (with `pricing`: effective prices and the cost impact on a usage file)."""
    with engine.connect() as conn:
        resolved = resolve_sources(conn, names, configured)
        return WindowReport(window, [source_report(conn, name, sid, window, pricing=pricing)
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
    strengthened: bool = False
    # A strengthening that undoes the offer's last weakening, observed at `weakened_at`.
    restored: bool = False
    weakened_at: datetime | None = None

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
            "strengthened": self.strengthened,
            "restored": self.restored,
            "weakened_at": iso(self.weakened_at) if self.weakened_at else None,
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
        for name, source_id in resolve_sources(conn, names, configured, missing_ok=True):
            snaps = snapshot_map(conn, source_id)
            since, until = _bounds(window)
            timeline = PolicyTimeline.load(conn, source_id)
            for change in reads.policy_changes(conn, source_id, since, until):
                record = change.record
                timeline.mark([record], before=change.observed_at)
                after, before = snaps[change.to_snapshot_id], snaps[change.from_snapshot_id]
                records.append(AuditRecord(
                    observed_at=change.observed_at, source=name,
                    catalog_version=after.catalog_version, snapshot_label=after.label,
                    content_hash=after.content_hash,
                    previous_catalog_version=before.catalog_version,
                    model=record["model"] or "", provider=record["provider"] or "",
                    old=record["old"], new=record["new"], weakened=bool(record.get("weakened")),
                    became_unknown=policy_became_unknown(record["old"], record["new"]),
                    strengthened=policy_strengthened(record["old"], record["new"]),
                    restored=record.get("restored") is True,
                    weakened_at=(parse_iso(record["weakened_at"])
                                 if record.get("weakened_at") else None),
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
            state = reads.state_at(conn, source_id, moment)
            if state is None:
                result.append(SourcePolicies(name, moment, None, None, [], [], [], []))
                continue
            snap, observed_at = state
            catalog = reads.load_catalog(conn, source_id, snap)
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


# --- effective prices as of a moment ---


@dataclass
class EffectiveReport:
    """The effective offer of every model (or of the models asked for) at each floor, in the
    state of a source observed at or before a moment (`tracker effective`)."""

    source: str
    as_of: datetime
    snapshot: SnapshotInfo
    observed_at: datetime  # when that state was last observed at or before `as_of`
    floors: tuple[str, ...]
    blend: Blend
    offers: list[EffectiveOffer]
    models: list[str]  # the models asked for (empty: every model)
    model_count: int  # models in that state

    def to_json(self) -> list[dict[str, Any]]:
        """What `tracker effective --format json` prints: `{"model", "floor", "provider",
        "input_price", "output_price", "blended"}` per model and floor, sorted by model, then
        floor (strongest first); a model without a qualifying offer at a floor is left out."""
        return [offer.to_json() for offer in self.offers]

    def document(self) -> dict[str, Any]:
        """The rows with their context: the state they were read from, the floors and the
        blend weights (what the text rendering shows)."""
        return {
            "source": self.source,
            "as_of": iso(self.as_of),
            "snapshot": self.snapshot.to_json(),
            "observed_at": iso(self.observed_at),
            "floors": list(self.floors),
            "blend": [decimal_to_json(w) for w in self.blend],
            "models": self.models,
            "model_count": self.model_count,
            "offers": self.to_json(),
        }


def effective_prices(engine: Engine, source: str, *, at: datetime | None = None,
                     models: Sequence[str] = (), floors: Sequence[str] = FLOORS,
                     blend: Blend = DEFAULT_BLEND,
                     configured: Iterable[str] = ()) -> EffectiveReport:
    """The effective offers of one source's state observed at or before `at` (default: now).
    A model asked for that is not in that state is a `NotFoundError` naming the closest."""
    moment = at or datetime.now(UTC)
    with engine.connect() as conn:
        ((name, source_id),) = resolve_sources(conn, [source], configured)
        state = reads.state_at(conn, source_id, moment, inclusive=True)
        if state is None:
            raise NotFoundError(f"source {name!r} has no snapshot observed at or before "
                                f"{iso(moment)}")
        snap, observed_at = state
        catalog = reads.load_catalog(conn, source_id, snap)
    wanted = list(dict.fromkeys(models))
    for model in wanted:
        if model not in catalog.models:
            suggestions = closest(model, sorted(catalog.models))
            hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
            raise NotFoundError(f"model {model!r} is not in the catalog of source {name!r} "
                                f"as of {iso(moment)} ({snap.label}){hint}")
    order = tuple(f for f in FLOORS if f in set(floors))
    offers = effective_offers(catalog, order, blend, wanted or None)
    return EffectiveReport(name, moment, snap, observed_at, order, blend, offers, wanted,
                           len(catalog))


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
    # The effective offer over time per floor (`price_effective`), over every provider.
    effective: dict[str, list[EffectiveSpan]] = field(default_factory=dict)

    def price_effective(self, floors: Sequence[str], blend: Blend = DEFAULT_BLEND) -> None:
        """Fill `effective`: the model's effective offer at each floor over time, from its
        providers' intervals (call it before filtering the providers)."""
        intervals = [(span.start, span.end, name, span.input_price, span.output_price,
                      span.data_policy)
                     for name, spans in self.providers.items() for span in spans]
        self.effective = {
            floor: [EffectiveSpan(a, b, offer)
                    for a, b, offer in effective_timeline(self.model, intervals, floor, blend)]
            for floor in FLOORS if floor in set(floors)
        }

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
            **({"effective": [
                {"floor": floor, "intervals": [span.to_json() for span in spans]}
                for floor, spans in self.effective.items()
            ]} if self.effective else {}),
        }


@dataclass(frozen=True)
class EffectiveSpan:
    """The effective offer of a model at a floor, and when it held: ``[start, end)``."""

    start: datetime
    end: datetime | None
    offer: EffectiveOffer

    def to_json(self) -> dict[str, Any]:
        return {"from": iso(self.start), "to": iso(self.end) if self.end else None,
                **self.offer.offer_json()}


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
    observed_until = reads.last_state_observed_at(conn, source_id)

    state_pieces: dict[str, list[tuple[int, int, Any]]] = defaultdict(list)
    for row in reads.model_state_rows(conn, source_id, models):
        endpoints = row.supported_endpoints
        value = (row.context_window, tuple(endpoints) if endpoints is not None else None,
                 row.owned_by, row.created)
        for a, b in index.covered(row.valid_from, row.valid_to):
            state_pieces[row.model_id].append((a, b, value))
    offer_pieces: dict[tuple[str, str], list[tuple[int, int, Any]]] = defaultdict(list)
    for row in reads.offer_rows(conn, source_id, models, provider):
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
                  *, configured: Iterable[str] = (), floors: Sequence[str] = (),
                  blend: Blend = DEFAULT_BLEND) -> ModelHistory:
    """One model's history in one source; an unknown model or provider suggests the closest.
    `floors`: also its effective offer at those floors over time (over every provider, even
    with `provider` given)."""
    with engine.connect() as conn:
        ((name, source_id),) = resolve_sources(conn, [source], configured)
        found = histories(conn, name, source_id, models=[model])
        if model not in found:
            suggestions = closest(model, reads.model_ids(conn, source_id))
            hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
            raise NotFoundError(f"unknown model {model!r} in source {name!r}{hint}")
        history = found[model]
        history.price_effective(floors, blend)
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
