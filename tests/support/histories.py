"""A controlled catalog history for the report, audit, history, feed and site tests.

Laid through the library (`Tracker.ingest`) once per session and backend, then copied for each
test that asks for it (the `report_history` fixture; see tests/conftest.py). One day apart:

    T1 2026-01-05 09:00  v1  the base catalog (3 models)
    T2 2026-01-06 09:00  v2  gpt-4o/openai input 2.5 -> 2.0; llama-70b removed
    T3 2026-01-07 09:00  v3  gpt-4o/openai input back to 2.5; llama-70b re-added as it was;
                             claude-sonnet/bedrock zdr -> none (a weakening)
    T4 2026-01-08 09:00  v4  claude-sonnet/bedrock back to zdr; gpt-4o/azure output 10 -> 12;
                             claude-sonnet/anthropic no_training -> null (became unknown)
    T5 2026-01-09 09:00  v2  a return to an earlier version (outcome "reverted")

Unchanged polls in between (U*) do not start a state. `two_source_report_history` lays the
same history twice: for source `auriko` and for source `other` (configured as kind auriko).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from support.builders import base_catalog, body, catalog, model, provider
from support.cli import Tracker as Cli
from support.db import execute

T1, T2, T3, T4, T5 = (f"2026-01-0{day}T09:00:00Z" for day in (5, 6, 7, 8, 9))
U1 = "2026-01-05T21:00:00Z"  # an unchanged poll of v1
U4 = "2026-01-08T21:00:00Z"  # an unchanged poll of v4


def _offer(catalog: dict[str, Any], model: str, provider: str) -> dict[str, Any]:
    entry = next(m for m in catalog["data"] if m["id"] == model)
    return next(p for p in entry["providers"] if p["name"] == provider)


def versions() -> dict[str, dict[str, Any]]:
    v1 = base_catalog("v1")
    v2 = copy.deepcopy(v1)
    v2["catalog_version"] = "v2"
    _offer(v2, "gpt-4o", "openai")["input_price"] = 2.0
    v2["data"] = [m for m in v2["data"] if m["id"] != "llama-70b"]
    v3 = copy.deepcopy(v1)
    v3["catalog_version"] = "v3"
    _offer(v3, "claude-sonnet", "bedrock")["data_policy"] = "none"
    v4 = copy.deepcopy(v1)
    v4["catalog_version"] = "v4"
    _offer(v4, "gpt-4o", "azure")["output_price"] = 12.0
    _offer(v4, "claude-sonnet", "anthropic")["data_policy"] = None
    return {"v1": v1, "v2": v2, "v3": v3, "v4": v4}


def polls() -> list[tuple[dict[str, Any], str]]:
    """The history above as (catalog, observed at), oldest first."""
    v = versions()
    return [(v["v1"], T1), (v["v1"], U1), (v["v2"], T2), (v["v3"], T3), (v["v4"], T4),
            (v["v4"], U4), (v["v2"], T5)]


def lay(database_url: str, reports_dir: Path, *, source: str | None = None,
        config: str = "") -> None:
    """Ingest the history above into a database, as `tracker ingest` would (with `config` as
    the config file's text: nothing of the user's own configuration is read)."""
    from tracker.api import Tracker

    config_file = reports_dir.parent / f"{reports_dir.name}-{source or 'default'}.toml"
    config_file.write_text(config)
    tracker = Tracker.open(database_url, reports_dir=reports_dir, config=config_file,
                           environ={})
    try:
        for catalog, at in polls():
            tracker.ingest(body(catalog), source=source, observed_at=at)
    finally:
        tracker.close()


def lay_report_history(database_url: str, reports_dir: Path) -> None:
    lay(database_url, reports_dir)


def lay_two_source_report_history(database_url: str, reports_dir: Path) -> None:
    lay(database_url, reports_dir)
    lay(database_url, reports_dir, source="other", config='[sources.other]\nkind = "auriko"\n')


HUGE_T1, HUGE_T2, HUGE_T3 = "2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z", "2026-01-07T09:00:00Z"
HUGE_DIRECT = "9" * 12 + "0" * 28  # 40 digits: the width of the price columns


def huge_priced(version: str, price: float) -> dict[str, Any]:
    """The base catalog with gpt-4o's first offer at `price`, input and output."""
    payload = copy.deepcopy(base_catalog(version))
    payload["data"][0]["providers"][0]["input_price"] = price
    payload["data"][0]["providers"][0]["output_price"] = price
    return payload


def lay_huge_price_history(database_url: str, reports_dir: Path) -> None:
    """v1 at $2.50, v2 at 1e26, v3 at 3.5e27 (gpt-4o/openai), then a 40-digit input price
    written straight into the current offer, as no validation would let through."""
    _ingest_all(database_url, reports_dir, [(huge_priced("v1", 2.5), HUGE_T1),
                                            (huge_priced("v2", 1e26), HUGE_T2),
                                            (huge_priced("v3", 3.5e27), HUGE_T3)])
    execute(database_url, "UPDATE offers SET input_price = :p WHERE model_id = 'gpt-4o' AND "
            "provider = 'openai' AND valid_to IS NULL", p=HUGE_DIRECT)


def _ingest_all(database_url: str, reports_dir: Path,
                catalogs: list[tuple[dict[str, Any], str]]) -> None:
    """Ingest (catalog, observed at) pairs in order through the library, reading nothing
    of the user's own configuration."""
    from tracker.api import Tracker

    config_file = reports_dir.parent / f"{reports_dir.name}.toml"
    config_file.write_text("")
    with Tracker.open(database_url, reports_dir=reports_dir, config=config_file,
                      environ={}) as tracker:
        for payload, at in catalogs:
            tracker.ingest(body(payload), observed_at=at)


LOOKALIKES = ["gpt-4o", "gpt\u20114o", "gpt-4o\u200b"]  # hyphen; U+2011; zero-width space


def lay_lookalike_history(database_url: str, reports_dir: Path) -> None:
    """Three models whose ids look the same, each with a policy that weakens from v1
    (2026-11-01) to v2 (2026-11-02), and a provider name with a no-break space."""
    def version(name: str, policy: str) -> dict[str, Any]:
        return catalog(*(model(mid, provider("open\u00a0ai", 1, 2, policy))
                         for mid in LOOKALIKES), version=name)

    _ingest_all(database_url, reports_dir, [(version("v1", "zdr"), "2026-11-01T09:00Z"),
                                            (version("v2", "none"), "2026-11-02T09:00Z")])


# The history fixtures of tests/conftest.py, by name.
HISTORIES = {
    "report_history": lay_report_history,
    "two_source_report_history": lay_two_source_report_history,
    "huge_price_history": lay_huge_price_history,
    "lookalike_history": lay_lookalike_history,
}


def ingest(tracker: Cli, catalog: dict[str, Any], at: str, *extra: str,
           env: dict[str, str] | None = None) -> Any:
    """`tracker ingest - --observed-at AT` of one more catalog."""
    return tracker("ingest", "-", "--observed-at", at, "--format", "json", *extra,
                   input=body(catalog), extra_env=env)


def kinds(changes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Change records reduced to what the tests compare: kind, model, provider, field, old, new."""
    return [(c["kind"], c["model"], c["provider"], c["field"],
             c["old"] if c["kind"] not in ("model_added", "model_removed") else None,
             c["new"] if c["kind"] not in ("model_added", "model_removed") else None)
            for c in changes]
