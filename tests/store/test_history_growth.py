"""A long history costs `status`, `report --since` and `audit --since` no more than a short one
(issue 11): no query they run reads every observation of a source, on either backend.

A year of hourly polls is 8,760 observations per source, nearly all `unchanged`. The test lays
a short history through the pipeline (states, transitions, failures), runs the read commands
and records every query they make; then it adds four times as many unchanged polls and
failures, and runs the same queries again. The work each query does must not grow with them:
SQLite's virtual-machine steps, or PostgreSQL's rows read (EXPLAIN ANALYZE, with sequential
scans disabled so that a missing index shows as one). No wall clock is involved.

The one query allowed to grow is the count of observations that `status` shows, answered
from an index (its cost grows with the history by definition).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from support.builders import base_catalog, body

from tracker import Tracker

START = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
ALLOWED_TO_GROW = ("SELECT count(*) AS count_1 \nFROM observations \nWHERE observations.source_id",)


def lay_history(t: Tracker) -> datetime:
    """Two sources, each with three states and a rejected poll; returns the last time."""
    moment = START
    for source in ("auriko", "other"):
        for hour, price in enumerate((2.5, 2.0, 2.2)):
            catalog = base_catalog(f"v{hour}")
            catalog["data"][0]["providers"][0]["input_price"] = price
            moment = START + hour * HOUR
            t.ingest(body(catalog), source=source, observed_at=moment, write_changelogs=False)
    return moment


def stored_time(moment: datetime) -> str:
    """A time as the tracker stores it: UTC, without zone, to the microsecond."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def add_polls(engine: Engine, count: int, after: datetime) -> None:
    """`count` more hourly polls per source after `after`: unchanged, one in fifty failed
    (plain SQL on the documented table, as a user's own backfill would write them)."""
    with engine.begin() as conn:
        latest = {row.source_id: row for row in conn.execute(text(
            "SELECT source_id, catalog_version, content_hash, snapshot_id FROM observations "
            "WHERE outcome = 'new' ORDER BY id"))}
        new_rows = []
        for source_id, last in latest.items():
            for n in range(1, count + 1):
                failed = n % 50 == 0
                new_rows.append({
                    "source_id": source_id, "observed_at": stored_time(after + n * HOUR),
                    "outcome": "failed" if failed else "unchanged",
                    "http_status": 503 if failed else 200,
                    "catalog_version": None if failed else last.catalog_version,
                    "content_hash": None if failed else last.content_hash,
                    "snapshot_id": None if failed else last.snapshot_id,
                    "error": "HTTP 503" if failed else None, "origin": "fetch",
                })
        conn.execute(text(
            "INSERT INTO observations (source_id, observed_at, outcome, http_status, "
            "catalog_version, content_hash, snapshot_id, error, origin) VALUES (:source_id, "
            ":observed_at, :outcome, :http_status, :catalog_version, :content_hash, "
            ":snapshot_id, :error, :origin)"), new_rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE observations")


@contextmanager
def recording(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT run on `engine` meanwhile: (statement, parameters)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not executemany:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def work(engine: Engine, statement: str, parameters: Any) -> int:
    """How much reading one query takes: VM steps on SQLite, rows read on PostgreSQL."""
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        if conn.dialect.name == "sqlite":
            steps = [0]

            def step() -> int:
                steps[0] += 1
                return 0

            dbapi.set_progress_handler(step, 1)  # type: ignore[attr-defined]
            try:
                conn.exec_driver_sql(statement, parameters).fetchall()
            finally:
                dbapi.set_progress_handler(None, 1)  # type: ignore[attr-defined]
            return steps[0]
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
        conn.rollback()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return _rows_read(plan[0]["Plan"])


def _rows_read(node: dict[str, Any]) -> int:
    loops = node.get("Actual Loops", 1)
    own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
    if node.get("Node Type") in ("Index Scan", "Index Only Scan", "Bitmap Index Scan",
                                 "Seq Scan", "Bitmap Heap Scan"):
        read = own
    else:
        read = 0
    return read + sum(_rows_read(child) for child in node.get("Plans", ()))


def read_commands(t: Tracker) -> Callable[[], None]:
    """status, and a window report and audit of a window the new polls do not fall in (as a
    week's window does not hold the year of polls before it)."""
    window = {"since": START, "until": START + 50 * HOUR, "sources": ["auriko", "other"]}

    def run() -> None:
        t.status()
        t.report(**window)
        t.audit(**window)
    return run


def test_the_read_commands_do_not_read_more_with_four_times_the_polls(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text('[sources.auriko]\nkind = "auriko"\n\n[sources.other]\nkind = "auriko"\n')
    with Tracker.open(database_url, config=config, environ={}) as t:
        last = lay_history(t)
        add_polls(t.engine, 100, last)
        with recording(t.engine) as queries:
            read_commands(t)()
        before = {statement: work(t.engine, statement, parameters)
                  for statement, parameters in queries}

        add_polls(t.engine, 400, last + 100 * HOUR)
        after = {statement: work(t.engine, statement, parameters)
                 for statement, parameters in queries}

    grew = {statement: (before[statement], after[statement]) for statement in before
            if after[statement] > 1.5 * before[statement] + 50
            and not statement.startswith(ALLOWED_TO_GROW)}
    assert not grew, "\n\n".join(f"{b} -> {a}: {s}" for s, (b, a) in grew.items())
    assert any("observations" in statement for statement in before)
