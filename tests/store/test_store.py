"""Storage on both backends: round trips, validity intervals, raw bodies, atomic writes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.builders import base_catalog, body, model, provider

from tracker.catalog import parse_catalog
from tracker.config import SourceConfig
from tracker.pipeline import Pipeline
from tracker.store import reads, writes
from tracker.store.db import HEAD_REVISION, migrations_dir

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def pipeline(engine: Any) -> Pipeline:
    return Pipeline(engine, SourceConfig(name="auriko"))


def rows(engine: Any, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_stored_catalog_loads_back_unchanged_with_its_exact_bytes(engine: Any) -> None:
    payload = base_catalog()
    payload["data"][0]["providers"][0]["region"] = {"name": "eu", "zones": [1, 2]}
    payload["data"][1]["tier"] = "gold"
    payload["note"] = "top-level extra"
    raw = json.dumps(payload, indent=3).encode()
    result = pipeline(engine).ingest(raw, observed_at=T0)
    assert result.snapshot is not None
    with engine.connect() as conn:
        source = reads.source_id(conn, "auriko")
        assert source is not None
        assert reads.load_catalog(conn, source, result.snapshot) == parse_catalog(raw)
        assert reads.raw_body(conn, result.snapshot.id) == raw


def test_storage_grows_with_changes_not_with_snapshots(engine: Any) -> None:
    p = pipeline(engine)
    payload = base_catalog()
    bodies = []
    for step in range(40):
        payload = copy.deepcopy(payload)
        payload["catalog_version"] = f"v{step}"
        payload["build"] = step  # every version another state (a top-level field)
        if step % 2:
            payload["data"][0]["providers"][0]["input_price"] = 2.5 + step
        bodies.append(json.dumps(payload).encode())
        p.ingest(bodies[-1], observed_at=T0 + timedelta(hours=step))
    # 3 models and 6 offers to start; only the openai offer of gpt-4o changes (20 times).
    assert rows(engine, "snapshots") == 40
    assert rows(engine, "model_states") == 3
    assert rows(engine, "offers") == 6 + 20
    with engine.connect() as conn:
        source = reads.source_id(conn, "auriko")
        assert source is not None
        for info, raw in zip(reads.list_snapshots(conn, source), bodies, strict=True):
            # Every body comes back exactly, through delta chains and keyframes.
            assert reads.raw_body(conn, info.id) == raw
            assert reads.load_catalog(conn, source, info) == parse_catalog(raw)


def test_models_and_providers_coming_and_going_are_intervals(engine: Any) -> None:
    p = pipeline(engine)
    v1 = base_catalog("v1")
    v2 = copy.deepcopy(v1)
    v2["catalog_version"] = "v2"
    v2["data"].pop()  # llama-70b removed
    v2["data"][0]["providers"].append(provider("groq", 1, 1))
    v3 = copy.deepcopy(v1)
    v3["catalog_version"] = "v3"  # llama back, groq gone again
    v3["note"] = "v3"  # (and another state than v1: a top-level field)
    for hour, payload in enumerate((v1, v2, v3)):
        p.ingest(body(payload), observed_at=T0 + timedelta(hours=hour))
    with engine.connect() as conn:
        source = reads.source_id(conn, "auriko")
        assert source is not None
        infos = reads.list_snapshots(conn, source)
        catalogs = [reads.load_catalog(conn, source, info) for info in infos]
        llama = conn.execute(text(
            "SELECT valid_from, valid_to FROM model_states WHERE model_id = 'llama-70b'"
            " ORDER BY id"
        )).all()
    assert [sorted(c.models) for c in catalogs] == [
        ["claude-sonnet", "gpt-4o", "llama-70b"],
        ["claude-sonnet", "gpt-4o"],
        ["claude-sonnet", "gpt-4o", "llama-70b"],
    ]
    assert "groq" in catalogs[1].models["gpt-4o"].providers
    assert [tuple(r) for r in llama] == [(infos[0].id, infos[1].id), (infos[2].id, None)]


def _stored_rows(engine: Any, source_name: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every interval and change row of a source, its snapshot ids as their ranks."""
    with engine.connect() as conn:
        source = reads.source_id(conn, source_name)
        ids = conn.execute(text("SELECT id FROM snapshots WHERE source_id = :s ORDER BY id"),
                           {"s": source}).scalars().all()
        rank = {snapshot: at for at, snapshot in enumerate(ids)} | {None: None}
        found = {}
        for table, columns, snapshots in (
            ("model_states", "model_id, valid_from, valid_to, created, owned_by, context_window,"
             " CAST(supported_endpoints AS TEXT), CAST(extra AS TEXT)", (1, 2)),
            ("offers", "model_id, provider, valid_from, valid_to, input_price, output_price,"
             " data_policy, CAST(extra AS TEXT)", (2, 3)),
            ("changes", "from_snapshot_id, to_snapshot_id, observed_at, kind, model, provider,"
             " field, CAST(old AS TEXT), CAST(new AS TEXT), change_pct, weakened, absent",
             (0, 1)),
        ):
            result = conn.execute(text(f"SELECT {columns} FROM {table} WHERE source_id = :s"),
                                  {"s": source})
            found[table] = sorted(
                (tuple(rank[v] if at in snapshots else v for at, v in enumerate(row))
                 for row in result), key=repr)
    return found


