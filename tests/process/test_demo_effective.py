"""`tracker demo` shows what a zdr-only team pays: its changelogs carry the effective prices at
every floor, and it writes the demo week's report with the effective-price section and the cost
of the week on the sample usage file it ships (a process of its own, as a new user runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import TrackerProcess, user_env

pytestmark = pytest.mark.slow


def test_the_demo_reports_lead_with_effective_prices_and_the_cost_on_the_sample_usage(
    tmp_path: Path,
) -> None:
    env = user_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "data"),
                   XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    run = TrackerProcess(env, tmp_path)("demo")
    assert "report-demo.md" in run.stdout and "report-demo.html" in run.stdout
    reports = tmp_path / "reports-out" / "demo"

    # The 02 -> 03 changelog: deepinfra's weakening is a +134.9% jump for a zdr-only team.
    [changelog] = reports.glob("changelog-20261103T090000Z-*.md")
    assert ("| llama-3.3-70b-instruct | zdr | deepinfra $0.2725 | groq $0.64 | ▲ +134.9% | "
            "deepinfra weakened to none; next zdr offer: groq |") in changelog.read_text()

    markdown = (reports / "report-demo.md").read_text()
    assert markdown.index("## Effective price") < markdown.index("## Cost on your usage") \
        < markdown.index("## Highlights")
    # the sample usage (tracker/demo_data/usage.csv) over the week, routed rows at zdr: qwen3
    # on together $100 -> $50, kimi routed $215 -> $175, deepseek on deepinfra $175 -> $140,
    # gpt-4o on openai $600, llama routed $264 (deepinfra at both ends): $1,354 -> $1,229
    assert ("**Monthly cost:** $1,354.00 at the start, $1,229.00 at the end: **-$125.00** a "
            "month (-9.2%).") in markdown
    assert ("| kimi-k2-instruct-0905 | routed (zdr) | 150,000,000 | 50,000,000 | $215.00 | "
            "$175.00 | -$40.00 | fireworks → deepinfra | deepinfra added; now the cheapest zdr "
            "offer |") in markdown
    assert "**warning:** no longer in the catalog" in markdown  # claude-3-5-haiku, removed
    html = (reports / "report-demo.html").read_text()
    assert html.index(">Effective price</h2>") < html.index(">Cost on your usage</h2>") \
        < html.index(">Highlights</h2>")
