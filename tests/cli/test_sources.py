"""Source adapters end to end: OpenRouter, any OpenAI-compatible list and Auriko's directory,
each a source of its own in one database, fetched from recorded bodies on a loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog
from support.cli import Tracker
from support.paths import TESTS
from support.server import CatalogServer, Reply

DATA = TESTS / "data"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def configured(tracker: Tracker, server: CatalogServer, tmp_path: Path) -> Tracker:
    """The CLI with a config file naming four sources, all on the loopback server."""
    root = server.base_url.removesuffix("/v1")
    config = tmp_path / "tracker.toml"
    config.write_text(f"""
[sources.auriko]
kind = "auriko"
base_url = "{root}/v1"

[sources.openrouter]
kind = "openrouter"
base_url = "{root}/openrouter/api/v1"

[sources.local-vllm]
kind = "openai"
base_url = "{root}/vllm/v1"

[sources.openai]
kind = "openai"
base_url = "{root}/openai/v1"

[sources.directory]
kind = "auriko-directory"
base_url = "{root}/v1"
""")
    env = {k: v for k, v in tracker.env.items() if k != "AURIKO_BASE_URL"}
    env["TRACKER_CONFIG"] = str(config)
    return Tracker(env, tracker.cwd)


def kinds(result: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(c["kind"], c["model"], c["field"]) for c in result["changes"]]


def test_openrouter_prices_per_token_become_exact_prices_per_million(
    configured: Tracker, server: CatalogServer
) -> None:
    server.route("/openrouter/api/v1/models", recorded("openrouter-1.json"),
                 recorded("openrouter-2.json"))
    first = configured.json("fetch", "--source", "openrouter")
    assert first["outcome"] == "new" and first["to"]["catalog_version"] is None
    # No key is configured for OpenRouter, and none is sent.
    assert "Authorization" not in server.requests[0].headers

    second = configured.json("fetch", "--source", "openrouter")
    assert kinds(second) == [
        ("model_added", "deepseek/deepseek-v3.1", None),
        ("model_removed", "anthropic/claude-sonnet-4.5", None),
        ("price_changed", "openai/gpt-4o", "input_price"),
        ("context_window_changed", "meta-llama/llama-3.3-70b-instruct", "context_window"),
        ("field_changed", "openai/gpt-4o", "pricing.input_cache_read"),
    ]
    price = second["changes"][2]
    assert (price["provider"], price["old"], price["new"], price["change_pct"]) == (
        "openrouter", 2.5, 2, -20.0)
    added = second["changes"][0]["new"]
    assert added["providers"] == [{
        "name": "openrouter", "input_price": 0.2, "output_price": 0.8, "data_policy": None,
        "pricing": {"request": "0", "image": "0", "web_search": "0", "internal_reasoning": "0"},
    }]
    assert added["owned_by"] == "deepseek" and added["context_window"] == 163840
    assert second["changes"][4]["old"] == "0.00000125"


def test_openrouter_variable_price_router_is_kept_without_a_price(
    configured: Tracker, server: CatalogServer
) -> None:
    without_auto = json.loads(recorded("openrouter-1.json"))
    without_auto["data"] = [m for m in without_auto["data"] if m["id"] != "openrouter/auto"]
    server.route("/openrouter/api/v1/models", recorded("openrouter-1.json"), without_auto)
    configured("fetch", "--source", "openrouter")
    result = configured.json("fetch", "--source", "openrouter")
    (removed,) = result["changes"]
    assert removed["kind"] == "model_removed" and removed["model"] == "openrouter/auto"
    assert removed["old"]["providers"] == []
    assert removed["old"]["pricing"] == {"prompt": "-1", "completion": "-1"}


def test_openai_compatible_lists_track_models_coming_and_going(
    configured: Tracker, server: CatalogServer
) -> None:
    server.route("/openai/v1/models", recorded("openai-1.json"), recorded("openai-2.json"))
    server.route("/vllm/v1/models", recorded("vllm-1.json"))
    configured("fetch", "--source", "openai")
    second = configured.json("fetch", "--source", "openai")
    assert kinds(second) == [("model_added", "gpt-5", None),
                             ("model_removed", "gpt-4o-mini", None)]
    assert second["changes"][0]["new"]["providers"] == []

    vllm = configured.json("fetch", "--source", "local-vllm")
    assert vllm["outcome"] == "new" and vllm["to"]["model_count"] == 1


def test_auriko_directory_tiers_and_a_shutdown_announced_first(
    configured: Tracker, server: CatalogServer
) -> None:
    server.route("/v1/directory/models", recorded("directory-1.json"),
                 recorded("directory-2.json"))
    configured("fetch", "--source", "directory")
    second = configured.json("fetch", "--source", "directory")
    records = [(c["kind"], c["model"], c["provider"], c["field"], c["old"], c["new"])
               for c in second["changes"]]
    assert records == [
        ("shutdown_announced", "claude-3-5-haiku-20241022", "anthropic/standard",
         "shutdown_at", None, "2027-02-01T00:00:00Z"),
        ("data_policy_changed", "gpt-4o", "azure/standard", "data_policy", "zdr", "none"),
        ("field_changed", "gpt-4o", "openai/standard", "cache_read_price", 1.25, 1.0),
    ]
    assert second["changes"][1]["weakened"] is True
    assert server.requests[-1].headers["Authorization"].startswith("Bearer ak_test_")
    md = configured("diff", "--source", "directory", "--format", "md").stdout
    assert md.index("shutdown") < md.index("cache\\_read\\_price")


def test_three_sources_share_one_database_each_with_its_own_history(
    configured: Tracker, server: CatalogServer
) -> None:
    # (v2 changes something: a version that serves the same content is the same state)
    server.route("/v1/models", base_catalog("v1"), {**base_catalog("v2"), "note": "v2"})
    server.route("/openrouter/api/v1/models", recorded("openrouter-1.json"))
    server.route("/openai/v1/models", recorded("openai-1.json"), recorded("openai-2.json"))
    for _ in range(2):
        for source in ("auriko", "openrouter", "openai"):
            configured("fetch", "--source", source)
    assert [s["catalog_version"] for s in configured.json("snapshots")] == ["v1", "v2"]
    assert len(configured.json("snapshots", "--source", "openrouter")) == 1
    assert len(configured.json("snapshots", "--source", "openai")) == 2
    overview = {row["name"]: row for row in configured.json("sources")}
    assert overview["openrouter"]["last_outcome"] == "unchanged"
    assert overview["openai"]["kind"] == "openai" and overview["openai"]["snapshots"] == 2
    assert overview["directory"]["last_observed_at"] is None  # configured, never fetched
    text = configured("sources").stdout
    assert "openrouter" in text and "never" in text


def test_an_unknown_kind_names_the_file(tracker: Tracker, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[sources.x]\nkind = "gopher"\n')
    result = tracker("--config", str(config), "sources", check=2)
    assert str(config) in result.stderr and "unknown kind 'gopher'" in result.stderr


def test_invalid_openrouter_prices_are_rejected(
    configured: Tracker, server: CatalogServer
) -> None:
    server.route("/openrouter/api/v1/models", Reply(200, b'{"data": [{"id": "x/y", "created": 1,'
                 b' "pricing": {"prompt": "cheap", "completion": "0"}}]}'))
    result = configured("fetch", "--source", "openrouter", check=4)
    assert "model 'x/y' pricing.prompt: not a decimal price: 'cheap'" in result.stderr


def test_a_mixed_database_gives_per_source_and_combined_weekly_reports(
    configured: Tracker, tmp_path: Path
) -> None:
    """Three sources in one database, observed through one ISO week (2026-W45)."""
    v2 = base_catalog("v2")
    v2["data"][0]["providers"][0]["input_price"] = 2.0
    bodies = {
        "auriko": [json.dumps(base_catalog("v1")).encode(), json.dumps(v2).encode()],
        "openrouter": [recorded("openrouter-1.json"), recorded("openrouter-2.json")],
        "openai": [recorded("openai-1.json"), recorded("openai-2.json")],
    }
    for source, (first, second) in bodies.items():
        for day, payload in (("2026-11-03", first), ("2026-11-05", second)):
            path = tmp_path / f"{source}-{day}.json"
            path.write_bytes(payload)
            configured("ingest", str(path), "--source", source,
                       "--observed-at", f"{day}T09:00:00Z")

    # Per source: each report covers its own history only.
    week = ("--since", "2026-11-02", "--until", "2026-11-09")
    openrouter = configured.json("report", *week, "--source", "openrouter")
    assert [c["kind"] for c in openrouter["net"]] == [
        "model_added", "model_removed", "price_changed", "context_window_changed",
        "field_changed"]
    assert len(openrouter["events"]) == 1
    auriko = configured.json("report", *week)
    assert [(c["kind"], c["model"]) for c in auriko["net"]] == [("price_changed", "gpt-4o")]

    # Combined: one weekly report with a section per source.
    reports = tmp_path / "weekly"
    out = configured("report", "--weekly", "--week", "2026-W45", "--reports-dir", str(reports),
                     "--source", "auriko", "--source", "openrouter", "--source", "openai")
    assert "wrote" in out.stdout
    combined = json.loads((reports / "weekly-2026-W45.json").read_text())
    assert [s["source"] for s in combined["sources"]] == ["auriko", "openrouter", "openai"]
    kinds_by_source = {s["source"]: [c["kind"] for c in s["net"]] for s in combined["sources"]}
    assert kinds_by_source["openai"] == ["model_added", "model_removed"]
    markdown = (reports / "weekly-2026-W45.md").read_text()
    for source in ("auriko", "openrouter", "openai"):
        assert source in markdown
    html = (reports / "weekly-2026-W45.html").read_text()
    assert "deepseek/deepseek-v3.1" in html and "gpt-5" in html


def test_base_url_flag_applies_to_the_named_source(
    configured: Tracker, server: CatalogServer
) -> None:
    root = server.base_url.removesuffix("/v1")
    server.route("/elsewhere/models", recorded("openai-1.json"))
    result = configured.json("fetch", "--source", "openai", "--base-url", f"{root}/elsewhere")
    assert result["outcome"] == "new" and result["to"]["model_count"] == 4
    refused = configured("fetch", "--source", "openai", "--endpoint", "responses", check=2)
    assert "--endpoint applies to auriko sources" in refused.stderr
