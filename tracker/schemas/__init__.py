"""JSON Schemas (draft 2020-12) of the static JSON API that `tracker site` writes under `api/`
(see `tracker.site_api`), shipped in the package and copied into the site:

| schema | document |
| --- | --- |
| `index` | `api/index.json`: sources, generated_at, schema version, links |
| `current` | `api/current.json`: every offer of each source's latest state |
| `model` | `api/models/<name>.json`: one model's whole history of intervals |
| `change` | each line of `api/changes.jsonl`: a change record with its time and states |

>>> sorted(NAMES)
['change', 'current', 'index', 'model']
>>> schema("index")["properties"]["schema_version"]["const"] == SCHEMA_VERSION
True
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["NAMES", "SCHEMA_VERSION", "schema", "schema_text"]

# The version of the API documents' shapes: raised when a field changes meaning or goes away
# (adding a field does not raise it).
SCHEMA_VERSION = 1

NAMES = ("index", "current", "model", "change")


def schema_text(name: str) -> str:
    """The text of the schema `name` (one of NAMES)."""
    if name not in NAMES:
        raise LookupError(f"no schema {name!r} (known: {', '.join(NAMES)})")
    return files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")


def schema(name: str) -> dict[str, Any]:
    """The schema `name`, parsed."""
    parsed: dict[str, Any] = json.loads(schema_text(name))
    return parsed
