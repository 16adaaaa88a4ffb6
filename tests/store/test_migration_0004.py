"""Migration 0004_trusted_record on a database that revision 0003 filled, on both backends.

Before 0004 a snapshot's identity was its catalog_version, and prices were compared, hashed
and stored as written: 0.8299999999999998 was another price than 0.83. The history below is
what that code left: noise-only states and price records, a model record with a noisy price,
two unversioned states that only float noise tells apart. The upgrade keeps every snapshot,
observation and model row, rounds every price to 12 significant digits, merges the offer
intervals that became equal, deletes the price records whose sides became equal, and makes
each state's identity its content; the tool then carries on from the migrated state.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, insert, select, text
from support.builders import base_catalog, body, model, provider

import tracker.catalog
from tracker.config import SourceConfig
from tracker.pipeline import Pipeline
from tracker.store import reads
from tracker.store.db import (
    HEAD_REVISION,
    alembic_config,
    create_db_engine,
    current_revision,
    open_database,
    upgrade_database,
)

pytestmark = pytest.mark.new_database

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
NOISY = 0.8299999999999998  # 0.83, as a router computing in floats writes it


def auriko_versions() -> list[dict[str, Any]]:
    v1 = base_catalog("v1")
    v1["data"][0]["providers"][0]["input_price"] = 0.83
    v2 = copy.deepcopy(v1)
    v2["catalog_version"] = "v2"
    v2["data"][0]["providers"][0]["input_price"] = NOISY  # noise only: v1's content
    v3 = copy.deepcopy(v1)
    v3["catalog_version"] = "v3"
    v3["build"] = 3  # and a real change of a top-level field
    v4 = copy.deepcopy(v3)
    v4["catalog_version"] = "v4"
    v4["build"] = 4
    v4["data"][0]["providers"][0]["input_price"] = 2.0
    v4["data"].append(model("new-model", provider("x", 0.19999999999999998, 0.6)))
    return [v1, v2, v3, v4]


def plain_versions() -> list[dict[str, Any]]:
    """An unversioned source: its identity was the content hash, noise included."""
    first = base_catalog(None)
    first["data"][2]["providers"][0]["input_price"] = 0.3
    second = copy.deepcopy(first)
    second["data"][2]["providers"][0]["input_price"] = 0.1 + 0.2  # 0.30000000000000004
    return [first, second]


def legacy_history(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the code before 0004 stored: prices as written (no rounding)."""
    with monkeypatch.context() as patch:
        patch.setattr(tracker.catalog, "round_price", lambda value: value.normalize())
        for memo in ("_ROUNDED", "_TEXTS", "_JSON_PRICES"):  # what the real one remembers
            patch.setattr(tracker.catalog, memo, {})
        auriko = Pipeline(engine, SourceConfig(name="auriko"))
        for hour, payload in enumerate(auriko_versions()):
            auriko.ingest(body(payload), observed_at=T0 + timedelta(hours=hour))
        plain = Pipeline(engine, SourceConfig(name="plain"))
        for hour, payload in enumerate(plain_versions()):
            plain.ingest(body(payload), observed_at=T0 + timedelta(hours=hour))


def copy_into(source: Engine, target: Engine) -> None:
    """Every row of `source` into `target` (an older schema), only the columns it has."""
    wanted = MetaData()
    wanted.reflect(target)
    have = MetaData()
    have.reflect(source)
    with source.connect() as reading, target.begin() as writing:
        for table in wanted.sorted_tables:
            if table.name == "alembic_version":
                continue
            origin = have.tables[table.name]
            found = [{k: v for k, v in row._mapping.items() if k in table.columns}
                     for row in reading.execute(select(origin).order_by(origin.c.id))]
            if found:
                writing.execute(insert(table), found)
            if writing.dialect.name == "postgresql":
                writing.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"))
        # Before 0004: the catalog_version, else the content hash.
        writing.execute(text("UPDATE snapshots SET identity = "
                             "COALESCE(catalog_version, content_hash)"))


