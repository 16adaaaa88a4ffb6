"""Replaying a real-looking git-scraped history reports no float noise (issue 10, acceptance).

bench/generate.py writes the series a router's history looks like: prices written with float
noise (0.8299999999999998 for 0.83), providers listed in another order, versions without a
catalog_version, a revert. Imported with `tracker import-git`, it gives no price_changed
record whose two sides agree to 12 significant digits, and no change_pct of 0.0.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from support.cli import Tracker
from support.db import rows
from support.paths import CHECKOUT

from tracker.catalog import round_price


def bench_generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate",
                                                  CHECKOUT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def exact(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def test_a_generated_history_with_float_noise_has_no_noise_in_its_record(
    tracker: Tracker, database_url: str, tmp_path: Path
) -> None:
    generate = bench_generate()
    manifest = generate.generate(generate.Params(versions=60, models=300, start_models=60,
                                                 churn=0.02, seed=11), tmp_path / "scrape")
    assert manifest.events["noisy_prices"] >= 60  # the series has noise to ignore
    tracker("import-git", str(tmp_path / "scrape"), "models.json")

    records = [(as_json(old), as_json(new), pct) for old, new, pct in rows(
        database_url, "SELECT old, new, change_pct FROM changes WHERE kind = 'price_changed'")]
    assert len(records) > 50  # real price moves are reported
    agreeing = [r for r in records
                if round_price(exact(r[0])) == round_price(exact(r[1]))]
    assert agreeing == []
    assert [r for r in records if r[2] == 0.0] == []
    # Every price stored is its rounded self, and the noise never started a state of its own.
    stored = {p for row in rows(database_url, "SELECT input_price, output_price FROM offers")
              for p in row}
    assert all(Decimal(p) == round_price(Decimal(p)) for p in stored)
    transitions = rows(database_url, "SELECT o.id FROM observations o WHERE o.outcome IN "
                                     "('new', 'reverted') AND o.previous_snapshot_id IS NOT "
                                     "NULL AND NOT EXISTS (SELECT 1 FROM changes c WHERE "
                                     "c.observation_id = o.id)")
    assert transitions == []
