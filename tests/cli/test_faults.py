"""Every fault of the network, the remote API or the payload ends the same careful way: the
documented exit code, one clear line on stderr, an observation row with its outcome and error,
no snapshot, and the key nowhere. Transient faults followed by success end in one snapshot."""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog, body
from support.cli import TEST_KEY, Tracker
from support.db import count, rows
from support.faults import Fault, FaultServer

GOOD = body(base_catalog())


@functools.cache
def gzip_bomb() -> bytes:
    """51 MB of JSON whitespace in about 50 KB: over the 50 MB cap once decompressed."""
    return gzip.compress(b'{"object": "list", "data": []' + b" " * (51 * 1024 * 1024) + b"}")


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def run(tracker: Tracker, faults: FaultServer) -> Tracker:
    env = {**tracker.env, "AURIKO_BASE_URL": faults.base_url}
    return Tracker(env, tracker.cwd)


def stored(database_url: str) -> tuple[int, list[Any]]:
    """The number of snapshots and every observation, oldest first; the key is in no row."""
    dump = " ".join(repr(r) for t in ("sources", "observations", "snapshots", "changes")
                    for r in rows(database_url, f"SELECT * FROM {t}"))
    assert TEST_KEY not in dump
    return (count(database_url, "snapshots"),
            rows(database_url, "SELECT * FROM observations ORDER BY id"))


