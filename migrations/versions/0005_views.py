"""Views for reading the history: current_offers, offer_history, price_changes,
policy_changes, model_history (docs/schema.md, "Views").

The tables keep prices as exact decimal text and validity intervals in snapshot ids; the views
turn them into what a reader wants: prices as numbers (REAL on SQLite, double precision on
PostgreSQL) and intervals as observation times in UTC (ISO 8601 text ending in Z, with
microseconds, on SQLite, which has no time type; timestamp with time zone on PostgreSQL).

How an interval row becomes time intervals, in SQL, as `tracker.history.StateIndex` does it
in Python: the observed states of a source (each `new` or `reverted` observation) are numbered
in time order (`seq`) and split into runs of increasing snapshot ids (a return to an earlier
version starts a new run). Inside a run, a row valid over snapshot ids `[valid_from,
valid_to)` holds from the first state of the run at or after `valid_from` to the first state
at or after `valid_to`, else to the end of the run (`firsts`: one row per snapshot and run; each
interval row meets it twice, through an index on `valid_from` and one on `valid_to`, so the
cost grows with the rows plus snapshots times runs, not with rows times states).
Pieces that touch and hold the same values are merged (gaps and islands), so one row is one
uninterrupted interval of one value.

The joins are written `CROSS JOIN ... WHERE`: SQLite then keeps the order written (the small
per-state tables outside, the tables inside through their indexes), which its planner does not
always find by itself with tables it has no statistics for; PostgreSQL plans them as any join.

Two indexes come with them (interval rows by the snapshot that opened them). The views are
dropped first by downgrade, and any later migration that has to copy a table
they read (SQLite's batch mode) must drop them first and create them again after:
`drop_views()` and `create_views()` here are for that.

Revision ID: 0005_views
Revises: 0004_trusted_record
Create Date: 2026-11-27 12:00:00.000000
"""

from __future__ import annotations

revision = "0005_views"
down_revision = "0004_trusted_record"
branch_labels = None
depends_on = None

VIEWS = ("current_offers", "offer_history", "price_changes", "policy_changes", "model_history")

# The documented data policies (a move out of them is a policy that "became unknown").
_POLICIES = "('zdr', 'no_training', 'none')"


class _Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.postgres = name == "postgresql"

    def time(self, column: str) -> str:
        """A stored UTC time (naive) as the view shows it."""
        if self.postgres:
            return f"({column} AT TIME ZONE 'UTC')"
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': fixed width, so the text sorts as the time.
        return f"(replace({column}, ' ', 'T') || 'Z')"

    def number(self, column: str) -> str:
        """Decimal text as a float."""
        return f"CAST({column} AS {'DOUBLE PRECISION' if self.postgres else 'REAL'})"

    def json_number(self, column: str) -> str:
        """A JSON number as a float (SQLite already stores it as one: NUMERIC affinity)."""
        if self.postgres:
            return f"CAST(CAST({column} AS TEXT) AS DOUBLE PRECISION)"
        return f"CAST({column} AS REAL)"

    def json_string(self, column: str) -> str:
        """A JSON string as text (JSON null as NULL)."""
        if self.postgres:
            return f"({column} #>> '{{}}')"
        return f"json_extract({column}, '$')"

    def json_text(self, column: str) -> str:
        """A JSON value as its JSON text."""
        return f"CAST({column} AS TEXT)" if self.postgres else column

    def same(self, left: str, right: str) -> str:
        """Equality that takes two NULLs as equal."""
        return f"{left} {'IS NOT DISTINCT FROM' if self.postgres else 'IS'} {right}"


