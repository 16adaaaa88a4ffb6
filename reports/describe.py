"""One display line per change record: what the timeline, the feed and the site list.

A line keeps remote strings raw (``model``, ``provider``, ``field`` and the old/new texts); the
templates escape them. ``tone`` names how the line is coloured: ``up`` / ``down`` for prices,
``warn`` for a weakened policy, ``unknown`` for a policy that became unknown, ``stronger`` for
one strengthened or restored, ``added`` / ``removed`` for models and providers, ``""``
otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .changelog import PriceRow, _price
from .format import format_count, format_json, format_price, policy_label
from .phrases import KIND_LABELS, count_text, policy_flag, restored_text

__all__ = ["KNOWN_KINDS", "ChangeLine", "count_text", "describe", "describe_all"]

_SHORT_LABELS = {
    "price_changed": "price",
    "data_policy_changed": "data policy",
    "model_added": "model added",
    "model_removed": "model removed",
    "provider_added": "provider added",
    "provider_removed": "provider removed",
    "context_window_changed": "context window",
    "endpoints_changed": "endpoints",
    "field_changed": "field",
}


@dataclass(frozen=True)
class ChangeLine:
    kind: str
    label: str
    model: str
    provider: str
    field: str
    old: str
    new: str
    detail: str
    tone: str
    note: str = ""  # why, in words (raw: remote names unescaped), e.g. an effective price's

    @property
    def what(self) -> str:
        """Model and provider as one label: ``model / provider`` (or the catalog)."""
        if not self.model and not self.provider:
            return "(catalog)"
        return f"{self.model} / {self.provider}" if self.provider else self.model


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _offer_text(record: object) -> str:
    if not isinstance(record, dict):
        return ""
    return (f"in {format_price(record.get('input_price'))} / out "
            f"{format_price(record.get('output_price'))}, policy "
            f"{policy_label(record.get('data_policy'))}")


def _model_text(record: object) -> str:
    if not isinstance(record, dict):
        return ""
    providers = record.get("providers")
    count = len(providers) if isinstance(providers, list) else 0
    parts = [f"{count} provider{'' if count == 1 else 's'}"]
    prices = [p.get("input_price") for p in providers or [] if isinstance(p, dict)]
    numbers = [p for p in prices if isinstance(p, int | float) and not isinstance(p, bool)]
    if numbers:
        parts.append(f"input from {format_price(min(numbers))}")
    if record.get("context_window") is not None:
        parts.append(f"context {format_count(record.get('context_window'))}")
    return ", ".join(parts)


def describe(change: dict[str, Any], siblings: Sequence[Mapping[str, Any]] | None = None
             ) -> ChangeLine:
    """The display line of one change record (any kind, unknown kinds included); `siblings`
    (the other records of its diff) let an effective-price change say what moved it."""
    kind = _s(change.get("kind"))
    if kind == "effective_price_changed":
        from .changelog import _effective

        moved = _effective(change, siblings or [])
        return ChangeLine(kind, f"effective price ({moved.floor})", moved.model,
                          moved.new_provider or moved.old_provider, _s(change.get("field")),
                          moved.old, moved.new, f"{moved.arrow} {moved.change}".strip(),
                          moved.tone, note=moved.reason)
    model, provider, field = (_s(change.get("model")), _s(change.get("provider")),
                              _s(change.get("field")))
    label = _SHORT_LABELS.get(kind, kind.replace("_", " "))
    old_raw, new_raw = change.get("old"), change.get("new")
    detail, tone = "", ""
    if kind == "price_changed":
        row: PriceRow = _price(change)
        label = f"{row.field} price"
        old, new = row.old, row.new
        detail = f"{row.arrow} {row.change}".strip()
        tone = row.direction if row.direction in ("up", "down") else ""
    elif kind == "data_policy_changed":
        old, new = policy_label(old_raw), policy_label(new_raw)
        detail, tone = {
            "weakened": ("⚠ weakened", "warn"),
            "became_unknown": ("? became unknown", "unknown"),
            "restored": ("↺ restored", "stronger"),
            "strengthened": ("▲ strengthened", "stronger"),
        }.get(policy_flag(change), ("", ""))
        if policy_flag(change) == "restored":
            detail += f": {restored_text(change.get('weakened_at'))}"
    elif kind in ("model_added", "model_removed"):
        old, new = _model_text(old_raw), _model_text(new_raw)
        tone = "added" if kind == "model_added" else "removed"
    elif kind in ("provider_added", "provider_removed"):
        old, new = _offer_text(old_raw), _offer_text(new_raw)
        tone = "added" if kind == "provider_added" else "removed"
    elif kind == "context_window_changed":
        old, new = format_count(old_raw), format_count(new_raw)
    elif kind == "endpoints_changed":
        old = ", ".join(_s(e) for e in old_raw) if isinstance(old_raw, list) else "none"
        new = ", ".join(_s(e) for e in new_raw) if isinstance(new_raw, list) else "none"
    else:
        old = format_json(old_raw) if "old" in change else ""
        new = format_json(new_raw) if "new" in change else ""
        if kind == "field_changed" and field:
            label = "field"
    return ChangeLine(kind, label, model, provider, field, old, new, detail, tone)


def describe_all(changes: list[dict[str, Any]]) -> list[ChangeLine]:
    from .phrases import by_model

    records = [c for c in changes if isinstance(c, dict)]
    siblings = by_model(records) if any(
        c.get("kind") == "effective_price_changed" for c in records) else {}
    return [describe(c, siblings.get(c.get("model"), [])) for c in records]


KNOWN_KINDS = tuple(KIND_LABELS)
