"""`tracker fetch` end to end: the real CLI, real HTTP over loopback, a real database.

Reads like a user's session: fetch, fetch again, the catalog changes, fetch, look at the diff.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog, catalog, model, provider
from support.cli import TEST_KEY, Tracker
from support.db import count, rows
from support.server import CatalogServer, Reply


def outcomes(database_url: str) -> list[str]:
    return [r.outcome for r in rows(database_url, "SELECT outcome FROM observations ORDER BY id")]


@pytest.mark.new_database
def test_first_fetch_creates_the_database_and_stores_a_snapshot(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog())
    result = tracker("fetch")
    assert "first snapshot v1 stored (3 models)" in result.stdout
    assert count(database_url, "snapshots") == 1
    assert outcomes(database_url) == ["new"]
    # The key went to the server, as a bearer token.
    assert server.requests[0].headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert server.requests[0].path == "/v1/models"


def test_unchanged_fetch_adds_an_observation_not_a_snapshot(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog(), base_catalog())
    tracker("fetch")
    result = tracker("fetch")
    assert "unchanged (v1, 3 models)" in result.stdout
    assert count(database_url, "snapshots") == 1
    assert outcomes(database_url) == ["new", "unchanged"]
    assert not list((tracker.cwd / "reports").glob("changelog-*")) if (
        tracker.cwd / "reports").exists() else True


def changed_catalog() -> dict[str, Any]:
    """v2 of the base catalog: one of each kind of change."""
    payload = copy.deepcopy(base_catalog("v2"))
    gpt, claude, llama = payload["data"]
    gpt["providers"][0]["input_price"] = 2.0          # openai input 2.5 -> 2.0 (-20%)
    gpt["providers"][1]["data_policy"] = "none"       # azure zdr -> none (weakened)
    gpt["supported_endpoints"] = ["responses", "chat_completions"]
    claude["providers"].pop(1)                        # bedrock dropped
    claude["providers"].append(provider("vertex", 3.0, 15.0, "zdr"))
    claude["context_window"] = 1_000_000
    claude["tier"] = "priority"                       # an unknown field appears
    payload["data"] = [gpt, claude, model("mistral-large", provider("mistral", 2.0, 6.0, None))]
    del llama
    return payload


EXPECTED_CHANGES = [
    {"kind": "model_added", "model": "mistral-large", "provider": None, "field": None,
     "old": None, "new": {
         "id": "mistral-large", "created": 1_700_000_000, "owned_by": "acme",
         "context_window": 128_000, "supported_endpoints": ["chat_completions"],
         "providers": [{"name": "mistral", "input_price": 2, "output_price": 6,
                        "data_policy": None}]}},
    {"kind": "model_removed", "model": "llama-70b", "provider": None, "field": None,
     "old": {
         "id": "llama-70b", "created": 1_700_000_000, "owned_by": "acme",
         "context_window": 131_072, "supported_endpoints": ["chat_completions"],
         "providers": [{"name": "groq", "input_price": 0.59, "output_price": 0.79,
                        "data_policy": "zdr"},
                       {"name": "together", "input_price": 0.88, "output_price": 0.88,
                        "data_policy": "none"}]}, "new": None},
    {"kind": "provider_added", "model": "claude-sonnet", "provider": "vertex", "field": None,
     "old": None, "new": {"name": "vertex", "input_price": 3, "output_price": 15,
                          "data_policy": "zdr"}},
    {"kind": "provider_removed", "model": "claude-sonnet", "provider": "bedrock", "field": None,
     "old": {"name": "bedrock", "input_price": 3, "output_price": 15, "data_policy": "zdr"},
     "new": None},
    {"kind": "price_changed", "model": "gpt-4o", "provider": "openai", "field": "input_price",
     "old": 2.5, "new": 2, "change_pct": -20.0},
    {"kind": "data_policy_changed", "model": "gpt-4o", "provider": "azure",
     "field": "data_policy", "old": "zdr", "new": "none", "weakened": True,
     "became_unknown": False, "strengthened": False},
    {"kind": "context_window_changed", "model": "claude-sonnet", "provider": None,
     "field": "context_window", "old": 128_000, "new": 1_000_000},
    {"kind": "endpoints_changed", "model": "gpt-4o", "provider": None,
     "field": "supported_endpoints", "old": ["chat_completions"],
     "new": ["chat_completions", "responses"]},
    {"kind": "field_changed", "model": "claude-sonnet", "provider": None, "field": "tier",
     "old": None, "new": "priority", "absent": "old"},
]


def test_changed_fetch_stores_the_snapshot_and_reports_exact_changes(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog(), changed_catalog())
    tracker("fetch")
    result = tracker.json("fetch")
    assert result["outcome"] == "new"
    assert result["from"]["catalog_version"] == "v1"
    assert result["to"]["catalog_version"] == "v2"
    assert result["changes"] == EXPECTED_CHANGES

    # The same records come back from `tracker diff` and were stored in `changes`.
    assert tracker.json("diff")["changes"] == EXPECTED_CHANGES
    assert count(database_url, "changes") == len(EXPECTED_CHANGES)

    # Markdown and HTML changelogs were written, one pair per transition.
    written = sorted(p.name for p in (tracker.cwd / "reports").iterdir())
    assert len(written) == 2
    assert written[0].startswith("changelog-") and written[0].endswith("-v2.html")
    markdown = (tracker.cwd / "reports" / written[1]).read_text()
    assert "gpt-4o" in markdown and "WEAKENED" in markdown and "mistral-large" in markdown

    text_run = tracker("diff", "v1", "v2", "--format", "md").stdout
    assert "llama-70b" in text_run


def test_a_return_to_an_earlier_version_is_a_transition(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog(), changed_catalog(), base_catalog())
    tracker("fetch")
    tracker("fetch")
    back = tracker.json("fetch")
    assert back["outcome"] == "reverted"
    assert back["from"]["catalog_version"] == "v2"
    assert back["to"]["catalog_version"] == "v1"
    kinds = [c["kind"] for c in back["changes"]]
    assert kinds.count("model_added") == 1 and kinds.count("model_removed") == 1
    price = next(c for c in back["changes"] if c["kind"] == "price_changed")
    assert (price["old"], price["new"], price["change_pct"]) == (2, 2.5, 25.0)
    # No new snapshot: v1 is known. Two transitions are stored, each with its changes.
    assert count(database_url, "snapshots") == 2
    assert outcomes(database_url) == ["new", "new", "reverted"]
    assert tracker.json("diff")["to"]["catalog_version"] == "v1"


def test_unversioned_payloads_are_identified_by_content_regardless_of_order(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    first = base_catalog(version=None)
    shuffled = copy.deepcopy(first)
    shuffled["data"].reverse()
    for item in shuffled["data"]:
        item["providers"].reverse()
    shuffled["catalog_age_seconds"] = 999  # the age of the response is not content
    server.serve(first, shuffled)
    tracker("fetch")
    second = tracker.json("fetch")
    assert second["outcome"] == "unchanged"
    assert second["to"]["catalog_version"] is None
    assert len(second["to"]["content_hash"]) == 64
    assert count(database_url, "snapshots") == 1

    moved = copy.deepcopy(shuffled)
    moved["data"][0]["providers"][0]["input_price"] = 0.5
    server.serve(moved)
    third = tracker.json("fetch")
    assert third["outcome"] == "new"
    assert [c["kind"] for c in third["changes"]] == ["price_changed"]


def test_429_then_success_retries_and_stores_one_snapshot(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(
        Reply(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"}),
        Reply(429, b"{}", {"Retry-After": "0.05"}),
        base_catalog(),
    )
    result = tracker("fetch")
    assert "first snapshot" in result.stdout
    assert len(server.requests) == 3
    assert count(database_url, "snapshots") == 1
    assert outcomes(database_url) == ["new"]


def test_500_until_retries_run_out_exits_3_and_records_the_failure(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(Reply(500, b'{"error": {"message": "upstream exploded"}}'))
    result = tracker("fetch", "--retries", "2", check=3)
    assert len(server.requests) == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("tracker: error: HTTP 500 from http://127.0.0.1:")
    assert "upstream exploded" in lines[-1] and "gave up after 3 attempts" in lines[-1]
    assert "Traceback" not in result.stderr
    assert count(database_url, "snapshots") == 0
    (row,) = rows(database_url, "SELECT * FROM observations")
    assert (row.outcome, row.http_status, row.snapshot_id) == ("failed", 500, None)
    assert "HTTP 500" in row.error


def test_a_refused_key_exits_3_without_retrying_or_showing_the_key(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(Reply(401, json.dumps(
        {"error": {"message": f"Invalid API key {TEST_KEY}", "code": "invalid_api_key"}}
    ).encode()))
    result = tracker("fetch", "-v", check=3)
    assert len(server.requests) == 1
    assert "the API key was refused" in result.stderr and "HTTP 401" in result.stderr
    assert TEST_KEY not in result.stderr + result.stdout
    assert outcomes(database_url) == ["failed"]


def test_no_key_is_a_configuration_error(tracker: Tracker, server: CatalogServer) -> None:
    env = dict(tracker.env)
    del env["AURIKO_API_KEY"]
    result = Tracker(env, tracker.cwd)("fetch", check=2)
    assert "no API key" in result.stderr and "AURIKO_API_KEY" in result.stderr
    assert server.requests == []


def test_the_key_can_come_from_a_file(tracker: Tracker, server: CatalogServer,
                                      tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("ak_from_file\n")
    env = {k: v for k, v in tracker.env.items() if k != "AURIKO_API_KEY"}
    env["AURIKO_API_KEY_FILE"] = str(key_file)
    server.serve(base_catalog())
    Tracker(env, tracker.cwd)("fetch")
    assert server.requests[0].headers["Authorization"] == "Bearer ak_from_file"


INVALID_PAYLOADS = {
    "html": (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
    "not json": (b'{"object": "list", "data": [', "not valid JSON"),
    "wrong type": (json.dumps(catalog(model("m", provider("p", "2.5", 1.0)))).encode(),
                   "model 'm' providers[0].input_price"),
    "negative price": (json.dumps(catalog(model("m", provider("p", -1, 1.0)))).encode(),
                       "model 'm' providers[0].input_price: Expected `float` >= 0.0"),
    "nan": (b'{"object": "list", "data": [{"id": "m", "created": 1, "owned_by": "x",'
            b' "providers": [{"name": "p", "input_price": NaN, "output_price": 1}]}]}',
            "not valid JSON"),
    "duplicate model": (json.dumps(catalog(model("m"), model("m"))).encode(),
                        "duplicate model id"),
    "duplicate provider": (json.dumps(catalog(model(
        "m", provider("p", 1, 1), provider("p", 2, 2)))).encode(), "duplicate provider name"),
    "missing id": (json.dumps({"object": "list", "data": [{"created": 1, "owned_by": "x"}]}
                              ).encode(), "data[0]: Object missing required field `id`"),
}


def test_invalid_payloads_exit_4_and_store_no_snapshot(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    for name, (payload, expected) in INVALID_PAYLOADS.items():
        server.serve(payload)
        result = tracker("fetch", check=4)
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("tracker: error: payload rejected"), (name, line)
        assert expected in line, (name, line)
    assert count(database_url, "snapshots") == 0
    assert outcomes(database_url) == ["rejected"] * len(INVALID_PAYLOADS)
    # A rejection after a good fetch leaves the current state alone.
    server.serve(base_catalog(), INVALID_PAYLOADS["html"][0], base_catalog())
    tracker("fetch")
    tracker("fetch", check=4)
    assert "unchanged" in tracker("fetch").stdout


def test_the_key_never_reaches_the_database_reports_or_logs(
    tracker: Tracker, server: CatalogServer, database_url: str, tmp_path: Path
) -> None:
    server.serve(base_catalog(), Reply(503, b"{}"), Reply(401, TEST_KEY.encode()),
                 b"<html>" + TEST_KEY.encode(), changed_catalog())
    outputs = [tracker("-vv", "fetch")]
    outputs.append(tracker("-vv", "fetch", "--retries", "0", check=3))
    outputs.append(tracker("-vv", "fetch", check=3))
    outputs.append(tracker("-vv", "fetch", check=4))
    outputs.append(tracker("-vv", "--log-format", "json", "fetch"))
    outputs.append(tracker("-vv", "diff", "--format", "html"))
    for run in outputs:
        assert TEST_KEY not in run.stdout + run.stderr
    for path in (tmp_path / "reports").iterdir():
        assert TEST_KEY not in path.read_text()
    for table in ("sources", "observations", "snapshots", "model_states", "offers", "changes"):
        for row in rows(database_url, f"SELECT * FROM {table}"):
            assert TEST_KEY not in repr(row), table
    if database_url.startswith("sqlite"):
        raw = Path(database_url.removeprefix("sqlite:///")).read_bytes()
        assert TEST_KEY.encode() not in raw


def test_responses_endpoint_is_asked_for_with_the_query_parameter(
    tracker: Tracker, server: CatalogServer
) -> None:
    server.serve(base_catalog())
    tracker("fetch", "--endpoint", "responses")
    assert server.requests[0].path == "/v1/models?endpoint=responses"


def test_plain_http_to_a_remote_host_is_refused_before_sending_the_key(
    tracker: Tracker, server: CatalogServer
) -> None:
    result = tracker("fetch", "--base-url", "http://api.example.com/v1", check=2)
    assert "refusing to send the API key over plain http" in result.stderr


def test_redirect_to_another_host_is_not_followed(
    tracker: Tracker, server: CatalogServer
) -> None:
    server.serve(Reply(302, b"", {"Location": "https://evil.example.com/v1/models"}))
    result = tracker("fetch", check=3)
    assert "redirected" in result.stderr and "another host" in result.stderr
    assert len(server.requests) == 1