# The observed states of each source; their runs; when each run ends (the next run's start);
# and, per snapshot and run, the first state of the run at or after that snapshot id, with its
# time and snapshot (see the module docstring): snapshot ids grow inside a run, so the state
# is the one whose snapshot id is at or above it and whose predecessor's is below.
_STATES = """
states AS (
    SELECT source_id, snapshot_id, observed_at,
           ROW_NUMBER() OVER (PARTITION BY source_id ORDER BY observed_at, id) AS seq
    FROM observations
    WHERE outcome IN ('new', 'reverted') AND snapshot_id IS NOT NULL
),
marked AS (
    SELECT source_id, snapshot_id, observed_at, seq,
           CASE WHEN LAG(snapshot_id) OVER (PARTITION BY source_id ORDER BY seq) < snapshot_id
                THEN 0 ELSE 1 END AS starts_run
    FROM states
),
runs AS (
    SELECT source_id, snapshot_id, observed_at, seq,
           SUM(starts_run) OVER (PARTITION BY source_id ORDER BY seq) AS run,
           CASE WHEN starts_run = 1 THEN 0
                ELSE LAG(snapshot_id) OVER (PARTITION BY source_id ORDER BY seq) END
               AS after_snapshot_id
    FROM marked
),
run_bounds AS (
    SELECT source_id, run, MIN(observed_at) AS run_start, MAX(seq) + 1 AS end_seq
    FROM runs
    GROUP BY source_id, run
),
run_ends AS (
    SELECT source_id, run, end_seq,
           LEAD(run_start) OVER (PARTITION BY source_id ORDER BY run) AS end_at
    FROM run_bounds
),
firsts AS (
    SELECT sn.id AS snapshot_id, r.source_id, r.run, r.seq, r.observed_at AS at,
           r.snapshot_id AS state_snapshot_id, e.end_seq AS run_end_seq,
           e.end_at AS run_end_at
    FROM runs AS r
    CROSS JOIN run_ends AS e
    CROSS JOIN snapshots AS sn
    WHERE e.source_id = r.source_id AND e.run = r.run AND sn.source_id = r.source_id
      AND sn.id > r.after_snapshot_id AND sn.id <= r.snapshot_id
)"""


# An island is named by the state it starts at and that state's snapshot, in one integer,
# `seq * _KEY + snapshot id` (both below 2**32, so the seq decides the order): the running
# MAX over the island starts gives each piece its island, and the island its first snapshot,
# in one pass.
_KEY = 4294967296


def _intervals(d: _Dialect, table: str, values: list[tuple[str, str]], keys: list[str]) -> str:
    """The WITH clause that turns `table`'s interval rows into `spans`: one row per
    uninterrupted interval of one value (`values`) of one thing (`keys`), with its start and
    end time (`start_at`, `end_at`: NULL while it holds) and the snapshot of its first state."""
    names = [name for name, _ in values]
    picked = ", ".join(f"{expr} AS {name}" for name, expr in values)
    thing = ", ".join(["source_id", *keys])
    same_value = " AND ".join(d.same(f"LAG({name}) OVER w", name) for name in names)
    return f"""WITH {_STATES},
bounds AS (
    SELECT t.id AS row_id, a.run, a.seq AS start_seq, a.at AS start_at,
           a.state_snapshot_id AS start_snapshot_id, a.run_end_seq AS end_seq,
           a.run_end_at AS end_at
    FROM firsts AS a
    CROSS JOIN {table} AS t
    WHERE t.valid_from = a.snapshot_id
    UNION ALL
    SELECT t.id, b.run, NULL, NULL, NULL, b.seq, b.at
    FROM firsts AS b
    CROSS JOIN {table} AS t
    WHERE t.source_id = b.source_id AND t.valid_to = b.snapshot_id
),
ranges AS (
    SELECT row_id, MAX(start_seq) AS start_seq, MAX(start_at) AS start_at,
           MAX(start_snapshot_id) AS start_snapshot_id, MIN(end_seq) AS end_seq,
           MIN(end_at) AS end_at
    FROM bounds
    GROUP BY row_id, run
    HAVING MAX(start_seq) < MIN(end_seq)
),
pieces AS (
    SELECT t.source_id, {", ".join(f"t.{k}" for k in keys)}, {picked},
           r.start_seq, r.start_at, r.start_snapshot_id, r.end_seq, r.end_at
    FROM ranges AS r
    CROSS JOIN {table} AS t
    WHERE t.id = r.row_id
),
flagged AS (
    SELECT p.*,
           CASE WHEN LAG(end_seq) OVER w = start_seq AND {same_value}
                THEN 0 ELSE 1 END AS starts_island
    FROM pieces AS p
    WINDOW w AS (PARTITION BY {thing} ORDER BY start_seq)
),
islands AS (
    SELECT f.*,
           MAX(CASE WHEN starts_island = 1
                    THEN start_seq * {_KEY} + start_snapshot_id END)
               OVER (PARTITION BY {thing} ORDER BY start_seq) AS island
    FROM flagged AS f
),
spans AS (
    SELECT {thing}, {", ".join(names)}, island % {_KEY} AS first_snapshot_id,
           MIN(start_at) AS start_at,
           CASE WHEN COUNT(end_at) < COUNT(*) THEN NULL ELSE MAX(end_at) END AS end_at
    FROM islands
    GROUP BY {thing}, island, {", ".join(names)}
)"""  # noqa: S608 (constant SQL, built from this module's names: no value from outside)


