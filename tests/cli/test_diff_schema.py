"""`tracker diff --format json` matches the JSON Schema kept in the repository."""

from __future__ import annotations

import itertools
import json
from importlib import resources
from pathlib import Path

import jsonschema
from support.cli import Tracker

from tracker.demo import demo_catalogs


def schema() -> dict:
    return json.loads(resources.files("tracker").joinpath("diff.schema.json").read_text())


def test_diffs_between_every_pair_of_demo_catalogs_match_the_schema(
    tracker: Tracker, tmp_path: Path
) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    for day, payload in enumerate(demo_catalogs(), start=1):
        path = tmp_path / f"c{day}.json"
        path.write_bytes(payload)
        tracker("ingest", str(path), "--observed-at", f"2026-11-0{day}T09:00:00Z")
    ids = [s["id"] for s in tracker.json("snapshots")]
    assert len(ids) == 6
    kinds = set()
    pairs = [*itertools.pairwise(ids), (ids[0], ids[-1])]
    for a, b in pairs:
        for first, second in ((a, b), (b, a)):
            diff = json.loads(tracker("diff", str(first), str(second), "--format", "json").stdout)
            validator.validate(diff)
            kinds.update(c["kind"] for c in diff["changes"])
    assert kinds == {"model_added", "model_removed", "provider_added", "provider_removed",
                     "price_changed", "data_policy_changed", "context_window_changed",
                     "endpoints_changed", "field_changed"}


def test_the_schema_rejects_what_it_should() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    snap = {"id": 1, "catalog_version": None, "content_hash": "0" * 64,
            "first_observed_at": "2026-11-01T09:00:00Z", "model_count": 1}
    bad = {"from": snap, "to": snap, "changes": [
        {"kind": "price_changed", "model": "m", "provider": "p", "field": "input_price",
         "old": "2.5", "new": 2}]}
    assert not validator.is_valid(bad)
