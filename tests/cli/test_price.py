"""`tracker price MODEL --at WHEN`: the offers that held at a moment, with their interval.

The answer is checked against an independent replay of the bodies as they were ingested: at a
moment, the body in effect is the last one observed at or before it; an offer's interval runs
from the first body of the unbroken run of bodies that offer it at that price and policy, to
the first body after that run.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from support.cli import Tracker
from support.histories import T1, T2, T3
from support.random_history import MODELS, lay_series, random_series

Series = list[tuple[str, dict[str, Any]]]
Offer = tuple[float, float, str | None]


def offers_in(catalog: dict[str, Any], model: str) -> dict[str, Offer] | None:
    """The offers of `model` in a catalog body by provider; None when it is not listed."""
    for entry in catalog["data"]:
        if entry["id"] == model:
            return {p["name"]: (float(p["input_price"]), float(p["output_price"]),
                                p["data_policy"]) for p in entry["providers"]}
    return None


def replay(series: Series, model: str, at: datetime) -> dict[str, Any] | None:
    """What held at `at`, from the bodies alone: {provider: (offer, from, to)}; None when the
    model was not listed then."""
    times = [datetime.fromisoformat(moment) for moment, _ in series]
    now = bisect_right(times, at) - 1
    current = offers_in(series[now][1], model)
    if current is None:
        return None
    held = {}
    for provider, offer in current.items():
        def same(index: int, provider: str = provider, offer: Offer = offer) -> bool:
            return (offers_in(series[index][1], model) or {}).get(provider) == offer

        first, last = now, now
        while first > 0 and same(first - 1):
            first -= 1
        while last + 1 < len(series) and same(last + 1):
            last += 1
        held[provider] = (offer, times[first], times[last + 1] if last + 1 < len(series)
                          else None)
    return held


def test_price_at_50_random_moments_agrees_with_a_replay_of_the_bodies(
        tracker: Tracker, database_url: str, tmp_path: Path) -> None:
    series = random_series(seed=2026, versions=40)
    lay_series(database_url, tmp_path, series)
    rng = random.Random(13)
    first = datetime.fromisoformat(series[0][0])
    last = datetime.fromisoformat(series[-1][0])
    span = (last - first).total_seconds()
    moments = [first + timedelta(seconds=rng.uniform(0, span + 86_400)) for _ in range(40)]
    moments += [datetime.fromisoformat(rng.choice(series)[0]) for _ in range(10)]  # boundaries
    listed_checked = 0
    for at in moments:
        listed = [m for m in MODELS if replay(series, m, at) is not None]
        model = rng.choice(listed) if rng.random() < 0.85 else rng.choice(MODELS)
        expected = replay(series, model, at)
        result = tracker("price", model, "--at", at.isoformat(), "--format", "json",
                         check=False)
        if expected is None:
            assert result.returncode == 2, result.stdout
            assert (f"model {model!r} was not in the catalog" in result.stderr
                    or f"unknown model {model!r}" in result.stderr), result.stderr
            continue
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
        assert datetime.fromisoformat(found["at"]) == at
        got = {o["provider"]: ((float(o["input_price"]), float(o["output_price"]),
                                o["data_policy"]), datetime.fromisoformat(o["from"]),
                               datetime.fromisoformat(o["to"]) if o["to"] else None)
               for o in found["offers"]}
        assert got == expected, (model, at)
        listed_checked += 1
    assert listed_checked >= 35


def test_price_of_one_provider_and_the_errors_that_name_what_exists(
        tracker: Tracker, report_history: dict[str, Any]) -> None:
    # gpt-4o on openai: 2.5 from T1, 2.0 over [T2, T3), 2.5 again from T3 (see histories.py)
    found = tracker.json("price", "gpt-4o", "--provider", "openai", "--at", "2026-01-06T12:00Z")
    assert [(o["provider"], o["input_price"], o["from"], o["to"], o["first_catalog_version"])
            for o in found["offers"]] == [("openai", 2, T2, T3, "v2")]
    assert found["snapshot"]["catalog_version"] == "v2" and found["observed_at"] == T2

    text = tracker("price", "gpt-4o", "--at", T1).stdout
    assert "gpt-4o at 2026-01-05 09:00 UTC (source auriko, catalog v1" in text
    assert "  azure             $2.50     $10.00  zdr          2026-01-05 09:00 UTC" in text

    error = tracker("price", "gpt4o", check=2).stderr
    assert "unknown model 'gpt4o' in source 'auriko'; did you mean: gpt-4o?" in error
    error = tracker("price", "llama-70b", "--at", "2026-01-06T12:00Z", check=2).stderr
    assert ("model 'llama-70b' was not in the catalog of source 'auriko' at "
            "2026-01-06T12:00:00Z; it was listed 2026-01-05T09:00:00Z to 2026-01-06T09:00:00Z, "
            "2026-01-07T09:00:00Z to 2026-01-09T09:00:00Z") in error
    error = tracker("price", "gpt-4o", "--provider", "open-ai", check=2).stderr
    assert "never offered by provider 'open-ai'; did you mean: openai?" in error
    error = tracker("price", "gpt-4o", "--at", "2025-12-01", check=2).stderr
    assert "had no state observed at or before 2025-12-01T00:00:00Z" in error
