"""A year of hourly polling for many sources, written straight into a tracker database.

`bench/run.py` times `status`, `report --since 7d`, `fetch` and `audit --since 7d` on such a
database and on a fresh one holding only the last days of the same history: a query that
scans every observation shows up as a ratio above 1.

    python bench/growth.py sqlite:////tmp/year.db              # 20 sources x 8,760 hours
    python bench/growth.py sqlite:////tmp/week.db --fresh       # the last 8 days only

The database must be empty and migrated (`tracker db upgrade`). The rows are made here, not
through the pipeline, so that 175,200 observations take seconds: each source's catalog evolves
with bench/generate.py's churn, about 1% of the polls see a new state, 0.3% fail, and the rest
find the state unchanged. Snapshots, interval rows and change records are computed with the
tracker's own pure functions (parse, content hash, diff), so the tracker reads them back as
if it had written them. SQLite is written with `executemany`, PostgreSQL with `COPY`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import generate  # bench/generate.py, next to this script
import orjson

HOUR = timedelta(hours=1)
FRESH_DAYS = 8  # a fresh database: the last 8 days (a window of 7 days fits in it)
DEFAULT_SOURCE = "auriko"  # the source `tracker fetch` polls without a config file


@dataclass(frozen=True)
class GrowthParams:
    sources: int = 20
    hours: int = 8760  # a year of hourly polls per source
    transition_share: float = 0.01
    failure_share: float = 0.003
    models: int = 40  # models per source catalog
    seed: int = 1


@dataclass
class State:
    """One catalog state of a source: its body and what the tracker makes of it."""

    body: bytes
    catalog: Any  # tracker.catalog.Catalog
    content_hash: str = ""
    identity: str = ""

    @classmethod
    def parsed(cls, body: bytes, previous: State | None) -> State:
        """Parsed by the tracker (reusing the previous state's unchanged models)."""
        from tracker.catalog import parse_catalog

        catalog = parse_catalog(body, previous.catalog if previous is not None else None)
        return cls(body, catalog, catalog.content_hash, catalog.identity)


@dataclass
class Poll:
    observed_at: datetime
    outcome: str  # new | unchanged | failed
    state: int | None  # index into SourceHistory.states


@dataclass
class SourceHistory:
    name: str
    states: list[State] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)


def source_names(count: int) -> list[str]:
    return [DEFAULT_SOURCE] + [f"router-{n:02d}" for n in range(2, count + 1)]


def simulate(params: GrowthParams, end: datetime, *, parse: bool = True) -> list[SourceHistory]:
    """Every source's states and hourly polls; the last poll of each source is at `end`.
    Each state's catalog is parsed by the tracker (None without `parse`)."""
    histories = []
    for number, name in enumerate(source_names(params.sources)):
        rng = random.Random(f"{params.seed}-{name}")
        series = generate.Series(generate.Params(
            versions=1, models=params.models, start_models=params.models,
            churn=2 / params.models, seed=params.seed * 1000 + number))
        history = SourceHistory(name)
        offset = timedelta(minutes=number)  # sources poll a minute apart
        first = end - (params.hours - 1) * HOUR
        for hour in range(params.hours):
            observed_at = first + hour * HOUR + offset
            if hour == 0 or rng.random() < params.transition_share:
                if hour:
                    series.step(len(history.states))
                version = f"{observed_at:%Y-%m-%d}.{len(history.states) + 1:04d}"
                parts = [series._model_text(i) for i in series.ids]
                body = series._page(version, rng.randrange(5, 3600), parts)
                previous = history.states[-1] if history.states else None
                history.states.append(State.parsed(body, previous) if parse
                                      else State(body, None))
                history.polls.append(Poll(observed_at, "new", len(history.states) - 1))
            elif rng.random() < params.failure_share:
                history.polls.append(Poll(observed_at, "failed", None))
            else:
                history.polls.append(Poll(observed_at, "unchanged", len(history.states) - 1))
        histories.append(history)
    return histories


def only_recent(histories: list[SourceHistory], since: datetime) -> list[SourceHistory]:
    """The same histories as a database that started polling at `since` holds them."""
    recent = []
    for history in histories:
        polls = [p for p in history.polls if p.observed_at >= since]
        first = next(i for i, p in enumerate(polls) if p.state is not None)
        polls = polls[first:]
        polls[0] = Poll(polls[0].observed_at, "new", polls[0].state)
        recent.append(SourceHistory(history.name, history.states, polls))
    return recent


# --- rows ---


