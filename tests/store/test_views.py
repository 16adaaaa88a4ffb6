"""The views (docs/schema.md, "Views"), on both backends: read with plain SQL as a user would,
they hold the same intervals as `tracker history` (prices as numbers, times in UTC), the same
rows on SQLite and PostgreSQL, and downgrading drops them.

- SQLite shows times as fixed-width ISO 8601 text ending in Z; PostgreSQL as timestamp with
  time zone. Both are the same instants.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect
from support.db import Postgres, rows
from support.random_history import lay_series, random_series

from tracker.diff import policy_became_unknown
from tracker.history import histories
from tracker.store import reads
from tracker.store.db import alembic_config, open_database
from tracker.store.schema import VIEWS

SQLITE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def instant(value: Any) -> datetime | None:
    """A view's time, whichever backend: SQLite's text, PostgreSQL's timestamptz."""
    if value is None:
        return None
    if isinstance(value, str):
        assert SQLITE_TIME.match(value), value  # UTC, fixed width: sorts as the time
        return datetime.fromisoformat(value)
    assert value.utcoffset() is not None  # timestamp with time zone: an instant
    return value.astimezone(UTC)


def view(database_url: str, name: str) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in rows(database_url, f"SELECT * FROM {name}")]


def expected_intervals(engine: Engine) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """What `tracker history` says, for every model of every source: offer intervals and
    model-field intervals, as the views' columns."""
    offers, models = set(), set()
    with engine.connect() as conn:
        for name, source_id in reads.source_ids(conn).items():
            for model_id, history in histories(conn, name, source_id).items():
                for span in history.states:
                    endpoints = (list(span.supported_endpoints)
                                 if span.supported_endpoints is not None else None)
                    models.add((name, model_id, span.context_window, json.dumps(endpoints),
                                span.owned_by, span.created, span.start, span.end,
                                span.snapshot.catalog_version, span.snapshot.id))
                for provider, spans in history.providers.items():
                    for s in spans:
                        offers.add((name, model_id, provider, float(s.input_price),
                                    float(s.output_price), s.data_policy, s.start, s.end,
                                    s.snapshot.catalog_version, s.snapshot.id))
    return offers, models


def check_views(database_url: str) -> None:
    """Every view against the histories and the stored change records."""
    engine = open_database(database_url)
    try:
        offers, models = expected_intervals(engine)
    finally:
        engine.dispose()

    history = view(database_url, "offer_history")
    for row in history:
        assert isinstance(row["input_price"], float) and isinstance(row["output_price"], float)
    assert {(r["source"], r["model"], r["provider"], r["input_price"], r["output_price"],
             r["data_policy"], instant(r["valid_from_time"]), instant(r["valid_to_time"]),
             r["catalog_version"], r["snapshot_id"]) for r in history} == offers
    assert len(history) == len(offers), "one row per interval"

    current = view(database_url, "current_offers")
    assert {(r["source"], r["model"], r["provider"], r["input_price"], r["output_price"],
             r["data_policy"], instant(r["since"])) for r in current} == {
        o[:7] for o in offers if o[7] is None}

    fields = view(database_url, "model_history")
    assert {(r["source"], r["model"], r["context_window"],
             json.dumps(json.loads(r["supported_endpoints"]))
             if r["supported_endpoints"] is not None else "null",
             r["owned_by"], r["created"], instant(r["valid_from_time"]),
             instant(r["valid_to_time"]), r["catalog_version"], r["snapshot_id"])
            for r in fields} == models

    stored = rows(database_url, """
        SELECT s.name AS source, c.observed_at, c.model, c.provider, c.field, c.kind,
               CAST(c.old AS TEXT) AS old, CAST(c.new AS TEXT) AS new, c.change_pct,
               c.weakened
        FROM changes c JOIN sources s ON s.id = c.source_id""")

    def stamped(value: Any) -> datetime:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC)

    prices = view(database_url, "price_changes")
    assert {(r["source"], instant(r["observed_at"]), r["model"], r["provider"], r["field"],
             r["old_price"], r["new_price"], r["change_pct"]) for r in prices} == {
        (c.source, stamped(c.observed_at), c.model, c.provider, c.field,
         float(json.loads(c.old)), float(json.loads(c.new)), c.change_pct)
        for c in stored if c.kind == "price_changed"}
    policies = view(database_url, "policy_changes")
    assert {(r["source"], instant(r["observed_at"]), r["model"], r["provider"],
             r["old_policy"], r["new_policy"], bool(r["weakened"]), bool(r["became_unknown"]))
            for r in policies} == {
        (c.source, stamped(c.observed_at), c.model, c.provider, json.loads(c.old),
         json.loads(c.new), bool(c.weakened),
         policy_became_unknown(json.loads(c.old), json.loads(c.new)))
        for c in stored if c.kind == "data_policy_changed"}


