"""`tracker report`: net changes over a window versus the timeline of every transition in it.

The history (tests/support/histories.py) holds a price change reverted inside a window, a model
removed and re-added, a weakening undone, and a return to an earlier version.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import Tracker, user_env
from support.histories import T1, T2, T3, T4, T5, kinds


def report(tracker: Tracker, *args: str) -> dict:
    return json.loads(tracker("report", *args, "--format", "json").stdout)


def test_net_changes_versus_the_timeline(tracker: Tracker, report_history: dict) -> None:

    # --- a change reverted inside the window nets to nothing ---
    result = report(tracker, "--since", "2026-01-06", "--until", "2026-01-09")

    assert result["source"] == "auriko"
    assert (result["since"], result["until"]) == ("2026-01-06T00:00:00Z", "2026-01-09T00:00:00Z")
    # the state at the start is the one observed before since (v1, last seen at U1)
    assert result["from"]["catalog_version"] == "v1"
    assert result["from_observed_at"] == "2026-01-05T21:00:00Z"
    assert result["to"]["catalog_version"] == "v4"
    assert result["to_observed_at"] == "2026-01-08T21:00:00Z"
    # net: the gpt-4o price cut came back, llama-70b came back as it was, the weakening was
    # undone; what is left is the azure price rise and the policy that became unknown
    assert kinds(result["net"]) == [
        ("price_changed", "gpt-4o", "azure", "output_price", 10, 12),
        ("data_policy_changed", "claude-sonnet", "anthropic", "data_policy", "no_training", None),
    ]
    assert result["net"][0]["change_pct"] == 20.0
    assert result["net"][1]["weakened"] is False and result["net"][1]["became_unknown"] is True
    # the timeline has every transition in between, each with its observation time
    assert [e["observed_at"] for e in result["events"]] == [T2, T3, T4]
    assert [(e["from"]["catalog_version"], e["to"]["catalog_version"])
            for e in result["events"]] == [("v1", "v2"), ("v2", "v3"), ("v3", "v4")]
    assert kinds(result["events"][0]["changes"]) == [
        ("model_removed", "llama-70b", None, None, None, None),
        ("price_changed", "gpt-4o", "openai", "input_price", 2.5, 2),
    ]
    assert kinds(result["events"][1]["changes"]) == [
        ("model_added", "llama-70b", None, None, None, None),
        ("price_changed", "gpt-4o", "openai", "input_price", 2, 2.5),
        ("data_policy_changed", "claude-sonnet", "bedrock", "data_policy", "zdr", "none"),
    ]
    assert result["events"][1]["changes"][2]["weakened"] is True
    assert [e["outcome"] for e in result["events"]] == ["new", "new", "new"]

    # --- windows are half open ---
    result = report(tracker, "--since", T2, "--until", T4)

    # an observation exactly at since is inside; one exactly at until is not
    assert [e["observed_at"] for e in result["events"]] == [T2, T3]
    assert result["from"]["catalog_version"] == "v1"
    assert result["to"]["catalog_version"] == "v3"

    # --- a window starting before the first snapshot starts at the first state ---
    result = report(tracker, "--since", "2025-12-01", "--until", "2026-01-06T12:00Z")

    assert result["from"]["catalog_version"] == "v1"  # first state inside the window
    assert result["from_observed_at"] == T1
    assert result["starts_inside"] is True
    assert result["to"]["catalog_version"] == "v2"
    assert [e["observed_at"] for e in result["events"]] == [T2]  # the first one is no change
    assert kinds(result["net"]) == kinds(result["events"][0]["changes"])

    # --- a window after the last snapshot has no changes ---
    result = report(tracker, "--since", "2026-02-01", "--until", "2026-03-01")

    assert result["from"]["catalog_version"] == "v2"  # the state reverted to at T5
    assert result["to"]["catalog_version"] == "v2"
    assert result["net"] == [] and result["events"] == []

    # --- a window before any observation is empty ---
    result = report(tracker, "--since", "2025-01-01", "--until", "2025-02-01")

    assert result["from"] is None and result["to"] is None
    assert result["net"] == [] and result["events"] == []
    md = tracker("report", "--since", "2025-01-01", "--until", "2025-02-01").stdout
    assert "No catalog of this source was observed before the end of the window." in md

    # --- a return to an earlier version is a transition ---
    result = report(tracker, "--since", "2026-01-08T12:00Z", "--until", "2026-01-10")

    assert result["from"]["catalog_version"] == "v4"
    assert result["to"]["catalog_version"] == "v2"
    (event,) = result["events"]
    assert (event["observed_at"], event["outcome"]) == (T5, "reverted")
    assert event["to"]["first_observed_at"] == T2  # the same snapshot as before
    assert kinds(result["net"]) == kinds(event["changes"])
    assert ("model_removed", "llama-70b", None, None, None, None) in kinds(result["net"])

    # --- the whole history ---
    result = report(tracker, "--since", "2020-01-01")

    assert [e["observed_at"] for e in result["events"]] == [T2, T3, T4, T5]
    assert result["from"]["catalog_version"] == "v1" and result["to"]["catalog_version"] == "v2"
    assert kinds(result["net"]) == [
        ("model_removed", "llama-70b", None, None, None, None),
        ("price_changed", "gpt-4o", "openai", "input_price", 2.5, 2),
    ]


def test_markdown_and_html_lead_with_what_readers_want(
    tracker: Tracker, report_history: dict, tmp_path: Path
) -> None:
    md = tracker("report", "--since", "2026-01-06", "--until", "2026-01-10").stdout

    assert md.startswith("# Catalog report: 2026-01-06 00:00 UTC to 2026-01-10 00:00 UTC\n")
    assert "**Biggest price increases**" not in md  # the azure rise did not last
    assert "**Biggest price decreases** (1 of 1, USD per 1M tokens):" in md
    assert "| gpt-4o | openai | input | $2.50 | $2.00 | ▼ -20.0% | -$0.50 |" in md
    assert "**Models gone:** llama-70b." in md
    assert "1 more weakening happened inside the window" in md
    assert "### 2026-01-09 09:00 UTC: v4 → v2 (return to an earlier version)" in md
    assert md.index("## Highlights") < md.index("## Net changes") < md.index("## Timeline")

    out = tmp_path / "out" / "report.html"
    result = tracker("report", "--since", "2026-01-06", "--until", "2026-01-09",
                     "--format", "html", "-o", str(out))
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src data:" in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    lead = page[: page.index('id="source-1-net"')]
    for heading in ["Biggest price increases", "Price moves by provider",
                    "Data-policy weakenings and policies that became unknown"]:
        assert heading in lead
    assert "+$2.00" in lead and "▲ +20.0%" in lead and "BECAME UNKNOWN" in lead
    assert "1 more weakening</strong> happened inside the window" in lead
    assert page.count('<details class="event"') == 3


def test_weekly_reports_are_written_idempotently(
    tracker: Tracker, report_history: dict, tmp_path: Path
) -> None:
    reports = tmp_path / "weekly"
    first = tracker("report", "--weekly", "--week", "2026-W02", "--reports-dir", str(reports))
    names = sorted(p.name for p in reports.iterdir())

    assert names == ["weekly-2026-W02.html", "weekly-2026-W02.json", "weekly-2026-W02.md"]
    assert first.stdout.count("wrote ") == 3
    again = tracker("report", "--weekly", "--week", "2026-W02", "--reports-dir", str(reports))
    assert again.stdout.count("unchanged ") == 3
    weekly = json.loads((reports / "weekly-2026-W02.json").read_text())
    # ISO week 2 of 2026 is Monday 5 January to Monday 12 January
    assert weekly == report(tracker, "--since", "2026-01-05", "--until", "2026-01-12")
    assert "Weekly report 2026-W02" in (reports / "weekly-2026-W02.html").read_text()
    # without --week: the last complete ISO week, into TRACKER_REPORTS_DIR by default
    tracker("report", "--weekly")
    assert list((tmp_path / "reports").glob("weekly-*-W*.md"))


def test_several_sources_get_a_section_each(
    tracker: Tracker, two_source_report_history: dict
) -> None:
    # reading needs no configuration: any source in the database can be named
    result = json.loads(tracker("report", "--since", "2026-01-06", "--until", "2026-01-09",
                                "--source", "auriko", "--source", "other",
                                "--format", "json").stdout)

    assert list(result) == ["since", "until", "sources"]
    assert [s["source"] for s in result["sources"]] == ["auriko", "other"]
    for section in result["sources"]:
        assert len(section["events"]) == 3
        assert {e["source"] for e in section["events"]} == {section["source"]}
    md = tracker("report", "--since", "2026-01-06", "--source", "auriko",
                 "--source", "other").stdout
    assert "\n## Source auriko\n" in md and "\n## Source other\n" in md
    assert "\n### Highlights\n" in md


def test_usage_errors(tracker: Tracker, report_history: dict) -> None:
    assert "report needs --since" in tracker("report", check=2).stderr
    assert "empty window" in tracker("report", "--since", "2026-01-08", "--until",
                                     "2026-01-07", check=2).stderr
    assert "not a date or time" in tracker("report", "--since", "yesterday", check=2).stderr
    error = tracker("report", "--since", "7d", "--source", "nope", check=2).stderr
    assert "unknown source 'nope' (in the database: auriko)" in error
    assert error.count("\n") == 1
    assert "--weekly picks its own window" in tracker("report", "--weekly", "--since", "7d",
                                                      check=2).stderr
    assert "no such ISO week" in tracker("report", "--weekly", "--week", "2026-W60",
                                         check=2).stderr
    # a span back from now: the whole history is older, so no transitions, state v2
    recent = report(tracker, "--since", "7d")
    assert recent["events"] == [] and recent["to"]["catalog_version"] == "v2"


def test_every_reporting_command_has_help_with_an_example(tmp_path: Path) -> None:
    for command in ("report", "audit", "history", "feed", "site"):
        result = Tracker(user_env(tmp_path), tmp_path)(command, "--help")
        assert "Example" in result.stdout, command
