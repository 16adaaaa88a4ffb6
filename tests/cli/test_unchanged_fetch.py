"""An unchanged poll of a real router (issue 11): its catalog_age_seconds is new on every
request, so its bytes never repeat, yet it is the same catalog. `tracker fetch` recognizes it
without parsing the catalog again, on both backends, and anything else still goes through the
whole parse: another price of the same length, an invalid catalog_age_seconds, a repeated key.
"""

from __future__ import annotations

import copy

import pytest
from support.builders import base_catalog, body
from support.cli import Tracker
from support.db import rows
from support.server import CatalogServer, Reply

import tracker.sources.auriko
import tracker.store.reads
from tracker.catalog import catalog_text_digest


def aged(seconds: int, version: str = "v1") -> bytes:
    return body({**base_catalog(version), "catalog_age_seconds": seconds})


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the auriko adapter parsed (the fetches run in this process)."""
    seen: list[bytes] = []
    parse = tracker.sources.auriko.parse_catalog

    def counting(payload: bytes, previous: object = None) -> object:
        seen.append(payload)
        return parse(payload, previous)  # type: ignore[arg-type]

    monkeypatch.setattr(tracker.sources.auriko, "parse_catalog", counting)
    return seen


def test_the_same_catalog_at_another_age_is_unchanged_without_a_parse(
    tracker: Tracker, server: CatalogServer, database_url: str, parses: list[bytes]
) -> None:
    server.serve(Reply(200, aged(5)), Reply(200, aged(65)), Reply(200, aged(3605)))
    runs = [tracker.json("fetch") for _ in range(3)]
    assert [r["outcome"] for r in runs] == ["new", "unchanged", "unchanged"]
    assert len(parses) == 1  # only the first body was parsed
    stored = rows(database_url, "SELECT outcome, snapshot_id, catalog_version, content_hash "
                                "FROM observations ORDER BY id")
    assert {(r.snapshot_id, r.catalog_version, r.content_hash) for r in stored} == {
        (runs[0]["to"]["id"], "v1", runs[0]["to"]["content_hash"])}


def test_another_price_of_the_same_length_is_parsed_and_is_a_change(
    tracker: Tracker, server: CatalogServer, parses: list[bytes]
) -> None:
    changed = copy.deepcopy(base_catalog())
    changed["data"][0]["providers"][0]["input_price"] = 3.5  # 2.5 -> 3.5: the same size
    server.serve(Reply(200, aged(5)), Reply(200, body({**changed, "catalog_age_seconds": 9})))
    tracker("fetch")
    run = tracker.json("fetch")
    assert run["outcome"] == "new" and len(parses) == 2
    assert [(c["field"], c["old"], c["new"]) for c in run["changes"]] == [
        ("input_price", 2.5, 3.5)]


def test_an_invalid_age_or_a_repeated_key_is_rejected_not_taken_for_unchanged(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    repeated = aged(7).replace(b'"object": "list"', b'"object": "list", "object": "list"')
    server.serve(Reply(200, aged(5)), Reply(200, aged(5).replace(b": 5,", b': "5",')),
                 Reply(200, repeated))
    tracker("fetch")
    invalid = tracker("fetch", check=4)
    assert "catalog_age_seconds" in invalid.stderr
    twice = tracker("fetch", check=4)
    assert "duplicate key 'object'" in twice.stderr
    assert [r.outcome for r in rows(database_url, "SELECT outcome FROM observations "
                                                  "ORDER BY id")] == ["new", "rejected",
                                                                      "rejected"]


@pytest.fixture
def read_backs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The snapshots whose stored body was read back (the fetches run in this process)."""
    seen: list[int] = []
    raw_body = tracker.store.reads.raw_body

    def counting(conn: object, snapshot_id: int) -> bytes:
        seen.append(snapshot_id)
        return raw_body(conn, snapshot_id)  # type: ignore[arg-type]

    monkeypatch.setattr(tracker.store.reads, "raw_body", counting)
    return seen


def test_the_first_poll_at_another_age_records_the_digest_the_later_ones_compare(
    tracker: Tracker, server: CatalogServer, database_url: str, parses: list[bytes],
    read_backs: list[int]
) -> None:
    changed = copy.deepcopy(base_catalog())
    changed["data"][0]["providers"][0]["input_price"] = 3.5  # the same size
    repeated = aged(245).replace(b'"object": "list"', b'"object": "list", "object": "list"')
    server.serve(Reply(200, aged(5)), Reply(200, aged(65)), Reply(200, aged(125)),
                 Reply(200, aged(185)), Reply(200, aged(5).replace(b": 5,", b': "5",')),
                 Reply(200, repeated), Reply(200, body({**changed, "catalog_age_seconds": 9})))
    first = tracker.json("fetch")
    assert rows(database_url, "SELECT catalog_sha256 FROM snapshots")[0].catalog_sha256 is None

    assert tracker.json("fetch")["outcome"] == "unchanged"  # the bodies compared, once
    assert read_backs == [first["to"]["id"]]
    (snapshot,) = rows(database_url, "SELECT catalog_sha256 FROM snapshots")
    assert snapshot.catalog_sha256 == catalog_text_digest(aged(5)) == catalog_text_digest(aged(65))

    assert [tracker.json("fetch")["outcome"] for _ in range(2)] == ["unchanged", "unchanged"]
    assert read_backs == [first["to"]["id"]]  # the digests compared: nothing read back
    assert len(parses) == 1

    # A digest vouches only for a valid catalog text: an invalid age or a repeated key is
    # still rejected, and another price of the same size is still parsed and a change.
    assert "catalog_age_seconds" in tracker("fetch", check=4).stderr
    assert "duplicate key 'object'" in tracker("fetch", check=4).stderr
    run = tracker.json("fetch")
    assert run["outcome"] == "new" and len(parses) == 4
    assert [(c["field"], c["old"], c["new"]) for c in run["changes"]] == [
        ("input_price", 2.5, 3.5)]
