"""Every query that reads the tables: sources, snapshots and the catalogs they rebuild,
observations, transitions and their change records, interval rows, notification state.

Every function takes an open `Connection` and returns plain values, rows or the small
dataclasses below; transactions belong to the caller. Writes live in `tracker.store.writes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Row,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from tracker.catalog import Catalog, Model, Provider
from tracker.diff import Change, policy_became_unknown, policy_strengthened
from tracker.store import rawbody
from tracker.store.schema import (
    changelogs,
    changes,
    model_history_view,
    model_states,
    notifications,
    observations,
    offer_history_view,
    offers,
    snapshots,
    sources,
)
from tracker.timeutil import iso
from tracker.vocabulary import (
    FAILURE_OUTCOMES,
    SUCCESS_OUTCOMES,
    TRANSITION_OUTCOMES,
    ChangeKind,
    snapshot_label,
)

# --- what the reads return ---

# A result row, whatever its columns (read them by name).
AnyRow = Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class SnapshotInfo:
    """A stored snapshot as reports and JSON output show it (the guide's SNAP)."""

    id: int
    catalog_version: str | None
    content_hash: str
    first_observed_at: datetime
    last_observed_at: datetime
    model_count: int
    identity: str
    extra: dict[str, Any]
    raw_sha256: str
    # Its catalog_version already labelled another content when it was first served.
    version_reused: bool = False
    # The size of the exact bytes received (0: not read).
    raw_size: int = 0
    # The digest of its catalog text without the volatile members, once a poll recorded it.
    catalog_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "catalog_version": self.catalog_version,
            "content_hash": self.content_hash,
            "first_observed_at": iso(self.first_observed_at),
            "model_count": self.model_count,
            "version_reused": self.version_reused,
        }

    @property
    def label(self) -> str:
        """How a person refers to it: the version, else `#` and the start of the content hash."""
        return snapshot_label(self.catalog_version, self.content_hash)


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
    # The catalog_version served had labelled another content (observations.version_reused),
    # and the version served (the label of `after` may differ: its content was first seen
    # under another version).
    version_reused: bool = False
    served_version: str | None = None

    def diff_json(self) -> dict[str, Any]:
        """The guide's diff object for this transition (what a changelog renders)."""
        return {"from": self.before.to_json(), "to": self.after.to_json(),
                "changes": self.changes, "source": self.source,
                "observed_at": iso(self.observed_at), "version_reused": self.version_reused,
                "served_version": self.served_version}

    def to_json(self) -> dict[str, Any]:
        return {
            "observed_at": iso(self.observed_at),
            "from": self.before.to_json(),
            "to": self.after.to_json(),
            "changes": self.changes,
            "source": self.source,
            "outcome": self.outcome,
            "observation_id": self.observation_id,
            "version_reused": self.version_reused,
            "served_version": self.served_version,
        }


@dataclass(frozen=True)
class StoredChange:
    """A row of `changes`: the change record and where it was observed."""

    id: int
    observation_id: int
    observed_at: datetime
    from_snapshot_id: int
    to_snapshot_id: int
    record: Change


def _outcomes(group: Iterable[str]) -> list[str]:
    """An outcome set as the values of an IN list, in a stable order."""
    return sorted(str(outcome) for outcome in group)


