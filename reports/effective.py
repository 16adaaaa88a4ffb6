"""`tracker effective`: the effective offer per model and data-policy floor, for a terminal
(a table) and for a spreadsheet (CSV). The JSON is the rows themselves.

Input is `EffectiveReport.document()` (text) or `EffectiveReport.to_json()` (CSV): rows of
``{"model", "floor", "provider", "input_price", "output_price", "blended"}``.

>>> rows = [{"model": "llama-3.3-70b-instruct", "floor": "zdr", "provider": "groq",
...          "input_price": 0.59, "output_price": 0.79, "blended": 0.64}]
>>> print(effective_csv(rows), end="")
model,floor,provider,input_price,output_price,blended
llama-3.3-70b-instruct,zdr,groq,0.59,0.79,0.64
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .audit import csv_text
from .format import format_price, format_time, plain_text, snapshot_label

__all__ = ["EFFECTIVE_CSV_COLUMNS", "effective_csv", "effective_text"]

EFFECTIVE_CSV_COLUMNS = ("model", "floor", "provider", "input_price", "output_price",
                         "blended")


def effective_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (formula-like cells quoted, as every CSV of the tool)."""
    return csv_text(EFFECTIVE_CSV_COLUMNS, rows)


def _weight(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def effective_text(document: Mapping[str, Any]) -> str:
    """A table per the document's rows, with the state they were read from; remote text
    made plain. Models asked for by name show `none` at a floor where no offer qualifies."""
    rows = [r for r in document.get("offers") or [] if isinstance(r, Mapping)]
    floors = [str(f) for f in document.get("floors") or []]
    asked = [str(m) for m in document.get("models") or []]
    snap = document.get("snapshot") or {}
    weights = document.get("blend") or [3, 1]
    w_in, w_out = (_weight(w) for w in weights)
    out = [
        f"Effective prices of source {plain_text(document.get('source'))} as of "
        f"{format_time(document.get('as_of'))}: state {plain_text(snapshot_label(snap))} "
        f"(observed {format_time(document.get('observed_at'))}, "
        f"{document.get('model_count', 0)} models).",
        f"The cheapest offer meeting each floor by blended price, ({w_in} x input + {w_out} x "
        f"output) / {_weight(sum(weights))}; USD per 1M tokens.",
        "",
    ]
    table: list[tuple[str, str, str, str, str, str]] = []
    found = {(str(r.get("model")), str(r.get("floor"))): r for r in rows}
    models = asked or list(dict.fromkeys(str(r.get("model")) for r in rows))
    for model in models:
        for floor in floors:
            row = found.get((model, floor))
            if row is None:
                if asked:
                    table.append((model, floor, "none", "", "", "no qualifying offer"))
                continue
            table.append((model, floor, str(row.get("provider")),
                          format_price(row.get("input_price")),
                          format_price(row.get("output_price")),
                          format_price(row.get("blended"))))
    if not table:
        out.append("No model has an offer at " + (", ".join(floors) or "any floor") + ".")
        return "\n".join(out) + "\n"
    header = ("model", "floor", "provider", "input", "output", "blended")
    cells = [header, *[tuple(plain_text(c) for c in line) for line in table]]
    width = [max(len(line[i]) for line in cells) for i in range(3)]
    for line in cells:
        out.append(f"{line[0]:<{width[0]}}  {line[1]:<{width[1]}}  {line[2]:<{width[2]}}  "
                   f"{line[3]:>10}  {line[4]:>10}  {line[5]:>10}".rstrip())
    if not asked:
        counts = [(sum(1 for m in models if (m, f) not in found), f) for f in floors]
        missing = [f"{n} at {floor}" for n, floor in counts if n]
        if missing:
            out.append("")
            out.append("Models without a qualifying offer (left out): " + ", ".join(missing)
                       + ".")
    return "\n".join(out) + "\n"
