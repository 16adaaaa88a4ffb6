"""`tracker export offers|models|changes|observations`: the history as rows, as JSON Lines or
spreadsheet-safe CSV, that DuckDB and pandas read without options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from support.builders import catalog, model, provider
from support.cli import Tracker
from support.histories import T1, T2, T3, T4, T5, ingest

from tracker.exports import COLUMNS, EXPORT_KINDS


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_offers_are_the_intervals_of_the_history(tracker: Tracker,
                                                 report_history: dict[str, Any]) -> None:
    rows = jsonl(tracker("export", "offers").stdout)
    assert all(list(row) == list(COLUMNS["offers"]) for row in rows)
    exported = {(r["model"], r["provider"], r["input_price"], r["output_price"],
                 r["data_policy"], r["valid_from_time"], r["valid_to_time"],
                 r["catalog_version"]) for r in rows}
    expected = set()
    for model_id in ("gpt-4o", "claude-sonnet", "llama-70b"):
        history = tracker.json("history", model_id)
        for offer in history["providers"]:
            for i in offer["intervals"]:
                expected.add((model_id, offer["provider"], float(i["input_price"]),
                              float(i["output_price"]), i["data_policy"], i["from"], i["to"],
                              i["first_catalog_version"]))
    assert exported == expected and len(rows) == len(expected)
    assert all(isinstance(r["input_price"], float) for r in rows)  # 10.0, never 10

    # A window keeps the intervals that overlap it: [T3, T4) sees gpt-4o/openai at 2.5 only.
    window = jsonl(tracker("export", "offers", "--since", T3, "--until", T4).stdout)
    assert [(r["input_price"], r["valid_from_time"], r["valid_to_time"]) for r in window
            if (r["model"], r["provider"]) == ("gpt-4o", "openai")] == [(2.5, T3, T5)]
    assert all(r["valid_from_time"] < T4 and (r["valid_to_time"] is None
                                              or r["valid_to_time"] > T3) for r in window)


def test_changes_observations_and_models(tracker: Tracker,
                                         report_history: dict[str, Any]) -> None:
    changes = jsonl(tracker("export", "changes").stdout)
    report = tracker.json("report", "--since", T1)
    assert [(c["observed_at"], c["kind"], c["model"], c["provider"], c["field"], c["old"],
             c["new"]) for c in changes] == [
        (event["observed_at"], r["kind"], r["model"], r["provider"], r["field"], r["old"],
         r["new"]) for event in report["events"] for r in event["changes"]]
    weakening = next(c for c in changes if c["weakened"])
    assert (weakening["observed_at"], weakening["previous_catalog_version"],
            weakening["catalog_version"], weakening["old"], weakening["new"]) == (
        T3, "v2", "v3", "zdr", "none")
    first_day = jsonl(tracker("export", "changes", "--until", T3).stdout)
    assert {c["observed_at"] for c in first_day} == {T2}

    polls = jsonl(tracker("export", "observations").stdout)
    assert [(p["observed_at"], p["outcome"], p["catalog_version"]) for p in polls] == [
        (T1, "new", "v1"), ("2026-01-05T21:00:00Z", "unchanged", "v1"), (T2, "new", "v2"),
        (T3, "new", "v3"), (T4, "new", "v4"), ("2026-01-08T21:00:00Z", "unchanged", "v4"),
        (T5, "reverted", "v2")]

    models = jsonl(tracker("export", "models", "--format", "jsonl").stdout)
    assert [(m["valid_from_time"], m["valid_to_time"], m["context_window"],
             m["supported_endpoints"]) for m in models if m["model"] == "llama-70b"] == [
        (T1, T2, 131_072, ["chat_completions"]), (T3, T5, 131_072, ["chat_completions"])]


def test_csv_is_spreadsheet_safe_and_to_a_file_whole(tracker: Tracker, tmp_path: Path) -> None:
    hostile = catalog(model("=HYPERLINK(\"http://evil\")",
                            provider("@sum", 1.5, 2, "-2+3"), provider("plain", 10, 30)))
    ingest(tracker, hostile, T1)
    target = tmp_path / "out" / "offers.csv"
    target.parent.mkdir()
    result = tracker("export", "offers", "--format", "csv", "-o", str(target))
    assert result.stdout == "" and result.stderr == f"wrote 2 rows to {target}\n"
    text = target.read_bytes().decode()
    assert text.startswith(",".join(COLUMNS["offers"]) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["model"], r["provider"], r["input_price"], r["data_policy"]) for r in rows} == {
        ("'=HYPERLINK(\"http://evil\")", "'@sum", "1.5", "'-2+3"),
        ("'=HYPERLINK(\"http://evil\")", "plain", "10.0", "zdr")}
    assert {r["valid_to_time"] for r in rows} == {""}
    assert not list(tmp_path.glob("out/.*"))  # no temporary file left beside it


def test_duckdb_and_pandas_read_both_formats_without_options(
        tracker: Tracker, report_history: dict[str, Any], tmp_path: Path) -> None:
    import duckdb  # here, not at collection: the two take half a second to import
    import pandas as pd

    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"offers.{fmt}"
        tracker("export", "offers", "--format", fmt, "-o", str(path))
        relation = duckdb.sql(f"SELECT * FROM '{path}'")
        types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
        assert types["input_price"] == "DOUBLE" and types["output_price"] == "DOUBLE", types
        assert types["valid_from_time"] == "TIMESTAMP WITH TIME ZONE", types
        top = duckdb.sql(f"SELECT model, output_price FROM '{path}' "
                         "ORDER BY output_price DESC, model LIMIT 1").fetchall()
        assert top == [("claude-sonnet", 15.0)]
        # v2 holds at the end: gpt-4o and claude-sonnet, two providers each (llama-70b gone)
        assert duckdb.sql(f"SELECT count(*) FROM '{path}' WHERE valid_to_time IS NULL"
                          ).fetchall() == [(4,)]

        frame = pd.read_csv(path) if fmt == "csv" else pd.read_json(path, lines=True)
        assert list(frame.columns) == list(COLUMNS["offers"])
        assert str(frame["input_price"].dtype) == "float64"
        assert frame["output_price"].max() == 15.0


def test_the_kinds_of_the_command_are_the_kinds_of_the_library(tracker: Tracker) -> None:
    from tracker.cli import export

    assert set(export.params[0].type.choices) == set(EXPORT_KINDS)  # type: ignore[attr-defined]
    assert "Invalid value for 'KIND'" in tracker("export", "prices", check=2).stderr
    assert tracker("export", "offers").stdout == ""  # nothing stored yet: no rows