def _between(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """`since <= column < until`, each bound only when given (a half-open window)."""
    conditions = []
    if until is not None:
        conditions.append(column < until)
    if since is not None:
        conditions.append(column >= since)
    return conditions


def json_as_text(column: Any, name: str) -> ColumnElement[Any]:
    """A JSON column read as its JSON text (decode it with `orjson.loads`): on SQLite a JSON
    column has NUMERIC affinity, so a price stored as the JSON text "2.5" comes back as a REAL
    that the JSON type cannot decode."""
    return cast(column, Text).label(name)


# --- sources ---


# The queries every ingest runs are built once, with bound parameters: building a statement
# and its cache key costs several times what running it does on SQLite.
_SOURCE_ID = select(sources.c.id).where(sources.c.name == bindparam("name"))


def source_id(conn: Connection, name: str) -> int | None:
    return conn.execute(_SOURCE_ID, {"name": name}).scalar()


def source_ids(conn: Connection) -> dict[str, int]:
    """The id of every source in the database, by name."""
    return {row.name: row.id for row in conn.execute(select(sources.c.name, sources.c.id))}


def all_sources(conn: Connection) -> list[AnyRow]:
    """Every row of `sources`."""
    return list(conn.execute(select(sources)).all())


# --- snapshots ---

_SNAPSHOT_FIELDS = ("id", "catalog_version", "content_hash", "first_observed_at",
                    "last_observed_at", "model_count", "identity", "extra", "raw_sha256",
                    "version_reused", "raw_size", "catalog_sha256")
_SNAPSHOT_COLUMNS = tuple(snapshots.c[name] for name in _SNAPSHOT_FIELDS)


def _prefixed_snapshot_columns(table: Any, prefix: str) -> list[Any]:
    return [table.c[name].label(prefix + name) for name in _SNAPSHOT_FIELDS]


def _snapshot_info(row: Any, prefix: str = "") -> SnapshotInfo:
    if prefix:
        row = _Prefixed(row, prefix)
    return SnapshotInfo(
        id=row.id,
        catalog_version=row.catalog_version,
        content_hash=row.content_hash,
        first_observed_at=row.first_observed_at,
        last_observed_at=row.last_observed_at,
        model_count=row.model_count,
        identity=row.identity,
        extra=dict(row.extra or {}),
        raw_sha256=row.raw_sha256,
        version_reused=bool(row.version_reused),
        raw_size=row.raw_size,
        catalog_sha256=row.catalog_sha256,
    )


# The columns `snapshot_info` reads (what an INSERT of a snapshot returns), and that reading.
SNAPSHOT_COLUMNS = _SNAPSHOT_COLUMNS


def snapshot_info(row: Any) -> SnapshotInfo:
    """The `SnapshotInfo` of a row of `SNAPSHOT_COLUMNS`."""
    return _snapshot_info(row)


class _Prefixed:
    """The columns of a row whose names start with `prefix`, without it."""

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


_SNAPSHOT_BY_ID = select(*_SNAPSHOT_COLUMNS).where(
    snapshots.c.source_id == bindparam("source"), snapshots.c.id == bindparam("snapshot"))
_SNAPSHOT_BY_IDENTITY = select(*_SNAPSHOT_COLUMNS).where(
    snapshots.c.source_id == bindparam("source"), snapshots.c.identity == bindparam("identity"))


def snapshot_by_id(conn: Connection, source: int, snapshot_id: int) -> SnapshotInfo | None:
    row = conn.execute(_SNAPSHOT_BY_ID, {"source": source, "snapshot": snapshot_id}).first()
    return _snapshot_info(row) if row else None


def snapshot_by_identity(conn: Connection, source: int, identity: str) -> SnapshotInfo | None:
    row = conn.execute(_SNAPSHOT_BY_IDENTITY, {"source": source, "identity": identity}).first()
    return _snapshot_info(row) if row else None


def version_labels_other_content(conn: Connection, source: int, version: str,
                                 content_hash: str) -> bool:
    """Whether a stored snapshot of the source is labelled `version` but holds other content
    than `content_hash`: that version is being re-served with different content."""
    return conn.execute(
        select(snapshots.c.id).where(
            snapshots.c.source_id == source, snapshots.c.catalog_version == version,
            snapshots.c.content_hash != content_hash,
        ).limit(1)
    ).first() is not None


def snapshot_served_as(conn: Connection, source: int, version: str) -> SnapshotInfo | None:
    """The state most recently observed under `version` (a version that served the content
    of a snapshot first seen, and labelled, under another)."""
    row = conn.execute(
        select(observations.c.snapshot_id)
        .where(observations.c.source_id == source, observations.c.catalog_version == version,
               observations.c.snapshot_id.is_not(None))
        .order_by(observations.c.id.desc()).limit(1)
    ).first()
    return snapshot_by_id(conn, source, row.snapshot_id) if row else None


def is_hash_prefix(ref: str) -> bool:
    """Whether `ref` can be the start of a content hash: 6 or more lowercase hex digits."""
    return len(ref) >= 6 and all(c in "0123456789abcdef" for c in ref)


def snapshots_by_version_or_hash(conn: Connection, source: int, ref: str) -> list[SnapshotInfo]:
    """Snapshots whose catalog_version equals `ref` or whose content hash starts with it."""
    condition = snapshots.c.catalog_version == ref
    if is_hash_prefix(ref):
        condition = or_(condition, snapshots.c.content_hash.startswith(ref, autoescape=True))
    rows = conn.execute(
        select(*_SNAPSHOT_COLUMNS)
        .where(snapshots.c.source_id == source, condition)
        .order_by(snapshots.c.id)
    ).all()
    return [_snapshot_info(row) for row in rows]


def snapshots_by_hash_prefix(conn: Connection, source: int, prefix: str) -> list[SnapshotInfo]:
    """Snapshots whose content hash starts with `prefix` (none unless it is a hash prefix)."""
    if not is_hash_prefix(prefix):
        return []
    rows = conn.execute(
        select(*_SNAPSHOT_COLUMNS)
        .where(snapshots.c.source_id == source,
               snapshots.c.content_hash.startswith(prefix, autoescape=True))
        .order_by(snapshots.c.id)
    ).all()
    return [_snapshot_info(row) for row in rows]


def list_snapshots(conn: Connection, source: int) -> list[SnapshotInfo]:
    rows = conn.execute(
        select(*_SNAPSHOT_COLUMNS)
        .where(snapshots.c.source_id == source)
        .order_by(snapshots.c.first_observed_at, snapshots.c.id)
    ).all()
    return [_snapshot_info(row) for row in rows]


_NEWEST_SNAPSHOT_ID = select(func.max(snapshots.c.id)).where(
    snapshots.c.source_id == bindparam("source"))
_SNAPSHOT_COUNT = select(func.count()).select_from(snapshots).where(
    snapshots.c.source_id == bindparam("source"))


def newest_snapshot_id(conn: Connection, source: int) -> int | None:
    """The most recently created snapshot: the base the validity intervals continue from."""
    return conn.execute(_NEWEST_SNAPSHOT_ID, {"source": source}).scalar()


def snapshot_count(conn: Connection, source: int) -> int:
    """How many snapshots a source has."""
    return int(conn.execute(_SNAPSHOT_COUNT, {"source": source}).scalar_one())


def snapshot_counts(conn: Connection) -> dict[int, int]:
    """How many snapshots each source has, by source id (sources without any are absent)."""
    return {
        row[0]: row[1]
        for row in conn.execute(
            select(snapshots.c.source_id, func.count()).group_by(snapshots.c.source_id)
        )
    }


def state_at(conn: Connection, source: int, before: datetime | None = None,
             *, inclusive: bool = False) -> tuple[SnapshotInfo, datetime] | None:
    """The snapshot of the latest successful observation (optionally before a time), and when.

    With `inclusive`, an observation exactly at `before` counts (for "as of" lookups).
    """
    bound = None if before is None else "<=" if inclusive else "<"
    row = conn.execute(_STATE_QUERIES[bound], {"source": source, "before": before}).first()
    if row is None:
        return None
    return _snapshot_info(row), row.state_observed_at


def _state_query(bound: str | None) -> Any:
    # The observation and its snapshot in one query (every ingest asks, twice).
    query = (
        select(*_SNAPSHOT_COLUMNS, observations.c.observed_at.label("state_observed_at"))
        .select_from(observations.join(snapshots, snapshots.c.id == observations.c.snapshot_id))
        .where(observations.c.source_id == bindparam("source"),
               observations.c.snapshot_id.is_not(None))
    )
    if bound is not None:
        before = bindparam("before", type_=observations.c.observed_at.type)
        query = query.where(observations.c.observed_at <= before if bound == "<="
                            else observations.c.observed_at < before)
    return query.order_by(observations.c.observed_at.desc(), observations.c.id.desc()).limit(1)


# state_at's query without a bound, before a time, and at or before a time.
_STATE_QUERIES = {bound: _state_query(bound) for bound in (None, "<", "<=")}


@dataclass(frozen=True)
class StoreContext:
    """What storing a catalog of a source needs to know, read in one statement."""

    source_id: int
    # The newest observation's time (latest_observation_time).
    newest_observed_at: datetime | None
    # The current state (state_at's snapshot).
    current: SnapshotInfo | None
    # The snapshot of the content being stored, when it was stored before.
    existing: SnapshotInfo | None
    # Another snapshot is labelled with the version served (version_labels_other_content).
    version_reused: bool
    # The newest snapshot (newest_snapshot_id), the base intervals continue from, and how
    # many snapshots the source has (snapshot_count).
    newest_snapshot_id: int | None
    snapshot_count: int
    # Ids drawn for the snapshot and the observation about to be stored (PostgreSQL, when
    # asked): their INSERTs then return nothing anyone waits for (tracker.store.queued).
    next_snapshot_id: int | None = None
    next_observation_id: int | None = None


def _next_id(table: Any) -> Any:
    """The next id of `table`'s sequence, drawn (PostgreSQL)."""
    return func.nextval(func.pg_get_serial_sequence(table.name, "id"))


@cache  # built on first use: 2 ms of every command that stores nothing otherwise
def _store_context_query(allocate: bool = False) -> Any:
    # One round trip for what the pipeline used to ask in six: a PostgreSQL import pays a
    # round trip per statement per version. The state's observation is found by the
    # source's name in a derived table (no correlation inside a join's ON clause).
    current, existing, other = (snapshots.alias(name) for name in ("cur", "ex", "other"))
    by_name = select(sources.c.id).where(sources.c.name == bindparam("name")).scalar_subquery()
    state = (
        select(observations.c.source_id, observations.c.snapshot_id)
        .where(observations.c.source_id == by_name, observations.c.snapshot_id.is_not(None))
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc())
        .limit(1)
        .subquery("state")
    )

    def of_source(query: Any, table: Any) -> Any:
        return query.where(table.c.source_id == sources.c.id).correlate(sources).scalar_subquery()

    newest_time = of_source(select(func.max(observations.c.observed_at)), observations)
    newest_snapshot = of_source(select(func.max(other.c.id)), other)
    count = of_source(select(func.count()).select_from(other), other)
    reused = (
        select(other.c.id)
        .where(other.c.source_id == sources.c.id,
               other.c.catalog_version == bindparam("version"),
               other.c.content_hash != bindparam("content_hash"))
        .correlate(sources)
        .exists()
    )
    return (
        select(
            sources.c.id.label("source_id"),
            newest_time.label("newest_observed_at"),
            newest_snapshot.label("newest_snapshot_id"),
            count.label("snapshot_count"),
            reused.label("version_reused"),
            *_prefixed_snapshot_columns(current, "cur_"),
            *_prefixed_snapshot_columns(existing, "ex_"),
            *((case((existing.c.id.is_(None), _next_id(snapshots))).label("next_snapshot_id"),
               _next_id(observations).label("next_observation_id")) if allocate else ()),
        )
        .select_from(
            sources.outerjoin(state, state.c.source_id == sources.c.id)
            .outerjoin(current, current.c.id == state.c.snapshot_id)
            .outerjoin(existing, and_(existing.c.source_id == sources.c.id,
                                      existing.c.identity == bindparam("identity")))
        )
        .where(sources.c.name == bindparam("name"))
    )


