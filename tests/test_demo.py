"""`tracker demo`: the offline end-to-end run a new user tries first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_writes_changelogs_showing_every_kind_of_change(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    run = subprocess.run([sys.executable, "-m", "tracker", "demo"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
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
    again = subprocess.run([sys.executable, "-m", "tracker", "demo"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120, check=True)
    assert "Wrote 10 changelogs" in again.stdout
