"""Model histories as validity intervals, read from the store on both backends."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from support.builders import base_catalog, body


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
