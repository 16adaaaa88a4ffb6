"""`tracker history MODEL`: every price and policy a model had, per provider, over time."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from support.builders import base_catalog, body
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
    assert page.count("<svg") == 2 and "Input price" in page and "Output price" in page
    assert "<script" not in page

    error = tracker("history", "gpt4o", check=2).stderr
    assert "unknown model 'gpt4o' in source 'auriko'; did you mean: gpt-4o?" in error
    error = tracker("history", "gpt-4o", "--provider", "open-ai", check=2).stderr
    assert "never offered by provider 'open-ai'; did you mean: openai?" in error


def test_bulk_histories_match_the_catalog_at_every_state(engine: Any) -> None:
    """The interval walk agrees with a catalog rebuilt at each observed state, through random
    price moves, removals, re-additions and returns to earlier versions."""
    from tracker.config import SourceConfig
    from tracker.history import histories, resolve_sources
    from tracker.pipeline import Pipeline
    from tracker.store import reads

    rng = random.Random(7)
    pipeline = Pipeline(engine, SourceConfig(name="prop"))
    seen: list[dict[str, Any]] = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(40):
        if seen and rng.random() < 0.2:
            payload = rng.choice(seen)  # back to an earlier version
        else:
            payload = base_catalog(f"r{step}")
            for entry in payload["data"]:
                for offer in entry["providers"]:
                    offer["input_price"] = rng.choice([1, 2, 3])
                    offer["data_policy"] = rng.choice(["zdr", "none", None])
            dropped = rng.choice([None, "gpt-4o", "claude-sonnet", "llama-70b"])
            payload["data"] = [m for m in payload["data"] if m["id"] != dropped]
            seen.append(payload)
        pipeline.ingest(body(payload), observed_at=start + timedelta(hours=step),
                        write_changelogs=False)

    with engine.connect() as conn:
        ((name, source_id),) = resolve_sources(conn, ["prop"])
        found = histories(conn, name, source_id)
        snaps = {s.id: s for s in reads.list_snapshots(conn, source_id)}
        from tracker.history import state_sequence

        for moment, snapshot_id in state_sequence(conn, source_id):
            catalog = reads.load_catalog(conn, source_id, snaps[snapshot_id])
            for model_id, history in found.items():
                listed = any(a <= moment and (b is None or moment < b)
                             for a, b in history.presence)
                assert listed == (model_id in catalog.models)
                for provider_name, spans in history.providers.items():
                    held = [s for s in spans
                            if s.start <= moment and (s.end is None or moment < s.end)]
                    offer = (catalog.models[model_id].providers.get(provider_name)
                             if model_id in catalog.models else None)
                    if offer is None:
                        assert held == []
                    else:
                        (span,) = held
                        assert (span.input_price, span.output_price, span.data_policy) == (
                            offer.input_price, offer.output_price, offer.data_policy)
