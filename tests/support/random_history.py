"""A seeded random catalog history with everything that makes intervals hard: price moves,
policy flips, providers and models that leave and come back, returns to an earlier version
(outcome `reverted`), changes of a provider's extra fields only (a new interval row with the
same price and policy), unchanged polls, and times with microseconds.

    series = random_series(seed=7)              # [(observed_at ISO text, catalog dict)]
    lay_series(database_url, tmp_path, series)  # ingested as `tracker ingest` would

The series is plain JSON, so a test can replay it without the tracker (the independent
answer that `tracker price` and the views are checked against).
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.builders import body, catalog, model, provider

MODELS = [f"m{i}-{name}" for i, name in enumerate(
    ("gpt-x", "claude-y", "llama-z", "qwen-q", "mistral-m", "gemma-g", "phi-p", "kimi-k"))]
PROVIDERS = ("alpha", "beta", "gamma", "delta")
POLICIES = ("zdr", "no_training", "none", None)
PRICES = (0.05, 0.075, 0.2, 0.59, 0.88, 1, 1.25, 2.5, 3, 10, 15, 60)

START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _offer(rng: random.Random, name: str) -> dict[str, Any]:
    return provider(name, rng.choice(PRICES), rng.choice(PRICES), rng.choice(POLICIES))


def _model(rng: random.Random, mid: str) -> dict[str, Any]:
    names = rng.sample(PROVIDERS, rng.randint(1, 3))
    return model(mid, *(_offer(rng, name) for name in sorted(names)))


def _mutate(rng: random.Random, data: list[dict[str, Any]]) -> None:
    """One change to the catalog's models, in place."""
    listed = {m["id"] for m in data}
    kind = rng.choice(["price", "price", "policy", "provider_out", "provider_in",
                       "model_out", "model_in", "extra", "context"])
    target = rng.choice(data)
    offers = target["providers"]
    if kind == "price" and offers:
        rng.choice(offers)[rng.choice(["input_price", "output_price"])] = rng.choice(PRICES)
    elif kind == "policy" and offers:
        rng.choice(offers)["data_policy"] = rng.choice(POLICIES)
    elif kind == "provider_out" and len(offers) > 1:
        offers.remove(rng.choice(offers))
    elif kind == "provider_in":
        free = [p for p in PROVIDERS if p not in {o["name"] for o in offers}]
        if free:
            offers.append(_offer(rng, rng.choice(free)))
            offers.sort(key=lambda o: o["name"])
    elif kind == "model_out" and len(data) > 5:
        data.remove(target)
    elif kind == "model_in" and len(listed) < len(MODELS):
        data.append(_model(rng, rng.choice([m for m in MODELS if m not in listed])))
        data.sort(key=lambda m: m["id"])
    elif kind == "extra" and offers:
        rng.choice(offers)["region"] = rng.choice(["eu", "us", "ap"])
    else:
        target["context_window"] = rng.choice([8192, 32768, 128000, None])


def random_series(seed: int, versions: int = 28) -> list[tuple[str, dict[str, Any]]]:
    """(observed_at, catalog) pairs in time order: `versions` polls, some of them unchanged
    and some of them returns to an earlier catalog."""
    rng = random.Random(seed)
    data = [_model(rng, mid) for mid in sorted(rng.sample(MODELS, 6))]
    seen = [catalog(*copy.deepcopy(data), version="r0")]
    series = []
    moment = START
    for index in range(versions):
        if index:
            moment += timedelta(hours=rng.randint(1, 30), minutes=rng.choice([0, 0, 17]),
                                microseconds=rng.choice([0, 0, 250_000]))
            roll = rng.random()
            if roll < 0.15 and len(seen) > 2:
                current = copy.deepcopy(rng.choice(seen[:-1]))  # a return to an earlier state
            elif roll < 0.25:
                current = copy.deepcopy(seen[-1])  # an unchanged poll
            else:
                for _ in range(rng.randint(1, 3)):
                    _mutate(rng, data)
                current = catalog(*copy.deepcopy(data), version=f"r{index}")
            seen.append(current)
            data = copy.deepcopy(current["data"])
        series.append((moment.isoformat().replace("+00:00", "Z"), seen[-1]))
    return series


def lay_series(database_url: str, workdir: Path,
               series: list[tuple[str, dict[str, Any]]]) -> None:
    """Ingest the series into the database, oldest first, as `tracker ingest` would (with an
    empty config file: nothing of the user's own configuration is read)."""
    from tracker.api import Tracker

    config = workdir / "random-history.toml"
    config.write_text("")
    with Tracker.open(database_url, reports_dir=workdir / "reports", config=config,
                      environ={}) as tracker:
        for at, payload in series:
            result = tracker.ingest(body(payload), observed_at=at, write_changelogs=False)
            assert result.outcome in ("new", "unchanged", "reverted"), result.outcome
