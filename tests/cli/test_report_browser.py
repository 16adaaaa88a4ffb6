"""The HTML pages render in headless Chromium without console errors (a CSP violation, a
blocked resource or a script would each log one). Skipped without Chromium, except under CI.

bench/screenshots.py renders the same pages and takes screenshots to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.builders import base_catalog, model, provider
from support.cli import Tracker
from support.histories import ingest

pytestmark = pytest.mark.slow  # a browser process per page

HOSTILE = "evil<script>alert(1)</script>]]>\u202e<img src=x onerror=alert(2)>"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        raise RuntimeError("chromium is required under CI")
    pytest.skip("chromium is not installed")


def console_messages(browser: str, page: Path) -> tuple[str, list[str]]:
    """The page's DOM after load, and every console line Chromium logged for it."""
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--enable-logging=stderr", "--v=0",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    lines = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, lines


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one backend is enough
def test_pages_render_without_console_errors(tracker: Tracker, report_history: dict,
                                             tmp_path: Path) -> None:
    browser = chromium()
    catalog = base_catalog("v9")
    catalog["data"].append(model(HOSTILE, provider(HOSTILE, 1, 2, "none")))
    ingest(tracker, catalog, "2026-01-10T09:00Z")
    out = tmp_path / "pages"
    out.mkdir()
    tracker("report", "--since", "2026-01-01", "--format", "html", "-o", str(out / "report.html"))
    tracker("audit", "--format", "html", "-o", str(out / "audit.html"))
    tracker("audit", "--current", "--format", "html", "-o", str(out / "policies.html"))
    tracker("history", "gpt-4o", "--format", "html", "-o", str(out / "history.html"))
    tracker("history", HOSTILE, "--format", "html", "-o", str(out / "hostile.html"))
    tracker("site", str(out / "site"))
    pages = [*sorted(out.glob("*.html")), out / "site" / "index.html",
             out / "site" / "models" / "index.html",
             next((out / "site" / "weekly").glob("*.html"))]

    for page in pages:
        dom, messages = console_messages(browser, page)
        assert messages == [], (page.name, messages)
        assert "<main>" in dom, page.name
        assert "<script" not in dom and "<img" not in dom, page.name

    # the check itself works: a page that breaks its own CSP is caught
    bad = out / "bad.html"
    bad.write_text((out / "report.html").read_text().replace(
        "<main>", "<main><script>console.log('hi')</script>", 1))
    assert console_messages(browser, bad)[1]
