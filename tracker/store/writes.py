"""Every statement that changes the database: sources, snapshots written as validity
intervals, observations and their change records, notification delivery state, and the
PostgreSQL advisory locks that serialize writers.

Every function takes an open `Connection`; transactions belong to the caller (the pipeline),
so a snapshot and all its rows commit together or not at all. Reads live in
`tracker.store.reads`.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain, islice
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table, TextClause, bindparam, delete, insert, text, update

from tracker.catalog import (
    Catalog,
    Model,
    Provider,
    decimal_text,
    digest_of,
    models_not_reused,
)
from tracker.diff import Change
from tracker.store import queued, rawbody, reads
from tracker.store.schema import (
    changelogs,
    changes,
    model_states,
    notifications,
    observations,
    offers,
    snapshots,
    sources,
)

# --- sources ---


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
    existing = reads.source_id(conn, name)
    if existing is not None:
        return existing
    result = conn.execute(
        insert(sources).values(
            name=name, kind=kind, base_url=base_url, endpoint=endpoint, created_at=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def delete_source(conn: Connection, source_id: int) -> None:
    """Remove a source and its whole history: its rows in every table that has a
    `source_id` (dependents first), then the source itself. `tracker demo` does this to its
    own source before it lays the demo history again into a database the user named."""
    from tracker.store.schema import metadata

    conn.execute(update(snapshots).where(snapshots.c.source_id == source_id)
                 .values(raw_base_id=None))  # the bodies' deltas point between snapshots
    for table in reversed(metadata.sorted_tables):
        if table is not sources and "source_id" in table.c:
            conn.execute(delete(table).where(table.c.source_id == source_id))
    conn.execute(delete(sources).where(sources.c.id == source_id))


# --- snapshots ---


def touch_snapshot(conn: Connection, snapshot_id: int, observed_at: datetime) -> None:
    conn.execute(_TOUCH_SNAPSHOT, {"b_snapshot": snapshot_id, "b_observed_at": observed_at})


def record_catalog_digest(conn: Connection, snapshot_id: int, digest: str) -> None:
    """Record the digest of a snapshot's catalog text (`snapshots.catalog_sha256`), unless
    one is already recorded: the text of a snapshot never changes."""
    conn.execute(_RECORD_CATALOG_DIGEST, {"b_snapshot": snapshot_id, "b_digest": digest})


def insert_snapshot(
    conn: Connection,
    *,
    source: int,
    catalog: Catalog,
    content_hash: str,
    raw: bytes,
    observed_at: datetime,
    base: tuple[int, Catalog, bytes] | None,
    version_reused: bool = False,
    snapshot_count: int | None = None,
    snapshot_id: int | None = None,
) -> reads.SnapshotInfo:
    """Store a new snapshot: its row, its compressed body, and the interval rows that change;
    the snapshot as `reads.snapshot_by_id` returns it.

    `base` is the newest existing snapshot of the source (id, catalog, raw body): intervals
    continue from it, and the raw body is stored as a delta against its body. A snapshot's
    identity is its content hash; its catalog_version is its label (`version_reused` when
    that version already labelled another content). `snapshot_count` is how many snapshots
    the source has (read when not given). `snapshot_id`: the id it gets, drawn already
    (`reads.store_context`): nothing is read back, so that the statements can be queued
    (tracker.store.queued); `snapshot_count` must be given with it.
    """
    assert snapshot_id is None or snapshot_count is not None  # queued: nothing may be read
    if base is None:
        keyframe = True
    else:
        count = reads.snapshot_count(conn, source) if snapshot_count is None else snapshot_count
        keyframe = count % rawbody.KEYFRAME_EVERY == 0
    base_raw = None if keyframe or base is None else base[2]
    values = dict(
        source_id=source,
        identity=content_hash,
        catalog_version=catalog.catalog_version,
        content_hash=content_hash,
        first_observed_at=observed_at,
        last_observed_at=observed_at,
        model_count=len(catalog.models),
        provider_count=sum(map(len, map(_PROVIDERS, catalog.models.values()))),
        extra=dict(catalog.extra),
        raw_body=rawbody.compress(raw, base_raw, catalog.raw_items or None),
        raw_base_id=None if base_raw is None or base is None else base[0],
        raw_size=len(raw),
        raw_sha256=rawbody.sha256_hex(raw),
        version_reused=version_reused,
    )
    if snapshot_id is None:
        # The row comes back from the INSERT (RETURNING): no read of it afterwards.
        stored = reads.snapshot_info(conn.execute(_INSERT_SNAPSHOT, values).one())
    else:
        row = {**values, "id": snapshot_id}
        conn.execute(_INSERT_GIVEN_SNAPSHOT, row)
        # The row as it reads back: its times in UTC, no catalog digest yet.
        utc = observed_at.astimezone(UTC)
        stored = reads.snapshot_info(SimpleNamespace(**{
            **row, "first_observed_at": utc, "last_observed_at": utc, "catalog_sha256": None}))
    _write_intervals(conn, source, stored.id, base[1] if base else None, catalog)
    return stored


_INSERT_SNAPSHOT = insert(snapshots).returning(*reads.SNAPSHOT_COLUMNS)
_INSERT_GIVEN_SNAPSHOT = insert(snapshots)


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
    for model_id in models_not_reused(old_models, new.models):
        before, after = old_models[model_id], new.models[model_id]
        # Compared as JSON, like the content hash: Python's == takes true, 1 and 1.0 as equal.
        if digest_of(before) == digest_of(after):
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

    model_rows = (
        {"source_id": source, "model_id": m.id, "valid_from": new_id, "valid_to": None,
         **_model_row(m)}
        for m in open_models)
    offer_rows = (
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
        for model_id, p in open_offers)
    if (conn.dialect.name == "postgresql" and len(close_models) + len(close_offers)
            + len(open_models) + len(open_offers) <= ONE_STATEMENT_ROWS):
        _write_intervals_pg(conn, source, new_id, close_models, close_offers,
                            ((model_states, list(model_rows)), (offers, list(offer_rows))))
        return
    # Every interval change of the snapshot in a few statements, their rows made as they go,
    # so that a first snapshot of 50,000 models never holds all its rows at once.
    _close_all(conn, source, new_id, close_models, close_offers)
    _insert_rows(conn, model_states, model_rows)
    _insert_rows(conn, offers, offer_rows)


# On PostgreSQL, the interval changes of a snapshot up to this many rows (the usual few dozen
# of a catalog that moved a little) go in one statement, a single round trip to the server:
# more would hold every row's values at once, so they go in the statements `_close_all` and
# `_insert_rows` make, which stream them.
ONE_STATEMENT_ROWS = 2000


def _write_intervals_pg(conn: Connection, source: int, new_id: int, close_models: Sequence[str],
                        close_offers: Sequence[tuple[str, str]],
                        inserts: Iterable[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Close the open intervals of `close_models` and `close_offers` and insert the `inserts`
    rows (dicts with the same keys within a table) in one statement of data-modifying WITH
    clauses. They run against the same snapshot of the tables, so the closes never see the
    rows inserted beside them. Planned on every execution, as `_close_all` explains."""
    params: dict[str, Any] = _close_params(source, new_id, close_models, close_offers)
    clauses = [f"closed_models AS ({_CLOSE_MODELS_SQL})",
               f"closed_offers AS ({_CLOSE_OFFERS_SQL})"]
    for table, rows in inserts:
        if rows:
            sql, values = _recordset_insert(table, rows, conn.dialect)
            clauses.append(f"opened_{table.name} AS ({sql})")
            params.update(values)
    with _planned_each_time(conn):
        conn.execute(_statement(f"WITH {', '.join(clauses)} SELECT 1"), params)


