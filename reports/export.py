"""Rows of `tracker export` as JSON Lines or CSV, written a row at a time.

JSON Lines: one JSON object per line, every column a key. CSV: a header, then one line per
row (RFC 4180, CRLF), by the audit's spreadsheet-safe rules (`audit.spreadsheet_safe`: text
that a spreadsheet would read as a formula gets a leading quote; booleans are true/false;
null is an empty cell); a list or object (endpoints, a changed record) is its JSON text.
DuckDB and pandas read both without options.

>>> rows = [{"model": "gpt-4o", "input_price": 2.5, "note": "=HYPERLINK()"}]
>>> export_csv(rows, columns=("model", "input_price", "note")).splitlines()
['model,input_price,note', "gpt-4o,2.5,'=HYPERLINK()"]
>>> print(export_jsonl(rows, columns=("model", "input_price", "note")), end="")
{"model":"gpt-4o","input_price":2.5,"note":"=HYPERLINK()"}
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from .audit import spreadsheet_safe

__all__ = ["export_csv", "export_jsonl", "export_lines"]


def _cell(value: Any) -> object:
    if isinstance(value, list | dict):
        value = orjson.dumps(value).decode()
    return spreadsheet_safe(value)


def export_lines(rows: Iterable[dict[str, Any]], columns: Sequence[str],
                 fmt: str) -> Iterator[str]:
    """The text of `rows` in `fmt` (jsonl or csv), one line at a time, as the rows come."""
    if fmt == "jsonl":
        for row in rows:
            yield orjson.dumps({column: row.get(column) for column in columns}).decode() + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(columns)
    for row in rows:
        yield line([_cell(row.get(column)) for column in columns])


def export_jsonl(rows: Iterable[dict[str, Any]], *, columns: Sequence[str]) -> str:
    """`rows` as JSON Lines, all at once (`export_lines` streams)."""
    return "".join(export_lines(rows, columns, "jsonl"))


def export_csv(rows: Iterable[dict[str, Any]], *, columns: Sequence[str]) -> str:
    """`rows` as spreadsheet-safe CSV with a header, all at once (`export_lines` streams)."""
    return "".join(export_lines(rows, columns, "csv"))
