"""`tracker feed` (Atom 1.0) and `tracker site DIR` (a static site that works from disk)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from support.builders import base_catalog, model, provider
from support.cli import Tracker
from support.histories import T2, T3, T4, T5, ingest

ATOM = "{http://www.w3.org/2005/Atom}"
# Remote strings that try to break XML, HTML and file names.
HOSTILE = "evil]]><b>&amp;\x01\x1b[31m\u202e/../../etc/passwd"


def atom(text: str) -> ET.Element:
    root = ET.fromstring(text.encode())  # raises on anything not well-formed
    assert root.tag == f"{ATOM}feed"
    return root


def check_atom(root: ET.Element) -> list[ET.Element]:
    """The elements RFC 4287 requires, with RFC 3339 times; returns the entries."""
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None, name
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip(), name
        assert entry.find(f"{ATOM}content") is not None or entry.find(f"{ATOM}link") is not None
        datetime.fromisoformat((entry.findtext(f"{ATOM}updated") or "").replace("Z", "+00:00"))
        assert urlparse(entry.findtext(f"{ATOM}id") or "").scheme == "tag"
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    return entries


def test_the_feed_is_valid_atom_with_one_entry_per_transition(
    tracker: Tracker, report_history: dict, tmp_path: Path
) -> None:
    catalog = base_catalog("v9")
    catalog["data"].append(model(HOSTILE, provider(HOSTILE, 1, 2, f"zdr{HOSTILE}")))
    ingest(tracker, catalog, "2026-01-10T09:00Z")

    out = tmp_path / "changes.atom"
    tracker("feed", "-o", str(out))
    entries = check_atom(atom(out.read_text()))
    assert [e.findtext(f"{ATOM}updated") for e in entries] == [
        "2026-01-10T09:00:00Z", T5, T4, T3, T2]  # newest first
    titles = [e.findtext(f"{ATOM}title") or "" for e in entries]
    assert titles[1] == "auriko: v4 → v2 (return to an earlier version): 2 price changes, " \
        "1 data-policy change, 1 model removed"
    # the hostile id survives as visible text: no raw control or bidi character, no markup
    content = entries[0].findtext(f"{ATOM}content") or ""
    assert "evil]]&gt;&lt;b&gt;&amp;amp;\\x01\\x1b[31m\\u202e/../../etc/passwd" in content
    assert "<b>" not in content and "\x1b" not in out.read_text()
    # ids are stable: a second run gives the same feed
    assert tracker("feed").stdout == out.read_text()
    # a window and a limit
    windowed = check_atom(atom(tracker("feed", "--since", T3, "--until", T5).stdout))
    assert [e.findtext(f"{ATOM}updated") for e in windowed] == [T4, T3]
    assert len(check_atom(atom(tracker("feed", "--limit", "2").stdout))) == 2
    linked = atom(tracker("feed", "--site-url", "https://catalog.example.com/").stdout)
    link = linked.find(f"{ATOM}entry/{ATOM}link")
    assert link is not None and link.get("href", "").startswith(
        "https://catalog.example.com/changes/20260110T090000Z-auriko-v9")
    self_link = linked.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "https://catalog.example.com/changes.atom"


def test_the_static_site(tracker: Tracker, report_history: dict, tmp_path: Path) -> None:
    catalog = base_catalog("v9")
    for name in (HOSTILE, "GPT-4o", "con", "a" * 300):
        catalog["data"].append(model(name, provider("p", 1, 2, "zdr")))
    ingest(tracker, catalog, "2026-01-13T09:00Z")
    site = tmp_path / "site"
    (site / "models").mkdir(parents=True)
    (site / "models" / "stale.html").write_text("left from an earlier build")
    (site / "notes.txt").write_text("the user's own file")

    result = tracker("site", str(site))
    assert "5 transitions, 2 weekly reports, 7 models; removed 1 stale pages" in result.stdout
    assert not (site / "models" / "stale.html").exists() and (site / "notes.txt").exists()
    assert sorted(p.name for p in (site / "weekly").iterdir()) == [
        "weekly-2026-W02.html", "weekly-2026-W03.html"]
    models = sorted(p.name for p in (site / "models").iterdir())
    assert "gpt-4o.html" in models and "index.html" in models
    for name in models:  # safe, short, unique even on a case-insensitive disk
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,90}\.html", name), name
    assert len({m.lower() for m in models}) == len(models) == 8
    check_atom(atom((site / "changes.atom").read_text()))

    # the index lists transitions newest first, each linking to its changelog page
    index = (site / "index.html").read_text()
    times = re.findall(r'<td class="date"><a href="changes/[^"]+">([^<]+)</a>', index)
    assert times == sorted(times, reverse=True) and len(times) == 5

    # every link is relative and leads to a page of the site
    pages = list(site.rglob("*.html"))
    assert len(pages) == 5 + 2 + 8 + 3
    for page in pages:
        text = page.read_text()
        assert "<script" not in text and "\u202e" not in text
        for href in re.findall(r'href="([^"]+)"', text):
            assert not urlparse(href).scheme and not href.startswith("/"), (page, href)
            target = (page.parent / unquote(href.split("#")[0])).resolve()
            assert target.is_file(), (page, href)

    hostile_page = next(p for p in (site / "models").iterdir() if p.name.startswith("evil"))
    assert "evil]]&gt;&lt;b&gt;&amp;amp;" in hostile_page.read_text()
