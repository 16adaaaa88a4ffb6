"""Changelog renderers: turn a diff (see the guide, "Change records") into Markdown or HTML.

The diff is first shaped into a small view model of display-ready rows (``build_view``); the
Jinja2 templates in ``templates/`` only lay those rows out. Remote strings stay raw in the view
model and are escaped by the template: autoescaping for HTML, the ``md_escape`` filter for
Markdown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .env import html_env, markdown_env
from .format import (
    format_count,
    format_json,
    format_pct,
    format_price,
    format_time,
    md_escape,
    plain_text,
    policy_label,
    snapshot_label,
)
from .phrases import (
    FLAG_WORDS,
    Count,
    became_unknown,
    by_model,
    count_text,
    counts,
    policy_flag,
    restored_text,
    reused_version,
    reused_version_text,
)

__all__ = ["Changelog", "EffectiveRow", "biggest_moves", "build_view", "price_delta", "render_html",
           "render_markdown", "summary"]

# Price moves the summaries name, by each measure.
TOP_SUMMARY = 3
# Data-policy rows in this order: what a reader must act on first.
_FLAG_ORDER = {"weakened": 0, "became_unknown": 1, "restored": 2, "strengthened": 3}


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
    delta: str = "—"  # the absolute move per 1M tokens: "-$2.00", "+$0.05"
    delta_value: Decimal = Decimal(0)

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


_FLOOR_ORDER = {"zdr": 0, "no_training": 1, "any": 2}


@dataclass(frozen=True)
class EffectiveRow:
    """An effective-price change: the cheapest offer of a model at a floor moved."""

    model: str
    floor: str
    old_provider: str  # "" when the model had no qualifying offer
    old_price: str  # blended, USD per 1M tokens
    new_provider: str  # "" when it has none left
    new_price: str
    pct: float | None
    direction: str  # up, down, lost (no qualifying offer left), gained (a first one), flat
    reason: str  # in words, raw: "deepinfra weakened to none; next zdr offer: groq"

    @property
    def old(self) -> str:
        return f"{self.old_provider} {self.old_price}" if self.old_provider else "none"

    @property
    def new(self) -> str:
        return f"{self.new_provider} {self.new_price}" if self.new_provider else "none"

    @property
    def tone(self) -> str:
        """How it is coloured: `up` (costs more, or no offer left) or `down`."""
        return "up" if self.direction in ("up", "lost") else (
            "down" if self.direction in ("down", "gained") else "")

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.tone, "")

    @property
    def change(self) -> str:
        if self.direction == "lost":
            return "no offer left"
        if self.direction == "gained":
            return "new offer"
        return format_pct(self.pct) if self.pct is not None else "—"

    @property
    def sort_key(self) -> tuple[int, float, str, int]:
        """Lost offers first, then the largest moves either way."""
        size = math.inf if self.direction == "lost" else abs(self.pct or 0.0)
        return (0 if self.direction == "lost" else 1, -size, self.model,
                _FLOOR_ORDER.get(self.floor, 3))


def _effective(change: dict[str, Any], siblings: Sequence[Mapping[str, Any]]) -> EffectiveRow:
    from .phrases import effective_reason

    old, new = _dict(change.get("old")), _dict(change.get("new"))
    pct = _number(change.get("change_pct"))
    if not new:
        direction = "lost"
    elif not old:
        direction = "gained"
    else:
        before, after = _number(old.get("blended")), _number(new.get("blended"))
        direction = ("flat" if before is None or after is None or before == after
                     else "up" if after > before else "down")
    return EffectiveRow(
        model=_s(change.get("model")),
        floor=_s(change.get("field")).removeprefix("effective."),
        old_provider=_s(old.get("provider")), old_price=format_price(old.get("blended")),
        new_provider=_s(new.get("provider")), new_price=format_price(new.get("blended")),
        pct=pct, direction=direction, reason=effective_reason(change, siblings),
    )


@dataclass(frozen=True)
class PolicyRow:
    model: str
    provider: str
    old: str
    new: str
    weakened: bool
    became_unknown: bool = False
    flag: str = ""  # phrases.policy_flag: weakened, became_unknown, restored, strengthened
    restores: str = ""  # a restoration: "undoes the weakening of 2026-11-03, 3 days earlier"

    @property
    def flag_words(self) -> str:
        return FLAG_WORDS.get(self.flag, "")


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
    effective: list[EffectiveRow] = field(default_factory=list)
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
    # The catalog_version this transition re-served with other content (raw), if any.
    reused_version: str | None = None

    def reused_note(self, escape: Any = str) -> str:
        """The note a changelog carries when its version was re-served with other content."""
        assert self.reused_version is not None
        return reused_version_text(self.reused_version, escape)

    @property
    def reused_note_markdown(self) -> str:
        return self.reused_note(md_escape)

    @property
    def weakened(self) -> int:
        return sum(1 for row in self.policies if row.weakened)

    @property
    def became_unknown(self) -> int:
        """Policies that became null or unrecognized (and are not counted as weakened)."""
        return sum(1 for row in self.policies if row.became_unknown and not row.weakened)

    @property
    def restored(self) -> int:
        """Strengthenings that undo the offer's last weakening."""
        return sum(1 for row in self.policies if row.flag == "restored")

    @property
    def strengthened(self) -> int:
        """Other strengthenings (up the order, both sides known)."""
        return sum(1 for row in self.policies if row.flag == "strengthened")

    @property
    def biggest_by_pct(self) -> list[PriceRow]:
        """The largest price moves by percent (a new charge counts as the largest)."""
        return [row for row in self.prices if row.direction != "flat"][:TOP_SUMMARY]

    @property
    def biggest_by_dollars(self) -> list[PriceRow]:
        """The largest price moves in USD per 1M tokens."""
        moving = [row for row in self.prices if row.direction != "flat"]
        moving.sort(key=lambda row: (-abs(row.delta_value), row.sort_key))
        return moving[:TOP_SUMMARY]


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


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def price_delta(old: object, new: object) -> tuple[str, Decimal]:
    """The absolute move of a price, as text and as a number: ("-$2.00", Decimal("-2"))."""
    before, after = _decimal(old), _decimal(new)
    if before is None or after is None:
        return "—", Decimal(0)
    delta = after - before
    sign = "+" if delta > 0 else "-" if delta < 0 else "±"
    return sign + format_price(abs(delta)), delta


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
    delta, delta_value = price_delta(old, new)
    return PriceRow(
        model=_s(change.get("model")),
        provider=_s(change.get("provider")),
        field=name.removesuffix("_price") if name.endswith("_price") else name,
        old=format_price(old),
        new=format_price(new),
        pct=pct,
        direction=direction,
        delta=delta,
        delta_value=delta_value,
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
    view = Changelog(title=title, from_snap=from_snap, to_snap=to_snap, counts=[], total=0,
                     reused_version=reused_version(diff))
    # When the new state was observed: how long a restoration took to undo a weakening.
    reached = diff.get("observed_at") or _dict(diff.get("to")).get("first_observed_at")
    kinds: list[str] = []
    siblings = by_model(changes) if any(
        c.get("kind") == "effective_price_changed" for c in changes) else {}
    for change in changes:
        kind = _s(change.get("kind"))
        kinds.append(kind)
        model, provider = _s(change.get("model")), _s(change.get("provider"))
        if kind == "effective_price_changed":
            view.effective.append(_effective(change, siblings.get(change.get("model"), [])))
        elif kind == "price_changed":
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
                    flag=policy_flag(change),
                    restores=(restored_text(change.get("weakened_at"), reached)
                              if policy_flag(change) == "restored" else ""),
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
    view.effective.sort(key=lambda row: row.sort_key)
    view.policies.sort(key=lambda row: (_FLAG_ORDER.get(row.flag, len(_FLAG_ORDER)),
                                        row.model, row.provider))
    view.models_added.sort(key=lambda row: row.id)
    view.models_removed.sort(key=lambda row: row.id)
    view.providers_added.sort(key=lambda row: (row.model, row.offer.name))
    view.providers_removed.sort(key=lambda row: (row.model, row.offer.name))
    view.context_windows.sort(key=lambda row: row.model)
    view.endpoints.sort(key=lambda row: row.model)
    view.fields.sort(key=lambda row: (row.model, row.provider, row.field))
    view.others.sort(key=lambda row: (row.kind, row.model, row.provider, row.field))
    view.counts = counts(kinds, view.weakened, view.became_unknown, restored=view.restored,
                         stronger=view.strengthened)
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


def move_text(row: PriceRow, by: str = "percent") -> str:
    """One price move in plain words: `a on p input -50.0% ($0.10 -> $0.05)` (by dollars:
    the move in dollars instead of the percentage)."""
    where = plain_text(row.model) + (f" on {plain_text(row.provider)}" if row.provider else "")
    size = row.delta if by == "dollars" else row.change
    return f"{where} {plain_text(row.field)} {size} ({row.old} -> {row.new})"


def biggest_moves(view: Changelog, limit: int = TOP_SUMMARY) -> str:
    """The largest price moves by percent and by dollars, as one plain sentence (or "").

    >>> view = build_view({"to": {"catalog_version": "v2"}, "changes": [
    ...     {"kind": "price_changed", "model": "a", "provider": "p", "field": "input_price",
    ...      "old": 0.1, "new": 0.05, "change_pct": -50.0},
    ...     {"kind": "price_changed", "model": "b", "provider": "p", "field": "output_price",
    ...      "old": 10, "new": 8, "change_pct": -20.0}]})
    >>> for part in biggest_moves(view, 1).split("; "):
    ...     print(part)
    Biggest moves: by percent a on p input -50.0% ($0.10 -> $0.05)
    by dollars b on p output -$2.00 ($10.00 -> $8.00).
    """
    by_pct, by_dollars = view.biggest_by_pct[:limit], view.biggest_by_dollars[:limit]
    if not by_pct:
        return ""
    text = "Biggest moves: by percent " + "; ".join(move_text(row) for row in by_pct)
    if by_dollars != by_pct:
        text += "; by dollars " + "; ".join(move_text(row, "dollars") for row in by_dollars)
    return text + "."


def summary(diff: dict[str, Any]) -> str:
    view = build_view(diff)
    to_label = plain_text(view.to_snap.label)
    if view.from_snap is None:
        head = f"catalog {to_label} (first snapshot)"
    else:
        head = f"catalog {plain_text(view.from_snap.label)} -> {to_label}"
    if view.reused_version is not None:
        head += f" ({reused_version_text(view.reused_version, plain_text)})"
    if not view.total:
        return f"{head}: no changes."
    text = f"{head}: {count_text(diff.get('changes') or [])}."
    moves = biggest_moves(view)
    return f"{text} {moves}" if moves else text