def store_context(conn: Connection, name: str, content_hash: str,
                  version: str | None, *, allocate: bool = False) -> StoreContext | None:
    """The named source's `StoreContext` for storing a catalog whose content hash is
    `content_hash`, served as `version`; None when there is no such source yet. With
    `allocate` (PostgreSQL only), the id of the observation to store is drawn from its
    sequence in the same statement, and the id of a snapshot of that content when there is
    none yet (one the catalog then does not get, held as suspicious, leaves a gap).

    The same answers as `source_id`, `latest_observation_time`, `state_at`,
    `snapshot_by_identity`, `version_labels_other_content`, `newest_snapshot_id` and
    `snapshot_count` asked one after the other in the same transaction.
    """
    row = conn.execute(_store_context_query(allocate), {"name": name, "identity": content_hash,
                                                "version": version,
                                                "content_hash": content_hash}).first()
    if row is None:
        return None
    return StoreContext(
        source_id=row.source_id,
        newest_observed_at=row.newest_observed_at,
        current=_snapshot_info(row, "cur_") if row.cur_id is not None else None,
        existing=_snapshot_info(row, "ex_") if row.ex_id is not None else None,
        version_reused=version is not None and bool(row.version_reused),
        newest_snapshot_id=row.newest_snapshot_id,
        snapshot_count=int(row.snapshot_count),
        next_snapshot_id=row.next_snapshot_id if allocate else None,
        next_observation_id=row.next_observation_id if allocate else None,
    )


