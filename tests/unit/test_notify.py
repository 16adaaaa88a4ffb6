"""Notifications, the pieces: filter rules, change lines, URL lists and their redaction."""

from __future__ import annotations

from typing import Any

from tracker.config import NotifyRule, split_notify_urls
from tracker.logs import redact_url
from tracker.notify import matches
from tracker.reports.phrases import markdown_line


def price(pct: float | None, provider_name: str = "openai", mid: str = "gpt-4o") -> dict[str, Any]:
    return {"kind": "price_changed", "model": mid, "provider": provider_name,
            "field": "input_price", "old": 1.0, "new": 2.0, "change_pct": pct}


def policy(weakened: bool, became_unknown: bool = False) -> dict[str, Any]:
    return {"kind": "data_policy_changed", "model": "m", "provider": "p", "field": "data_policy",
            "old": "zdr", "new": None if became_unknown else "none", "weakened": weakened,
            "became_unknown": became_unknown}


def test_filter_rules() -> None:
    rule = NotifyRule("r", min_price_change_pct=5)
    assert matches(rule, price(-5.0)) and matches(rule, price(12.5))
    assert not matches(rule, price(4.99))
    assert matches(rule, price(None))  # a price that was 0: a new charge always counts

    weak = NotifyRule("r", only_weakened_policies=True)
    assert matches(weak, policy(True)) and matches(weak, policy(False, became_unknown=True))
    assert not matches(weak, policy(False))
    assert matches(weak, price(1.0))  # other kinds are not its business

    kinds = NotifyRule("r", kinds=("model_removed",))
    assert not matches(kinds, price(50.0))
    assert not matches(NotifyRule("r", kinds=()), price(50.0))

    added = {"kind": "model_added", "model": "gpt-5", "provider": None, "field": None,
             "old": None, "new": {"id": "gpt-5", "providers": [{"name": "openai"}]}}
    by_provider = NotifyRule("r", providers=("OpenAI",))
    assert matches(by_provider, added) and matches(by_provider, price(1.0))
    assert not matches(by_provider, price(1.0, provider_name="azure"))
    by_model = NotifyRule("r", models=("gpt-*",))
    assert matches(by_model, added) and not matches(by_model, price(1.0, mid="claude"))
    top_level = {"kind": "field_changed", "model": None, "provider": None, "field": "tier",
                 "old": 1, "new": 2}
    assert not matches(by_model, top_level) and matches(NotifyRule("r"), top_level)


def test_change_lines_escape_remote_strings() -> None:
    line = markdown_line(price(-20.0, provider_name="a|b", mid="*evil*"))
    assert line == r"**\*evil\***" + r" on a\|b: input price $1.00 → $2.00 (-20.0%)"
    assert markdown_line(policy(False, became_unknown=True)) == (
        "**m** on p: data policy zdr → not stated (**became unknown**)")


def test_notify_url_lists_and_redaction() -> None:
    assert split_notify_urls("json://a/x, slack://T/B/C  mailto://u:p@h?to=a@x,b@y") == [
        "json://a/x", "slack://T/B/C", "mailto://u:p@h?to=a@x,b@y"]
    assert split_notify_urls("  ") == []
    assert redact_url("slack://TokenA/TokenB/TokenC/#chan") == "slack://…"
    assert redact_url("json://user:pw@hooks.internal:8080/x") == "json://hooks.internal:8080/…"
