"""`tracker demo`: the offline end-to-end run a new user tries first, as a process of its own
(it starts its own loopback server and fetches through the real HTTP client)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import TrackerProcess, user_env

pytestmark = pytest.mark.slow


def test_demo_writes_changelogs_showing_every_kind_of_change(tmp_path: Path) -> None:
    env = user_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "data"),
                   XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    tracker = TrackerProcess(env, tmp_path)
    run = tracker("demo")
    assert "Wrote 10 changelogs" in run.stdout
    reports = tmp_path / "reports-out" / "demo"
    markdown = "\n".join(p.read_text() for p in sorted(reports.glob("*.md")))
    html = "\n".join(p.read_text() for p in sorted(reports.glob("*.html")))
    for needle in (
        "qwen3-coder-480b-a35b-instruct",   # a 50% price cut
        "kimi-k2-instruct-0905",            # a price rise, a provider added
        "WEAKENED",                         # llama-3.3-70b-instruct on deepinfra: zdr -> none
        "claude-3-5-haiku-20241022",        # a model removed
        "claude-opus-4-5",                  # a model added
        "1,000,000",                        # a context window change
        "responses",                        # an endpoint change
        "priority",                         # an unknown field change
    ):
        assert needle in markdown, needle
        assert needle in html.replace("&#34;", '"'), needle
    # The unversioned payload is named by its content hash.
    assert len(list(reports.glob("changelog-*-*.md"))) == 5
    assert (tmp_path / "data" / "catalog-tracker" / "demo.db").exists()

    # A second run starts over and gives the same result.
    again = tracker("demo")
    assert "Wrote 10 changelogs" in again.stdout