@pytest.fixture
def at_0003(database_url: str, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The test's database at revision 0003, holding the legacy history."""
    written = open_database(f"sqlite:///{tmp_path / 'written.db'}")
    legacy_history(written, monkeypatch)
    engine = create_db_engine(database_url)
    command.upgrade(alembic_config(engine), "0003_wider_columns")
    copy_into(written, engine)
    written.dispose()
    yield engine
    engine.dispose()


def query(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def counts(engine: Engine) -> dict[str, int]:
    return {table: query(engine, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("snapshots", "observations", "model_states", "offers", "changes")}


def as_json(value: Any) -> Any:
    """A JSON column's value: SQLite hands back a number as a REAL (exactly) and anything else
    as text; psycopg decodes it."""
    return json.loads(value) if isinstance(value, str) else value


def price_records(engine: Engine) -> list[tuple[Any, ...]]:
    rows = query(engine, "SELECT s.name, c.field, c.old, c.new, c.change_pct FROM changes c "
                         "JOIN sources s ON s.id = c.source_id "
                         "WHERE c.kind = 'price_changed' ORDER BY c.id")
    return [(name, field, as_json(old), as_json(new), pct)
            for name, field, old, new, pct in rows]


def test_the_upgrade_rounds_prices_merges_intervals_and_keeps_every_state(
    at_0003: Engine, database_url: str
) -> None:
    before = counts(at_0003)
    # The legacy record: noise is a price change of 0.0%, and a state of its own.
    assert [record[:4] for record in price_records(at_0003)] == [
        ("auriko", "input_price", 0.83, NOISY),
        ("auriko", "input_price", NOISY, 0.83),
        ("auriko", "input_price", 0.83, 2),
        ("plain", "input_price", 0.3, 0.30000000000000004),
    ]
    assert query(at_0003, "SELECT count(*) FROM offers WHERE input_price LIKE '%99999%' "
                          "OR input_price LIKE '%00000000%' OR output_price LIKE '%9999%'"
                 ) == [(3,)]

    upgrade_database(at_0003)
    assert current_revision(at_0003) == HEAD_REVISION

    after = counts(at_0003)
    for table in ("snapshots", "observations", "model_states"):
        assert after[table] == before[table], table
    # Noise-only records are gone; the real move stays, and so does everything else.
    assert price_records(at_0003) == [("auriko", "input_price", 0.83, 2, 140.96)]
    assert after["changes"] == before["changes"] - 3
    added = query(at_0003, "SELECT new FROM changes WHERE kind = 'model_added'")
    assert as_json(added[0][0])["providers"][0]["input_price"] == 0.2
    # Every price is stored rounded; the four intervals of gpt-4o on openai are two now.
    prices = {value for row in query(at_0003, "SELECT input_price, output_price FROM offers")
              for value in row}
    assert all(len(Decimal(p).normalize().as_tuple().digits) <= 12 for p in prices)
    assert "0.83" in prices and "0.2" in prices and "0.3" in prices
    openai = query(at_0003, "SELECT o.input_price, o.valid_from, o.valid_to FROM offers o "
                            "JOIN sources s ON s.id = o.source_id WHERE s.name = 'auriko' "
                            "AND o.model_id = 'gpt-4o' AND o.provider = 'openai' ORDER BY o.id")
    ids = [row[0] for row in query(at_0003, "SELECT s.id FROM snapshots s JOIN sources r ON "
                                            "r.id = s.source_id WHERE r.name = 'auriko' "
                                            "ORDER BY s.id")]
    assert openai == [("0.83", ids[0], ids[3]), ("2", ids[3], None)]
    # ... and the two of the plain source's noisy offer one.
    assert after["offers"] == before["offers"] - 3

    with at_0003.connect() as conn:
        for name in ("auriko", "plain"):
            source = reads.source_id(conn, name)
            assert source is not None
            snaps = reads.list_snapshots(conn, source)
            for snap in snaps:
                # The stored hash is the content's, as the tool computes it now.
                assert snap.content_hash == reads.load_catalog(conn, source, snap).content_hash
            # A state is its content: a second snapshot of the same content keeps its row.
            first, second = snaps[0], snaps[1]
            assert first.content_hash == second.content_hash
            assert first.identity == first.content_hash
            assert second.identity == f"{second.content_hash}:{second.id}"
    observed = query(at_0003, "SELECT o.content_hash, s.content_hash FROM observations o "
                              "JOIN snapshots s ON s.id = o.snapshot_id")
    assert all(seen == stored for seen, stored in observed)


def test_the_tool_carries_on_from_the_migrated_state(at_0003: Engine, database_url: str,
                                                    tmp_path: Path) -> None:
    upgrade_database(at_0003)
    engine = open_database(database_url)
    try:
        auriko = Pipeline(engine, SourceConfig(name="auriko"), reports_dir=tmp_path / "reports")
        later = T0 + timedelta(days=1)
        # v4 with float noise on its prices is v4: unchanged, whatever its version says.
        noisy = auriko_versions()[3]
        noisy["catalog_version"] = "v5"
        noisy["data"][0]["providers"][0]["input_price"] = 1.9999999999999998
        result = auriko.ingest(body(noisy), observed_at=later)
        assert (result.outcome, result.snapshot.catalog_version) == ("unchanged", "v4")
        # A real change is reported from the migrated state, prices rounded.
        changed = copy.deepcopy(noisy)
        changed["data"][0]["providers"][0]["input_price"] = NOISY
        result = auriko.ingest(body(changed), observed_at=later + timedelta(hours=1))
        assert result.outcome == "new"
        assert [(c["old"], c["new"], c["change_pct"]) for c in result.changes
                if c["kind"] == "price_changed"] == [(2, 0.83, -58.5)]
        assert len(result.changelogs) == 2
        plain = Pipeline(engine, SourceConfig(name="plain"))
        again = plain.ingest(body(plain_versions()[0]), observed_at=later)
        assert again.outcome == "unchanged"
    finally:
        engine.dispose()


def test_the_downgrade_gives_back_version_identities(at_0003: Engine) -> None:
    upgrade_database(at_0003)
    command.downgrade(alembic_config(at_0003), "0003_wider_columns")
    identities = query(at_0003, "SELECT s.identity, s.catalog_version, s.content_hash, s.id "
                                "FROM snapshots s ORDER BY s.id")
    seen: set[str] = set()
    for identity, version, content_hash, snapshot_id in identities:
        wanted = version or content_hash
        assert identity == (wanted if wanted not in seen else f"{wanted}:{snapshot_id}")
        seen.add(wanted)
