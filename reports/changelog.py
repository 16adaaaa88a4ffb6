"""Changelog renderers: turn a diff (see the guide, "Change records") into Markdown or HTML.

The diff is first shaped into a small view model of display-ready rows (``build_view``); the
Jinja2 templates in ``templates/`` only lay those rows out. Remote strings stay raw in the view
model and are escaped by the template: autoescaping for HTML, the ``md_escape`` filter for
Markdown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .env import html_env, markdown_env
from .format import (
    format_count,
    format_json,
    format_pct,
    format_price,
    format_time,
    plain_text,
    policy_label,
    snapshot_label,
)
from .phrases import Count, became_unknown, count_text, counts

__all__ = ["Changelog", "build_view", "render_html", "render_markdown", "summary"]


@dataclass(frozen=True)
class Snapshot:
    label: str
    observed_at: str
    model_count: str


@dataclass(frozen=True)
class PriceRow:
    model: str
    provider: str
    field: str  # "input" or "output" (or the raw field name when unexpected)
    old: str
    new: str
    pct: float | None
    direction: str  # "up", "down" or "flat"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.direction, "")

    @property
    def change(self) -> str:
        """The change without arrow: "+25.0%", or "new charge" when the old price was 0."""
        if self.pct is not None:
            return format_pct(self.pct)
        return "new charge" if self.direction == "up" else "—"

    @property
    def sort_key(self) -> tuple[float, str, str, str]:
        size = math.inf if self.pct is None and self.direction == "up" else abs(self.pct or 0.0)
        return (-size, self.model, self.provider, self.field)


@dataclass(frozen=True)
class PolicyRow:
    model: str
    provider: str
    old: str
    new: str
    weakened: bool
    became_unknown: bool = False


@dataclass(frozen=True)
class Offer:
    """One provider of a model: its prices and data policy."""

    name: str
    input_price: str
    output_price: str
    policy: str


@dataclass(frozen=True)
class ModelRow:
    id: str
    context_window: str
    endpoints: str
    owned_by: str
    providers: list[Offer]


@dataclass(frozen=True)
class ProviderRow:
    model: str
    offer: Offer


@dataclass(frozen=True)
class ContextRow:
    model: str
    old: str
    new: str
    change: str
    direction: str


@dataclass(frozen=True)
class EndpointRow:
    model: str
    added: str
    removed: str
    now: str


@dataclass(frozen=True)
class FieldRow:
    model: str  # "" for a catalog-level field
    provider: str
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class OtherRow:
    kind: str
    model: str
    provider: str
    field: str
    old: str
    new: str


@dataclass
class Changelog:
    """Everything the templates show, as display-ready strings (remote text still raw)."""

    title: str
    from_snap: Snapshot | None
    to_snap: Snapshot
    counts: list[Count]
    total: int
    prices: list[PriceRow] = field(default_factory=list)
    policies: list[PolicyRow] = field(default_factory=list)
    models_added: list[ModelRow] = field(default_factory=list)
    models_removed: list[ModelRow] = field(default_factory=list)
    providers_added: list[ProviderRow] = field(default_factory=list)
    providers_removed: list[ProviderRow] = field(default_factory=list)
    context_windows: list[ContextRow] = field(default_factory=list)
    endpoints: list[EndpointRow] = field(default_factory=list)
    fields: list[FieldRow] = field(default_factory=list)
    others: list[OtherRow] = field(default_factory=list)

    @property
    def weakened(self) -> int:
        return sum(1 for row in self.policies if row.weakened)

    @property
    def became_unknown(self) -> int:
        """Policies that became null or unrecognized (and are not counted as weakened)."""
        return sum(1 for row in self.policies if row.became_unknown and not row.weakened)


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


def _snapshot(snap: object) -> Snapshot | None:
    if not isinstance(snap, dict):
        return None
    count = snap.get("model_count")
    return Snapshot(
        label=snapshot_label(snap),
        observed_at=format_time(snap.get("first_observed_at")),
        model_count=format_count(count) if count is not None else "",
    )


def _offer(record: object) -> Offer:
    provider = _dict(record)
    return Offer(
        name=_s(provider.get("name")),
        input_price=format_price(provider.get("input_price")),
        output_price=format_price(provider.get("output_price")),
        policy=policy_label(provider.get("data_policy")),
    )


def _tokens(value: object) -> str:
    text = format_count(value)
    return f"{text} tokens" if isinstance(value, int) and not isinstance(value, bool) else text


def _model(record: object, fallback_id: object) -> ModelRow:
    model = _dict(record)
    endpoints = model.get("supported_endpoints")
    providers = model.get("providers")
    offers = [_offer(p) for p in providers] if isinstance(providers, list) else []
    return ModelRow(
        id=_s(model.get("id", fallback_id)),
        context_window=_tokens(model.get("context_window")),
        endpoints=", ".join(_s(e) for e in endpoints) if isinstance(endpoints, list) else "",
        owned_by=_s(model.get("owned_by")),
        providers=sorted(offers, key=lambda offer: offer.name),
    )


def _price(change: dict[str, Any]) -> PriceRow:
    old, new = change.get("old"), change.get("new")
    old_n, new_n = _number(old), _number(new)
    pct = _number(change.get("change_pct"))
    if pct is None and old_n and new_n is not None:
        pct = (new_n - old_n) / old_n * 100
    direction = "flat"
    if old_n is not None and new_n is not None and new_n != old_n:
        direction = "up" if new_n > old_n else "down"
    elif pct:
        direction = "up" if pct > 0 else "down"
    name = _s(change.get("field"))
    return PriceRow(
        model=_s(change.get("model")),
        provider=_s(change.get("provider")),
        field=name.removesuffix("_price") if name.endswith("_price") else name,
        old=format_price(old),
        new=format_price(new),
        pct=pct,
        direction=direction,
    )


def _context(change: dict[str, Any]) -> ContextRow:
    old, new = change.get("old"), change.get("new")
    old_n, new_n = _number(old), _number(new)
    text, direction = "", "flat"
    if old_n is not None and new_n is not None and new_n != old_n:
        direction = "up" if new_n > old_n else "down"
        delta = new_n - old_n
        text = f"{delta:+,.0f}" if delta == int(delta) else f"{delta:+,}"
        if old_n:
            text += f" ({format_pct(delta / old_n * 100)})"
    return ContextRow(
        model=_s(change.get("model")),
        old=format_count(old),
        new=format_count(new),
        change=text,
        direction=direction,
    )


def _endpoints(change: dict[str, Any]) -> EndpointRow:
    old, new = change.get("old"), change.get("new")
    old_l = [_s(e) for e in old] if isinstance(old, list) else []
    new_l = [_s(e) for e in new] if isinstance(new, list) else []
    return EndpointRow(
        model=_s(change.get("model")),
        added=", ".join(e for e in new_l if e not in old_l),
        removed=", ".join(e for e in old_l if e not in new_l),
        now=", ".join(new_l) if new_l else "none",
    )


def build_view(diff: dict[str, Any]) -> Changelog:
    """Shape a diff into display-ready, sorted rows for the templates."""
    changes = [c for c in diff.get("changes") or [] if isinstance(c, dict)]
    from_snap = _snapshot(diff.get("from"))
    to_snap = _snapshot(diff.get("to")) or Snapshot("unknown", "", "")
    if from_snap is None:
        title = f"first snapshot {to_snap.label}"
    else:
        title = f"{from_snap.label} → {to_snap.label}"
    view = Changelog(title=title, from_snap=from_snap, to_snap=to_snap, counts=[], total=0)
    kinds: list[str] = []
    for change in changes:
        kind = _s(change.get("kind"))
        kinds.append(kind)
        model, provider = _s(change.get("model")), _s(change.get("provider"))
        if kind == "price_changed":
            view.prices.append(_price(change))
        elif kind == "data_policy_changed":
            view.policies.append(
                PolicyRow(
                    model=model,
                    provider=provider,
                    old=policy_label(change.get("old")),
                    new=policy_label(change.get("new")),
                    weakened=change.get("weakened") is True,
                    became_unknown=became_unknown(change),
                )
            )
        elif kind == "model_added":
            view.models_added.append(_model(change.get("new"), change.get("model")))
        elif kind == "model_removed":
            view.models_removed.append(_model(change.get("old"), change.get("model")))
        elif kind == "provider_added":
            offer = _offer(change.get("new") or {"name": provider})
            view.providers_added.append(ProviderRow(model, offer))
        elif kind == "provider_removed":
            offer = _offer(change.get("old") or {"name": provider})
            view.providers_removed.append(ProviderRow(model, offer))
        elif kind == "context_window_changed":
            view.context_windows.append(_context(change))
        elif kind == "endpoints_changed":
            view.endpoints.append(_endpoints(change))
        elif kind == "field_changed":
            view.fields.append(
                FieldRow(
                    model=model,
                    provider=provider,
                    field=_s(change.get("field")),
                    old=format_json(change.get("old")),
                    new=format_json(change.get("new")),
                )
            )
        else:
            view.others.append(
                OtherRow(
                    kind=kind or "unknown",
                    model=model,
                    provider=provider,
                    field=_s(change.get("field")),
                    old=format_json(change.get("old")) if "old" in change else "",
                    new=format_json(change.get("new")) if "new" in change else "",
                )
            )
    view.prices.sort(key=lambda row: row.sort_key)
    view.policies.sort(
        key=lambda row: (not row.weakened, not row.became_unknown, row.model, row.provider)
    )
    view.models_added.sort(key=lambda row: row.id)
    view.models_removed.sort(key=lambda row: row.id)
    view.providers_added.sort(key=lambda row: (row.model, row.offer.name))
    view.providers_removed.sort(key=lambda row: (row.model, row.offer.name))
    view.context_windows.sort(key=lambda row: row.model)
    view.endpoints.sort(key=lambda row: row.model)
    view.fields.sort(key=lambda row: (row.model, row.provider, row.field))
    view.others.sort(key=lambda row: (row.kind, row.model, row.provider, row.field))
    view.counts = counts(kinds, view.weakened, view.became_unknown)
    view.total = len(changes)
    return view


def render_markdown(diff: dict[str, Any]) -> str:
    text = markdown_env().get_template("changelog.md.j2").render(view=build_view(diff))
    return tidy_markdown(text)


def tidy_markdown(text: str) -> str:
    """Collapse runs of blank lines; escaped remote text holds no line breaks, so it is safe."""
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def render_html(diff: dict[str, Any], *, nav: list[tuple[str, str, bool]] | None = None) -> str:
    """The changelog page; ``nav`` adds the static site's links (relative hrefs)."""
    return html_env().get_template("changelog.html.j2").render(
        view=build_view(diff), source=diff.get("source"), nav=nav
    )


def _move(row: PriceRow) -> str:
    where = plain_text(row.model) + (f" on {plain_text(row.provider)}" if row.provider else "")
    return f"{where} {plain_text(row.field)} {row.change} ({row.old} -> {row.new})"


def summary(diff: dict[str, Any]) -> str:
    view = build_view(diff)
    to_label = plain_text(view.to_snap.label)
    if view.from_snap is None:
        head = f"catalog {to_label} (first snapshot)"
    else:
        head = f"catalog {plain_text(view.from_snap.label)} -> {to_label}"
    if not view.total:
        return f"{head}: no changes."
    text = f"{head}: {count_text(diff.get('changes') or [])}."
    moves = [row for row in view.prices if row.direction != "flat"][:3]
    if moves:
        text += " Biggest moves: " + "; ".join(_move(row) for row in moves) + "."
    return text