@lru_cache(maxsize=32)  # the few statements of this module's PostgreSQL paths
def _statement(sql: str) -> TextClause:
    """`text(sql)`, made once: each one parses its SQL for its parameters with a regular
    expression (40 us for the longest here), and an import runs them some 1,500 times."""
    return text(sql)


def _recordset_insert(table: Table, rows: Sequence[dict[str, Any]],
                      dialect: Any) -> tuple[str, dict[str, str]]:
    """The INSERT of `rows` (dicts with the same keys) into `table` from a single JSON
    parameter that PostgreSQL unpacks (`_recordset_plan`), and that parameter: one orjson
    serialization of every row, where psycopg would quote every value of an array in Python."""
    names = tuple(rows[0])
    sql, processed = _recordset_plan(table, names, dialect)
    if processed:
        rows = [dict(row) for row in rows]
        for name, process in processed:
            for row in rows:
                row[name] = process(row[name])
    return sql, {f"{table.name}_rows": orjson.dumps(rows).decode()}


@lru_cache(maxsize=16)  # a few tables per engine's dialect
def _recordset_plan(table: Table, names: tuple[str, ...],
                    dialect: Any) -> tuple[str, list[tuple[str, Any]]]:
    """The INSERT of `names` of `table` from `json_to_recordset` of the parameter
    `TABLE_rows`, and what turns each value that needs it into the JSON the table's column
    takes, by name: the values `_insert_rows` would store. A JSON column travels as the text
    of the engine's serializer (None as `null`, as SQLAlchemy stores it), cast back to JSON."""
    quote = dialect.identifier_preparer.quote
    fields, selected, processed = [], [], []
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            fields.append(f"{quote(name)} text")
            selected.append(f"CAST(r.{quote(name)} AS {column_type.compile(dialect)})")
            # The engine's json_serializer, read as SQLAlchemy's own JSON type reads it.
            processed.append((name, dialect._json_serializer or json.dumps))
            continue
        fields.append(f"{quote(name)} {column_type.compile(dialect)}")
        selected.append(f"r.{quote(name)}")
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processed.append((name, process))
    # Only the schema's own names go into the text, quoted; the values are a parameter.
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "  # noqa: S608
           f"({', '.join(quote(name) for name in names)}) SELECT {', '.join(selected)} "
           f"FROM json_to_recordset(CAST(:{table.name}_rows AS json)) AS r ({', '.join(fields)})")
    return sql, processed


