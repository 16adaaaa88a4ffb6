"""A record you can trust: content identity, version reuse, the changelog ledger, prices to
12 significant digits.

- `snapshots.identity` becomes the content hash: a state is its content, and its
  catalog_version is its label. A second snapshot of the same content (two versions that
  served the same catalog, or catalogs that differed only by float noise) keeps its row and
  gets the identity `<hash>:<id>`.
- `snapshots.version_reused` / `observations.version_reused`: a catalog_version served again
  with other content is another state, flagged (false for every row before this revision).
- `changelogs`: the changelogs each transition owes a reports directory (none owed for the
  transitions before this revision: their changelogs were written or are gone).
- Prices agree when they agree to 12 significant digits: every stored price is rounded so
  (0.8299999999999998 -> 0.83), offer intervals that become equal are merged, price_changed
  records whose two sides become equal are deleted (the others are rounded, their change_pct
  recomputed), prices inside model and provider records are rounded, and the content hash of
  every snapshot whose content changed is recomputed (and the observations of it).

No snapshot, observation or model row is lost; offer rows merge and noise-only change
records go, as the rule says they never were changes.

Revision ID: 0004_trusted_record
Revises: 0003_wider_columns
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import hashlib
import math
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0004_trusted_record"
down_revision = "0003_wider_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: on SQLite, copying `snapshots` (batch mode) would
    # break the foreign keys that point at it.
    for table in ("snapshots", "observations"):
        op.add_column(table, sa.Column("version_reused", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "changelogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("directory", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_changelogs_source_id_sources")
        ),
        sa.ForeignKeyConstraint(
            ["observation_id"], ["observations.id"],
            name=op.f("fk_changelogs_observation_id_observations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changelogs")),
        sa.UniqueConstraint("observation_id", "directory",
                            name="uq_changelogs_observation_directory"),
    )
    op.create_index("ix_changelogs_pending", "changelogs", ["source_id", "written_at"])
    upgrade_data()


def downgrade() -> None:
    bind = op.get_bind()
    # Back to "catalog_version, else the content hash"; a version that labels several states
    # keeps it on the first of them only (the others: `<identity>:<id>`).
    _set_identities(bind, lambda row: row.catalog_version or row.content_hash)
    op.drop_index("ix_changelogs_pending", table_name="changelogs")
    op.drop_table("changelogs")
    for table in ("observations", "snapshots"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN version_reused")


# --- the data: tables as they are at this revision ---

_snapshots = sa.table(
    "snapshots", sa.column("id", sa.Integer), sa.column("source_id", sa.Integer),
    sa.column("identity", sa.Text), sa.column("catalog_version", sa.Text),
    sa.column("content_hash", sa.String), sa.column("extra", sa.JSON),
)
_observations = sa.table(
    "observations", sa.column("id", sa.Integer), sa.column("snapshot_id", sa.Integer),
    sa.column("content_hash", sa.String),
)
_model_states = sa.table(
    "model_states", sa.column("source_id", sa.Integer), sa.column("model_id", sa.Text),
    sa.column("valid_from", sa.Integer), sa.column("valid_to", sa.Integer),
    sa.column("created", sa.BigInteger), sa.column("owned_by", sa.Text),
    sa.column("context_window", sa.BigInteger), sa.column("supported_endpoints", sa.JSON),
    sa.column("extra", sa.JSON),
)
_offers = sa.table(
    "offers", sa.column("id", sa.Integer), sa.column("source_id", sa.Integer),
    sa.column("model_id", sa.Text), sa.column("provider", sa.Text),
    sa.column("valid_from", sa.Integer), sa.column("valid_to", sa.Integer),
    sa.column("input_price", sa.String), sa.column("output_price", sa.String),
    sa.column("data_policy", sa.Text), sa.column("extra", sa.JSON),
)
_changes = sa.table(
    "changes", sa.column("id", sa.Integer), sa.column("kind", sa.String),
    sa.column("old", sa.JSON), sa.column("new", sa.JSON), sa.column("change_pct", sa.Float),
)

# The rule of this revision: two prices are the same when they agree to 12 significant digits.
_PRICE = Context(prec=12, rounding=ROUND_HALF_EVEN)
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _rounded(value: Decimal) -> Decimal:
    return _PRICE.plus(value).normalize(_PRICE)


def _price_text(text: str) -> str:
    """A stored price's text, rounded (as `tracker.catalog.decimal_text` writes it)."""
    rounded = format(_rounded(Decimal(text)), "f")
    return rounded if rounded != "-0" else "0"


