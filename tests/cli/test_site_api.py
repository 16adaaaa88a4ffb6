"""`tracker site DIR` writes a static JSON API under DIR/api/: each file validates against the
JSON Schema shipped in the package, every link of index.json leads to a file, the current
offers and the change lines agree with `tracker export` (which reads the SQL views, another
implementation of the same intervals), and each model's JSON agrees with its HTML page."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from support.cli import Tracker

from tracker.reports.format import format_price, format_time, policy_label
from tracker.schemas import NAMES, schema, schema_text


def validate(document: Any, name: str) -> None:
    errors = list(Draft202012Validator(schema(name), format_checker=FormatChecker())
                  .iter_errors(document))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]]


class PageTables(HTMLParser):
    """The headings and table rows of a page, in order: ("h", text) and ("row", [cells])."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, Any]] = []
        self._text: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3", "h4", "td", "th"):
            self._text = []
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3", "h4") and self._text is not None:
            self.items.append(("h", " ".join("".join(self._text).split())))
            self._text = None
        elif tag in ("td", "th") and self._text is not None and self._row is not None:
            self._row.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._row is not None:
            self.items.append(("row", self._row))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


VALUE_HEADER = ["From", "To", "Input", "Output", "Data policy", "First seen in"]


def page_intervals(html: str) -> dict[str, list[list[str]]]:
    """The "Every value per provider" tables of a model page: rows of cells, by provider."""
    parser = PageTables()
    parser.feed(html)
    found: dict[str, list[list[str]]] = {}
    inside, provider = False, None
    for kind, value in parser.items:
        if kind == "h":
            inside = inside or value == "Every value per provider"
            provider = value.rsplit(" ", 1)[0] if inside else None  # "openai 3": name, count
        elif inside and provider is not None and value != VALUE_HEADER:
            if len(value) != len(VALUE_HEADER):
                break
            found.setdefault(provider, []).append(value)
    return found


def test_the_api_validates_links_everything_and_agrees_with_the_pages(
        tracker: Tracker, report_history: dict[str, Any], tmp_path: Path) -> None:
    site = tmp_path / "site"
    # 3 models, index.json, current.json, changes.jsonl and the 4 schemas
    assert "13 pages and 10 API files to" in tracker("site", str(site)).stdout
    api = site / "api"

    index = json.loads((api / "index.json").read_text())
    validate(index, "index")
    assert [(s["name"], s["snapshots"], s["transitions"]) for s in index["sources"]] == [
        ("auriko", 4, 4)]
    links = index["links"]
    for target in [links["current"], links["changes"], *links["models"].values(),
                   *links["schemas"].values(), links["site"]]:
        assert (api / target).is_file(), target
    for name in NAMES:  # the schemas served are the ones shipped
        assert (api / "schemas" / f"{name}.schema.json").read_text() == schema_text(name)

    current = json.loads((api / "current.json").read_text())
    validate(current, "current")
    exported = [json.loads(line) for line in tracker("export", "offers").stdout.splitlines()]
    assert {(o["model"], o["provider"], o["input_price"], o["output_price"], o["data_policy"],
             o["since"]) for o in current["offers"]} == {
        (r["model"], r["provider"], r["input_price"], r["output_price"], r["data_policy"],
         r["valid_from_time"]) for r in exported if r["valid_to_time"] is None}

    lines = [json.loads(line) for line in (api / "changes.jsonl").read_text().splitlines()]
    for line in lines:
        validate(line, "change")
    changes = [json.loads(line) for line in tracker("export", "changes").stdout.splitlines()]
    assert [(c["observed_at"], c["kind"], c["model"], c["provider"], c["field"], c["old"],
             c["new"], c["to"]["catalog_version"]) for c in lines] == [
        (c["observed_at"], c["kind"], c["model"], c["provider"], c["field"], c["old"],
         c["new"], c["catalog_version"]) for c in changes]

    assert sorted(links["models"]) == ["claude-sonnet", "gpt-4o", "llama-70b"]
    for model_id, target in links["models"].items():
        document = json.loads((api / target).read_text())
        validate(document, "model")
        assert document["model"] == model_id
        page = (api / target).parent / document["page"]
        assert page.resolve() == (site / "models" / f"{Path(target).stem}.html").resolve()
        (history,) = document["histories"]
        shown = page_intervals(page.read_text())
        assert sorted(shown) == sorted(p["provider"] for p in history["providers"]), model_id
        for offer in history["providers"]:
            rows = shown[offer["provider"]]
            assert len(rows) == len(offer["intervals"]), (model_id, offer["provider"])
            for cells, interval in zip(rows, offer["intervals"], strict=True):
                start, end, inp, out, policy, version = cells
                assert (start, end) == (format_time(interval["from"]),
                                        format_time(interval["to"]) if interval["to"] else "now")
                assert inp.lstrip("▲▼ ") == format_price(interval["input_price"])
                assert out.lstrip("▲▼ ") == format_price(interval["output_price"])
                assert policy.startswith(policy_label(interval["data_policy"]))
                assert version == interval["first_catalog_version"]


def test_a_rebuild_removes_the_json_of_a_model_no_longer_built(
        tracker: Tracker, report_history: dict[str, Any], tmp_path: Path) -> None:
    site = tmp_path / "site"
    tracker("site", str(site))
    stale = site / "api" / "models" / "gone-model.json"
    stale.write_text("{}")
    assert "removed 1 stale pages" in tracker("site", str(site)).stdout
    assert not stale.exists() and (site / "api" / "models" / "gpt-4o.json").is_file()
