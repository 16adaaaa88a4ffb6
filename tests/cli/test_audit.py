"""`tracker audit`: every data-policy change of a window, and the policies as they stand."""

from __future__ import annotations

import csv
import io
import json

from support.builders import catalog, model, provider
from support.cli import Tracker
from support.histories import T3, T4, T5, ingest


def test_the_audit_trail(tracker: Tracker, report_history: dict) -> None:
    records = json.loads(tracker("audit", "--format", "json").stdout)

    assert [(r["observed_at"], r["catalog_version"], r["model"], r["provider"], r["old"],
             r["new"], r["weakened"], r["became_unknown"]) for r in records] == [
        (T3, "v3", "claude-sonnet", "bedrock", "zdr", "none", True, False),
        (T4, "v4", "claude-sonnet", "anthropic", "no_training", None, False, True),
        (T4, "v4", "claude-sonnet", "bedrock", "none", "zdr", False, False),
        (T5, "v2", "claude-sonnet", "anthropic", None, "no_training", False, False),
    ]
    assert {r["source"] for r in records} == {"auriko"}
    assert records[0]["previous_catalog_version"] == "v2"

    # a window, half-open; --weakened keeps weakenings and policies that became unknown
    window = json.loads(tracker("audit", "--since", T4, "--until", T5, "--weakened",
                                "--format", "json").stdout)
    assert [(r["provider"], r["became_unknown"]) for r in window] == [("anthropic", True)]

    # CSV for spreadsheets: one row per record, booleans spelled out, null as empty
    rows = list(csv.DictReader(io.StringIO(tracker("audit", "--format", "csv").stdout)))
    assert len(rows) == 4
    assert rows[0]["observed_at"] == T3 and rows[0]["weakened"] == "true"
    assert rows[1]["new"] == "" and rows[1]["became_unknown"] == "true"

    md = tracker("audit").stdout
    assert ("**Summary:** 4 data-policy changes, 1 weakened, 1 became unknown, "
            "1 strengthened (1 restored).") in md
    assert ("| 2026-01-07 09:00 UTC | v3 | claude-sonnet | bedrock | zdr | none | **WEAKENED** |"
            in md)
    assert "| no\\_training | not stated | **BECAME UNKNOWN** |" in md
    page = tracker("audit", "--format", "html").stdout
    assert page.count('<tr class="weakened">') == 2  # in the lead table and in the full one
    assert page.count('<tr class="unknown">') == 2
    assert "<script" not in page

    empty = tracker("audit", "--since", "2030-01-01", "--until", "2030-02-01").stdout
    assert "No data-policy changes in the window." in empty


def test_the_policies_as_they_stand(tracker: Tracker) -> None:
    formula = "=HYPERLINK(\"http://evil\",\"x\")"
    ingest(tracker, catalog(
        model("open-only", provider("cheap-host", 0.1, 0.2, "none"),
              provider("-other", 0.1, 0.2, "none")),
        model("mixed", provider("cheap-host", 0.1, 0.2, "none"), provider(formula, 1, 2, None)),
        model("safe", provider("cheap-host", 0.1, 0.2, "none"), provider("vault", 1, 2, "zdr")),
        version="p1",
    ), "2026-01-05T09:00Z")
    ingest(tracker, catalog(
        model("open-only", provider("cheap-host", 0.1, 0.2, "zdr")),
        model("mixed", provider("vault", 1, 2, "zdr")),
        model("safe", provider("vault", 1, 2, "zdr")),
        version="p2",
    ), "2026-03-01T09:00Z")

    # as of a moment: the state observed last before it
    state = json.loads(tracker("audit", "--current", "--until", "2026-02-01",
                               "--format", "json").stdout)
    assert state["snapshot"]["catalog_version"] == "p1"
    assert [m["model"] for m in state["only_none"]] == ["open-only"]
    assert [m["model"] for m in state["no_known_protection"]] == ["mixed"]
    assert state["counts"] == {"zdr": 1, "no_training": 0, "none": 4, "unknown": 1}
    assert len(state["policies"]) == 6

    now = json.loads(tracker("audit", "--current", "--format", "json").stdout)
    assert now["snapshot"]["catalog_version"] == "p2" and now["only_none"] == []

    text = tracker("audit", "--current", "--until", "2026-02-01", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    by_provider = {r["provider"]: r for r in rows}
    # cells a spreadsheet would run as formulas are quoted
    assert f"'{formula}" in by_provider and "'-other" in by_provider
    assert by_provider["'-other"]["model_only_none"] == "true"
    md = tracker("audit", "--current", "--until", "2026-02-01").stdout
    assert "## Models reachable only through providers with policy `none` (1)" in md
    assert "- **open-only**: -other (none), cheap-host (none)" in md
    page = tracker("audit", "--current", "--until", "2026-02-01", "--format", "html").stdout
    assert "&#34;http://evil&#34;" in page and "<a " not in page
    assert "--current shows one moment" in tracker("audit", "--current", "--since", "7d",
                                                   check=2).stderr