def _ts(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sorted_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass
class Rows:
    """Every row to insert, by table, as tuples in the order of COLUMNS."""

    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> int:
        rows = self.tables.setdefault(table, [])
        rows.append(row)
        return len(rows)


COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": ("id", "name", "kind", "base_url", "endpoint", "created_at"),
    "snapshots": ("id", "source_id", "identity", "catalog_version", "content_hash",
                  "first_observed_at", "last_observed_at", "model_count", "provider_count",
                  "extra", "raw_body", "raw_base_id", "raw_size", "raw_sha256"),
    "observations": ("id", "source_id", "observed_at", "outcome", "http_status",
                     "catalog_version", "content_hash", "snapshot_id", "previous_snapshot_id",
                     "error", "duration_ms", "origin"),
    "model_states": ("id", "source_id", "model_id", "valid_from", "valid_to", "created",
                     "owned_by", "context_window", "supported_endpoints", "extra"),
    "offers": ("id", "source_id", "model_id", "provider", "valid_from", "valid_to",
               "input_price", "output_price", "data_policy", "extra"),
    "changes": ("id", "source_id", "observation_id", "observed_at", "from_snapshot_id",
                "to_snapshot_id", "kind", "model", "provider", "field", "old", "new",
                "change_pct", "weakened", "absent"),
}


def build_rows(histories: list[SourceHistory], base_url: str) -> Rows:
    """The rows the tracker would have written for these histories."""
    from tracker.diff import diff_catalogs
    from tracker.store import rawbody

    rows = Rows()
    for history in histories:
        created = history.polls[0].observed_at
        source_id = rows.add("sources", (len(rows.tables.get("sources", [])) + 1, history.name,
                                         "auriko", base_url, "chat_completions", _ts(created)))
        snapshot_ids: dict[int, int] = {}  # state index -> snapshot id
        snapshot_rows: dict[int, list[Any]] = {}
        intervals = _Intervals(rows, source_id)
        current: int | None = None
        for poll in history.polls:
            observation_id = len(rows.tables.get("observations", [])) + 1
            if poll.state is None:
                rows.add("observations", (observation_id, source_id, _ts(poll.observed_at),
                                          "failed", 503, None, None, None, None,
                                          "HTTP 503 from the router: service unavailable", 120,
                                          "fetch"))
                continue
            state = history.states[poll.state]
            catalog = state.catalog
            if poll.state not in snapshot_ids:
                snapshot_id = len(rows.tables.get("snapshots", [])) + 1
                snapshot_ids[poll.state] = snapshot_id
                row = [snapshot_id, source_id, state.identity, catalog.catalog_version,
                       state.content_hash, _ts(poll.observed_at), _ts(poll.observed_at),
                       len(catalog.models),
                       sum(len(m.providers) for m in catalog.models.values()),
                       _json(dict(catalog.extra)), rawbody.compress(state.body), None,
                       len(state.body), hashlib.sha256(state.body).hexdigest()]
                snapshot_rows[snapshot_id] = row
                rows.add("snapshots", tuple(row))  # replaced below, once last_observed_at is known
                intervals.advance(snapshot_id, catalog)
            snapshot_id = snapshot_ids[poll.state]
            snapshot_rows[snapshot_id][6] = _ts(poll.observed_at)
            previous = current if poll.outcome == "new" and current is not None else None
            rows.add("observations", (observation_id, source_id, _ts(poll.observed_at),
                                      poll.outcome, 200, catalog.catalog_version,
                                      state.content_hash, snapshot_id,
                                      snapshot_ids[previous] if previous is not None else None,
                                      None, 90, "fetch"))
            if previous is not None:
                old = history.states[previous].catalog
                for change in diff_catalogs(old, catalog):
                    rows.add("changes", (
                        len(rows.tables.get("changes", [])) + 1, source_id, observation_id,
                        _ts(poll.observed_at), snapshot_ids[previous], snapshot_id,
                        change["kind"], change["model"], change["provider"], change["field"],
                        _json(change["old"]), _json(change["new"]), change.get("change_pct"),
                        change.get("weakened"), change.get("absent")))
            current = poll.state
        intervals.finish()
        snapshots = rows.tables["snapshots"]
        for snapshot_id, row in snapshot_rows.items():
            snapshots[snapshot_id - 1] = tuple(row)
    return rows


