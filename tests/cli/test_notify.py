"""Notifications: after a run that found changes, Apprise delivers a short Markdown summary.

A loopback HTTP receiver (tests/support/receiver.py) stands in for Slack & co. The tests drive
`tracker fetch` as cron would and read what arrived.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog, model, provider
from support.cli import Tracker
from support.receiver import Receiver
from support.server import CatalogServer, Reply

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def configure(tmp_path: Path, text: str) -> str:
    path = tmp_path / "tracker.toml"
    path.write_text(text)
    return str(path)


def changed(version: str = "v2") -> dict[str, Any]:
    """The base catalog with one change of each interesting sort."""
    payload = copy.deepcopy(base_catalog(version))
    gpt, claude, llama = payload["data"]
    gpt["providers"][0]["input_price"] = 2.0               # openai input -20%
    gpt["providers"][1]["data_policy"] = "none"            # azure zdr -> none: weakened
    claude["providers"][0]["data_policy"] = "zdr"          # anthropic no_training -> zdr
    claude["providers"].pop(1)                             # bedrock removed
    llama["providers"][1]["input_price"] = 0.89            # groq input +50.9%
    payload["data"].append(model("mistral-large", provider("mistral", 2.0, 6.0)))
    return payload


def test_a_run_that_found_changes_sends_a_short_markdown_summary(
    tracker: Tracker, server: CatalogServer, receiver: Receiver, tmp_path: Path
) -> None:
    config = configure(tmp_path, f'[[notify]]\nname = "team"\nurl = "{receiver.url("/hook")}"\n')
    server.serve(base_catalog("v1"), changed("v2"))
    tracker("--config", config, "fetch")
    assert receiver.posts == []  # a first snapshot is not a change
    result = tracker("--config", config, "fetch")
    assert "new snapshot v2" in result.stdout

    [message] = receiver.messages("/hook")
    assert message["type"] == "info"
    assert message["title"].startswith("auriko: catalog v1 → v2: ")
    body = message["message"]
    assert body.startswith("**auriko** catalog **v1 → v2** (observed ")
    # Most important first: the weakened policy, then price moves by size.
    lines = [line for line in body.splitlines() if line.startswith("- ")]
    assert lines[0] == "- **gpt-4o** on azure: data policy zdr → none (**weakened**)"
    assert lines[1] == "- **llama-70b** on groq: input price $0.59 → $0.89 (+50.9%)"
    assert "- **gpt-4o** on openai: input price $2.50 → $2.00 (-20.0%)" in lines
    assert "- **claude-sonnet**: provider bedrock removed" in lines
    assert "- **mistral-large** added (mistral)" in lines
    changelog = body.split("Changelog: `")[1].split("`")[0]
    assert changelog.endswith("-v2.md") and Path(changelog).is_file()

    # Nothing new: nothing sent.
    tracker("--config", config, "fetch")
    assert len(receiver.posts) == 1


@SQLITE_ONLY
def test_filters_suppress_what_they_should(
    tracker: Tracker, server: CatalogServer, receiver: Receiver, tmp_path: Path
) -> None:
    config = configure(tmp_path, f"""
[[notify]]
name = "big-moves"
url = "{receiver.url('/big')}"
kinds = ["price_changed"]
min_price_change_pct = 25

[[notify]]
name = "policies"
url = "{receiver.url('/policy')}"
kinds = ["data_policy_changed"]
only_weakened_policies = true

[[notify]]
name = "openai"
url = "{receiver.url('/openai')}"
providers = ["open*"]

[[notify]]
name = "llama"
url = "{receiver.url('/llama')}"
models = ["LLAMA-*"]

[[notify]]
name = "only-huge-moves"
url = "{receiver.url('/huge')}"
kinds = ["price_changed"]
min_price_change_pct = 90