def test_the_views_hold_what_the_history_holds(database_url: str,
                                               report_history: dict[str, Any]) -> None:
    # The report history: a removal and return, a weakening, a return to an earlier version.
    check_views(database_url)
    (weakening,) = [r for r in view(database_url, "policy_changes") if r["weakened"]]
    assert (weakening["model"], weakening["provider"], weakening["old_policy"],
            weakening["new_policy"], weakening["catalog_version"]) == (
        "claude-sonnet", "bedrock", "zdr", "none", "v3")
    llama = [r for r in view(database_url, "offer_history")
             if r["model"] == "llama-70b" and r["provider"] == "groq"]
    assert sorted((instant(r["valid_from_time"]), instant(r["valid_to_time"])) for r in llama) \
        == [(datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 6, 9, tzinfo=UTC)),
            (datetime(2026, 1, 7, 9, tzinfo=UTC), datetime(2026, 1, 9, 9, tzinfo=UTC))]


@pytest.mark.parametrize("seed", [3, 11])
def test_the_views_hold_what_the_history_holds_on_a_random_history(
        database_url: str, tmp_path: Path, seed: int) -> None:
    series = random_series(seed)
    lay_series(database_url, tmp_path, series)
    assert rows(database_url, "SELECT count(*) FROM observations WHERE outcome = 'reverted'")[0][0]
    check_views(database_url)


def test_sqlite_and_postgresql_return_the_same_rows(tmp_path: Path,
                                                    postgres: Postgres | None) -> None:
    if postgres is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    series = random_series(5)
    sqlite_url = f"sqlite:///{tmp_path / 'views.db'}"
    lay_series(sqlite_url, tmp_path, series)

    def normalized(database_url: str, name: str) -> list[tuple[Any, ...]]:
        found = []
        for row in view(database_url, name):
            found.append(tuple(
                instant(value) if key in ("valid_from_time", "valid_to_time", "since",
                                          "observed_at")
                else bool(value) if key in ("weakened", "became_unknown")
                else value for key, value in row.items()))
        return sorted(found, key=repr)

    with postgres.schema() as postgres_url:
        lay_series(postgres_url, tmp_path, series)
        for name in VIEWS:
            assert normalized(sqlite_url, name) == normalized(postgres_url, name), name


def test_the_views_have_the_documented_columns(engine: Engine) -> None:
    inspector = inspect(engine)
    assert set(inspector.get_view_names()) == set(VIEWS)
    for name, declared in VIEWS.items():
        assert [c["name"] for c in inspector.get_columns(name)] == list(declared.c.keys()), name
    docs = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    for name, declared in VIEWS.items():
        assert f"`{name}`" in docs
        for column in (c.name for c in declared.columns):
            assert f"`{column}`" in docs, f"{name}.{column} is not in docs/schema.md"


def test_downgrading_drops_the_views_and_upgrading_brings_them_back(engine: Engine) -> None:
    config = alembic_config(engine)
    command.downgrade(config, "0004_trusted_record")
    assert inspect(engine).get_view_names() == []
    command.upgrade(config, "head")
    assert set(inspect(engine).get_view_names()) == set(VIEWS)