class _Intervals:
    """Validity intervals of one source's models and offers, as the tracker's writes make
    them: a row opens with the snapshot that introduced a value and closes with the one that
    replaced it (compared as JSON, like the content hash)."""

    def __init__(self, rows: Rows, source_id: int) -> None:
        self.rows, self.source_id = rows, source_id
        self.models: dict[str, tuple[bytes, list[Any]]] = {}
        self.offers: dict[tuple[str, str], tuple[bytes, list[Any]]] = {}
        self.done: list[tuple[str, list[Any]]] = []

    def advance(self, snapshot_id: int, catalog: Any) -> None:
        from tracker.catalog import decimal_text

        seen_models, seen_offers = set(), set()
        for model in catalog.models.values():
            endpoints = (list(model.supported_endpoints)
                         if model.supported_endpoints is not None else None)
            values = [model.created, model.owned_by, model.context_window, endpoints,
                      dict(model.extra)]
            self._put(self.models, model.id, _sorted_json(values), snapshot_id, "model_states",
                      [model.id, snapshot_id, None, model.created, model.owned_by,
                       model.context_window, _json(endpoints), _json(dict(model.extra))])
            seen_models.add(model.id)
            for provider in model.providers.values():
                key = (model.id, provider.name)
                self._put(self.offers, key, _sorted_json(provider.canonical()), snapshot_id,
                          "offers",
                          [model.id, provider.name, snapshot_id, None,
                           decimal_text(provider.input_price),
                           decimal_text(provider.output_price), provider.data_policy,
                           _json(dict(provider.extra))])
                seen_offers.add(key)
        for table, open_rows, seen in (("model_states", self.models, seen_models),
                                       ("offers", self.offers, seen_offers)):
            for key in [k for k in open_rows if k not in seen]:
                self._close(table, open_rows.pop(key)[1], snapshot_id)

    def _put(self, open_rows: dict[Any, tuple[bytes, list[Any]]], key: Any, value: bytes,
             snapshot_id: int, table: str, row: list[Any]) -> None:
        existing = open_rows.get(key)
        if existing is not None and existing[0] == value:
            return
        if existing is not None:
            self._close(table, existing[1], snapshot_id)
        open_rows[key] = (value, row)

    def _close(self, table: str, row: list[Any], snapshot_id: int) -> None:
        valid_to = 2 if table == "model_states" else 3  # position of valid_to in `row`
        row[valid_to] = snapshot_id
        self.done.append((table, row))

    def finish(self) -> None:
        rows = self.done + [("model_states", r) for _, r in self.models.values()]
        rows += [("offers", r) for _, r in self.offers.values()]
        for table, row in rows:
            number = len(self.rows.tables.get(table, [])) + 1
            self.rows.add(table, (number, self.source_id, *row))


# --- writing ---


def write_rows(database_url: str, rows: Rows) -> None:
    """Insert every row into the (empty, migrated) database at `database_url`."""
    order = ("sources", "snapshots", "observations", "model_states", "offers", "changes")
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            with conn:
                for table in order:
                    columns = COLUMNS[table]
                    marks = ", ".join("?" for _ in columns)
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                        [_sqlite_row(row) for row in rows.tables.get(table, [])])
        finally:
            conn.close()
        return
    import psycopg

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for table in order:
            columns = COLUMNS[table]
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows.tables.get(table, []):
                    copy.write_row(row)
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))")
        cur.execute("ANALYZE")


def _sqlite_row(row: Sequence[Any]) -> tuple[Any, ...]:
    # SQLAlchemy's SQLite dialect stores times as this text, and booleans as 0/1.
    return tuple(value.isoformat(" ", "microseconds") if isinstance(value, datetime)
                 else int(value) if isinstance(value, bool) else value for value in row)


def build(database_url: str, params: GrowthParams, *, end: datetime, fresh: bool,
          base_url: str = "http://127.0.0.1:9/v1") -> dict[str, Any]:
    """Write the history (the year, or with `fresh` its last days) into `database_url`."""
    started = time.perf_counter()
    histories = simulate(params, end)
    if fresh:
        histories = only_recent(histories, end - timedelta(days=FRESH_DAYS))
    rows = build_rows(histories, base_url)
    write_rows(database_url, rows)
    return {
        "rows": {table: len(values) for table, values in rows.tables.items()},
        "transitions": sum(1 for h in histories for p in h.polls[1:] if p.outcome == "new"),
        "seconds": round(time.perf_counter() - started, 2),
    }


def current_body(params: GrowthParams, end: datetime) -> bytes:
    """The body of the default source's last state (what an unchanged fetch is served)."""
    for history in simulate(GrowthParams(**{**params.__dict__, "sources": 1}), end,
                            parse=False):
        return history.states[-1].body
    raise AssertionError("no source")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a year of hourly observations of many sources into an empty, "
                    "migrated tracker database.",
        epilog="Example: python bench/growth.py sqlite:////tmp/year.db",
    )
    parser.add_argument("database_url")
    parser.add_argument("--fresh", action="store_true",
                        help=f"only the last {FRESH_DAYS} days of the same history")
    parser.add_argument("--sources", type=int, default=GrowthParams.sources)
    parser.add_argument("--hours", type=int, default=GrowthParams.hours)
    parser.add_argument("--seed", type=int, default=GrowthParams.seed)
    parser.add_argument("--end", metavar="ISO8601",
                        help="the time of the last poll [the start of this hour]")
    args = parser.parse_args(argv)
    end = (datetime.fromisoformat(args.end) if args.end
           else datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    params = GrowthParams(sources=args.sources, hours=args.hours, seed=args.seed)
    print(json.dumps(build(args.database_url, params, end=end, fresh=args.fresh), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