def _price_json(value: Any) -> Any:
    """A price in a change record (a JSON number), rounded; anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    exact = _rounded(Decimal(value) if isinstance(value, int) else Decimal(repr(value)))
    if exact == exact.to_integral_value() and _INT_MIN <= exact <= _INT_MAX:
        return int(exact)
    return float(exact)


def _change_pct(old: Any, new: Any) -> float | None:
    """As `tracker.diff.change_pct` computes it (a move too small for 2 places keeps 2
    significant digits)."""
    before, after = (Decimal(v) if isinstance(v, int) else Decimal(repr(v)) for v in (old, new))
    if before == 0:
        return None
    pct = (after - before) / before * 100
    rounded = float(pct.quantize(Decimal("0.01"),
                                 context=Context(prec=max(28, pct.adjusted() + 3))))
    if rounded == 0 and pct != 0:
        rounded = float(Context(prec=2).plus(pct))
    return rounded if math.isfinite(rounded) else None


def _json_text(column: Any, name: str) -> Any:
    # A JSON column as its text: SQLite hands a JSON number back as a REAL otherwise.
    return sa.cast(column, sa.Text).label(name)


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def upgrade_data() -> None:
    bind = op.get_bind()
    changed_sources = _round_offers(bind)
    _round_change_records(bind)
    for source_id in changed_sources:
        _rehash(bind, source_id)
    _set_identities(bind, lambda row: row.content_hash)


def _round_offers(bind: sa.Connection) -> set[int]:
    """Round every stored price; merge offer intervals that became equal. Returns the sources
    whose content changed."""
    rows = bind.execute(sa.select(
        _offers.c.id, _offers.c.source_id, _offers.c.model_id, _offers.c.provider,
        _offers.c.valid_from, _offers.c.valid_to, _offers.c.input_price,
        _offers.c.output_price, _offers.c.data_policy, _json_text(_offers.c.extra, "extra"),
    )).all()
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    touched: set[tuple[int, str, str]] = set()
    for row in rows:
        item = dict(row._mapping)
        inp, out = _price_text(row.input_price), _price_text(row.output_price)
        if (inp, out) != (row.input_price, row.output_price):
            bind.execute(sa.update(_offers).where(_offers.c.id == row.id)
                         .values(input_price=inp, output_price=out))
            item.update(input_price=inp, output_price=out)
            touched.add((row.source_id, row.model_id, row.provider))
        groups.setdefault((row.source_id, row.model_id, row.provider), []).append(item)
    for key in touched:
        _merge_intervals(bind, groups[key])
    return {source_id for source_id, _, _ in touched}


def _merge_intervals(bind: sa.Connection, items: list[dict[str, Any]]) -> None:
    """Consecutive rows of one offer (one ends where the next starts) holding the same values
    become one row: the first, extended to where the last one ends."""
    def value(item: dict[str, Any]) -> tuple[Any, ...]:
        extra = orjson.dumps(_loads(item["extra"]), option=orjson.OPT_SORT_KEYS)
        return (item["input_price"], item["output_price"], item["data_policy"], extra)

    items.sort(key=lambda item: item["valid_from"])
    kept = items[0]
    for item in items[1:]:
        if kept["valid_to"] == item["valid_from"] and value(kept) == value(item):
            kept["valid_to"] = item["valid_to"]
            bind.execute(sa.delete(_offers).where(_offers.c.id == item["id"]))
            bind.execute(sa.update(_offers).where(_offers.c.id == kept["id"])
                         .values(valid_to=kept["valid_to"]))
        else:
            kept = item


def _round_change_records(bind: sa.Connection) -> None:
    """Price records: deleted when both sides round to the same price, else rounded (and
    their change_pct recomputed). Model and provider records: their prices rounded."""
    # (Read through the JSON type: a number SQLite keeps as a REAL comes back exact, where
    # its text would be cut to 15 digits.)
    rows = bind.execute(sa.select(
        _changes.c.id, _changes.c.kind, _changes.c.old, _changes.c.new, _changes.c.change_pct,
    ).where(_changes.c.kind.in_(["price_changed", "model_added", "model_removed",
                                 "provider_added", "provider_removed"]))).all()
    for row in rows:
        old, new = row.old, row.new
        if row.kind == "price_changed":
            r_old, r_new = _price_json(old), _price_json(new)
            if isinstance(r_old, int | float) and isinstance(r_new, int | float):
                if r_old == r_new:
                    bind.execute(sa.delete(_changes).where(_changes.c.id == row.id))
                    continue
                pct = _change_pct(r_old, r_new)
                if (r_old, r_new, pct) != (old, new, row.change_pct):
                    bind.execute(sa.update(_changes).where(_changes.c.id == row.id)
                                 .values(old=r_old, new=r_new, change_pct=pct))
            continue
        r_old, r_new = _round_record(old), _round_record(new)
        if (r_old, r_new) != (old, new):
            bind.execute(sa.update(_changes).where(_changes.c.id == row.id)
                         .values(old=r_old, new=r_new))


def _round_record(record: Any) -> Any:
    """A model record (with its providers) or a provider record with its prices rounded."""
    if not isinstance(record, dict):
        return record
    result = dict(record)
    for name in ("input_price", "output_price"):
        if name in result:
            result[name] = _price_json(result[name])
    if isinstance(result.get("providers"), list):
        result["providers"] = [_round_record(p) for p in result["providers"]]
    return result


def _rehash(bind: sa.Connection, source_id: int) -> None:
    """Recompute the content hash of each snapshot of the source, walking its intervals in
    snapshot order (each model's digest recomputed only when one of its rows changes), and
    of the observations that recorded the old hash of a snapshot whose hash changed."""
    from tracker.catalog import Model, Provider, digest_of

    snaps = bind.execute(
        sa.select(_snapshots.c.id, _snapshots.c.content_hash,
                  _json_text(_snapshots.c.extra, "extra"))
        .where(_snapshots.c.source_id == source_id).order_by(_snapshots.c.id)
    ).all()
    model_rows = bind.execute(sa.select(
        _model_states.c.model_id, _model_states.c.valid_from, _model_states.c.valid_to,
        _model_states.c.created, _model_states.c.owned_by, _model_states.c.context_window,
        _json_text(_model_states.c.supported_endpoints, "supported_endpoints"),
        _json_text(_model_states.c.extra, "extra"),
    ).where(_model_states.c.source_id == source_id)).all()
    offer_rows = bind.execute(sa.select(
        _offers.c.model_id, _offers.c.provider, _offers.c.valid_from, _offers.c.valid_to,
        _offers.c.input_price, _offers.c.output_price, _offers.c.data_policy,
        _json_text(_offers.c.extra, "extra"),
    ).where(_offers.c.source_id == source_id)).all()

    starts: dict[int, list[Any]] = {}
    ends: dict[int, list[Any]] = {}
    for row in [*model_rows, *offer_rows]:
        starts.setdefault(row.valid_from, []).append(row)
        if row.valid_to is not None:
            ends.setdefault(row.valid_to, []).append(row)
    models: dict[str, Any] = {}
    offers: dict[str, dict[str, Any]] = {}
    digests: dict[str, bytes] = {}

    def is_offer(row: Any) -> bool:
        return "provider" in row._mapping

    for snap in snaps:
        dirty: set[str] = set()
        for row in ends.get(snap.id, ()):
            dirty.add(row.model_id)
            if is_offer(row):
                offers.get(row.model_id, {}).pop(row.provider, None)
            else:
                models.pop(row.model_id, None)
        for row in starts.get(snap.id, ()):
            dirty.add(row.model_id)
            if is_offer(row):
                offers.setdefault(row.model_id, {})[row.provider] = row
            else:
                models[row.model_id] = row
        for model_id in dirty:
            state = models.get(model_id)
            if state is None:
                digests.pop(model_id, None)
                continue
            endpoints = _loads(state.supported_endpoints)
            model = Model(
                id=state.model_id, created=state.created, owned_by=state.owned_by,
                context_window=state.context_window,
                supported_endpoints=tuple(endpoints) if endpoints is not None else None,
                providers={name: Provider(name=o.provider, input_price=Decimal(o.input_price),
                                          output_price=Decimal(o.output_price),
                                          data_policy=o.data_policy,
                                          extra=_loads(o.extra) or {})
                           for name, o in offers.get(model_id, {}).items()},
                extra=_loads(state.extra) or {},
            )
            digests[model_id] = digest_of(model)
        hasher = hashlib.sha256()
        for model_id in sorted(digests):
            hasher.update(digests[model_id])
        hasher.update(orjson.dumps(_loads(snap.extra) or {}, option=orjson.OPT_SORT_KEYS))
        content_hash = hasher.hexdigest()
        if content_hash != snap.content_hash:
            bind.execute(sa.update(_snapshots).where(_snapshots.c.id == snap.id)
                         .values(content_hash=content_hash))
            bind.execute(sa.update(_observations).where(
                _observations.c.snapshot_id == snap.id,
                _observations.c.content_hash == snap.content_hash,
            ).values(content_hash=content_hash))


def _set_identities(bind: sa.Connection, identity: Any) -> None:
    """Give every snapshot the identity `identity(row)`; a later snapshot of a source whose
    identity an earlier one holds gets `<identity>:<id>`. First every identity is made unique
    on its own (`0004:<id>`), so that no update collides with a row not updated yet."""
    bind.execute(sa.update(_snapshots).values(
        identity=sa.literal("0004:") + sa.cast(_snapshots.c.id, sa.Text)))
    rows = bind.execute(sa.select(_snapshots.c.id, _snapshots.c.source_id,
                                  _snapshots.c.catalog_version, _snapshots.c.content_hash)
                        .order_by(_snapshots.c.id)).all()
    taken: set[tuple[int, str]] = set()
    for row in rows:
        wanted = identity(row)
        if (row.source_id, wanted) in taken:
            wanted = f"{wanted}:{row.id}"
        taken.add((row.source_id, wanted))
        bind.execute(sa.update(_snapshots).where(_snapshots.c.id == row.id)
                     .values(identity=wanted))
