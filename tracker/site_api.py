"""The static JSON API that `tracker site DIR` writes beside its pages, under `DIR/api/`:

    api/index.json              sources, generated_at, schema version, links to the rest
    api/current.json            every offer of each source's latest state, since when it holds
    api/models/<name>.json      one model's whole history of intervals; <name> is the name of
                                its HTML page, models/<name>.html
    api/changes.jsonl           every change record, one a line, with its observation time and
                                the states before and after
    api/schemas/*.schema.json   the JSON Schema of each (the files of `tracker.schemas`)

Any static host then serves a read-only API. The documents are built from the same histories
and transitions as the HTML pages, so a model's JSON and its page agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from tracker.schemas import SCHEMA_VERSION, schema_text
from tracker.timeutil import iso

if TYPE_CHECKING:
    from tracker.history import ModelHistory, Transition

__all__ = ["ApiSource", "api_documents"]

# The schema of each document, by the document's path under api/.
SCHEMAS = {"index.json": "index", "current.json": "current", "models/": "model",
           "changes.jsonl": "change"}


@dataclass(frozen=True)
class ApiSource:
    """What the API says of one source: what the site's pages are built from."""

    name: str
    transitions: Sequence[Transition]
    histories: Mapping[str, ModelHistory]
    span: tuple[datetime, datetime] | None
    snapshots: int


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"


def _current(sources: Sequence[ApiSource]) -> list[dict[str, Any]]:
    offers = []
    for source in sources:
        for model_id in sorted(source.histories):
            history = source.histories[model_id]
            if not history.current:
                continue
            for provider, spans in sorted(history.providers.items()):
                if spans and spans[-1].end is None:
                    held = spans[-1].to_json()
                    offers.append({
                        "source": source.name, "model": model_id, "provider": provider,
                        "input_price": held["input_price"], "output_price": held["output_price"],
                        "data_policy": held["data_policy"], "since": held["from"],
                        "first_catalog_version": held["first_catalog_version"],
                    })
    return offers


def _change_lines(sources: Sequence[ApiSource]) -> Iterator[str]:
    moves = sorted((t for source in sources for t in source.transitions),
                   key=lambda t: (t.observed_at, t.source, t.observation_id))
    for t in moves:
        where = {"source": t.source, "observed_at": iso(t.observed_at),
                 "observation_id": t.observation_id, "outcome": t.outcome,
                 "from": t.before.to_json(), "to": t.after.to_json()}
        for record in t.changes:
            yield orjson.dumps({**where, **record}).decode() + "\n"


def api_documents(sources: Sequence[ApiSource], pages: Mapping[str, str], *,
                  generated_at: datetime, version: str) -> dict[str, str]:
    """The text of every API file, by its path under `api/`; `pages` is the file name
    (without extension) of each model's page."""
    generated = iso(generated_at)
    head = {"schema_version": SCHEMA_VERSION, "generated_at": generated}
    documents: dict[str, str] = {}
    model_links: dict[str, str] = {}
    for model_id in sorted(pages):
        name = pages[model_id]
        items = [s.histories[model_id] for s in sources if model_id in s.histories]
        if not items:
            continue
        path = f"models/{name}.json"
        model_links[model_id] = path
        documents[path] = _json({**head, "model": model_id, "page": f"../../models/{name}.html",
                                 "histories": [h.to_json() for h in items]})
    documents["current.json"] = _json({
        **head,
        "sources": [{"source": s.name,
                     "last_observed_at": iso(s.span[1]) if s.span else None} for s in sources],
        "offers": _current(sources),
    })
    documents["changes.jsonl"] = "".join(_change_lines(sources))
    for name in sorted(set(SCHEMAS.values())):
        documents[f"schemas/{name}.schema.json"] = schema_text(name)
    documents["index.json"] = _json({
        **head,
        "tracker_version": version,
        "sources": [{
            "name": s.name, "snapshots": s.snapshots, "transitions": len(s.transitions),
            "first_observed_at": iso(s.span[0]) if s.span else None,
            "last_observed_at": iso(s.span[1]) if s.span else None,
            "models_now": sum(1 for h in s.histories.values() if h.current),
        } for s in sources],
        "links": {
            "current": "current.json",
            "changes": "changes.jsonl",
            "models": model_links,
            "schemas": {name: f"schemas/{name}.schema.json"
                        for name in sorted(set(SCHEMAS.values()))},
            "site": "../index.html",
        },
    })
    return documents
