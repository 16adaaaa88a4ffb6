"""No stored state makes a read command fail (issue 10, point 4).

A price of 1e26 or more used to overflow the 28-digit decimal context of the price formatter:
`diff`, `report`, `history`, `feed` and `site` then exited 1 for good. Prices up to what the
price column holds (40 digits) are stored and shown; the state below is stored through the
pipeline, and a larger one written straight into the table, and every read command, in every
format, reads them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog, body
from support.cli import Tracker

T1, T2, T3 = "2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z", "2026-01-07T09:00:00Z"


def priced(version: str, price: float) -> dict[str, Any]:
    payload = copy.deepcopy(base_catalog(version))
    payload["data"][0]["providers"][0]["input_price"] = price
    payload["data"][0]["providers"][0]["output_price"] = price
    return payload


def store_directly(database_url: str, price: str) -> None:
    """Write a price into the current offer, as no validation would let through."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE offers SET input_price = :p WHERE model_id = 'gpt-4o' AND "
                          "provider = 'openai' AND valid_to IS NULL"), {"p": price})
    engine.dispose()


READS = [
    ("diff",), ("diff", "--format", "json"), ("diff", "--format", "html"),
    ("diff", "v1", "v3", "--format", "md"),
    ("report", "--since", "2026-01-01"), ("report", "--since", "2026-01-01", "--format", "html"),
    ("report", "--since", "2026-01-01", "--format", "json"),
    ("history", "gpt-4o"), ("history", "gpt-4o", "--format", "html"),
    ("history", "gpt-4o", "--format", "json"),
    ("feed",), ("audit",), ("snapshots",), ("status",),
    ("effective",), ("price", "gpt-4o"), ("export", "offers"), ("export", "changes"),
]


@pytest.fixture
def huge_history(tracker: Tracker, database_url: str) -> Tracker:
    tracker("ingest", "-", "--observed-at", T1, input=body(priced("v1", 2.5)))
    second = tracker("ingest", "-", "--observed-at", T2, input=body(priced("v2", 1e26)))
    assert "$100,000,000,000,000,000,000,000,000.00" in second.stdout
    tracker("ingest", "-", "--observed-at", T3, input=body(priced("v3", 3.5e27)))
    store_directly(database_url, "9" * 12 + "0" * 28)  # 40 digits: the column's width
    return tracker


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_every_read_command_reads_a_state_with_huge_prices(huge_history: Tracker,
                                                           command: tuple[str, ...]) -> None:
    result = huge_history(*command)
    assert result.stdout and result.stderr == ""


def test_the_site_and_the_prices_shown(huge_history: Tracker, tmp_path: Path) -> None:
    huge_history("site", str(tmp_path / "site"))
    assert (tmp_path / "site" / "index.html").is_file()
    moves = json.loads(huge_history("diff", "v1", "v2", "--format", "json").stdout)["changes"]
    assert [(c["old"], c["new"]) for c in moves] == [(2.5, 1e26), (2.5, 1e26)]
    history = huge_history("history", "gpt-4o").stdout
    assert "$9,999,999,999,990,000,000,000,000,000,000,000,000,000.00" in history
