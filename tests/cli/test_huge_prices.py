"""No stored state makes a read command fail (issue 10, point 4).

A price of 1e26 or more used to overflow the 28-digit decimal context of the price formatter:
`diff`, `report`, `history`, `feed` and `site` then exited 1 for good. Prices up to what the
price column holds (40 digits) are stored and shown; the state below is stored through the
pipeline, and a larger one written straight into the table, and every read command, in every
format, reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.builders import body
from support.cli import Tracker
from support.histories import HUGE_T1, HUGE_T2, huge_priced

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
def huge_history(tracker: Tracker, huge_price_history: None) -> Tracker:
    """The tracker on a copy of the history of tests/support/histories.py: gpt-4o/openai at
    $2.50, 1e26, 3.5e27, then 40 digits written into the table."""
    return tracker


def test_a_huge_price_is_stored_and_shown_in_full(tracker: Tracker) -> None:
    tracker("ingest", "-", "--observed-at", HUGE_T1, input=body(huge_priced("v1", 2.5)))
    second = tracker("ingest", "-", "--observed-at", HUGE_T2,
                     input=body(huge_priced("v2", 1e26)))
    assert "$100,000,000,000,000,000,000,000,000.00" in second.stdout


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