_PROVIDERS = operator.attrgetter("providers")

# Rows per executemany (SQLite): a bounded parameter list.
BATCH = 1000

_CLOSE_MODEL = (
    update(model_states)
    .where(model_states.c.source_id == bindparam("b_source"),
           model_states.c.model_id == bindparam("b_model"),
           model_states.c.valid_to.is_(None))
    .values(valid_to=bindparam("b_snapshot"))
)
_CLOSE_OFFER = (
    update(offers)
    .where(offers.c.source_id == bindparam("b_source"),
           offers.c.model_id == bindparam("b_model"),
           offers.c.provider == bindparam("b_provider"),
           offers.c.valid_to.is_(None))
    .values(valid_to=bindparam("b_snapshot"))
)

# PostgreSQL closes every interval of a table in one statement. Each key is looked up in a
# subquery the planner cannot flatten (OFFSET 0) and whose only index conditions are the
# key's: however stale or missing the statistics, it uses the (source, model[, provider],
# valid_to) index, never the (source, valid_to) one that would scan every open row of the
# source once per key. The rows found are then updated by primary key.
_CLOSE_MODELS_SQL = (
    "UPDATE model_states SET valid_to = CAST(:snapshot AS integer) WHERE id = ANY(ARRAY("
    "SELECT id FROM (SELECT id, valid_to FROM model_states"
    " WHERE source_id = CAST(:source AS integer) AND model_id = ANY(CAST(:models AS text[]))"
    " OFFSET 0) AS found WHERE valid_to IS NULL))"
)
_CLOSE_OFFERS_SQL = (
    "UPDATE offers SET valid_to = CAST(:snapshot AS integer) WHERE id = ANY(ARRAY("
    "SELECT found.id FROM unnest(CAST(:offer_models AS text[]),"
    " CAST(:offer_providers AS text[]))"
    " AS k (model_id, provider)"
    " CROSS JOIN LATERAL (SELECT id, valid_to FROM offers"
    " WHERE source_id = CAST(:source AS integer) AND model_id = k.model_id"
    " AND provider = k.provider OFFSET 0) AS found"
    " WHERE found.valid_to IS NULL))"
)


