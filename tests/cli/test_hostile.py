"""Remote strings are data, never markup: hostile model and provider ids go through every
output format (Markdown, HTML, JSON, CSV, Atom, text) without breaking or injecting anything."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from support.builders import catalog, model, provider
from support.cli import Tracker

HOSTILE_MODEL = "<img src=x onerror=alert(1)>|`rm -rf`|]]>\nline2\u202eevil"
HOSTILE_PROVIDER = "<script>alert(2)</script>|p`"
FORMULA_MODEL = "=HYPERLINK(\"http://x\")"


def hostile_history(tracker: Tracker, tmp_path: Path) -> None:
    v1 = catalog(
        model(HOSTILE_MODEL, provider(HOSTILE_PROVIDER, 1.0, 2.0, "zdr")),
        model(FORMULA_MODEL, provider("p", 1.0, 2.0, "zdr")),
        model("plain", provider("p", 1.0, 2.0)),
        version="v1 <b>bold</b>",
    )
    v2 = json.loads(json.dumps(v1))
    v2["catalog_version"] = "v2 ]]> |"
    v2["data"][0]["providers"][0]["input_price"] = 1.5
    v2["data"][0]["providers"][0]["data_policy"] = "none"
    v2["data"][1]["providers"][0]["data_policy"] = "none"
    v2["data"][2]["providers"].append(provider(HOSTILE_PROVIDER, 3, 4, None))
    for day, payload in ((1, v1), (2, v2)):
        path = tmp_path / f"v{day}.json"
        path.write_text(json.dumps(payload))
        tracker("ingest", str(path), "--observed-at", f"2026-11-0{day}T09:00:00Z")


def strings(value: object) -> set[str]:
    """Every string anywhere in a JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(strings(v) for v in value.values()), set(value))
    if isinstance(value, list):
        return set().union(*(strings(v) for v in value)) if value else set()
    return set()


def assert_safe_html(page: str) -> None:
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "<script" not in page  # our pages have no scripts at all
    assert "Content-Security-Policy" in page
    assert "\u202e" not in page  # bidi overrides are shown, not applied


def assert_safe_markdown(text: str) -> None:
    assert "<img" not in text and "<script" not in text and "\u202e" not in text
    expected = None
    for line in text.splitlines():
        if not line.startswith("|"):
            expected = None
            continue
        if line.startswith("| ---") or line.startswith("|---"):
            expected = line.count("|")
            continue
        if expected is not None:
            # every row of a table keeps the header's number of cells
            assert len(re.findall(r"(?<!\\)\|", line)) == expected, line


def test_hostile_ids_through_every_format(tracker: Tracker, tmp_path: Path) -> None:
    hostile_history(tracker, tmp_path)
    window = ("--since", "2026-10-30", "--until", "2026-11-05")

    for command in (("diff",), ("report", *window), ("audit", *window)):
        assert_safe_html(tracker(*command, "--format", "html").stdout)
        assert_safe_markdown(tracker(*command, "--format", "md").stdout)
        # JSON carries the exact strings
        assert HOSTILE_MODEL in strings(json.loads(tracker(*command, "--format", "json").stdout))

    diff = json.loads(tracker("diff", "--format", "json").stdout)
    assert {c["model"] for c in diff["changes"]} >= {HOSTILE_MODEL, FORMULA_MODEL}

    rows = list(csv.reader(io.StringIO(tracker("audit", *window, "--format", "csv").stdout)))
    assert len({len(r) for r in rows}) == 1  # a newline in an id does not add a row
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert any(cell == "'" + FORMULA_MODEL for cell in cells)

    history = tracker("history", HOSTILE_MODEL, "--format", "html").stdout
    assert_safe_html(history)
    assert "\u202e" not in tracker("history", HOSTILE_MODEL).stdout

    feed = tracker("feed").stdout
    root = ET.fromstring(feed)  # well-formed despite ]]> and control characters
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert "<img src=x" not in feed

    site = tmp_path / "site"
    tracker("site", str(site))
    for page in site.rglob("*.html"):
        assert_safe_html(page.read_text())
    for name in (p.name for p in site.rglob("*")):
        assert "/" not in name and "<" not in name and "\n" not in name


def test_ids_longer_than_500_characters_are_rejected(tracker: Tracker, tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps(catalog(model("m" * 501, provider("p", 1, 2)))))
    result = tracker("ingest", str(path), check=4)
    assert "id: Expected `str` of length <= 500" in result.stderr
