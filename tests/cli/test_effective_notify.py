"""Notifications that answer "did what we pay move?": `[[notify]]` rules with
`kinds = ["effective_price_changed"]`, `effective_floors`, `direction` and
`min_monthly_impact_usd`, driven by `tracker fetch` as cron would, read at a loopback
receiver (tests/support/receiver.py).

From v1 to v2 (the base catalog of tests/support/builders.py):
- llama-70b: groq weakens from zdr to none and cerebras arrives at 0.85/1.20 zdr: the zdr
  effective price goes groq $0.64 -> cerebras $0.9375 (+46.5%), up;
- gpt-4o: openai cuts its input 2.50 -> 2.00: at `any` the effective offer goes azure $4.375
  (which won the tie with openai on its name) -> openai $4.00 (-8.6%), down; at zdr azure
  stays effective.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from support.builders import base_catalog, provider
from support.cli import Tracker
from support.receiver import Receiver
from support.server import CatalogServer


def changed() -> dict[str, Any]:
    payload = copy.deepcopy(base_catalog("v2"))
    gpt, _claude, llama = payload["data"]
    gpt["providers"][0]["input_price"] = 2.0
    llama["providers"][1]["data_policy"] = "none"
    llama["providers"].append(provider("cerebras", 0.85, 1.2, "zdr"))
    return payload


def lines(message: dict[str, Any]) -> list[str]:
    return [line for line in message["message"].splitlines() if line.startswith("- ")]


def test_rules_on_effective_prices_direction_and_monthly_impact(
    tracker: Tracker, server: CatalogServer, receiver: Receiver, tmp_path: Path
) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text("model,provider,input_tokens,output_tokens\n"
                     "llama-70b,,300000000,100000000\n"    # zdr: $256 -> $375, +$119
                     "gpt-4o,openai,10000000,1000000\n")   # -$5
    config = tmp_path / "tracker.toml"
    config.write_text(f"""
effective_floors = ["zdr", "any"]
usage_file = "{usage}"
usage_floor = "zdr"

[[notify]]
name = "zdr-team"
url = "{receiver.url('/zdr')}"
kinds = ["effective_price_changed"]
effective_floors = ["zdr"]
direction = "up"

[[notify]]
name = "cheaper"
url = "{receiver.url('/down')}"
kinds = ["effective_price_changed"]
direction = "down"

[[notify]]
name = "finance"
url = "{receiver.url('/cost')}"
min_monthly_impact_usd = 100

[[notify]]
name = "everything"
url = "{receiver.url('/all')}"
""")
    server.serve(base_catalog("v1"), changed())
    tracker("--config", str(config), "fetch")
    tracker("--config", str(config), "fetch")

    # A zdr-only team hears exactly when its price rose, and why.
    [zdr] = receiver.messages("/zdr")
    assert zdr["title"] == "auriko: catalog v1 → v2: 1 effective-price change"
    assert lines(zdr) == ["- **llama-70b** at zdr: effective price groq $0.64 → cerebras "
                          "$0.9375 (+46.5%): cerebras added; groq weakened to none; next zdr "
                          "offer: cerebras"]

    # direction = "down" at the top-level floors: the gpt-4o cut, at any only.
    [down] = receiver.messages("/down")
    assert lines(down) == ["- **gpt-4o** at any: effective price azure $4.375 → openai $4.00 "
                           "(-8.6%): openai input $2.50 → $2.00; now the cheapest offer"]

    # min_monthly_impact_usd on the usage file: only the +$119 on the routed llama-70b row
    # (the -$5 on gpt-4o/openai is too small; the policy change and the added provider move
    # no row of the usage by themselves).
    [cost] = receiver.messages("/cost")
    assert lines(cost) == [lines(zdr)[0]]

    # A rule without filters gets everything, the effective moves first.
    [everything] = receiver.messages("/all")
    got = lines(everything)
    assert got[0].startswith("- **llama-70b** at zdr: effective price")
    assert "- **gpt-4o** on openai: input price $2.50 → $2.00 (-20.0%)" in got
    assert "- **llama-70b** on groq: data policy zdr → none (**weakened**)" in got
    assert sum("effective price" in line for line in got) == 2


CONFIG_ERRORS = [
    ('[[notify]]\nname = "zdr"\nurl = "json://127.0.0.1:9/x"\n'
     'kinds = ["effective_price_changed"]\n',
     "asks for effective_price_changed but no effective_floors are configured"),
    ('[[notify]]\nurl = "json://127.0.0.1:9/x"\nmin_monthly_impact_usd = 5\n',
     "min_monthly_impact_usd needs usage_file"),
    ('[[notify]]\nurl = "json://127.0.0.1:9/x"\ndirection = "sideways"\n',
     'direction must be "up" or "down"'),
    ('effective_floors = ["zdr", "strict"]\n', "effective_floors: unknown floor 'strict'"),
    ("blend = [0, 0]\n", "blend must be two weights"),
]


def test_a_rule_for_effective_prices_needs_floors(tracker: Tracker, tmp_path: Path) -> None:
    """Each configuration that cannot work is a usage error (exit 2) saying why."""
    config = tmp_path / "tracker.toml"
    for text, message in CONFIG_ERRORS:
        config.write_text(text)
        failed = tracker("--config", str(config), "snapshots", check=2)
        assert message in failed.stderr, text