def _close_params(source: int, new_id: int, models: Sequence[str],
                  model_providers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The parameters of `_CLOSE_MODELS_SQL` and `_CLOSE_OFFERS_SQL`."""
    return {"snapshot": new_id, "source": source, "models": list(models),
            "offer_models": [m for m, _ in model_providers],
            "offer_providers": [p for _, p in model_providers]}


@contextmanager
def _planned_each_time(conn: Connection) -> Iterator[None]:
    """Statements run meanwhile are planned on every execution, never prepared (psycopg
    prepares a statement after a few executions; `_close_all` says why not these)."""
    driver: Any = conn.connection.driver_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def _close_all(conn: Connection, source: int, new_id: int, models: Sequence[str],
               model_providers: Sequence[tuple[str, str]]) -> None:
    """Close the open intervals of `models` and of the offers `model_providers`.

    SQLite: an UPDATE per key (an executemany; each costs little there). PostgreSQL: one
    statement per table, planned on every execution, never prepared: psycopg prepares a
    statement after a few executions, and PostgreSQL keeps a generic plan for it for as long
    as the session lasts; one made early in an import, while the tables are still tiny, would
    keep scanning them whole once they have grown.
    """
    if conn.dialect.name != "postgresql":
        _executemany(conn, _CLOSE_MODEL, (
            {"b_source": source, "b_model": m, "b_snapshot": new_id} for m in models))
        _executemany(conn, _CLOSE_OFFER, (
            {"b_source": source, "b_model": m, "b_provider": p, "b_snapshot": new_id}
            for m, p in model_providers))
        return
    if not models and not model_providers:
        return
    params = _close_params(source, new_id, models, model_providers)
    with _planned_each_time(conn):
        if models:
            conn.execute(_statement(_CLOSE_MODELS_SQL), params)
        if model_providers:
            conn.execute(_statement(_CLOSE_OFFERS_SQL), params)


def _insert_rows(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys, made as they are needed) into `table`: on
    PostgreSQL up to ONE_STATEMENT_ROWS in one INSERT from JSON (`_recordset_insert`; a COPY
    costs the server a millisecond to set up, more than a few dozen rows), more in one `COPY
    table FROM STDIN` (psycopg 3); elsewhere an executemany of the driver per BATCH rows.

    The statement is rendered once per table and columns (`_rows_plan`), and each value goes
    through its column type's bind processor, as in SQLAlchemy's own INSERT, so the table
    holds the same values (a JSON column gets the engine's serializer's text; None in one is
    JSON null): a snapshot writes three tables, hundreds of times in an import, and
    compiling and processing an INSERT each time cost more than the rows. A driver error is
    handled as SQLAlchemy handles one from any statement: the engine's `handle_error`
    listeners (storage faults), then a `DBAPIError`.
    """
    iterator = iter(rows)
    dialect = conn.dialect
    if dialect.name == "postgresql":
        few = list(islice(iterator, ONE_STATEMENT_ROWS + 1))
        if len(few) <= ONE_STATEMENT_ROWS:
            if few:
                sql, params = _recordset_insert(table, few, dialect)
                conn.execute(_statement(sql), params)
            return
        iterator = chain(few, iterator)
        queued.settle(conn)  # a COPY cannot be queued: what is in flight goes first
    first = next(iterator, None)
    if first is None:
        return
    names = tuple(first)
    copy = dialect.name == "postgresql"
    statement, processed = _rows_plan(table, names, dialect, copy)
    values_of = operator.itemgetter(*names)

    def bound(row: dict[str, Any]) -> tuple[Any, ...]:
        values = list(values_of(row)) if len(names) > 1 else [row[names[0]]]
        for at, process in processed:
            values[at] = process(values[at])
        return tuple(values)

    bound_rows = map(bound, chain((first,), iterator))
    if not copy:
        while batch := list(islice(bound_rows, BATCH)):
            conn.exec_driver_sql(statement, batch)
        return
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as stream:
            for values in bound_rows:
                stream.write_row(values)
    except dialect.loaded_dbapi.Error as exc:
        # Private, but what every statement's error goes through in SQLAlchemy 2.x.
        conn._handle_dbapi_exception(exc, statement, None, cursor, None)
    finally:
        cursor.close()


@lru_cache(maxsize=64)  # a few tables per engine's dialect
def _rows_plan(table: Table, names: tuple[str, ...], dialect: Any,
               copy: bool) -> tuple[str, list[tuple[int, Any]]]:
    """The COPY, or the INSERT with one positional parameter per column, of `names` of
    `table`; and the bind processor of each column that has one, by position."""
    if copy:
        quote = dialect.identifier_preparer.quote
        statement = (f"COPY {dialect.identifier_preparer.format_table(table)} "
                     f"({', '.join(quote(name) for name in names)}) FROM STDIN")
    else:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
        if tuple(compiled.positiontup or ()) != names:
            raise ValueError(f"{dialect.name}: not one positional parameter per column")
        statement = str(compiled)
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in names]
    return statement, [(at, process) for at, process in enumerate(processors)
                       if process is not None]


def _executemany(conn: Connection, statement: Any, rows: Iterable[dict[str, Any]]) -> None:
    """`statement` for every row, BATCH rows per execution."""
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        conn.execute(statement, batch)


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


# --- observations and changes ---


# Built once: every poll runs these (see reads.py on why).
_INSERT_OBSERVATION = insert(observations)
_TOUCH_SNAPSHOT = (
    update(snapshots)
    .where(snapshots.c.id == bindparam("b_snapshot"),
           snapshots.c.last_observed_at < bindparam("b_observed_at"))
    .values(last_observed_at=bindparam("b_observed_at"))
)


_RECORD_CATALOG_DIGEST = (
    update(snapshots)
    .where(snapshots.c.id == bindparam("b_snapshot"), snapshots.c.catalog_sha256.is_(None))
    .values(catalog_sha256=bindparam("b_digest"))
)