def previous_snapshot(conn: Connection, source: int) -> SnapshotInfo | None:
    """The state before the latest transition; None when only one state was observed."""
    row = conn.execute(
        select(observations.c.previous_snapshot_id)
        .where(*_newest_of(source,
                           observations.c.outcome.in_(_outcomes(TRANSITION_OUTCOMES)),
                           observations.c.previous_snapshot_id.is_not(None)))
        .order_by(observations.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    found = snapshot_by_id(conn, source, row.previous_snapshot_id)
    assert found is not None
    return found


def _valid_at(table: Any, source: int, snapshot_id: int) -> Any:
    return and_(
        table.c.source_id == source,
        table.c.valid_from <= snapshot_id,
        or_(table.c.valid_to.is_(None), table.c.valid_to > snapshot_id),
    )


def load_catalog(conn: Connection, source: int, snapshot: SnapshotInfo) -> Catalog:
    """The catalog exactly as it was at `snapshot`, rebuilt from the interval rows."""
    providers: dict[str, dict[str, Provider]] = {}
    offer_rows = conn.execute(
        select(
            offers.c.model_id,
            offers.c.provider,
            offers.c.input_price,
            offers.c.output_price,
            offers.c.data_policy,
            offers.c.extra,
        ).where(_valid_at(offers, source, snapshot.id))
    )
    for row in offer_rows:
        providers.setdefault(row.model_id, {})[row.provider] = Provider(
            name=row.provider,
            input_price=Decimal(row.input_price),
            output_price=Decimal(row.output_price),
            data_policy=row.data_policy,
            extra=row.extra or {},
        )
    models: dict[str, Model] = {}
    model_rows = conn.execute(
        select(
            model_states.c.model_id,
            model_states.c.created,
            model_states.c.owned_by,
            model_states.c.context_window,
            model_states.c.supported_endpoints,
            model_states.c.extra,
        ).where(_valid_at(model_states, source, snapshot.id))
    )
    for row in model_rows:
        endpoints = row.supported_endpoints
        models[row.model_id] = Model(
            id=row.model_id,
            created=row.created,
            owned_by=row.owned_by,
            context_window=row.context_window,
            supported_endpoints=tuple(endpoints) if endpoints is not None else None,
            providers=providers.get(row.model_id, {}),
            extra=row.extra or {},
        )
    return Catalog(models=models, catalog_version=snapshot.catalog_version, extra=snapshot.extra)


def raw_body(conn: Connection, snapshot_id: int) -> bytes:
    """The exact bytes received for a snapshot, undoing the delta chain back to a keyframe.

    The whole chain (up to `rawbody.KEYFRAME_EVERY` bodies) comes in one recursive query,
    not one query per link.
    """
    link = select(snapshots.c.id, snapshots.c.raw_body, snapshots.c.raw_base_id).where(
        snapshots.c.id == snapshot_id).cte("chain", recursive=True)
    base = snapshots.alias("base")
    link = link.union_all(
        select(base.c.id, base.c.raw_body, base.c.raw_base_id)
        .join(link, base.c.id == link.c.raw_base_id))
    rows = {row.id: row for row in conn.execute(select(link))}
    chain: list[bytes] = []
    current: int | None = snapshot_id
    while current is not None:
        row = rows[current]
        chain.append(row.raw_body)
        current = row.raw_base_id
    return rawbody.decompress_chain(chain[::-1])


# --- observations ---


_LATEST_OBSERVATION_TIME = select(func.max(observations.c.observed_at)).where(
    observations.c.source_id == bindparam("source"))


def latest_observation_time(conn: Connection, source: int) -> datetime | None:
    return conn.execute(_LATEST_OBSERVATION_TIME, {"source": source}).scalar()


def observations_after(conn: Connection, source: int, moment: datetime) -> int:
    """How many of the source's observations are dated after `moment` (from the future,
    when `moment` is now plus the allowed skew)."""
    return int(conn.execute(
        select(func.count()).select_from(observations)
        .where(observations.c.source_id == source, observations.c.observed_at > moment)
    ).scalar_one())


def max_observation_id(conn: Connection, source: int) -> int:
    """The id of the source's newest observation; 0 when it has none."""
    return int(conn.execute(
        select(func.coalesce(func.max(observations.c.id), 0))
        .where(observations.c.source_id == source)
    ).scalar_one())


def observations_for(conn: Connection, source: int, limit: int | None = None) -> list[AnyRow]:
    """The source's observations, newest first (every column)."""
    query = (
        select(observations)
        .where(observations.c.source_id == source)
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).all())


def observation_count(conn: Connection, source: int) -> int:
    return int(conn.execute(
        select(func.count()).select_from(observations).where(observations.c.source_id == source)
    ).scalar_one())


def origins_with_prefix(conn: Connection, source: int, prefix: str) -> list[str]:
    """The `origin` of each of the source's observations that starts with `prefix`."""
    return list(conn.execute(
        select(observations.c.origin).where(
            observations.c.source_id == source,
            observations.c.origin.startswith(prefix),
        )
    ).scalars())


def state_sequence(conn: Connection, source_id: int,
                   until: datetime | None = None) -> list[tuple[datetime, int]]:
    """The observed states of a source in time order: (first observed at, snapshot id).

    Only the observations that set a state (the first one and every transition); an unchanged
    poll does not start a new state.
    """
    query = (
        select(observations.c.observed_at, observations.c.snapshot_id)
        .where(observations.c.source_id == source_id,
               observations.c.outcome.in_(_outcomes(TRANSITION_OUTCOMES)),
               observations.c.snapshot_id.is_not(None))
        .order_by(observations.c.observed_at, observations.c.id)
    )
    if until is not None:
        query = query.where(observations.c.observed_at < until)
    return [(row.observed_at, row.snapshot_id) for row in conn.execute(query)]


def first_state_in(conn: Connection, source_id: int, since: datetime | None,
                   until: datetime | None) -> tuple[int, datetime] | None:
    """The first state observed in `[since, until)`: (snapshot id, observed at)."""
    row = conn.execute(
        select(observations.c.snapshot_id, observations.c.observed_at)
        .where(observations.c.source_id == source_id, observations.c.snapshot_id.is_not(None),
               *_between(observations.c.observed_at, since, until))
        .order_by(observations.c.observed_at, observations.c.id)
        .limit(1)
    ).first()
    return (row.snapshot_id, row.observed_at) if row else None


def last_state_observed_at(conn: Connection, source_id: int) -> datetime | None:
    """When the source was last seen with a state (failed polls do not count)."""
    return conn.execute(
        select(func.max(observations.c.observed_at))
        .where(observations.c.source_id == source_id, observations.c.snapshot_id.is_not(None))
    ).scalar()


def source_span(conn: Connection, source_id: int) -> tuple[datetime, datetime] | None:
    """The first and last observation times of a source with a state."""
    row = conn.execute(
        select(func.min(observations.c.observed_at), func.max(observations.c.observed_at))
        .where(observations.c.source_id == source_id, observations.c.snapshot_id.is_not(None))
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


# --- health (tracker status) ---


def last_success(conn: Connection, source_id: int) -> AnyRow | None:
    """The newest successful observation with its snapshot: id, observed_at, outcome, origin,
    catalog_version, content_hash, model_count."""
    return conn.execute(
        select(observations.c.id, observations.c.observed_at, observations.c.outcome,
               observations.c.origin, snapshots.c.catalog_version, snapshots.c.content_hash,
               snapshots.c.model_count)
        .join(snapshots, snapshots.c.id == observations.c.snapshot_id)
        .where(*_newest_of(source_id, observations.c.outcome.in_(_outcomes(SUCCESS_OUTCOMES))))
        .order_by(observations.c.id.desc()).limit(1)
    ).first()


def _newest_of(source_id: int, *conditions: Any) -> list[Any]:
    """The conditions of the source's newest observations that meet `conditions` (by time;
    the caller orders ties by id): the newest time comes from the (source, outcome, time)
    index, not from walking back through every other observation since (a year of unchanged
    polls, or a long outage)."""
    where = [observations.c.source_id == source_id, *conditions]
    newest = select(func.max(observations.c.observed_at)).where(*where).scalar_subquery()
    return [*where, observations.c.observed_at == newest]


def last_transition(conn: Connection, source_id: int) -> AnyRow | None:
    """The newest transition: id, observed_at, version_reused, served_version (the
    catalog_version served), and the version and hash of the states before (old_version,
    old_hash) and after (new_version, new_hash)."""
    old, new = snapshots.alias("old"), snapshots.alias("new")
    return conn.execute(
        select(observations.c.id, observations.c.observed_at, observations.c.version_reused,
               observations.c.catalog_version.label("served_version"),
               old.c.catalog_version.label("old_version"), old.c.content_hash.label("old_hash"),
               new.c.catalog_version.label("new_version"), new.c.content_hash.label("new_hash"))
        .join(old, old.c.id == observations.c.previous_snapshot_id)
        .join(new, new.c.id == observations.c.snapshot_id)
        .where(*_newest_of(source_id,
                           observations.c.outcome.in_(_outcomes(TRANSITION_OUTCOMES)),
                           observations.c.previous_snapshot_id.is_not(None)))
        .order_by(observations.c.id.desc()).limit(1)
    ).first()


def last_success_id(conn: Connection, source_id: int) -> int | None:
    """The id of the source's most recently recorded successful observation (insertion
    order: an observation dated in the future does not hide the polls recorded after it)."""
    return conn.execute(
        select(func.max(observations.c.id))
        .where(observations.c.source_id == source_id,
               observations.c.outcome.in_(_outcomes(SUCCESS_OUTCOMES)))
    ).scalar()


def failures_since(conn: Connection, source_id: int, after: int | None = None) -> int:
    """How many failed observations the source recorded after the observation id `after`
    (all of them when None): the failures in a row since the newest success, counted in
    insertion order, whatever their timestamps say."""
    streak = select(func.count()).select_from(observations).where(
        observations.c.source_id == source_id,
        observations.c.outcome.in_(_outcomes(FAILURE_OUTCOMES)),
    )
    if after is not None:
        streak = streak.where(observations.c.id > after)
    return int(conn.execute(streak).scalar_one())


def last_failure(conn: Connection, source_id: int) -> AnyRow | None:
    """The newest failed observation: observed_at, outcome, http_status, error (see
    `_newest_of`: a source that never failed costs one index probe, not a walk through all
    its polls)."""
    return conn.execute(
        select(observations.c.observed_at, observations.c.outcome, observations.c.http_status,
               observations.c.error)
        .where(*_newest_of(source_id, observations.c.outcome.in_(_outcomes(FAILURE_OUTCOMES))))
        .order_by(observations.c.id.desc()).limit(1)
    ).first()


# --- observations of one origin (notifications) ---


def last_success_of_origin(conn: Connection, source_id: int, origin: str) -> AnyRow | None:
    """The newest successful observation of `origin` (by id): id, observed_at."""
    return conn.execute(
        select(observations.c.id, observations.c.observed_at)
        .where(observations.c.source_id == source_id, observations.c.origin == origin,
               observations.c.outcome.in_(_outcomes(SUCCESS_OUTCOMES)))
        .order_by(observations.c.id.desc()).limit(1)
    ).first()


def failures_of_origin_after(conn: Connection, source_id: int, origin: str,
                             after: int) -> list[AnyRow]:
    """The failed observations of `origin` with an id above `after`, oldest first: id,
    observed_at, outcome, http_status, error."""
    return list(conn.execute(
        select(observations.c.id, observations.c.observed_at, observations.c.outcome,
               observations.c.http_status, observations.c.error)
        .where(observations.c.source_id == source_id, observations.c.origin == origin,
               observations.c.id > after,
               observations.c.outcome.in_(_outcomes(FAILURE_OUTCOMES)))
        .order_by(observations.c.id)
    ).all())


def latest_of_origin(conn: Connection, source_id: int, origin: str) -> AnyRow | None:
    """The newest observation of `origin` (by id): outcome, observed_at."""
    return conn.execute(
        select(observations.c.outcome, observations.c.observed_at)
        .where(observations.c.source_id == source_id, observations.c.origin == origin)
        .order_by(observations.c.id.desc()).limit(1)
    ).first()


def pending_transition_count(conn: Connection, source_id: int, after: int, origin: str) -> int:
    """How many transitions of `origin` the source has with an observation id above `after`."""
    return int(conn.execute(
        select(func.count()).select_from(observations).where(
            observations.c.source_id == source_id,
            observations.c.id > after,
            observations.c.origin == origin,
            observations.c.outcome.in_(_outcomes(TRANSITION_OUTCOMES)),
            observations.c.previous_snapshot_id.is_not(None),
        )
    ).scalar_one())


# --- changes and transitions ---

# The columns of a change record, JSON values as text (see `json_as_text`).
_CHANGE_COLUMNS = (
    changes.c.id, changes.c.observation_id, changes.c.observed_at, changes.c.kind,
    changes.c.model, changes.c.provider, changes.c.field,
    json_as_text(changes.c.old, "old"), json_as_text(changes.c.new, "new"),
    changes.c.change_pct, changes.c.weakened,
    changes.c.from_snapshot_id, changes.c.to_snapshot_id,
)


@dataclass(frozen=True)
class _ChangeRow:
    """A `changes` row with its JSON values decoded (what `change_from_row` reads)."""

    kind: str
    model: str | None
    provider: str | None
    field: str | None
    old: Any
    new: Any
    change_pct: float | None
    weakened: bool | None


def _json_value(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def change_from_row(row: Any) -> Change:
    """A stored change (a row with decoded `old` and `new`) as the guide's change record."""
    record: Change = {
        "kind": row.kind,
        "model": row.model,
        "provider": row.provider,
        "field": row.field,
        "old": row.old,
        "new": row.new,
    }
    if row.kind == ChangeKind.PRICE_CHANGED:
        record["change_pct"] = row.change_pct
    if row.kind == ChangeKind.DATA_POLICY_CHANGED:
        record["weakened"] = bool(row.weakened)
        record["became_unknown"] = policy_became_unknown(row.old, row.new)
        record["strengthened"] = policy_strengthened(row.old, row.new)
    absent = getattr(row, "absent", None)
    if absent is not None:
        record["absent"] = absent
    return record


def _stored_change(row: Any) -> StoredChange:
    """A row selected with `_CHANGE_COLUMNS`."""
    decoded = _ChangeRow(row.kind, row.model, row.provider, row.field, _json_value(row.old),
                         _json_value(row.new), row.change_pct, row.weakened)
    return StoredChange(row.id, row.observation_id, row.observed_at, row.from_snapshot_id,
                        row.to_snapshot_id, change_from_row(decoded))


def change_count(conn: Connection, observation_id: int) -> int:
    """How many change records an observation has."""
    return int(conn.execute(
        select(func.count()).select_from(changes).where(changes.c.observation_id == observation_id)
    ).scalar_one())


def changes_in(conn: Connection, source_id: int, since: datetime | None = None,
               until: datetime | None = None) -> list[StoredChange]:
    """The source's change records observed in `[since, until)`, by observation then id."""
    rows = conn.execute(
        select(*_CHANGE_COLUMNS)
        .where(changes.c.source_id == source_id, *_between(changes.c.observed_at, since, until))
        .order_by(changes.c.observation_id, changes.c.id)
    )
    return [_stored_change(row) for row in rows]


def policy_changes(conn: Connection, source_id: int, since: datetime | None = None,
                   until: datetime | None = None) -> list[StoredChange]:
    """The source's data-policy changes observed in `[since, until)`, oldest first."""
    rows = conn.execute(
        select(*_CHANGE_COLUMNS)
        .where(changes.c.source_id == source_id,
               changes.c.kind == ChangeKind.DATA_POLICY_CHANGED.value,
               *_between(changes.c.observed_at, since, until))
        .order_by(changes.c.observed_at, changes.c.id)
    )
    return [_stored_change(row) for row in rows]


def changes_of(conn: Connection, observation_ids: Sequence[int]) -> list[StoredChange]:
    """The change records of the given observations, in the order they were stored."""
    rows = conn.execute(
        select(*_CHANGE_COLUMNS)
        .where(changes.c.observation_id.in_(list(observation_ids)))
        .order_by(changes.c.id)
    )
    return [_stored_change(row) for row in rows]


def transitions(conn: Connection, source: str, source_id: int,
                snapshots_by_id: Mapping[int, SnapshotInfo], *, since: datetime | None = None,
                until: datetime | None = None, with_changes: bool = True) -> list[Transition]:
    """Every transition of a source observed in `[since, until)`, oldest first, with its
    changes (`snapshots_by_id`: every snapshot of the source).

    Two queries: the transitions, and all their change records at once.
    """
    rows = conn.execute(
        select(observations.c.id, observations.c.observed_at, observations.c.outcome,
               observations.c.snapshot_id, observations.c.previous_snapshot_id,
               observations.c.version_reused, observations.c.catalog_version)
        .where(observations.c.source_id == source_id,
               observations.c.outcome.in_(_outcomes(TRANSITION_OUTCOMES)),
               observations.c.snapshot_id.is_not(None),
               observations.c.previous_snapshot_id.is_not(None),
               *_between(observations.c.observed_at, since, until))
        .order_by(observations.c.observed_at, observations.c.id)
    ).all()
    result = [
        Transition(source, row.id, row.observed_at, row.outcome,
                   snapshots_by_id[row.previous_snapshot_id], snapshots_by_id[row.snapshot_id],
                   version_reused=bool(row.version_reused), served_version=row.catalog_version)
        for row in rows
    ]
    if with_changes and result:
        by_observation = {t.observation_id: t for t in result}
        for change in changes_in(conn, source_id, since, until):
            owner = by_observation.get(change.observation_id)
            if owner is not None:
                owner.changes.append(change.record)
    return result


def transitions_after(conn: Connection, source: str, source_id: int, after: int, *,
                      origin: str, limit: int) -> list[Transition]:
    """The first `limit` transitions of `origin` with an observation id above `after`, by id,
    with their changes. Two queries: the transitions with both states, and their changes."""
    return _transitions_where(conn, source, source_id, observations.c.id > after,
                              observations.c.origin == origin, limit=limit)


def transitions_of(conn: Connection, source: str, source_id: int,
                   observation_ids: Sequence[int]) -> list[Transition]:
    """The transitions recorded by the given observations, by id, with their changes."""
    if not observation_ids:
        return []
    return _transitions_where(conn, source, source_id,
                              observations.c.id.in_(list(observation_ids)))


def _transitions_where(conn: Connection, source: str, source_id: int, *conditions: Any,
                       limit: int | None = None) -> list[Transition]:
    old, new = snapshots.alias("old"), snapshots.alias("new")
    query = (
        select(
            observations.c.id, observations.c.observed_at, observations.c.outcome,
            observations.c.version_reused, observations.c.catalog_version.label("served"),
            *_prefixed_snapshot_columns(old, "old_"), *_prefixed_snapshot_columns(new, "new_"),
        )
        .join(old, old.c.id == observations.c.previous_snapshot_id)
        .join(new, new.c.id == observations.c.snapshot_id)
        .where(
            observations.c.source_id == source_id,
            observations.c.outcome.in_(_outcomes(TRANSITION_OUTCOMES)),
            *conditions,
        )
        .order_by(observations.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    if not rows:
        return []
    found = {
        row.id: Transition(source, row.id, row.observed_at, row.outcome,
                           _snapshot_info(row, "old_"), _snapshot_info(row, "new_"),
                           version_reused=bool(row.version_reused), served_version=row.served)
        for row in rows
    }
    for change in changes_of(conn, list(found)):
        found[change.observation_id].changes.append(change.record)
    return list(found.values())


# --- interval rows (histories) ---


def model_state_rows(conn: Connection, source_id: int,
                     models: Sequence[str] | None = None) -> Iterable[AnyRow]:
    """Every `model_states` row of the source (of `models` only, when given): model_id,
    valid_from, valid_to, context_window, supported_endpoints, owned_by, created."""
    query = select(
        model_states.c.model_id, model_states.c.valid_from, model_states.c.valid_to,
        model_states.c.context_window, model_states.c.supported_endpoints,
        model_states.c.owned_by, model_states.c.created,
    ).where(model_states.c.source_id == source_id)
    if models is not None:
        query = query.where(model_states.c.model_id.in_(list(models)))
    return conn.execute(query)


def offer_rows(conn: Connection, source_id: int, models: Sequence[str] | None = None,
               provider: str | None = None) -> Iterable[AnyRow]:
    """Every `offers` row of the source (of `models` and `provider` only, when given):
    model_id, provider, valid_from, valid_to, input_price, output_price, data_policy."""
    query = select(
        offers.c.model_id, offers.c.provider, offers.c.valid_from, offers.c.valid_to,
        offers.c.input_price, offers.c.output_price, offers.c.data_policy,
    ).where(offers.c.source_id == source_id)
    if models is not None:
        query = query.where(offers.c.model_id.in_(list(models)))
    if provider is not None:
        query = query.where(offers.c.provider == provider)
    return conn.execute(query)


def model_ids(conn: Connection, source_id: int) -> list[str]:
    """Every model id a source ever listed."""
    return list(conn.execute(
        select(model_states.c.model_id).where(model_states.c.source_id == source_id)
        .distinct().order_by(model_states.c.model_id)
    ).scalars())


# --- notification state ---


def notification_state(conn: Connection, target: str, source_id: int) -> AnyRow | None:
    """The `notifications` row of a target (its key) for a source."""
    return conn.execute(
        select(notifications).where(notifications.c.target == target,
                                    notifications.c.source_id == source_id)
    ).first()


def notification_states(conn: Connection, source_ids: Iterable[int]) -> list[AnyRow]:
    """Every `notifications` row of the given sources, by label then source."""
    return list(conn.execute(
        select(notifications).where(notifications.c.source_id.in_(list(source_ids)))
        .order_by(notifications.c.label, notifications.c.source_id)
    ).all())


# --- changelog delivery (the changelogs table) ---


def pending_changelogs(conn: Connection, source_id: int, directory: str) -> list[AnyRow]:
    """The changelogs the source still owes `directory`, oldest transition first: id,
    observation_id, failed_attempts."""
    return list(conn.execute(
        select(changelogs.c.id, changelogs.c.observation_id, changelogs.c.failed_attempts)
        .where(changelogs.c.source_id == source_id, changelogs.c.directory == directory,
               changelogs.c.written_at.is_(None))
        .order_by(changelogs.c.observation_id)
    ).all())


def pending_changelog_summary(conn: Connection,
                              source_ids: Iterable[int]) -> list[ChangelogBacklog]:
    """Per source and directory with changelogs still owed: source_id, directory, pending
    (how many), last_attempt_at, last_error (of the most recent failed attempt)."""
    rows = conn.execute(
        select(changelogs.c.source_id, changelogs.c.directory, changelogs.c.last_attempt_at,
               changelogs.c.last_error)
        .where(changelogs.c.source_id.in_(list(source_ids)), changelogs.c.written_at.is_(None))
        .order_by(changelogs.c.source_id, changelogs.c.directory, changelogs.c.observation_id)
    ).all()
    summary: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        entry = summary.setdefault((row.source_id, row.directory), {
            "source_id": row.source_id, "directory": row.directory, "pending": 0,
            "last_attempt_at": None, "last_error": None})
        entry["pending"] += 1
        if row.last_attempt_at is not None and (entry["last_attempt_at"] is None
                                                or row.last_attempt_at > entry["last_attempt_at"]):
            entry["last_attempt_at"], entry["last_error"] = row.last_attempt_at, row.last_error
    return [ChangelogBacklog(**entry) for entry in summary.values()]


@dataclass(frozen=True)
class ChangelogBacklog:
    """The changelogs a source still owes one reports directory."""

    source_id: int
    directory: str
    pending: int
    last_attempt_at: datetime | None
    last_error: str | None


# --- history as rows: the views and tables streamed (exports), names (completion) ---

# Rows fetched from the database at a time while streaming: a server-side cursor on
# PostgreSQL, SQLite's own cursor; memory stays flat however many rows there are.
STREAM_BATCH = 1000


def _streamed(conn: Connection, query: Any) -> Iterator[AnyRow]:
    """The rows of `query` as the database sends them, `STREAM_BATCH` at a time."""
    yield from conn.execution_options(yield_per=STREAM_BATCH).execute(query)


def _overlapping(start: Any, end: Any, since: datetime | None,
                 until: datetime | None) -> list[Any]:
    """An interval ``[start, end)`` (end NULL: still holding) that overlaps [since, until)."""
    conditions = []
    if until is not None:
        conditions.append(start < until)
    if since is not None:
        conditions.append(or_(end.is_(None), end > since))
    return conditions


def stream_offer_history(conn: Connection, sources: Sequence[str], since: datetime | None = None,
                         until: datetime | None = None) -> Iterator[AnyRow]:
    """The `offer_history` rows of the named sources whose interval overlaps [since, until),
    by source, model, provider and time (every column of the view)."""
    view = offer_history_view
    return _streamed(conn, select(view).where(
        view.c.source.in_(list(sources)),
        *_overlapping(view.c.valid_from_time, view.c.valid_to_time, since, until),
    ).order_by(view.c.source, view.c.model, view.c.provider, view.c.valid_from_time))


def stream_model_history(conn: Connection, sources: Sequence[str], since: datetime | None = None,
                         until: datetime | None = None) -> Iterator[AnyRow]:
    """The `model_history` rows of the named sources whose interval overlaps [since, until),
    by source, model and time (every column of the view)."""
    view = model_history_view
    return _streamed(conn, select(view).where(
        view.c.source.in_(list(sources)),
        *_overlapping(view.c.valid_from_time, view.c.valid_to_time, since, until),
    ).order_by(view.c.source, view.c.model, view.c.valid_from_time))


def stream_changes(conn: Connection, source_ids: Sequence[int], since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[AnyRow]:
    """Every change record of the sources observed in [since, until), oldest first: source,
    observed_at, kind, model, provider, field, old and new (JSON text), change_pct, weakened,
    absent, previous_catalog_version, catalog_version, from_snapshot_id, to_snapshot_id,
    observation_id."""
    before, after = snapshots.alias("before"), snapshots.alias("after")
    return _streamed(conn, select(
        sources.c.name.label("source"), changes.c.observed_at, changes.c.kind, changes.c.model,
        changes.c.provider, changes.c.field, json_as_text(changes.c.old, "old"),
        json_as_text(changes.c.new, "new"), changes.c.change_pct, changes.c.weakened,
        changes.c.absent, before.c.catalog_version.label("previous_catalog_version"),
        after.c.catalog_version.label("catalog_version"), changes.c.from_snapshot_id,
        changes.c.to_snapshot_id, changes.c.observation_id,
    ).join(sources, sources.c.id == changes.c.source_id)
     .join(before, before.c.id == changes.c.from_snapshot_id)
     .join(after, after.c.id == changes.c.to_snapshot_id)
     .where(changes.c.source_id.in_(list(source_ids)),
            *_between(changes.c.observed_at, since, until))
     .order_by(changes.c.observed_at, changes.c.observation_id, changes.c.id))


def stream_observations(conn: Connection, source_ids: Sequence[int],
                        since: datetime | None = None,
                        until: datetime | None = None) -> Iterator[AnyRow]:
    """Every observation of the sources in [since, until), oldest first, without the
    rejected body: source, observed_at, outcome, http_status, catalog_version, content_hash,
    snapshot_id, previous_snapshot_id, error, duration_ms, origin, version_reused."""
    return _streamed(conn, select(
        sources.c.name.label("source"), observations.c.observed_at, observations.c.outcome,
        observations.c.http_status, observations.c.catalog_version, observations.c.content_hash,
        observations.c.snapshot_id, observations.c.previous_snapshot_id, observations.c.error,
        observations.c.duration_ms, observations.c.origin, observations.c.version_reused,
    ).join(sources, sources.c.id == observations.c.source_id)
     .where(observations.c.source_id.in_(list(source_ids)),
            *_between(observations.c.observed_at, since, until))
     .order_by(observations.c.observed_at, observations.c.id))


def model_ids_starting(conn: Connection, source_id: int, prefix: str,
                       limit: int = 200) -> list[str]:
    """The model ids a source ever listed that start with `prefix`, sorted (at most `limit`)."""
    return list(conn.execute(
        select(model_states.c.model_id).distinct()
        .where(model_states.c.source_id == source_id,
               model_states.c.model_id.startswith(prefix, autoescape=True))
        .order_by(model_states.c.model_id).limit(limit)
    ).scalars())


def snapshot_names(conn: Connection, source_id: int, limit: int = 500) -> list[AnyRow]:
    """The newest snapshots of a source, newest first: id, catalog_version, content_hash."""
    return list(conn.execute(
        select(snapshots.c.id, snapshots.c.catalog_version, snapshots.c.content_hash)
        .where(snapshots.c.source_id == source_id)
        .order_by(snapshots.c.id.desc()).limit(limit)
    ).all())


def view_columns() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Each view's description and its columns with what each holds (as
    `tracker.store.schema` declares them), for Datasette's metadata."""
    from tracker.store.schema import VIEWS

    return {name: (str(view.comment or ""),
                   [(str(column.name), str(column.comment or "")) for column in view.columns])
            for name, view in VIEWS.items()}


# Datasette's canned queries over the views (SQLite SQL: Datasette serves SQLite files).
# The view times are fixed-width ISO text, so a time given as a parameter is put in the
# same form with strftime (its fraction of a second dropped) and compared as text.
CANNED_QUERIES: dict[str, tuple[str, str, str]] = {
    "catalog_as_of": (
        "The catalog as of a date",
        "Every offer as it stood at a moment: an ISO date (00:00 UTC) or time, in UTC "
        "unless it says otherwise.",
        """SELECT source, model, provider, input_price, output_price, data_policy,
       valid_from_time, valid_to_time, catalog_version
FROM offer_history
WHERE valid_from_time <= strftime('%Y-%m-%dT%H:%M:%S.000000Z', :as_of)
  AND (valid_to_time IS NULL
       OR valid_to_time > strftime('%Y-%m-%dT%H:%M:%S.000000Z', :as_of))
ORDER BY source, model, provider""",
    ),
    "biggest_price_moves": (
        "Biggest price moves in the last 7 days",
        "Price changes first observed in the last 7 days, the largest moves (in percent) "
        "first.",
        """SELECT observed_at, source, model, provider, field, old_price, new_price,
       change_pct, previous_catalog_version, catalog_version
FROM price_changes
WHERE observed_at >= strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-7 days')
ORDER BY abs(change_pct) DESC, observed_at DESC, source, model, provider, field
LIMIT 200""",
    ),
    "every_weakening": (
        "Every weakening",
        "Every data-policy weakening (zdr > no_training > none), newest first.",
        """SELECT observed_at, source, model, provider, old_policy, new_policy,
       previous_catalog_version, catalog_version
FROM policy_changes
WHERE weakened
ORDER BY observed_at DESC, source, model, provider""",
    ),
}


# --- the database session ---


def current_schema(conn: Connection) -> str:
    """PostgreSQL's current schema (the run lock's key includes it)."""
    return str(conn.execute(text("SELECT current_schema()")).scalar_one())
