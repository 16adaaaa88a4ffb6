"""What the pages say, found by looking at them in a browser: policies that strengthen or are
restored, "not stated" against a literal policy, price moves in dollars, counts in good
English, headings, labels that do not break mid-word, and the history charts. Renderers only:
plain JSON in, text out, no database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tracker.reports import render
from tracker.reports.history import build_history_view

SNAP1 = {"id": 1, "catalog_version": "2026-11-02.1", "content_hash": "a" * 64,
         "first_observed_at": "2026-11-02T09:00:00Z", "model_count": 3}
SNAP2 = {"id": 2, "catalog_version": "2026-11-06.1", "content_hash": "b" * 64,
         "first_observed_at": "2026-11-06T09:00:00Z", "model_count": 3}


def policy(model: str, old: str | None, new: str | None, **flags: Any) -> dict[str, Any]:
    return {"kind": "data_policy_changed", "model": model, "provider": "p",
            "field": "data_policy", "old": old, "new": new, **flags}


def price(model: str, field: str, old: float, new: float, pct: float) -> dict[str, Any]:
    return {"kind": "price_changed", "model": model, "provider": "p", "field": field,
            "old": old, "new": new, "change_pct": pct}


def diff(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"from": SNAP1, "to": SNAP2, "changes": list(changes)}


POLICIES = diff(
    policy("weaker", "zdr", "none", weakened=True),
    policy("back", "none", "zdr", weakened=False, restored=True,
           weakened_at="2026-11-03T09:00:00Z"),
    policy("stronger", "none", "no_training", weakened=False),
    policy("unstated", "no_training", None, weakened=False, became_unknown=True),
    policy("literal", "no_training", "unknown", weakened=False, became_unknown=True),
)


def test_strengthened_and_restored_policies_are_marked_in_the_changelog() -> None:
    md = render("changelog", "md", POLICIES)
    assert ("**Summary:** 5 data-policy changes (1 weakened, 2 became unknown, 1 restored, "
            "1 strengthened).") in md
    assert ("| back | p | none | zdr | **restored**: undoes the weakening of 2026-11-03, "
            "3 days earlier |") in md
    assert "| stronger | p | none | no\\_training | strengthened |" in md
    # Weakenings first, then policies that became unknown, then restorations.
    assert md.index("| weaker |") < md.index("| unstated |") < md.index("| back |") \
        < md.index("| stronger |")

    page = render("changelog", "html", POLICIES)
    assert page.count('<tr class="stronger">') == 2
    assert "↺ RESTORED</span> <span class=\"muted\">undoes the weakening of 2026-11-03, 3 days " \
        "earlier</span>" in page
    assert "▲ STRENGTHENED" in page
    text = render("changelog", "text", POLICIES)
    assert "back / p: none -> zdr  RESTORED: undoes the weakening of 2026-11-03" in text


def test_a_policy_not_stated_and_a_literal_one_read_differently() -> None:
    md = render("changelog", "md", POLICIES)
    assert "| unstated | p | no\\_training | not stated | **BECAME UNKNOWN** |" in md
    assert '| literal | p | no\\_training | "unknown" | **BECAME UNKNOWN** |' in md
    page = render("changelog", "html", POLICIES)
    assert '<td class="policy-new">not stated</td>' in page
    assert '<td class="policy-new">&#34;unknown&#34;</td>' in page


def test_the_audit_marks_restorations_and_covers_all_history() -> None:
    audit = {"since": None, "until": "2026-11-07T00:00:00Z", "sources": ["demo"], "records": [
        {"observed_at": "2026-11-03T09:00:00Z", "catalog_version": "2026-11-03.1",
         "model": "m", "provider": "p", "old": "zdr", "new": "none", "weakened": True,
         "became_unknown": False, "strengthened": False, "restored": False, "source": "demo"},
        {"observed_at": "2026-11-06T09:00:00Z", "catalog_version": "2026-11-06.1",
         "model": "m", "provider": "p", "old": "none", "new": "zdr", "weakened": False,
         "became_unknown": False, "strengthened": True, "restored": True,
         "weakened_at": "2026-11-03T09:00:00Z", "source": "demo"},
    ]}
    md = render("audit", "md", audit)
    assert md.startswith("# Data-policy audit: all history up to 2026-11-07 00:00 UTC\n")
    assert "the beginning" not in md
    assert ("| 2026-11-06 09:00 UTC | 2026-11-06.1 | m | p | none | zdr | **restored**: "
            "undoes the weakening of 2026-11-03, 3 days earlier |") in md
    assert "1 weakened, 0 became unknown, 1 strengthened (1 restored)." in md
    page = render("audit", "html", audit)
    assert "All history up to 2026-11-07 00:00 UTC</h1>" in page
    assert "<b>1</b><span>strengthened (1 restored)</span>" in page
    assert render("audit", "csv", audit["records"]).splitlines()[0].endswith(
        ",strengthened,restored,weakened_at")


MOVES = diff(
    price("cheap", "input_price", 0.10, 0.05, -50.0),
    price("pricey", "output_price", 10.0, 8.0, -20.0),
    price("small", "input_price", 0.20, 0.25, 25.0),
)


def test_the_price_table_has_the_move_in_dollars_and_the_summary_both_measures() -> None:
    md = render("changelog", "md", MOVES)
    assert "| Model | Provider | Price | Old | New | Change | Δ per 1M |" in md
    assert "| pricey | p | output | $10.00 | $8.00 | ▼ -20.0% | -$2.00 |" in md
    # Sorted by percent, -$2.00 is last but one; the summary names it first by dollars.
    assert ("By dollars (per 1M tokens), pricey on p output -$2.00 ($10.00 → $8.00); "
            "cheap on p input -$0.05") in md
    summary = render("changelog", "summary", MOVES)
    assert "; by dollars pricey on p output -$2.00 ($10.00 -> $8.00);" in summary
    page = render("changelog", "html", MOVES)
    assert '<th class="num">Δ per 1M</th>' in page
    assert '<td class="num down">-$2.00</td>' in page
    assert "Biggest moves by dollars</strong>" in page


def report(unknowns: int) -> dict[str, Any]:
    net = [policy(f"m{i}", "zdr", None, weakened=False, became_unknown=True)
           for i in range(unknowns)]
    return {"source": "demo", "since": "2026-11-02T00:00:00Z", "until": "2026-11-09T00:00:00Z",
            "from": SNAP1, "to": SNAP2, "net": net, "events": [],
            "from_observed_at": SNAP1["first_observed_at"],
            "to_observed_at": SNAP2["first_observed_at"], "starts_inside": False}


def test_report_cards_count_in_good_english_in_two_lines_at_most() -> None:
    one = render("report", "html", report(1))
    assert "<b>1</b><span>policy became unknown</span>" in one
    assert "policies became unknown</span>" not in one
    assert "<b>2</b><span>policies became unknown</span>" in render("report", "html", report(2))
    assert "(net)</span>" not in one  # the net is said once, under the cards
    labels = re.findall(r'<div class="card[^"]*"><b>\d+</b><span>([^<]*)</span>', one)
    assert len(labels) == 7 and max(len(label) for label in labels) <= 24, labels


def test_the_site_index_keeps_versions_whole_and_lists_weeks_one_a_row() -> None:
    moment = datetime(2026, 11, 6, 9, tzinfo=UTC)
    page = render("site_index", "html", [{
        "observed_at": moment, "source": "demo", "before": "#cca80df9e056",
        "after": "2026-11-06.1", "reverted": False, "summary": "1 price change", "weakened": 0,
        "href": "changes/x.html"}], sources=[], generated=moment,
        weeks=[("2026-W45", "weekly/weekly-2026-W45.html",
                "5 transitions, 20 net changes (week in progress)")])
    assert ('<span class="ver">#cca80df9e056</span> → <span class="ver">2026-11-06.1</span>'
            in page)
    assert ('<td class="nowrap">5 transitions, 20 net changes (week in progress)</td>'
            in page)
    assert 'class="cols"' not in page
    assert ".ver, td.nowrap { white-space: nowrap; }" in page


def spans(*values: tuple[str, str | None, float, float, str | None]) -> list[dict[str, Any]]:
    return [{"from": start, "to": end, "input_price": inp, "output_price": out,
             "data_policy": data_policy, "first_catalog_version": None}
            for start, end, inp, out, data_policy in values]


HISTORY = {
    "source": "demo", "model": "m", "provider": None, "current": True,
    "observed_from": "2026-11-01T09:00:00Z", "observed_until": "2026-11-06T09:00:00Z",
    "presence": [{"from": "2026-11-01T09:00:00Z", "to": None}], "model_states": [],
    "providers": [
        {"provider": "anthropic", "intervals": spans(
            ("2026-11-01T09:00:00Z", None, 15.0, 75.0, "no_training"))},
        {"provider": "bedrock", "intervals": spans(
            ("2026-11-01T09:00:00Z", None, 15.0, 75.0, "zdr"))},
        {"provider": "deepinfra", "intervals": spans(
            ("2026-11-01T09:00:00Z", "2026-11-03T09:00:00Z", 0.23, 0.40, "zdr"),
            ("2026-11-03T09:00:00Z", "2026-11-04T09:00:00Z", 0.23, 0.40, "none"),
            ("2026-11-04T09:00:00Z", "2026-11-06T09:00:00Z", 0.20, 0.40, "none"),
            ("2026-11-06T09:00:00Z", None, 0.20, 0.40, "zdr"))},
    ],
}


def test_history_charts_part_lines_at_one_price_and_label_their_last_values() -> None:
    (source,) = build_history_view([HISTORY]).sources
    chart = source.charts[0]  # input price
    anthropic, bedrock, deepinfra = chart.series
    # Two providers at $15.00 the whole time: drawn apart, not one on top of the other.
    assert chart.overlaps and anthropic.segments[0].cy != bedrock.segments[0].cy
    assert abs(anthropic.segments[0].cy - bedrock.segments[0].cy) >= 4
    # Every line's last value is written at its end; one label for the two at $15.00.
    assert sorted(label.text for label in chart.labels) == ["$0.20 deepinfra",
                                                            "$15.00: 2 providers"]
    assert [label.names for label in chart.labels if label.names] == ["anthropic, bedrock"]
    # A dot where a price starts or moves, none where only the policy changed.
    assert [segment.dot for segment in deepinfra.segments] == [True, False, True, False]


def test_policy_changes_have_a_lane_of_their_own() -> None:
    (source,) = build_history_view([HISTORY]).sources
    assert source.lanes is not None
    lanes = {lane.name: lane for lane in source.lanes.lanes}
    deepinfra = lanes["deepinfra"]
    # A price move alone does not split the bar: zdr, none, zdr.
    assert [bar.title.split(",")[0] for bar in deepinfra.bars] == [
        "deepinfra: data policy zdr", "deepinfra: data policy none",
        "deepinfra: data policy zdr"]
    assert [mark.symbol for mark in deepinfra.marks] == ["▼", "↺"]
    assert lanes["bedrock"].marks == []
    page = render("history", "html", [HISTORY])
    assert page.count("<svg") == 3 and "Data policy</strong> per provider" in page
    assert "<td>none <span class=\"badge warn\">⚠ WEAKENED</span></td>" in page
    assert "<td>zdr <span class=\"badge ok\">↺ RESTORED</span></td>" in page
    assert "  zdr  RESTORED" in render("history", "text", HISTORY)