def view_sql(dialect_name: str) -> dict[str, str]:
    """The SELECT of each view on a backend ("sqlite" or "postgresql")."""
    d = _Dialect(dialect_name)
    span_join = """
FROM spans AS sp
CROSS JOIN sources AS src
CROSS JOIN snapshots AS sn
WHERE src.id = sp.source_id AND sn.id = sp.first_snapshot_id"""

    offer_history = _intervals(
        d, "offers",
        [("input_price", "t.input_price"), ("output_price", "t.output_price"),
         ("data_policy", "t.data_policy")],
        ["model_id", "provider"],
    ) + f"""
SELECT src.name AS source, sp.model_id AS model, sp.provider,
       {d.number("sp.input_price")} AS input_price,
       {d.number("sp.output_price")} AS output_price,
       sp.data_policy,
       {d.time("sp.start_at")} AS valid_from_time,
       {d.time("sp.end_at")} AS valid_to_time,
       sn.catalog_version AS catalog_version,
       sn.id AS snapshot_id{span_join}"""

    model_history = _intervals(
        d, "model_states",
        [("context_window", "t.context_window"),
         ("supported_endpoints", d.json_text("t.supported_endpoints")),
         ("owned_by", "t.owned_by"), ("created", "t.created")],
        ["model_id"],
    ) + f"""
SELECT src.name AS source, sp.model_id AS model, sp.context_window,
       sp.supported_endpoints, sp.owned_by, sp.created,
       {d.time("sp.start_at")} AS valid_from_time,
       {d.time("sp.end_at")} AS valid_to_time,
       sn.catalog_version AS catalog_version,
       sn.id AS snapshot_id{span_join}"""

    current_offers = """
SELECT source, model, provider, input_price, output_price, data_policy,
       valid_from_time AS since, catalog_version, snapshot_id
FROM offer_history
WHERE valid_to_time IS NULL"""

    change_join = """
FROM changes AS c
JOIN sources AS src ON src.id = c.source_id
JOIN snapshots AS fs ON fs.id = c.from_snapshot_id
JOIN snapshots AS ts ON ts.id = c.to_snapshot_id"""

    price_changes = f"""
SELECT src.name AS source, {d.time("c.observed_at")} AS observed_at,
       c.model, c.provider, c.field,
       {d.json_number("c.old")} AS old_price, {d.json_number("c.new")} AS new_price,
       c.change_pct,
       fs.catalog_version AS previous_catalog_version, ts.catalog_version AS catalog_version,
       c.from_snapshot_id, c.to_snapshot_id, c.observation_id{change_join}
WHERE c.kind = 'price_changed'"""

    old, new = d.json_string("c.old"), d.json_string("c.new")
    policy_changes = f"""
SELECT src.name AS source, {d.time("c.observed_at")} AS observed_at,
       c.model, c.provider,
       {old} AS old_policy, {new} AS new_policy, c.weakened,
       ({old} IS NOT NULL AND {old} IN {_POLICIES}
        AND ({new} IS NULL OR {new} NOT IN {_POLICIES})) AS became_unknown,
       fs.catalog_version AS previous_catalog_version, ts.catalog_version AS catalog_version,
       c.from_snapshot_id, c.to_snapshot_id, c.observation_id{change_join}
WHERE c.kind = 'data_policy_changed'"""

    return {"offer_history": offer_history, "model_history": model_history,
            "current_offers": current_offers, "price_changes": price_changes,
            "policy_changes": policy_changes}


def create_view_statements(dialect_name: str) -> list[str]:
    """The CREATE VIEW statements, in the order they run (current_offers after
    offer_history, which it reads). A new database gets its views from here too
    (`tracker.store.db.create_schema`), as long as this is the newest migration that defines
    them."""
    sql = view_sql(dialect_name)
    return [f"CREATE VIEW {name} AS {sql[name].strip()}"
            for name in ("offer_history", "model_history", "current_offers", "price_changes",
                         "policy_changes")]


# Alembic is imported by the functions that run in a migration, not by the module:
# `create_view_statements` serves a new database without it.


def create_views() -> None:
    """Create every view."""
    from alembic import op

    for statement in create_view_statements(op.get_bind().dialect.name):
        op.execute(statement)


def drop_views() -> None:
    """Drop every view (current_offers first: it reads offer_history)."""
    from alembic import op

    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    from alembic import op

    # The views look interval rows up by the snapshot that opened them.
    op.create_index("ix_offers_valid_from", "offers", ["valid_from"])
    op.create_index("ix_model_states_valid_from", "model_states", ["valid_from"])
    create_views()


def downgrade() -> None:
    from alembic import op

    drop_views()
    op.drop_index("ix_model_states_valid_from", table_name="model_states")
    op.drop_index("ix_offers_valid_from", table_name="offers")
