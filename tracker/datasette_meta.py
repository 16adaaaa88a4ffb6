"""`tracker datasette-metadata`: a Datasette `metadata.json` for a tracker database.

    tracker datasette-metadata > metadata.json
    datasette tracker.db -m metadata.json

Titles and descriptions for the tables and the views (docs/schema.md), a description and a
unit for each view column (prices in USD per 1M tokens, times in UTC), the storage tables that
hold compressed bodies or delivery state hidden from the table list (their readable columns
are linked from the database page), and three canned queries: the catalog as of a date, the
biggest price moves of the last 7 days, every weakening.

>>> meta = datasette_metadata("tracker")
>>> sorted(meta.data["databases"]["tracker"]["queries"])
['biggest_price_moves', 'catalog_as_of', 'every_weakening']
>>> meta.data["databases"]["tracker"]["tables"]["current_offers"]["units"]["input_price"]
'usd_per_mtok'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DatasetteMetadata", "datasette_metadata"]

# A unit Datasette registers (with Pint) so that prices display as "2.5 $/Mtok". It is a
# plain factor of 1: Datasette rescales units with dimensions to a "compact" prefix (it would
# show $2.5 per 1M tokens as "2.5 µUSD/token"), and leaves a dimensionless one as it is.
CUSTOM_UNITS = ["usd_per_mtok = 1 = $/Mtok"]
PRICE_UNIT = "usd_per_mtok"

_PRICE_COLUMNS = {"input_price", "output_price", "old_price", "new_price"}

# The storage tables hidden from the table list: compressed bodies, or the tool's own state.
HIDDEN = {
    "snapshots": "the compressed body of every state (`raw_body`)",
    "observations": "the compressed body of rejected payloads (`rejected_body`)",
    "notifications": "the delivery state of each notification target",
    "changelogs": "the delivery ledger of changelog files",
    "alembic_version": "the schema revision",
}

# What the base tables hold (docs/schema.md has every column).
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "sources": ("What is tracked: one row per source", {}),
    "offers": (
        "Each provider's offer of a model as validity intervals in snapshot ids (storage; "
        "read offer_history for times and numbers)",
        {"input_price": "Exact decimal text, USD per 1M input tokens",
         "output_price": "Exact decimal text, USD per 1M output tokens",
         "valid_from": "The snapshot (`snapshots.id`) that introduced this value",
         "valid_to": "The snapshot that replaced it (exclusive); NULL while current"},
    ),
    "model_states": (
        "Each model's own fields as validity intervals in snapshot ids (storage; read "
        "model_history for times)",
        {"valid_from": "The snapshot (`snapshots.id`) that introduced these values",
         "valid_to": "The snapshot that replaced them (exclusive); NULL while current"},
    ),
    "changes": (
        "Every change record of every transition, when first observed",
        {"old": "The value before, as JSON", "new": "The value after, as JSON"},
    ),
    "snapshots": ("Every distinct catalog state of each source",
                  {"raw_body": "The exact bytes received, zstd-compressed (a delta)"}),
    "observations": ("Every poll, whatever its outcome",
                     {"rejected_body": "A rejected payload, zstd-compressed"}),
}

_UNITS = {"observations": {"duration_ms": "ms"}, "snapshots": {"raw_size": "byte"}}


@dataclass(frozen=True)
class DatasetteMetadata:
    """A Datasette `metadata.json` for the database served as `database`."""

    database: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


def _view_metadata() -> dict[str, dict[str, Any]]:
    from tracker.store.reads import view_columns

    tables: dict[str, dict[str, Any]] = {}
    for name, (description, columns) in view_columns().items():
        units = {column: PRICE_UNIT for column, _ in columns if column in _PRICE_COLUMNS}
        entry: dict[str, Any] = {
            "title": name.replace("_", " ").capitalize(),
            "description": description,
            "columns": dict(columns),
        }
        if units:
            entry["units"] = units
        tables[name] = entry
    return tables


def datasette_metadata(database: str, *, title: str | None = None) -> DatasetteMetadata:
    """The metadata for a tracker database that Datasette serves under the name `database`
    (the file name without `.db`)."""
    from tracker.store.reads import CANNED_QUERIES

    tables = _view_metadata()
    for name, (description, columns) in TABLES.items():
        tables[name] = {"description": description, **({"columns": columns} if columns else {})}
    for name, units in _UNITS.items():
        tables.setdefault(name, {})["units"] = units
    for name in HIDDEN:
        tables.setdefault(name, {})["hidden"] = True
    readable = ", ".join(
        f'<a href="{database}/{name}?_nocol={column}">{name}</a>'
        for name, column in (("snapshots", "raw_body"), ("observations", "rejected_body")))
    description_html = (
        "<p>Start with the views: <strong>current_offers</strong> (every offer now, with "
        "the time its price took effect), <strong>offer_history</strong>, "
        "<strong>price_changes</strong>, <strong>policy_changes</strong> and "
        "<strong>model_history</strong>. Prices are numbers in USD per 1M tokens, times "
        "are UTC.</p><p>Tables that hold compressed bodies or the tracker's own state are "
        f"hidden from this list; read the polls and states without the bodies: {readable}."
        "</p>")
    queries = {
        name: {"title": query_title, "description": description, "sql": sql}
        for name, (query_title, description, sql) in CANNED_QUERIES.items()
    }
    data = {
        "title": title or "LLM catalog history",
        "description": "Every price, provider and data policy the tracked catalogs listed, "
                       "and when each held (catalog-tracker).",
        "custom_units": CUSTOM_UNITS,
        "databases": {database: {"description_html": description_html, "tables": tables,
                                 "queries": queries}},
    }
    return DatasetteMetadata(database, data)
