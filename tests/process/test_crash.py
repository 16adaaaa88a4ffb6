"""Crash safety: `tracker fetch` and `tracker import-git` killed with SIGKILL at random moments
leave a consistent database with no partial snapshot, and the next run completes and reports
the right transition. Concurrent readers never see half a snapshot."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from support.builders import model, provider
from support.cli import Tracker, TrackerProcess
from support.db import count
from support.git import git
from support.server import CatalogServer

from tracker.catalog import parse_catalog
from tracker.diff import diff_catalogs
from tracker.store import reads

pytestmark = [pytest.mark.slow, pytest.mark.new_database]

# Per backend: 12 kills of fetch and 8 of import-git, 20 crashes survived in all.
FETCH_KILLS = 12
IMPORT_KILLS = 8


def big_catalog(version: int, models: int = 600) -> dict[str, Any]:
    """A catalog large enough that storing it takes a while; each version moves a few prices
    and drops one model, so every version is a real transition."""
    data = [
        model(f"model-{i:05d}", provider("p1", 1 + (i * version) % 7, 2.5),
              provider("p2", 0.5, 1 + (i + version) % 5, "no_training"))
        for i in range(models) if i != version % models
    ]
    return {"object": "list", "catalog_version": f"v{version:03d}", "data": data}


def check_consistent(database_url: str) -> int:
    """Assert the invariants a crash must not break; return the number of snapshots."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            if not inspect(conn).has_table("sources"):
                return 0  # killed before the first migration committed: nothing was written
            source = reads.source_id(conn, "auriko")
            if source is None:
                return 0
            infos = reads.list_snapshots(conn, source)
            for info in infos:
                # Written with its observation, its interval rows and its body, or not at all.
                seen = conn.execute(text(
                    "SELECT count(*) FROM observations WHERE snapshot_id = :id"), {"id": info.id}
                ).scalar_one()
                assert seen >= 1, f"snapshot {info.id} has no observation"
                catalog = reads.load_catalog(conn, source, info)
                assert len(catalog.models) == info.model_count
                raw = reads.raw_body(conn, info.id)
                assert hashlib.sha256(raw).hexdigest() == info.raw_sha256
                assert parse_catalog(raw).content_hash == info.content_hash
            return len(infos)
    finally:
        engine.dispose()


def test_fetch_killed_at_random_moments(tracker: Tracker, tracker_process: TrackerProcess,
                                        server: CatalogServer, database_url: str) -> None:
    rng = random.Random(7)
    bodies = {v: json.dumps(big_catalog(v)).encode() for v in range(FETCH_KILLS + 2)}
    server.serve(bodies[0])
    tracker("fetch")
    for attempt in range(1, FETCH_KILLS + 1):
        server.serve(bodies[attempt])
        process = tracker_process.start("fetch", output=False)
        time.sleep(rng.uniform(0.3, 1.3))  # start-up takes ~0.5 s: kill anywhere after
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_consistent(database_url)

        # The next run completes and reports the transition from the last stored state.
        result = tracker.json("fetch")
        assert result["outcome"] in ("new", "unchanged")
        engine = create_engine(database_url)
        with engine.connect() as conn:
            source = reads.source_id(conn, "auriko")
            assert source is not None
            if result["outcome"] == "new":
                before = reads.raw_body(conn, result["from"]["id"])
                expected = diff_catalogs(parse_catalog(before), parse_catalog(bodies[attempt]))
                assert result["changes"] == expected
            state = reads.state_at(conn, source)
            assert state is not None and state[0].catalog_version == f"v{attempt:03d}"
        engine.dispose()
    assert check_consistent(database_url) == FETCH_KILLS + 1


def test_import_git_killed_at_random_moments_resumes(tracker: Tracker,
                                                     tracker_process: TrackerProcess,
                                                     tmp_path: Path, database_url: str) -> None:
    rng = random.Random(11)
    versions = 24
    repo_path = tmp_path / "scrape"
    repo_path.mkdir()
    git(repo_path, "init", "-q", "-b", "main")
    for v in range(versions):
        (repo_path / "models.json").write_text(json.dumps(big_catalog(v, models=800)))
        git(repo_path, "add", "-A")
        git(repo_path, "commit", "-q", "-m", f"v{v}", when=f"2026-11-01T00:{v:02d}:00Z")
    for _ in range(IMPORT_KILLS):
        process = tracker_process.start("import-git", str(repo_path), "models.json",
                                        output=False)
        time.sleep(rng.uniform(0.3, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_consistent(database_url)
    summary = tracker.json("import-git", str(repo_path), "models.json")
    assert summary["imported"] + summary["skipped"] == versions
    assert check_consistent(database_url) == versions
    latest = tracker.json("diff", "v000", "latest")
    expected = diff_catalogs(parse_catalog(json.dumps(big_catalog(0, 800)).encode()),
                             parse_catalog(json.dumps(big_catalog(versions - 1, 800)).encode()))
    assert latest["changes"] == expected


def test_readers_never_see_half_a_snapshot(tracker_process: TrackerProcess,
                                           server: CatalogServer, database_url: str) -> None:
    tracker = tracker_process  # the writer is a process of its own, as cron's would be
    versions = [json.dumps(big_catalog(v, models=400)).encode() for v in range(6)]
    server.serve(versions[0])
    tracker("fetch")
    problems: list[str] = []
    read_count = 0
    stop = threading.Event()

    def read_continuously() -> None:
        nonlocal read_count
        engine = create_engine(database_url)
        while not stop.is_set():
            try:
                with engine.connect() as conn:
                    source = reads.source_id(conn, "auriko")
                    assert source is not None
                    state = reads.state_at(conn, source)
                    assert state is not None
                    loaded = reads.load_catalog(conn, source, state[0])
                    if len(loaded.models) != state[0].model_count:
                        problems.append(f"half a snapshot: {state[0].catalog_version}")
                read_count += 1
            except Exception as exc:  # a reader must never fail, "database is locked" least
                problems.append(repr(exc))
        engine.dispose()

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for body in versions[1:]:
            server.serve(body)
            started = time.monotonic()
            tracker("fetch")
            assert time.monotonic() - started < 30  # readers never block the writer
    finally:
        stop.set()
        reader.join()
    assert problems == []
    assert read_count > 10
    assert count(database_url, "snapshots") == 6


def test_a_sigkilled_fetch_left_nothing_of_its_snapshot(
    tracker: Tracker, tracker_process: TrackerProcess, server: CatalogServer, database_url: str
) -> None:
    """Kill just as the write starts, many times: never a snapshot without its rows."""
    base = big_catalog(1)
    server.serve(base)
    tracker("fetch")
    changed = copy.deepcopy(base)
    changed["catalog_version"] = "v999"
    for item in changed["data"]:
        item["providers"][0]["input_price"] += 1  # every offer changes: a long write
    server.serve(json.dumps(changed).encode())
    for delay in (0.5, 0.7, 0.9, 1.1):
        process = tracker_process.start("fetch", output=False)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_consistent(database_url)
    assert tracker.json("fetch")["outcome"] in ("new", "unchanged")
    assert check_consistent(database_url) == 2