def test_a_snapshot_stores_the_same_rows_in_one_statement_as_in_bulk(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL the interval changes of a snapshot go in one statement up to
    # ONE_STATEMENT_ROWS rows, and beyond it in bulk (COPY): the rows stored are the same.
    v1 = base_catalog("v1")
    v1["data"][0]["providers"][0]["region"] = {"name": "eu", "zones": [1, 2.5, None]}
    v1["data"][1]["supported_endpoints"] = None
    v2 = copy.deepcopy(v1)
    v2["catalog_version"] = "v2"
    v2["data"].pop()  # a model gone
    v2["data"][0]["providers"][0]["input_price"] = 0.1 + 0.2  # float noise, and a change
    v2["data"][0]["providers"][1]["data_policy"] = None
    v2["data"][1]["context_window"] = 10**12
    v2["data"].append(model("o9 \"quoted\" ✓", provider("p,{}", 1e-9, 12345678.125)))
    for name, limit in (("one", writes.ONE_STATEMENT_ROWS), ("bulk", 0)):
        monkeypatch.setattr(writes, "ONE_STATEMENT_ROWS", limit)
        p = Pipeline(engine, SourceConfig(name=name))
        for hour, payload in enumerate((v1, v2, v1)):
            p.ingest(body(payload), observed_at=T0 + timedelta(hours=hour))
    one, bulk = _stored_rows(engine, "one"), _stored_rows(engine, "bulk")
    assert all(one.values()) and len(one["changes"]) >= 10
    assert one == bulk


def test_a_failure_mid_write_leaves_no_trace(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    p = pipeline(engine)
    p.ingest(body(base_catalog("v1")), observed_at=T0)
    changed = base_catalog("v2")
    changed["data"].append(model("new-model", provider("x", 1, 1)))

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(writes, "record_changes", crash)
    with pytest.raises(RuntimeError):
        p.ingest(body(changed), observed_at=T0 + timedelta(hours=1))
    assert rows(engine, "snapshots") == 1
    assert rows(engine, "observations") == 1
    assert rows(engine, "model_states") == 3
    monkeypatch.undo()
    # The next run completes and reports the right transition.
    result = pipeline(engine).ingest(body(changed), observed_at=T0 + timedelta(hours=2))
    assert result.outcome == "new"
    assert [c["kind"] for c in result.changes] == ["model_added"]


def test_writes_that_share_a_transaction_are_undone_together_and_forgotten(
        engine: Any) -> None:
    # A backfill's versions share transactions (`shared_commits`), committed every `most`
    # writes. A failure undoes the writes not committed yet, as a crash would, and the
    # pipeline forgets what it learnt from them: SQLite gives their snapshots' ids out again.
    p = pipeline(engine)
    p.ingest(body(base_catalog("v1")), observed_at=T0)
    versions = []
    for name in ("a", "b", "c"):
        version = copy.deepcopy(versions[-1] if versions else base_catalog("v1"))
        version["catalog_version"] = f"v-{name}"
        version["data"].append(model(f"model-{name}", provider("x", 1, 1)))
        versions.append(version)
    with pytest.raises(RuntimeError, match="power cut"), p.shared_commits(most=3):
        for hour, version in enumerate(versions[:2], start=1):
            assert p.ingest(body(version), observed_at=T0 + timedelta(hours=hour)).outcome == "new"
        # The pipeline reads what its open transaction holds.
        again = p.ingest(body(versions[1]), observed_at=T0 + timedelta(hours=3))
        assert (again.outcome, again.previous.catalog_version) == ("unchanged", "v-b")
        assert rows(engine, "snapshots") == 3  # three writes: committed
        assert p.ingest(body(versions[2]), observed_at=T0 + timedelta(hours=4)).outcome == "new"
        raise RuntimeError("power cut")
    assert (rows(engine, "snapshots"), rows(engine, "observations")) == (3, 4)
    # Another writer's catalog takes the next snapshot id; this pipeline diffs against it.
    other = copy.deepcopy(versions[1])
    other["catalog_version"] = "v-other"
    other["data"].append(model("model-other", provider("x", 1, 1)))
    pipeline(engine).ingest(body(other), observed_at=T0 + timedelta(hours=5))
    result = p.ingest(body(versions[2]), observed_at=T0 + timedelta(hours=6))
    assert (result.outcome, result.previous.catalog_version) == ("new", "v-other")
    assert sorted((c["kind"], c["model"]) for c in result.changes) == [
        ("model_added", "model-c"), ("model_removed", "model-other")]


def test_a_write_the_database_refuses_undoes_its_version(
        engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # On PostgreSQL a version's writes are sent without waiting for each (tracker.store.
    # queued): the server's refusal of one comes when they are waited for, at the commit.
    # Either way the version is not stored, and the error is SQLAlchemy's, as any statement's.
    from sqlalchemy.exc import IntegrityError

    p = pipeline(engine)
    p.ingest(body(base_catalog("v1")), observed_at=T0)
    changed = base_catalog("v2")
    changed["data"].append(model("new-model", provider("x", 1, 1)))
    real = writes.record_changes

    def dangling(conn: Any, **kwargs: Any) -> None:
        real(conn, **{**kwargs, "observation_id": 10**9})  # no such observation

    monkeypatch.setattr(writes, "record_changes", dangling)
    with pytest.raises(IntegrityError):
        p.ingest(body(changed), observed_at=T0 + timedelta(hours=1))
    assert (rows(engine, "snapshots"), rows(engine, "observations"), rows(engine, "changes")) \
        == (1, 1, 0)
    monkeypatch.undo()
    result = p.ingest(body(changed), observed_at=T0 + timedelta(hours=2))
    assert (result.outcome, [c["kind"] for c in result.changes]) == ("new", ["model_added"])
    assert (rows(engine, "snapshots"), rows(engine, "changes")) == (2, 1)


def test_a_new_snapshot_is_reported_as_it_reads_back(engine: Any) -> None:
    # On PostgreSQL nothing comes back from the INSERT (its writes are queued): the snapshot
    # the run reports is made from what it wrote, and must be what the database holds.
    p = pipeline(engine)
    first = base_catalog("v1")
    first["region"] = {"name": "eu", "zones": [1, 2]}  # an unknown top-level member: extra
    second = copy.deepcopy(first)
    second["data"].append(model("new-model", provider("x", 1, 1)))
    paris = timezone(timedelta(hours=2))
    for hour, catalog in enumerate((first, second)):
        result = p.ingest(body(catalog), observed_at=(T0 + timedelta(hours=hour)).astimezone(paris))
        with engine.connect() as conn:
            source = reads.source_id(conn, "auriko")
            assert source is not None
            assert result.snapshot == reads.snapshot_by_id(conn, source, result.snapshot.id)
        assert result.snapshot.first_observed_at == T0 + timedelta(hours=hour)


def test_ingesting_an_older_observation_is_refused(engine: Any) -> None:
    from tracker.errors import UsageError

    p = pipeline(engine)
    p.ingest(body(base_catalog("v1")), observed_at=T0)
    with pytest.raises(UsageError, match="ingest versions oldest first"):
        p.ingest(body(base_catalog("v0")), observed_at=T0 - timedelta(days=1))


def test_the_code_knows_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from tracker.store.db import open_database

    path = tmp_path / "sub" / "tracker.db"
    open_database(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_database_newer_than_the_code_is_refused(engine: Any) -> None:
    from tracker.store.db import SchemaError, open_database

    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaError, match="newer than this tracker"):
        open_database(str(engine.url.render_as_string(hide_password=False)))
