"""`tracker datasette-metadata`, served by Datasette in-process (its ASGI test client) over a
tracker database, as `datasette tracker.db -m metadata.json` would: prices in the views sort
as numbers, every canned query runs, the storage tables are hidden. Datasette reads SQLite, so
this test runs on SQLite only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.builders import base_catalog, catalog, model, provider
from support.cli import Tracker, user_env
from support.histories import ingest


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def serve(database: Path, metadata: dict[str, Any],
          *paths: str) -> list[tuple[int, Any]]:
    """GET each path from Datasette serving `database`: (status, JSON or page text)."""

    from datasette.app import Datasette  # here: importing it takes a second

    async def requests() -> list[tuple[int, Any]]:
        datasette = Datasette([str(database)], metadata=metadata)
        await datasette.invoke_startup()
        found = []
        for path in paths:
            response = await datasette.client.get(path)
            body = response.json() if ".json" in path else response.text
            found.append((response.status_code, body))
        return found

    return asyncio.run(requests())


def test_datasette_sorts_prices_as_numbers_and_runs_every_canned_query(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    home = tmp_path / "home"
    home.mkdir()
    tracker = Tracker(env=user_env(home, TRACKER_DATABASE_URL=f"sqlite:///{database}",
                                   TRACKER_REPORTS_DIR=str(tmp_path / "reports")), cwd=tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    v1 = base_catalog("v1")
    v2 = base_catalog("v2")
    v2["data"].append(model("o1-pro", provider("openai", 15, 60, "no_training")))
    v2["data"][0]["providers"][0]["input_price"] = 2.0  # gpt-4o on openai: 2.5 -> 2.0
    v2["data"][1]["providers"][1]["data_policy"] = "none"  # claude-sonnet on bedrock weakens
    ingest(tracker, v1, iso(now - timedelta(days=3)))
    ingest(tracker, v2, iso(now - timedelta(days=2)))
    ingest(tracker, catalog(*v2["data"], version="v3"), iso(now - timedelta(days=1)))

    tracker("datasette-metadata", "-o", str(tmp_path / "metadata.json"))
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert list(metadata["databases"]) == ["tracker"]  # named after the file, as Datasette does
    as_of = iso(now - timedelta(days=2, hours=12))
    (views, text, moves, as_of_rows, weakenings, listing, page, snapshots, front) = serve(
        database, metadata,
        "/tracker/current_offers.json?_sort_desc=input_price&_shape=array",
        "/tracker/offers.json?_sort_desc=input_price&_shape=array",
        "/tracker/biggest_price_moves.json?_shape=array",
        f"/tracker/catalog_as_of.json?_shape=array&as_of={as_of}",
        "/tracker/every_weakening.json?_shape=array",
        "/tracker.json",
        "/tracker/current_offers",
        "/tracker/snapshots?_nocol=raw_body",
        "/tracker",
    )

    # The view sorts numerically; the table's exact decimal text sorts as text ("3" > "15").
    assert views[0] == 200
    prices = [row["input_price"] for row in views[1]]
    assert prices[:3] == [15.0, 3.0, 3.0] and prices == sorted(prices, reverse=True)
    assert [row["input_price"] for row in text[1]][:2] == ["3", "3"]

    assert moves[0] == 200
    assert [(r["model"], r["provider"], r["old_price"], r["new_price"], r["change_pct"])
            for r in moves[1]] == [("gpt-4o", "openai", 2.5, 2.0, -20.0)]
    assert as_of_rows[0] == 200
    assert {(r["model"], r["provider"], r["input_price"]) for r in as_of_rows[1]} == {
        ("gpt-4o", "openai", 2.5), ("gpt-4o", "azure", 2.5), ("claude-sonnet", "anthropic", 3.0),
        ("claude-sonnet", "bedrock", 3.0), ("llama-70b", "together", 0.88),
        ("llama-70b", "groq", 0.59)}
    assert weakenings[0] == 200
    assert [(r["model"], r["provider"], r["old_policy"], r["new_policy"], r["catalog_version"])
            for r in weakenings[1]] == [("claude-sonnet", "bedrock", "zdr", "none", "v2")]

    hidden = {table["name"] for table in listing[1]["tables"] if table["hidden"]}
    assert {"snapshots", "observations", "notifications", "alembic_version"} <= hidden
    assert {"offers", "changes", "sources"}.isdisjoint(hidden)
    assert page[0] == 200 and "15.0&nbsp;$/Mtok" in page[1]  # prices shown with their unit
    assert "USD per 1M input tokens" in page[1]  # the column descriptions
    assert snapshots[0] == 200 and 'class="col-catalog_version' in snapshots[1]
    assert 'class="col-raw_body' not in snapshots[1]
    assert 'href="tracker/snapshots?_nocol=raw_body"' in front[1]  # the database page links it
