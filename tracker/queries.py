"""The read side: snapshots, references to them, and diffs between stored states.

Each function is what one read command does, usable on its own:

>>> from tracker.queries import diff_between
>>> diff_between(engine, "auriko", "previous", "latest")   # doctest: +SKIP
{"from": {...}, "to": {...}, "changes": [...]}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select

from tracker.diff import diff_catalogs
from tracker.errors import NotFoundError
from tracker.store import repo
from tracker.store.repo import SnapshotInfo
from tracker.store.schema import observations
from tracker.timeutil import looks_like_iso, parse_iso


def source_or_fail(conn: Connection, source: str) -> int:
    source_id = repo.source_id(conn, source)
    if source_id is None:
        raise NotFoundError(f"source {source!r} has no observations yet; run `tracker fetch`")
    return source_id


def list_snapshots(engine: Engine, source: str) -> list[SnapshotInfo]:
    """Stored snapshots of a source, oldest first."""
    with engine.connect() as conn:
        return repo.list_snapshots(conn, source_or_fail(conn, source))


def resolve(conn: Connection, source_id: int, ref: str) -> SnapshotInfo:
    """A snapshot from a reference: latest, previous, a catalog_version, an id, a content-hash
    prefix, or an ISO date/time (the latest state observed at or before then)."""
    ref = ref.strip()
    if ref == "latest":
        state = repo.state_at(conn, source_id)
        if state is None:
            raise NotFoundError("no snapshot stored yet")
        return state[0]
    if ref == "previous":
        return _previous(conn, source_id)
    matches = repo.snapshots_by_version_or_hash(conn, source_id, ref)
    exact = [m for m in matches if m.catalog_version == ref]
    if exact:
        return exact[0]
    if ref.isdigit():
        found = repo.snapshot_by_id(conn, source_id, int(ref))
        if found is not None:
            return found
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NotFoundError(f"snapshot reference {ref!r} is ambiguous; give more of the hash")
    if looks_like_iso(ref):
        moment = parse_iso(ref)
        if len(ref.strip()) == 10:  # a date alone means the state as that day ends
            from datetime import timedelta

            state = repo.state_at(conn, source_id, moment + timedelta(days=1))
        else:
            state = repo.state_at(conn, source_id, moment, inclusive=True)
        if state is None:
            raise NotFoundError(f"no snapshot observed at or before {ref}")
        return state[0]
    raise NotFoundError(
        f"no snapshot matches {ref!r} (use an id, a catalog_version, a hash prefix, "
        "an ISO date or time, latest or previous)"
    )


def _previous(conn: Connection, source_id: int) -> SnapshotInfo:
    """The state before the latest transition."""
    row = conn.execute(
        select(observations.c.previous_snapshot_id)
        .where(
            observations.c.source_id == source_id,
            observations.c.outcome.in_(("new", "reverted")),
            observations.c.previous_snapshot_id.is_not(None),
        )
        .order_by(observations.c.observed_at.desc(), observations.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFoundError("there is no previous snapshot yet (only one state observed)")
    found = repo.snapshot_by_id(conn, source_id, row.previous_snapshot_id)
    assert found is not None
    return found


def diff_between(
    engine: Engine, source: str, from_ref: str | None = None, to_ref: str | None = None
) -> dict[str, Any]:
    """The guide's diff object between two stored states (default: previous to latest).

    With a single state stored and no references given, `from` is null and there are no
    changes: a first snapshot is not a change.
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
        new = repo.load_catalog(conn, source_id, target)
        old = repo.load_catalog(conn, source_id, origin) if origin is not None else None
    return {
        "from": origin.to_json() if origin else None,
        "to": target.to_json(),
        "changes": diff_catalogs(old, new) if origin is not None else [],
    }


def _state_before(conn: Connection, source_id: int, target: SnapshotInfo) -> SnapshotInfo | None:
    """The state observed just before `target` was first observed."""
    state = repo.state_at(conn, source_id, target.first_observed_at)
    return state[0] if state else None


def source_overview(engine: Engine, configured: list[str]) -> list[dict[str, Any]]:
    """Each configured source and each source in the database, with its last observation,
    its last successful one, and how many snapshots it has."""
    from sqlalchemy import func

    from tracker.store.schema import snapshots, sources

    with engine.connect() as conn:
        stored = {row.name: row for row in conn.execute(select(sources))}
        counts: dict[int, int] = dict(
            conn.execute(
                select(snapshots.c.source_id, func.count()).group_by(snapshots.c.source_id)
            ).all()
        )
        overview = []
        for name in sorted(set(configured) | set(stored)):
            row = stored.get(name)
            last = repo.observations_for(conn, row.id, limit=1) if row is not None else []
            state = repo.state_at(conn, row.id) if row is not None else None
            overview.append({
                "name": name,
                "kind": row.kind if row is not None else None,
                "configured": name in configured,
                "snapshots": counts.get(row.id, 0) if row is not None else 0,
                "last_observed_at": repo.iso(last[0].observed_at) if last else None,
                "last_outcome": last[0].outcome if last else None,
                "current": state[0].label if state else None,
            })
    return overview