# (id, replies, extra CLI args, exit code, outcome, HTTP status stored, words in the line)
PERMANENT = [
    ("500", [Fault.status(500)], [], 3, "failed", 500, "HTTP 500"),
    ("502", [Fault.status(502)], [], 3, "failed", 502, "HTTP 502"),
    ("503", [Fault.status(503)], [], 3, "failed", 503, "HTTP 503"),
    ("504", [Fault.status(504)], [], 3, "failed", 504, "HTTP 504"),
    ("429 forever", [Fault.retry_after_seconds("0")], [], 3, "failed", 429, "HTTP 429"),
    ("401", [Fault.auth(401)], [], 3, "failed", 401, "the API key was refused"),
    ("403", [Fault.auth(403)], [], 3, "failed", 403, "HTTP 403"),
    ("html 200", [Fault.ok(b"<!DOCTYPE html><h1>Gateway timeout</h1>")], [], 4, "rejected",
     200, "HTML"),
    ("truncated", [Fault.truncated(GOOD)], [], 3, "failed", None, "RemoteProtocolError"),
    ("cut json", [Fault.ok(GOOD[: len(GOOD) // 2])], [], 4, "rejected", 200,
     "not valid JSON"),
    ("slow", [Fault.slow(GOOD, 2.0)], ["--timeout", "0.3"], 3, "failed", None,
     "ReadTimeout"),
    ("reset", [Fault.reset()], [], 3, "failed", None, "cannot fetch"),
    ("redirect away", [Fault.redirect("https://elsewhere.example/v1/models")], [], 3,
     "failed", 302, "another host"),
    ("over the cap", [Fault.ok(gzip_bomb(), {"Content-Encoding": "gzip"})], [], 3, "failed",
     200, "50 MB cap"),
    ("empty data", [Fault.ok(b'{"object": "list", "data": []}')], [], 4, "suspicious", 200,
     "catalog is empty"),
    ("invalid utf-8", [Fault.ok(b'{"object": "list", "data": [{"id": "m\xff", "created": 1,'
                                b' "owned_by": "x"}]}')], [], 4, "rejected", 200,
     "not valid JSON"),
    ("deep nesting", [Fault.ok(b'{"object": "list", "data": [], "x": ' + b"[" * 100_000
                               + b"]" * 100_000 + b"}")], [], 4, "rejected", 200,
     "not valid JSON"),
    ("duplicate keys", [Fault.ok(b'{"object": "list", "object": "list", "data": []}')], [], 4,
     "rejected", 200, "duplicate key 'object'"),
    ("duplicate model keys", [Fault.ok(json.dumps(base_catalog()).replace(
        '"owned_by": "acme"', '"owned_by": "acme", "owned_by": "evil"', 1).encode())], [], 4,
     "rejected", 200, "duplicate key 'owned_by'"),
]


@pytest.mark.parametrize(("replies", "args", "code", "outcome", "status", "words"),
                         [p[1:] for p in PERMANENT], ids=[p[0] for p in PERMANENT])
def test_a_fault_is_recorded_and_never_stored(
    run: Tracker, faults: FaultServer, database_url: str, replies: list[Fault],
    args: list[str], code: int, outcome: str, status: int | None, words: str,
) -> None:
    faults.script(*replies)
    result = run("fetch", "--retries", "1", *args, check=code)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tracker: error: ") and words in lines[0], lines[0]
    assert TEST_KEY not in result.stderr + result.stdout
    snapshots, seen = stored(database_url)
    assert snapshots == 0
    assert [(o.outcome, o.http_status, o.snapshot_id) for o in seen] == [(outcome, status, None)]
    assert words in seen[0].error


TRANSIENT = [
    ("429 seconds", [Fault.retry_after_seconds("0")]),
    ("429 http-date", [Fault.retry_after_date()]),
    ("429 no retry-after", [Fault.status(429)]),
    ("503", [Fault.status(503), Fault.status(503)]),
    ("reset", [Fault.reset()]),
    ("truncated", [Fault.truncated(GOOD)]),
]


@pytest.mark.parametrize("replies", [t[1] for t in TRANSIENT], ids=[t[0] for t in TRANSIENT])
def test_transient_faults_then_success_end_in_one_snapshot(
    run: Tracker, faults: FaultServer, database_url: str, replies: list[Fault]
) -> None:
    faults.script(*replies, Fault.ok(GOOD))
    result = run("fetch", "--retries", "3")
    assert "first snapshot v1 stored" in result.stdout
    assert result.stderr == ""
    assert faults.requests == len(replies) + 1
    snapshots, seen = stored(database_url)
    assert snapshots == 1 and [o.outcome for o in seen] == ["new"]


def test_a_gzip_body_is_decoded(run: Tracker, faults: FaultServer, database_url: str) -> None:
    faults.script(Fault.gzip(GOOD))
    run("fetch")
    assert stored(database_url)[0] == 1


def test_a_catalog_that_loses_most_models_is_held_until_accepted(
    run: Tracker, faults: FaultServer, database_url: str
) -> None:
    glitch = base_catalog("v2")
    glitch["data"] = glitch["data"][:1]  # 2 of 3 models gone: more than half
    faults.script(Fault.ok(GOOD), Fault.ok(body(glitch)))
    run("fetch")
    held = run("fetch", check=4)
    assert "catalog held as suspicious: 2 of 3 models are gone (67%" in held.stderr
    assert "--accept-shrink" in held.stderr
    snapshots, seen = stored(database_url)
    assert snapshots == 1 and [o.outcome for o in seen] == ["new", "suspicious"]
    assert seen[1].rejected_body is not None  # the body is kept for audit
    # Reports see no removal: the state did not change.
    assert run.json("diff")["to"]["catalog_version"] == "v1"
    accepted = run.json("fetch", "--accept-shrink")
    assert accepted["outcome"] == "new"
    assert [c["kind"] for c in accepted["changes"]] == ["model_removed", "model_removed"]


def test_a_held_catalog_seen_again_is_accepted_when_configured(
    run: Tracker, faults: FaultServer, database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text(f'[sources.auriko]\nbase_url = "{faults.base_url}"\n'
                      "accept_shrink_after = 2\n")
    glitch = base_catalog("v2")
    glitch["data"] = []
    faults.script(Fault.ok(GOOD), Fault.ok(body(glitch)))
    run("--config", str(config), "fetch")
    run("--config", str(config), "fetch", check=4)
    second = run.json("--config", str(config), "fetch")
    assert second["outcome"] == "new" and second["to"]["model_count"] == 0
