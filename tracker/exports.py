"""`tracker export`: the history as rows for scripts and notebooks, streamed.

Four kinds of rows, each with observation times (ISO 8601, UTC) and prices as numbers:

| kind | one row per | read from |
| --- | --- | --- |
| `offers` | interval of one price and policy of an offer | the `offer_history` view |
| `models` | interval of a model's own fields | the `model_history` view |
| `changes` | change record, with its observation time and states | `changes` |
| `observations` | poll, whatever its outcome (no bodies) | `observations` |

Rows come from the database a batch at a time (`tracker.store.reads.STREAM_BATCH`) and are
written as they come, so memory stays flat on a history of any length. A window
``[since, until)`` keeps the intervals that overlap it (offers, models) or the rows observed
inside it (changes, observations).

>>> from tracker.config import SourceConfig
>>> from tracker.demo import demo_catalogs
>>> from tracker.pipeline import Pipeline
>>> from tracker.store.db import open_database
>>> from tracker.timeutil import parse_iso
>>> engine = open_database("sqlite://")
>>> pipeline = Pipeline(engine, SourceConfig(name="auriko"))
>>> for day, body in enumerate(demo_catalogs()[:2], start=1):
...     _ = pipeline.ingest(body, observed_at=parse_iso(f"2026-11-0{day}T09:00Z"))
>>> with engine.connect() as conn:
...     rows = [r for r in export_rows(conn, "offers", ["auriko"])
...             if r["model"] == "deepseek-v3.1" and r["provider"] == "deepinfra"]
>>> [(r["input_price"], r["valid_from_time"], r["valid_to_time"]) for r in rows]
[(0.25, '2026-11-01T09:00:00Z', '2026-11-02T09:00:00Z'), (0.2, '2026-11-02T09:00:00Z', None)]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from tracker.errors import UsageError
from tracker.store import reads
from tracker.timeutil import iso

__all__ = ["COLUMNS", "EXPORT_FORMATS", "EXPORT_KINDS", "ExportResult", "export_rows"]

EXPORT_FORMATS = ("jsonl", "csv")

# The columns of each kind, in the order CSV writes them (JSON Lines keeps the same keys).
COLUMNS: dict[str, tuple[str, ...]] = {
    "offers": ("source", "model", "provider", "input_price", "output_price", "data_policy",
               "valid_from_time", "valid_to_time", "catalog_version", "snapshot_id"),
    "models": ("source", "model", "context_window", "supported_endpoints", "owned_by",
               "created", "valid_from_time", "valid_to_time", "catalog_version",
               "snapshot_id"),
    "changes": ("source", "observed_at", "kind", "model", "provider", "field", "old", "new",
                "change_pct", "weakened", "absent", "previous_catalog_version",
                "catalog_version", "from_snapshot_id", "to_snapshot_id", "observation_id"),
    "observations": ("source", "observed_at", "outcome", "http_status", "catalog_version",
                     "content_hash", "snapshot_id", "previous_snapshot_id", "error",
                     "duration_ms", "origin", "version_reused"),
}
EXPORT_KINDS = tuple(COLUMNS)

_TIMES = frozenset({"valid_from_time", "valid_to_time", "observed_at"})
_FLOATS = frozenset({"input_price", "output_price", "change_pct"})


@dataclass(frozen=True)
class ExportResult:
    """What `Tracker.export` wrote: how many rows of which kind, in which format, where."""

    kind: str
    format: str
    rows: int
    sources: tuple[str, ...]
    path: Path | None = None  # None: written to a stream (stdout)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "format": self.format, "rows": self.rows,
                "sources": list(self.sources),
                "path": str(self.path) if self.path is not None else None}


def check_kind(kind: str, fmt: str) -> None:
    """A `UsageError` for a kind or format that does not exist."""
    if kind not in COLUMNS:
        raise UsageError(f"unknown export {kind!r} (use one of: {', '.join(EXPORT_KINDS)})")
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r} (use jsonl or csv)")


def _value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _TIMES:
        return iso(value)
    if column in _FLOATS:
        # Always a float, so that DuckDB and pandas infer a DOUBLE column from any sample.
        return float(value)
    return value


def _plain(columns: Sequence[str], row: Any) -> dict[str, Any]:
    mapping = row._mapping
    return {column: _value(column, mapping[column]) for column in columns}


def export_rows(conn: Connection, kind: str, sources: Sequence[str],
                since: datetime | None = None,
                until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The rows of `kind` for the named sources, streamed from the database: plain JSON
    values, times as ISO text, prices as floats; the window [since, until) when given."""
    columns = COLUMNS[kind]
    if kind == "offers":
        for row in reads.stream_offer_history(conn, sources, since, until):
            yield _plain(columns, row)
    elif kind == "models":
        for row in reads.stream_model_history(conn, sources, since, until):
            plain = _plain(columns, row)
            endpoints = plain["supported_endpoints"]
            plain["supported_endpoints"] = (orjson.loads(endpoints) if endpoints is not None
                                            else None)
            yield plain
    else:
        known = reads.source_ids(conn)
        ids = [known[name] for name in sources if name in known]
        if kind == "changes":
            for row in reads.stream_changes(conn, ids, since, until):
                plain = _plain(columns, row)
                for side in ("old", "new"):
                    text = plain[side]
                    plain[side] = orjson.loads(text) if text is not None else None
                if plain["weakened"] is not None:
                    plain["weakened"] = bool(plain["weakened"])
                yield plain
        else:
            for row in reads.stream_observations(conn, ids, since, until):
                plain = _plain(columns, row)
                plain["version_reused"] = bool(plain["version_reused"])
                yield plain
