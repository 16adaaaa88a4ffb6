"""`tracker history MODEL`: every price and policy a model had, per provider, over time."""

from __future__ import annotations

import json

from support.cli import Tracker
from support.histories import T1, T2, T3, T4, T5


def test_history_of_a_model_as_time_intervals(tracker: Tracker, report_history: dict) -> None:
    llama = json.loads(tracker("history", "llama-70b", "--format", "json").stdout)

    # removed at T2, back at T3 as it was, gone again with the return to v2 at T5
    assert llama["presence"] == [{"from": T1, "to": T2}, {"from": T3, "to": T5}]
    assert llama["current"] is False
    assert llama["observed_until"] == T5
    groq = next(p for p in llama["providers"] if p["provider"] == "groq")
    assert [(i["from"], i["to"], i["input_price"], i["data_policy"]) for i in groq["intervals"]] \
        == [(T1, T2, 0.59, "zdr"), (T3, T5, 0.59, "zdr")]

    gpt = json.loads(tracker("history", "gpt-4o", "--provider", "openai", "--format",
                             "json").stdout)
    assert gpt["provider"] == "openai" and [p["provider"] for p in gpt["providers"]] == ["openai"]
    (openai,) = gpt["providers"]
    # the return to v2 at T5 reuses v2's snapshot: its price holds again from T5
    assert [(i["from"], i["to"], i["input_price"], i["first_catalog_version"])
            for i in openai["intervals"]] == [
        (T1, T2, 2.5, "v1"), (T2, T3, 2, "v2"), (T3, T5, 2.5, "v3"), (T5, None, 2, "v2")]

    claude = json.loads(tracker("history", "claude-sonnet", "--format", "json").stdout)
    bedrock = next(p for p in claude["providers"] if p["provider"] == "bedrock")
    assert [(i["from"], i["to"], i["data_policy"]) for i in bedrock["intervals"]] == [
        (T1, T3, "zdr"), (T3, T4, "none"), (T4, None, "zdr")]

    text = tracker("history", "claude-sonnet", "--provider", "bedrock").stdout
    assert "claude-sonnet (source auriko): in the catalog now" in text
    assert "2026-01-07 09:00 UTC  2026-01-08 09:00 UTC       $3.00     $15.00  none  WEAKENED" \
        in text
    page = tracker("history", "gpt-4o", "--format", "html").stdout
    assert page.count("<svg") == 3 and "Input price" in page and "Output price" in page
    assert "Data policy</strong> per provider" in page  # the third: the policy lanes
    assert "<script" not in page

    error = tracker("history", "gpt4o", check=2).stderr
    assert "unknown model 'gpt4o' in source 'auriko'; did you mean: gpt-4o?" in error
    error = tracker("history", "gpt-4o", "--provider", "open-ai", check=2).stderr
    assert "never offered by provider 'open-ai'; did you mean: openai?" in error
