"""Queries over the tables: write a snapshot as validity intervals, read a catalog back, and
look up sources, snapshots, observations and changes. Every function takes an open
`Connection`; transactions belong to the caller (the pipeline), so a snapshot and all its rows
commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update

from tracker.catalog import Catalog, Model, Provider, decimal_text, digest_of
from tracker.diff import Change, policy_became_unknown
from tracker.store import rawbody
from tracker.store.schema import (
    changes,
    model_states,
    observations,
    offers,
    snapshots,
    sources,
)


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "catalog_version": self.catalog_version,
            "content_hash": self.content_hash,
            "first_observed_at": iso(self.first_observed_at),
            "model_count": self.model_count,
        }

    @property
    def label(self) -> str:
        """How a person refers to it: the version, else the start of the content hash."""
        return self.catalog_version or f"#{self.content_hash[:12]}"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second (microseconds when present)."""
    return moment.isoformat().replace("+00:00", "Z")


_SNAPSHOT_COLUMNS = (
    snapshots.c.id,
    snapshots.c.catalog_version,
    snapshots.c.content_hash,
    snapshots.c.first_observed_at,
    snapshots.c.last_observed_at,
    snapshots.c.model_count,
    snapshots.c.identity,
    snapshots.c.extra,
    snapshots.c.raw_sha256,
)


def _snapshot_info(row: Any) -> SnapshotInfo:
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
    )


# --- sources ---


def source_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(sources.c.id).where(sources.c.name == name)).scalar()


