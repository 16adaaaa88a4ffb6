"""The words for changes, defined once: how kinds are counted ("3 price changes, 1 data-policy
change (1 weakened)") and the one Markdown sentence for a change. The CLI, the log lines, the
notifications and every report use these.

>>> count_text([{"kind": "price_changed"}, {"kind": "price_changed"},
...             {"kind": "data_policy_changed", "old": "zdr", "new": "none", "weakened": True}])
'2 price changes, 1 data-policy change (1 weakened)'
>>> markdown_line({"kind": "price_changed", "model": "gpt-4o", "provider": "openai",
...                "field": "input_price", "old": 2.5, "new": 2.0, "change_pct": -20.0})
'**gpt-4o** on openai: input price $2.50 → $2.00 (-20.0%)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .format import format_count, format_json, format_pct, format_price, md_escape, policy_label

__all__ = ["KIND_LABELS", "Count", "became_unknown", "count_text", "counts", "markdown_line"]

_RANKED_POLICIES = ("zdr", "no_training", "none")

# Known kinds in the order their counts and sections appear (money first), with the
# singular and plural label of a count.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "price_changed": ("price change", "price changes"),
    "data_policy_changed": ("data-policy change", "data-policy changes"),
    "model_added": ("model added", "models added"),
    "model_removed": ("model removed", "models removed"),
    "provider_added": ("provider added", "providers added"),
    "provider_removed": ("provider removed", "providers removed"),
    "context_window_changed": ("context-window change", "context-window changes"),
    "endpoints_changed": ("endpoint change", "endpoint changes"),
    "field_changed": ("other field change", "other field changes"),
}


@dataclass(frozen=True)
class Count:
    kind: str
    count: int
    label: str
    note: str = ""

    @property
    def text(self) -> str:
        return f"{self.count} {self.label}{self.note}"


def became_unknown(change: Mapping[str, Any]) -> bool:
    """A policy change to a value that is not one of the known policies (or to none given)."""
    flag = change.get("became_unknown")
    if isinstance(flag, bool):
        return flag
    old, new = change.get("old"), change.get("new")
    return old in _RANKED_POLICIES and new not in _RANKED_POLICIES


def counts(kinds: Iterable[str], weakened: int, unknown: int = 0) -> list[Count]:
    """One count per kind, known kinds in `KIND_LABELS` order, then unknown kinds by name."""
    tally: dict[str, int] = {}
    for kind in kinds:
        tally[kind] = tally.get(kind, 0) + 1
    found: list[Count] = []
    for kind, (one, many) in KIND_LABELS.items():
        n = tally.pop(kind, 0)
        if n:
            flags = [f"{weakened} weakened"] if weakened else []
            flags += [f"{unknown} became unknown"] if unknown else []
            note = f" ({', '.join(flags)})" if kind == "data_policy_changed" and flags else ""
            found.append(Count(kind, n, one if n == 1 else many, note))
    for kind in sorted(tally):  # kinds this version does not know yet
        found.append(Count(kind, tally[kind], kind.replace("_", " ")))
    return found


def count_text(changes: Iterable[Mapping[str, Any]]) -> str:
    """`3 price changes, 1 data-policy change (1 weakened)` or `no changes` (our own words
    only: no remote string)."""
    records = [c for c in changes if isinstance(c, Mapping)]
    if not records:
        return "no changes"
    policy = [c for c in records if c.get("kind") == "data_policy_changed"]
    weakened = sum(1 for c in policy if c.get("weakened") is True)
    unknown = sum(1 for c in policy if c.get("weakened") is not True and became_unknown(c))
    kinds = ["" if c.get("kind") is None else str(c.get("kind")) for c in records]
    return ", ".join(c.text for c in counts(kinds, weakened, unknown))


def _model_providers(change: Mapping[str, Any]) -> list[str]:
    record = change.get("new") if change.get("kind") == "model_added" else change.get("old")
    if not isinstance(record, Mapping):
        return []
    return [str(p.get("name")) for p in record.get("providers") or [] if isinstance(p, Mapping)]


def markdown_line(change: Mapping[str, Any]) -> str:
    """One change as a Markdown bullet's text; remote strings escaped."""
    kind = change["kind"]
    model = f"**{md_escape(change.get('model'))}**" if change.get("model") else "catalog"
    provider = md_escape(change.get("provider")) if change.get("provider") else None
    where = f"{model} on {provider}" if provider else model
    old, new = change.get("old"), change.get("new")
    if kind == "price_changed":
        side = str(change.get("field") or "").removesuffix("_price") or "price"
        pct = change.get("change_pct")
        move = format_pct(pct) if pct is not None else "new charge"
        return f"{where}: {side} price {format_price(old)} → {format_price(new)} ({move})"
    if kind == "data_policy_changed":
        flag = " (**weakened**)" if change.get("weakened") else (
            " (**became unknown**)" if change.get("became_unknown") else "")
        return (f"{where}: data policy {md_escape(policy_label(old))} → "
                f"{md_escape(policy_label(new))}{flag}")
    if kind in ("model_added", "model_removed"):
        verb = "added" if kind == "model_added" else "removed"
        names = _model_providers(change)
        via = f" ({', '.join(md_escape(n) for n in names[:5])}{', …' if len(names) > 5 else ''})"
        return f"{model} {verb}{via if names else ''}"
    if kind in ("provider_added", "provider_removed"):
        verb = "added" if kind == "provider_added" else "removed"
        return f"{model}: provider {provider} {verb}"
    if kind == "context_window_changed":
        return f"{where}: context window {format_count(old)} → {format_count(new)}"
    if kind == "endpoints_changed":
        def listing(value: Any) -> str:
            return ", ".join(md_escape(v) for v in value) if isinstance(value, list) else "none"

        return f"{where}: endpoints {listing(old)} → {listing(new)}"
    label = kind.replace("_", " ") if kind != "field_changed" else md_escape(change.get("field"))
    return (f"{where}: {label} {md_escape(format_json(old, limit=60))} → "
            f"{md_escape(format_json(new, limit=60))}")