[[notify]]
name = "another-source"
url = "{receiver.url('/other')}"
sources = ["openrouter"]
""")
    server.serve(base_catalog("v1"), changed("v2"))
    tracker("--config", config, "fetch")
    tracker("--config", config, "fetch")

    assert {path for path, _ in receiver.posts} == {"/big", "/policy", "/openai", "/llama"}

    def bullets(path: str) -> list[str]:
        [message] = receiver.messages(path)
        return [ln for ln in message["message"].splitlines() if ln.startswith("- ")]

    assert bullets("/big") == ["- **llama-70b** on groq: input price $0.59 → $0.89 (+50.9%)"]
    assert bullets("/policy") == ["- **gpt-4o** on azure: data policy zdr → none (**weakened**)"]
    assert bullets("/openai") == ["- **gpt-4o** on openai: input price $2.50 → $2.00 (-20.0%)"]
    assert bullets("/llama") == ["- **llama-70b** on groq: input price $0.59 → $0.89 (+50.9%)"]
    # The summary says how much the filter left out.
    assert "1 price change (1 of 6 changes match)." in receiver.messages("/big")[0]["message"]


def test_a_failed_delivery_is_retried_by_the_next_run(
    tracker: Tracker, server: CatalogServer, receiver: Receiver, tmp_path: Path,
    database_url: str,
) -> None:
    config = configure(tmp_path, f'[[notify]]\nurl = "{receiver.url("/hook")}"\n')
    receiver.fail("/hook", 500)
    server.serve(base_catalog("v1"), changed("v2"))
    tracker("--config", config, "fetch")
    # The receiver refuses: the fetch still succeeds and keeps its snapshot.
    result = tracker("--config", config, "fetch")
    assert "new snapshot v2" in result.stdout
    assert "notify notify-1 (json://127.0.0.1:" in result.stderr
    assert "delivery failed" in result.stderr and "the next run tries again" in result.stderr
    status = tracker.json("--config", config, "status")
    [target] = status["notifications"]
    assert target["failed_attempts"] == 1 and target["pending_transitions"] == 1
    assert target["target"].startswith("notify-1 (json://127.0.0.1:")

    # The next run (nothing new in the catalog) delivers what is pending.
    tracker("--config", config, "fetch")
    assert [p for p, _ in receiver.posts] == ["/hook", "/hook"]
    first, second = receiver.messages("/hook")
    assert first == second and "v1 → v2" in second["title"]
    status = tracker.json("--config", config, "status")
    assert status["notifications"][0]["failed_attempts"] == 0
    assert status["notifications"][0]["pending_transitions"] == 0
    tracker("--config", config, "fetch")
    assert len(receiver.posts) == 2


@SQLITE_ONLY
def test_failure_alerts_after_n_failed_runs_in_a_row_and_a_recovery_notice(
    tracker: Tracker, server: CatalogServer, receiver: Receiver
) -> None:
    env = {"TRACKER_NOTIFY_URLS": receiver.url("/ops")}
    server.serve(Reply(503, b"down"), Reply(503, b"down"), Reply(503, b"down"),
                 base_catalog("v1"))
    for _ in range(3):
        tracker("fetch", "--retries", "0", "--notify-on-failure", "2", check=3, extra_env=env)
    [alert] = receiver.messages("/ops")  # once per streak, not on every failed run
    assert alert["type"] == "failure"
    assert alert["title"] == "auriko: 2 failed runs in a row"
    assert "- latest: failed: HTTP 503, " in alert["message"]
    assert "- last successful fetch: never" in alert["message"]

    tracker("fetch", "--notify-on-failure", "2", extra_env=env)
    alert, recovery = receiver.messages("/ops")
    assert recovery["type"] == "success" and recovery["title"] == "auriko: fetching again"


@SQLITE_ONLY
def test_tracker_notify_urls_replace_the_config_file_and_never_reach_the_logs(
    tracker: Tracker, server: CatalogServer, receiver: Receiver, tmp_path: Path
) -> None:
    config = configure(tmp_path, f'[[notify]]\nurl = "{receiver.url("/from-file")}"\n')
    secret_url = receiver.url("/b").replace("json://", "json://bot:pa55word-x9z@")
    env = {"TRACKER_NOTIFY_URLS": f"{receiver.url('/a')}, {secret_url}"}
    receiver.fail("/b", 500)
    server.serve(base_catalog("v1"), changed("v2"))
    tracker("--config", config, "fetch", extra_env=env)
    result = tracker("-vv", "--config", config, "fetch", extra_env=env)
    assert {path for path, _ in receiver.posts} == {"/a", "/b"}
    assert "delivery failed" in result.stderr
    assert "pa55word-x9z" not in result.stderr and secret_url not in result.stderr


@SQLITE_ONLY
def test_no_notify_sends_nothing(
    tracker: Tracker, server: CatalogServer, receiver: Receiver
) -> None:
    env = {"TRACKER_NOTIFY_URLS": receiver.url("/hook")}
    server.serve(base_catalog("v1"), changed("v2"))
    tracker("fetch", extra_env=env)
    tracker("fetch", "--no-notify", extra_env=env)
    assert receiver.posts == []
