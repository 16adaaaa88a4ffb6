"""Remote strings reach no terminal raw: a `catalog_version`, an id or an error message that
holds `ESC[2J` (clear the screen) or U+202E (reverse the line) is shown as visible escapes in
the fetch summary, `snapshots`, `sources`, `status`, the `tracker: error:` line and the log
lines. Ids that look alike but differ (U+2011 for `-`, a zero-width space) can be told apart
in every output, CSV cells included; a 10,000-character id is named by its first 60."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.builders import base_catalog, body, catalog, model, provider
from support.cli import Result, Tracker
from support.histories import LOOKALIKES
from support.server import CatalogServer, Reply

CLEAR = "\x1b[2J"
RLO = "\u202e"  # right-to-left override
HOSTILE_VERSION = f"v2{CLEAR}{RLO}gnp.exe"


def raw_control(result: Result) -> list[str]:
    """The terminal-controlling characters in a command's output."""
    text = result.stdout + result.stderr
    return [ch for ch in text if ch in (CLEAR[0], RLO, "\u2066", "\u200b", "\r")]


def test_a_hostile_catalog_version_is_shown_escaped_on_every_terminal_line(
    tracker: Tracker, server: CatalogServer
) -> None:
    hostile = base_catalog(HOSTILE_VERSION)
    hostile["data"][0]["providers"][0]["input_price"] = 2.0
    server.serve(base_catalog("v1"), hostile)
    results = [tracker("fetch"), tracker("-v", "fetch"), tracker("snapshots"),
               tracker("sources"), tracker("status"), tracker("diff", "--format", "md")]
    for result in results:
        assert raw_control(result) == [], result
    fetched = results[1]
    assert "new snapshot v2\\x1b[2J\\u202egnp.exe" in fetched.stdout  # the summary
    assert "new snapshot v2\\x1b[2J\\u202egnp.exe" in fetched.stderr  # the log line
    assert "v2\\x1b[2J\\u202egnp.exe" in results[2].stdout  # snapshots
    # JSON keeps the exact value (JSON escapes control characters itself).
    assert tracker.json("snapshots")[-1]["catalog_version"] == HOSTILE_VERSION


def test_a_hostile_error_message_is_one_escaped_line(tracker: Tracker,
                                                     server: CatalogServer) -> None:
    message = f"upstream down{CLEAR}\r\nFAKE: all good {RLO}"
    server.serve(Reply(503, json.dumps({"error": {"message": message}}).encode()))
    for args in (("fetch", "--retries", "0"), ("-v", "fetch", "--retries", "0"),
                 ("--log-format", "json", "-v", "fetch", "--retries", "0")):
        result = tracker(*args, check=3)
        assert raw_control(result) == []
        errors = [line for line in result.stderr.splitlines() if "tracker: error:" in line]
        assert len(errors) == 1 and "upstream down\\x1b[2J" in errors[0]
        assert not any(line.startswith("FAKE") for line in result.stderr.splitlines())


def test_a_hostile_id_in_a_rejection_is_escaped(tracker: Tracker, tmp_path: Path) -> None:
    bad = model(f"m{CLEAR}{RLO}\u2011x", provider("p", -1, 1))  # a negative price: rejected
    result = tracker("ingest", "-", input=body(catalog(bad)), check=4)
    assert raw_control(result) == [] and "\u2011" not in result.stderr
    assert "model 'm\\x1b[2J\\u202e\\u2011x'" in result.stderr


@pytest.fixture
def lookalikes(tracker: Tracker, lookalike_history: None) -> Tracker:
    """The tracker on a copy of the look-alike history (tests/support/histories.py)."""
    return tracker


def shown(text: str) -> set[str]:
    """The look-alike ids as `text` shows them."""
    return {form for form in ("gpt-4o", "gpt\\u20114o", "gpt-4o\\u200b") if form in text}


@pytest.mark.parametrize("args", [
    ("diff", "v1", "v2", "--format", "md"),
    ("diff", "v1", "v2", "--format", "html"),
    ("report", "--since", "2026-10-01", "--until", "2026-12-01", "--format", "md"),
    ("report", "--since", "2026-10-01", "--until", "2026-12-01", "--format", "html"),
    ("audit", "--format", "md"),
    ("audit", "--format", "html"),
    ("audit", "--format", "csv"),
    ("audit", "--current", "--format", "csv"),
    ("feed",),
    ("history", "gpt\u20114o"),
    ("history", "gpt\u20114o", "--format", "html"),
], ids=lambda args: " ".join(a for a in args if not a.startswith("20")))
def test_lookalike_ids_can_be_told_apart_in_every_output(lookalikes: Tracker,
                                                         args: tuple[str, ...]) -> None:
    result = lookalikes(*args)
    assert "\u2011" not in result.stdout and "\u200b" not in result.stdout
    assert "\u00a0" not in result.stdout  # the provider's no-break space shows too
    if args[0] == "history":
        assert shown(result.stdout) == {"gpt\\u20114o"}
    else:
        assert shown(result.stdout) == {"gpt-4o", "gpt\\u20114o", "gpt-4o\\u200b"}
    if "csv" in args:
        cells = [c for row in csv.reader(io.StringIO(result.stdout)) for c in row]
        assert {"gpt-4o", "gpt\\u20114o", "gpt-4o\\u200b"} <= set(cells)


def test_lookalike_ids_stay_exact_in_json(lookalikes: Tracker) -> None:
    changes = lookalikes.json("diff", "v1", "v2")["changes"]
    assert sorted(c["model"] for c in changes) == sorted(LOOKALIKES)


def test_an_over_long_id_is_named_by_its_first_60_characters(tracker: Tracker) -> None:
    long_id = "x" * 60 + "q" * 9_940
    payload = catalog(model(long_id, provider("p", 1, 2)), model(long_id, provider("p", 1, 2)))
    result = tracker("ingest", "-", input=body(payload), check=4)
    (line,) = result.stderr.strip().splitlines()
    assert len(line) < 400
    assert f"model '{'x' * 60}'… (10,000 characters)" in line and "q" not in line


@pytest.mark.parametrize("version", ["", "   ", "\t\n"], ids=["empty", "spaces", "tab newline"])
def test_a_blank_catalog_version_is_rejected(tracker: Tracker, version: str) -> None:
    result = tracker("ingest", "-", input=body(base_catalog(version)), check=4)
    assert "catalog_version: Expected `str` of length >= 1" in result.stderr
