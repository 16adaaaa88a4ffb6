"""Effective prices over stored transitions, on both backends: the timeline's records are
computed by replaying each transition's stored records onto the state before it (one catalog
loaded for the whole window); they must be exactly what comparing the two stored states gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from tracker.config import SourceConfig
from tracker.demo import demo_catalogs
from tracker.effective import FLOORS, effective_changes
from tracker.history import add_effective, transitions
from tracker.pipeline import Pipeline
from tracker.store import reads


def test_replayed_transitions_give_the_records_of_the_stored_states(engine: Engine) -> None:
    pipeline = Pipeline(engine, SourceConfig("auriko"))
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    bodies = [*demo_catalogs(), demo_catalogs()[2]]  # and a return to the 03 state
    for day, body in enumerate(bodies):
        pipeline.ingest(body, observed_at=start + timedelta(days=day))

    with engine.connect() as conn:
        source_id = reads.source_id(conn, "auriko")
        assert source_id is not None
        moves = transitions(conn, "auriko", source_id)
        assert [t.outcome for t in moves][-1] == "reverted"
        stored = {t.observation_id: list(t.changes) for t in moves}
        add_effective(conn, source_id, moves, FLOORS)
        for move in moves:
            derived = [c for c in move.changes if c["kind"] == "effective_price_changed"]
            assert move.changes[:len(stored[move.observation_id])] == stored[move.observation_id]
            before = reads.load_catalog(conn, source_id, move.before)
            after = reads.load_catalog(conn, source_id, move.after)
            assert derived == effective_changes(before, after, FLOORS), move.after.label
    # the jump of 02 -> 03 and its undoing by the return to 03's state from 06
    jumps = [(m.after.label, c["field"], c["old"]["provider"], c["new"]["provider"])
             for m in moves for c in m.changes
             if c["kind"] == "effective_price_changed" and c["model"] == "llama-3.3-70b-instruct"
             and c["field"] == "effective.zdr"]
    assert jumps == [("2026-11-03.1", "effective.zdr", "deepinfra", "groq"),
                     ("2026-11-06.1", "effective.zdr", "groq", "deepinfra"),
                     ("2026-11-03.1", "effective.zdr", "deepinfra", "groq")]