def record_observation(conn: Connection, **values: Any) -> int:
    """Store an observation; its id (`id`, when given: drawn already, and nothing is read
    back, so that the statement can be queued)."""
    result = conn.execute(_INSERT_OBSERVATION, values)
    if "id" in values:
        return int(values["id"])
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
    _insert_rows(
        conn,
        changes,
        (
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
        ),
    )


# --- changelog delivery (the changelogs table) ---


def owe_changelog(conn: Connection, *, source_id: int, observation_id: int,
                  directory: str) -> None:
    """Record that the transition of `observation_id` owes its changelogs to `directory`
    (in the transaction that stores the transition: the debt commits with it)."""
    # Returns nothing (not even its id), so that it can be queued with the transition.
    _insert_rows(conn, changelogs, [{"source_id": source_id, "observation_id": observation_id,
                                     "directory": directory, "failed_attempts": 0}])


def changelog_written(conn: Connection, changelog_id: int, at: datetime) -> None:
    """The changelog's files are in place."""
    conn.execute(update(changelogs).where(changelogs.c.id == changelog_id).values(
        written_at=at, last_attempt_at=at, last_error=None))


def changelog_failed(conn: Connection, changelog_id: int, at: datetime, error: str) -> None:
    """Writing the changelog's files failed: one more failed attempt, and its error."""
    conn.execute(update(changelogs).where(changelogs.c.id == changelog_id).values(
        last_attempt_at=at, last_error=error,
        failed_attempts=changelogs.c.failed_attempts + 1))


# --- notification delivery state ---


def insert_notification_state(conn: Connection, *, target: str, label: str, source_id: int,
                              delivered_through: int) -> None:
    """A target's first row for a source: told about observations up to `delivered_through`."""
    conn.execute(insert(notifications).values(
        target=target, label=label, source_id=source_id,
        delivered_through=delivered_through, failed_attempts=0,
    ))


def _notification(target: str, source_id: int) -> Any:
    return update(notifications).where(notifications.c.target == target,
                                       notifications.c.source_id == source_id)


def record_delivery(conn: Connection, target: str, source_id: int, at: datetime) -> None:
    """A delivery succeeded: the failure count and error are cleared."""
    conn.execute(_notification(target, source_id).values(
        last_attempt_at=at, last_delivered_at=at, last_error=None, failed_attempts=0))


def record_delivery_failure(conn: Connection, target: str, source_id: int, at: datetime,
                            error: str) -> None:
    """A delivery failed: one more failed attempt, and its error."""
    conn.execute(_notification(target, source_id).values(
        last_attempt_at=at, last_error=error,
        failed_attempts=notifications.c.failed_attempts + 1))


def set_delivered_through(conn: Connection, target: str, source_id: int,
                          observation_id: int) -> None:
    """The target has been told about (or filtered out) every transition up to here."""
    conn.execute(_notification(target, source_id).values(delivered_through=observation_id))


def set_failure_alert(conn: Connection, target: str, source_id: int,
                      first_failure_id: int | None) -> None:
    """The failure streak the target was alerted about (None: no alert outstanding)."""
    conn.execute(_notification(target, source_id).values(failure_alert_from=first_failure_id))


# --- PostgreSQL advisory locks ---


def advisory_xact_lock(conn: Connection, key: int, *, durable: bool = True) -> None:
    """Wait for the transaction-level advisory lock `key` (released at commit or rollback).
    Not `durable`: the transaction's commit does not wait for the WAL to reach the disk
    (`synchronous_commit` off for this transaction only; set in the same round trip)."""
    if durable:
        conn.execute(_statement("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        conn.execute(_statement("SELECT pg_advisory_xact_lock(:key), "
                                "set_config('synchronous_commit', 'off', true)"), {"key": key})


def try_advisory_lock(conn: Connection, lock_class: int, key: int) -> bool:
    """Take the session-level advisory lock (`lock_class`, `key`) if it is free."""
    got = conn.execute(
        _statement("SELECT pg_try_advisory_lock(:cls, :key)"), {"cls": lock_class, "key": key}
    ).scalar_one()
    return bool(got)


def advisory_unlock(conn: Connection, lock_class: int, key: int) -> bool:
    """Release the session-level advisory lock; False when this session did not hold it."""
    released = conn.execute(
        _statement("SELECT pg_advisory_unlock(:cls, :key)"), {"cls": lock_class, "key": key}
    ).scalar_one()
    return bool(released)