def ensure_source(
    conn: Connection,
    *,
    name: str,
    kind: str,
    base_url: str,
    endpoint: str | None,
    now: datetime,
) -> int:
    """The id of the named source, created on first use."""
    existing = source_id(conn, name)
    if existing is not None:
        return existing
    result = conn.execute(
        insert(sources).values(
            name=name, kind=kind, base_url=base_url, endpoint=endpoint, created_at=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


# --- snapshots ---


def snapshot_by_id(conn: Connection, source: int, snapshot_id: int) -> SnapshotInfo | None:
    row = conn.execute(
        select(*_SNAPSHOT_COLUMNS).where(
            snapshots.c.source_id == source, snapshots.c.id == snapshot_id
        )
    ).first()
    return _snapshot_info(row) if row else None


def snapshot_by_identity(conn: Connection, source: int, identity: str) -> SnapshotInfo | None:
    row = conn.execute(
        select(*_SNAPSHOT_COLUMNS).where(
            snapshots.c.source_id == source, snapshots.c.identity == identity
        )
    ).first()
    return _snapshot_info(row) if row else None


def snapshots_by_version_or_hash(conn: Connection, source: int, ref: str) -> list[SnapshotInfo]:
    """Snapshots whose catalog_version equals `ref` or whose content hash starts with it."""
    condition = snapshots.c.catalog_version == ref
    if len(ref) >= 6 and all(c in "0123456789abcdef" for c in ref):
        condition = or_(condition, snapshots.c.content_hash.startswith(ref, autoescape=True))
    rows = conn.execute(
        select(*_SNAPSHOT_COLUMNS)
        .where(snapshots.c.source_id == source, condition)
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


def newest_snapshot_id(conn: Connection, source: int) -> int | None:
    """The most recently created snapshot: the base the validity intervals continue from."""
    return conn.execute(
        select(func.max(snapshots.c.id)).where(snapshots.c.source_id == source)
    ).scalar()


def state_at(conn: Connection, source: int, before: datetime | None = None,
             *, inclusive: bool = False) -> tuple[SnapshotInfo, datetime] | None:
    """The snapshot of the latest successful observation (optionally before a time), and when.

    With `inclusive`, an observation exactly at `before` counts (for "as of" lookups).
    """
    query = select(observations.c.snapshot_id, observations.c.observed_at).where(
        observations.c.source_id == source, observations.c.snapshot_id.is_not(None)
    )
    if before is not None:
        query = query.where(
            observations.c.observed_at <= before if inclusive
            else observations.c.observed_at < before
        )
    row = conn.execute(
        query.order_by(observations.c.observed_at.desc(), observations.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    info = snapshot_by_id(conn, source, row.snapshot_id)
    assert info is not None  # a foreign key guarantees it
    return info, row.observed_at


def latest_observation_time(conn: Connection, source: int) -> datetime | None:
    return conn.execute(
        select(func.max(observations.c.observed_at)).where(observations.c.source_id == source)
    ).scalar()


def touch_snapshot(conn: Connection, snapshot_id: int, observed_at: datetime) -> None:
    conn.execute(
        update(snapshots)
        .where(snapshots.c.id == snapshot_id, snapshots.c.last_observed_at < observed_at)
        .values(last_observed_at=observed_at)
    )


def insert_snapshot(
    conn: Connection,
    *,
    source: int,
    catalog: Catalog,
    content_hash: str,
    raw: bytes,
    observed_at: datetime,
    base: tuple[int, Catalog, bytes] | None,
) -> int:
    """Store a new snapshot: its row, its compressed body, and the interval rows that change.

    `base` is the newest existing snapshot of the source (id, catalog, raw body): intervals
    continue from it, and the raw body is stored as a delta against its body.
    """
    import hashlib

    snapshot_count = conn.execute(
        select(func.count()).select_from(snapshots).where(snapshots.c.source_id == source)
    ).scalar_one()
    keyframe = base is None or snapshot_count % rawbody.KEYFRAME_EVERY == 0
    base_raw = None if keyframe or base is None else base[2]
    result = conn.execute(
        insert(snapshots).values(
            source_id=source,
            identity=catalog.catalog_version or content_hash,
            catalog_version=catalog.catalog_version,
            content_hash=content_hash,
            first_observed_at=observed_at,
            last_observed_at=observed_at,
            model_count=len(catalog.models),
            provider_count=sum(len(m.providers) for m in catalog.models.values()),
            extra=dict(catalog.extra),
            raw_body=rawbody.compress(raw, base_raw),
            raw_base_id=None if base_raw is None or base is None else base[0],
            raw_size=len(raw),
            raw_sha256=hashlib.sha256(raw).hexdigest(),
        )
    )
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    _write_intervals(conn, source, new_id, base[1] if base else None, catalog)
    return new_id


def _write_intervals(
    conn: Connection, source: int, new_id: int, old: Catalog | None, new: Catalog
) -> None:
    old_models = old.models if old is not None else {}
    close_models: list[str] = []
    open_models: list[Model] = []
    close_offers: list[tuple[str, str]] = []
    open_offers: list[tuple[str, Provider]] = []

    for model_id in old_models.keys() - new.models.keys():
        close_models.append(model_id)
        close_offers.extend((model_id, name) for name in old_models[model_id].providers)
    for model_id in new.models.keys() - old_models.keys():
        model = new.models[model_id]
        open_models.append(model)
        open_offers.extend((model_id, p) for p in model.providers.values())
    for model_id in new.models.keys() & old_models.keys():
        before, after = old_models[model_id], new.models[model_id]
        # Compared as JSON, like the content hash: Python's == takes true, 1 and 1.0 as equal.
        if before is after or digest_of(before) == digest_of(after):
            continue
        if _as_json(_model_row(before)) != _as_json(_model_row(after)):
            close_models.append(model_id)
            open_models.append(after)
        for name in before.providers.keys() | after.providers.keys():
            was, now = before.providers.get(name), after.providers.get(name)
            if was is now or (was is not None and now is not None
                              and _as_json(was.canonical()) == _as_json(now.canonical())):
                continue
            if was is not None:
                close_offers.append((model_id, name))
            if now is not None:
                open_offers.append((model_id, now))

    if close_models:
        conn.execute(
            update(model_states)
            .where(
                model_states.c.source_id == source,
                model_states.c.model_id == bindparam("b_model"),
                model_states.c.valid_to.is_(None),
            )
            .values(valid_to=new_id),
            [{"b_model": m} for m in close_models],
        )
    if close_offers:
        conn.execute(
            update(offers)
            .where(
                offers.c.source_id == source,
                offers.c.model_id == bindparam("b_model"),
                offers.c.provider == bindparam("b_provider"),
                offers.c.valid_to.is_(None),
            )
            .values(valid_to=new_id),
            [{"b_model": m, "b_provider": p} for m, p in close_offers],
        )
    if open_models:
        conn.execute(
            insert(model_states),
            [
                {"source_id": source, "model_id": m.id, "valid_from": new_id, "valid_to": None,
                 **_model_row(m)}
                for m in open_models
            ],
        )
    if open_offers:
        conn.execute(
            insert(offers),
            [
                {
                    "source_id": source,
                    "model_id": model_id,
                    "provider": p.name,
                    "valid_from": new_id,
                    "valid_to": None,
                    "input_price": decimal_text(p.input_price),
                    "output_price": decimal_text(p.output_price),
                    "data_policy": p.data_policy,
                    "extra": dict(p.extra),
                }
                for model_id, p in open_offers
            ],
        )


def _as_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _model_row(model: Model) -> dict[str, Any]:
    """The model-level columns of `model_states` (providers live in `offers`)."""
    return {
        "created": model.created,
        "owned_by": model.owned_by,
        "context_window": model.context_window,
        "supported_endpoints": (
            list(model.supported_endpoints) if model.supported_endpoints is not None else None
        ),
        "extra": dict(model.extra),
    }


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
    """The exact bytes received for a snapshot, undoing the delta chain back to a keyframe."""
    chain: list[bytes] = []
    current: int | None = snapshot_id
    while current is not None:
        row = conn.execute(
            select(snapshots.c.raw_body, snapshots.c.raw_base_id).where(snapshots.c.id == current)
        ).one()
        chain.append(row.raw_body)
        current = row.raw_base_id
    body = rawbody.decompress(chain.pop())
    while chain:
        body = rawbody.decompress(chain.pop(), body)
    return body


# --- observations and changes ---


def record_observation(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(observations).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def record_changes(
    conn: Connection,
    *,
    source: int,
    observation_id: int,
    observed_at: datetime,
    from_snapshot: int,
    to_snapshot: int,
    records: Sequence[Change],
) -> None:
    if not records:
        return
    conn.execute(
        insert(changes),
        [
            {
                "source_id": source,
                "observation_id": observation_id,
                "observed_at": observed_at,
                "from_snapshot_id": from_snapshot,
                "to_snapshot_id": to_snapshot,
                "kind": c["kind"],
                "model": c["model"],
                "provider": c["provider"],
                "field": c["field"],
                "old": c["old"],
                "new": c["new"],
                "change_pct": c.get("change_pct"),
                "weakened": c.get("weakened"),
                "absent": c.get("absent"),
            }
            for c in records
        ],
    )


def change_from_row(row: Row[Any]) -> Change:
    """A stored change as the guide's change record."""
    record: Change = {
        "kind": row.kind,
        "model": row.model,
        "provider": row.provider,
        "field": row.field,
        "old": row.old,
        "new": row.new,
    }
    if row.kind == "price_changed":
        record["change_pct"] = row.change_pct
    if row.kind == "data_policy_changed":
        record["weakened"] = bool(row.weakened)
        record["became_unknown"] = policy_became_unknown(row.old, row.new)
    absent = getattr(row, "absent", None)
    if absent is not None:
        record["absent"] = absent
    return record


def observations_for(conn: Connection, source: int, limit: int | None = None) -> list[Row[Any]]:
    query = (
        select(observations)
        .where(observations.c.source_id == source)
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).all())


def snapshot_ids(rows: Iterable[SnapshotInfo]) -> list[int]:
    return [row.id for row in rows]
