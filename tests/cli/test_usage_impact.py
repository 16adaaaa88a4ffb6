"""`tracker report --usage FILE`: what a window's changes cost on a team's monthly token
volumes, on both backends. The window and its costs are worked out by hand below.

    2026-12-01  A  gpt-4o       openai 2.50/10.00 no_training, azure 2.50/10.00 zdr
                   llama-70b    groq 0.59/0.79 zdr, deepinfra 0.23/0.40 zdr,
                                together 0.88/0.88 none
                   claude-sonnet anthropic 3/15 no_training, bedrock 3/15 zdr
    2026-12-02  B  gpt-4o/openai input 2.50 -> 2.00; llama-70b/deepinfra zdr -> none;
                   claude-sonnet removed
    2026-12-03  C  llama-70b/groq output 0.79 -> 0.69

The usage (tokens a month), routed rows priced at zdr:

    gpt-4o, openai      100M in, 20M out   start 250 + 200 = $450   end 200 + 200 = $400   -$50
    llama-70b, routed   500M in, 100M out  start deepinfra 115 + 40 = $155
                                           end groq 295 + 69 = $364                         +$209
    claude-sonnet, bedrock 10M in, 2M out  start 30 + 30 = $60, gone at the end: a warning
    mistral-large, routed                  never in the catalog: a warning

Totals over the rows priced at both ends: $605 -> $764, +$159.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.builders import catalog, model, provider
from support.cli import Tracker

USAGE = """model,provider,input_tokens,output_tokens
gpt-4o,openai,100000000,20000000
llama-70b,,500000000,100000000
claude-sonnet,bedrock,10000000,2000000
mistral-large,,1000,1000
"""


def window(tracker: Tracker, tmp_path: Path) -> None:
    a = catalog(
        model("gpt-4o", provider("openai", 2.5, 10.0, "no_training"), provider("azure", 2.5, 10.0)),
        model("llama-70b", provider("groq", 0.59, 0.79), provider("deepinfra", 0.23, 0.40),
              provider("together", 0.88, 0.88, "none")),
        model("claude-sonnet", provider("anthropic", 3, 15, "no_training"),
              provider("bedrock", 3, 15)),
        version="A")
    b = catalog(
        model("gpt-4o", provider("openai", 2.0, 10.0, "no_training"), provider("azure", 2.5, 10.0)),
        model("llama-70b", provider("groq", 0.59, 0.79), provider("deepinfra", 0.23, 0.40, "none"),
              provider("together", 0.88, 0.88, "none")),
        version="B")
    c = json.loads(json.dumps(b))
    c["catalog_version"] = "C"
    c["data"][1]["providers"][0]["output_price"] = 0.69
    for day, payload in ((1, a), (2, b), (3, c)):
        path = tmp_path / f"{payload['catalog_version']}.json"
        path.write_text(json.dumps(payload))
        tracker("ingest", str(path), "--observed-at", f"2026-12-0{day}T09:00:00Z")


def impact(tracker: Tracker, *args: str) -> dict[str, Any]:
    report = json.loads(tracker("report", "--since", "2026-12-01", "--until", "2026-12-04",
                                *args, "--format", "json").stdout)
    result: dict[str, Any] = report["impact"]
    return result


def test_a_hand_computed_window(tracker: Tracker, tmp_path: Path) -> None:
    window(tracker, tmp_path)
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE)
    config = tmp_path / "tracker.toml"
    cli = tracker.configured(config, 'usage_floor = "zdr"\n')

    result = impact(cli, "--usage", str(usage))
    # the totals first: the rows priced at both ends
    assert (result["old_total"], result["new_total"], result["delta"]) == (605, 764, 159)
    assert result["unpriced"] == 2 and result["usage_floor"] == "zdr"
    # rows by absolute delta, the ones that could not be priced at both ends last
    rows = {row["model"]: row for row in result["rows"]}
    assert [row["model"] for row in result["rows"]] == [
        "llama-70b", "gpt-4o", "claude-sonnet", "mistral-large"]
    assert rows["llama-70b"] == {
        "model": "llama-70b", "provider": None, "floor": "zdr",
        "input_tokens": 500_000_000, "output_tokens": 100_000_000,
        "old_cost": 155, "new_cost": 364, "delta": 209,
        "causes": ["price_changed", "data_policy_changed"],
        "old_provider": "deepinfra", "new_provider": "groq", "warning": None}
    assert rows["gpt-4o"] == {
        "model": "gpt-4o", "provider": "openai", "floor": None,
        "input_tokens": 100_000_000, "output_tokens": 20_000_000,
        "old_cost": 450, "new_cost": 400, "delta": -50, "causes": ["price_changed"],
        "old_provider": "openai", "new_provider": "openai", "warning": None}
    # a model the catalog no longer has, and one it never had: listed with a warning
    assert (rows["claude-sonnet"]["old_cost"], rows["claude-sonnet"]["new_cost"],
            rows["claude-sonnet"]["delta"]) == (60, None, None)
    assert rows["claude-sonnet"]["warning"] == "no longer in the catalog"
    assert rows["claude-sonnet"]["causes"] == ["model_removed"]
    assert rows["mistral-large"]["warning"] == "not in the catalog"
    assert rows["mistral-large"]["old_cost"] is None

    # The same window as people read it: the totals first, rounded to cents for display.
    markdown = cli("report", "--since", "2026-12-01", "--until", "2026-12-04", "--usage",
                   str(usage)).stdout
    section = markdown[markdown.index("## Cost on your usage"):markdown.index("## Highlights")]
    assert ("**Monthly cost:** $605.00 at the start, $764.00 at the end: **+$159.00** a month "
            "(+26.3%).") in section
    assert ("| llama-70b | routed (zdr) | 500,000,000 | 100,000,000 | $155.00 | $364.00 | "
            "+$209.00 | deepinfra → groq | deepinfra weakened to none; groq output $0.79 → "
            "$0.69; next zdr offer: groq |") in section
    assert ("| claude-sonnet | bedrock | 10,000,000 | 2,000,000 | $60.00 | — | — | "
            "bedrock → none | model removed; **warning:** no longer in the catalog |") in section
    assert section.index("llama-70b") < section.index("gpt-4o") < section.index("mistral-large")
    html = cli("report", "--since", "2026-12-01", "--until", "2026-12-04", "--usage",
               str(usage), "--format", "html").stdout
    assert '<h2 id="source-1-impact">Cost on your usage</h2>' in html
    assert "<b>+$159.00</b>" in html

    # Routed rows are priced at usage_floor, by default any: deepinfra's weakening costs
    # nothing there; groq's cut does not reach the row (deepinfra stays cheaper).
    routed = {row["model"]: row for row in impact(tracker, "--usage", str(usage))["rows"]}
    assert (routed["llama-70b"]["floor"], routed["llama-70b"]["old_cost"],
            routed["llama-70b"]["new_cost"], routed["llama-70b"]["causes"]) == (
        "any", 155, 155, [])

    # usage_file in the config file is what `report` prices when --usage is not given.
    config.write_text(f'usage_floor = "zdr"\nusage_file = "{usage}"\n')
    assert impact(cli)["delta"] == 159
    other = tmp_path / "other.csv"
    other.write_text("model,provider,input_tokens,output_tokens\ngpt-4o,openai,1000000,0\n")
    assert impact(cli, "--usage", str(other))["delta"] == -0.5  # --usage beats usage_file


def test_weekly_reports_price_the_usage_file_and_the_site_never_shows_it(
        tracker: Tracker, tmp_path: Path) -> None:
    """The finance report of a week carries the cost on the usage; the static site, made to
    be published, carries the effective prices but never the team's volumes or costs."""
    window(tracker, tmp_path)  # 2026-12-01..03: ISO week 2026-W49
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE)
    cli = tracker.configured(tmp_path / "tracker.toml", f'usage_floor = "zdr"\n'
                             f'usage_file = "{usage}"\neffective_floors = ["zdr"]\n')
    reports = tmp_path / "weekly"
    cli("report", "--weekly", "--week", "2026-W49", "--reports-dir", str(reports))
    weekly = json.loads((reports / "weekly-2026-W49.json").read_text())
    assert weekly["impact"]["delta"] == 159
    assert "## Cost on your usage" in (reports / "weekly-2026-W49.md").read_text()

    cli("site", str(tmp_path / "site"))
    pages = {p.name: p.read_text() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    week = next(text for name, text in pages.items() if "2026-W49" in name
                and name.endswith(".html"))
    assert "Effective price" in week
    assert not [name for name, text in pages.items()
                if "Cost on your usage" in text or "500,000,000" in text or "impact" in text]


def test_a_malformed_usage_file_is_one_line_naming_the_line(
    tracker: Tracker, tmp_path: Path
) -> None:
    window(tracker, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("model,provider,input_tokens,output_tokens\n"
                   "gpt-4o,openai,100000000,20000000\n"
                   "llama-70b,,lots,100000000\n")
    failed = tracker("report", "--since", "2026-12-01", "--usage", str(bad), check=2)
    assert failed.stdout == ""
    assert failed.stderr == (f"tracker: error: usage file {bad} line 3: input_tokens must be a "
                             "whole number of tokens (0 or more), got 'lots'\n")
    missing = tracker("report", "--since", "2026-12-01", "--usage", str(tmp_path / "no.csv"),
                      check=2)
    assert missing.stderr.startswith("tracker: error: cannot read usage file ")
    assert len(missing.stderr.splitlines()) == 1
