"""Window reports: net changes between the two ends of a window, and the timeline in between.

Input is the report JSON (see the guide: ``{"since", "until", "from", "to", "net", "events"}``,
one such object per source, or ``{"since", "until", "sources": [...]}`` for several). It is
shaped into a view model (``build_report_view``) that the templates lay out. The HTML leads
with what a reader wants first: the biggest price increases and decreases (percent and
absolute, per 1M tokens), moves per provider, policy weakenings and models gone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .changelog import (
    Changelog,
    EffectiveRow,
    ModelRow,
    PolicyRow,
    PriceRow,
    _price,
    build_view,
    tidy_markdown,
)
from .describe import ChangeLine, count_text, describe_all
from .env import html_env, markdown_env
from .format import format_count, format_pct, format_time, format_usd, snapshot_label
from .phrases import KIND_LABELS, by_model, cause_phrases, effective_reason

__all__ = ["build_report_view", "render_report_html", "render_report_markdown"]

TOP_MOVES = 10
# Timeline events are shown expanded when the whole timeline is at most this many lines.
OPEN_TIMELINE_LINES = 400


@dataclass(frozen=True)
class Move:
    """A net price move with its absolute size (USD per 1M tokens)."""

    row: PriceRow
    delta: str  # "+$0.50"
    delta_value: Decimal

    @property
    def sort_up(self) -> tuple[float, Decimal, str, str, str]:
        pct = math.inf if self.row.pct is None else self.row.pct
        return (-pct, -self.delta_value, self.row.model, self.row.provider, self.row.field)

    @property
    def sort_down(self) -> tuple[float, Decimal, str, str, str]:
        pct = self.row.pct if self.row.pct is not None else 0.0
        return (pct, self.delta_value, self.row.model, self.row.provider, self.row.field)


@dataclass
class ProviderMoves:
    provider: str
    ups: int = 0
    downs: int = 0
    biggest_up: float | None = None
    biggest_down: float | None = None

    @property
    def up_text(self) -> str:
        return format_pct(self.biggest_up) if self.biggest_up is not None else "—"

    @property
    def down_text(self) -> str:
        return format_pct(self.biggest_down) if self.biggest_down is not None else "—"


@dataclass
class Event:
    anchor: str
    observed_at: str
    from_label: str
    to_label: str
    reverted: bool
    counts: str
    lines: list[ChangeLine]


@dataclass(frozen=True)
class ImpactLine:
    """One usage row priced at the window's two ends (remote text raw)."""

    model: str
    provider: str  # "" for a routed row
    floor: str  # the floor a routed row is priced at
    input_tokens: str
    output_tokens: str
    old_cost: str
    new_cost: str
    delta: str
    tone: str  # up (costs more), down, or ""
    priced_at: str  # the offer each end is priced at: "deepinfra → groq"
    causes: str  # the changes that moved it, in words
    warning: str

    @property
    def who(self) -> str:
        """How the row is priced: its provider, or `routed (zdr)`."""
        return self.provider or f"routed ({self.floor})"


@dataclass
class ImpactView:
    """The cost-impact section: the totals first, then the rows by absolute delta."""

    old_total: str
    new_total: str
    delta: str
    delta_pct: str
    tone: str
    floor: str
    unpriced: int
    usage_file: str
    rows: list[ImpactLine]


def _kind_words(kinds: list[str]) -> str:
    return ", ".join(KIND_LABELS.get(k, (k.replace("_", " "),))[0] for k in kinds)


def _impact_causes(row: dict[str, Any], net: Sequence[Mapping[str, Any]]) -> str:
    """The changes that moved a usage row's cost, in words (raw)."""
    causes = [str(c) for c in row.get("causes") or []]
    if not causes:
        return ""
    model = row.get("model")
    if row.get("provider") is None:
        field_name = f"effective.{row.get('floor')}"
        record = next((c for c in net if c.get("kind") == "effective_price_changed"
                       and c.get("model") == model and c.get("field") == field_name), None)
        if record is None:  # the report has no records at this floor: the row's own
            old, new = row.get("old_provider"), row.get("new_provider")
            record = {"kind": "effective_price_changed", "model": model, "field": field_name,
                      "old": {"provider": old} if old else None,
                      "new": {"provider": new} if new else None, "causes": causes}
        return effective_reason(record, net)
    words = cause_phrases(model, [str(row.get("provider"))], causes, net)
    return "; ".join(words) or _kind_words(causes)


def _impact(impact: dict[str, Any], changes: list[dict[str, Any]]) -> ImpactView:
    lines: list[ImpactLine] = []
    siblings = by_model(changes)
    for row in impact.get("rows") or []:
        if not isinstance(row, dict):
            continue
        delta = row.get("delta")
        tone = ("up" if isinstance(delta, int | float) and delta > 0 else
                "down" if isinstance(delta, int | float) and delta < 0 else "")
        old_at, new_at = row.get("old_provider") or "", row.get("new_provider") or ""
        priced = (old_at if old_at == new_at else
                  f"{old_at or 'none'} → {new_at or 'none'}") or "—"
        lines.append(ImpactLine(
            model=str(row.get("model") or ""), provider=str(row.get("provider") or ""),
            floor=str(row.get("floor") or ""),
            input_tokens=format_count(row.get("input_tokens")),
            output_tokens=format_count(row.get("output_tokens")),
            old_cost=format_usd(row.get("old_cost")), new_cost=format_usd(row.get("new_cost")),
            delta=format_usd(delta, signed=True) if delta is not None else "—", tone=tone,
            priced_at=priced, causes=_impact_causes(row, siblings.get(row.get("model"), [])),
            warning=str(row.get("warning") or ""),
        ))
    old_total, delta_total = impact.get("old_total"), impact.get("delta")
    pct = (delta_total / old_total * 100 if isinstance(old_total, int | float) and old_total
           and isinstance(delta_total, int | float) else None)
    tone = ("up" if isinstance(delta_total, int | float) and delta_total > 0 else
            "down" if isinstance(delta_total, int | float) and delta_total < 0 else "")
    return ImpactView(
        old_total=format_usd(old_total), new_total=format_usd(impact.get("new_total")),
        delta=format_usd(delta_total, signed=True), delta_pct=format_pct(pct) if pct else "",
        tone=tone, floor=str(impact.get("usage_floor") or "any"),
        unpriced=int(impact.get("unpriced") or 0), usage_file=str(impact.get("usage_file") or ""),
        rows=lines,
    )


@dataclass
class SourceSection:
    name: str
    anchor: str
    start_label: str
    start_observed: str
    start_models: str
    end_label: str
    end_observed: str
    end_models: str
    starts_inside: bool
    empty: bool  # no state at all before the end of the window
    net: Changelog
    increases: list[Move] = field(default_factory=list)
    decreases: list[Move] = field(default_factory=list)
    increase_total: int = 0
    decrease_total: int = 0
    by_provider: list[ProviderMoves] = field(default_factory=list)
    weakenings: list[PolicyRow] = field(default_factory=list)
    unknowns: list[PolicyRow] = field(default_factory=list)
    transient_weakenings: int = 0
    models_gone: list[ModelRow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    event_changes: int = 0
    # Effective prices (with effective_floors configured): the net moves, up and down.
    effective_floors: list[str] = field(default_factory=list)
    effective_up: list[EffectiveRow] = field(default_factory=list)
    effective_down: list[EffectiveRow] = field(default_factory=list)
    effective_up_total: int = 0
    effective_down_total: int = 0
    impact: ImpactView | None = None

    @property
    def net_text(self) -> str:
        return count_text(self._net_changes) if self.net.total else "no net changes"

    _net_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_events(self) -> bool:
        return self.event_changes <= OPEN_TIMELINE_LINES


@dataclass
class ReportView:
    title: str
    since: str
    until: str
    sources: list[SourceSection]

    @property
    def multi(self) -> bool:
        return len(self.sources) > 1


def _anchor(prefix: str, index: int) -> str:
    return f"{prefix}-{index}"


def _starts_inside(report: dict[str, Any]) -> bool:
    """No state before ``since``: the window starts at the source's first state inside it."""
    if isinstance(report.get("starts_inside"), bool):
        return bool(report["starts_inside"])
    start, since = report.get("from"), report.get("since")
    if not isinstance(start, dict):
        return False
    first = start.get("first_observed_at")
    return since is None or (isinstance(first, str) and first >= str(since))


def _section(report: dict[str, Any], index: int) -> SourceSection:
    start, end = report.get("from"), report.get("to")
    net_changes = [c for c in report.get("net") or [] if isinstance(c, dict)]
    net = build_view({"from": start, "to": end or start, "changes": net_changes})
    section = SourceSection(
        name=str(report.get("source") or ""),
        anchor=_anchor("source", index),
        start_label=snapshot_label(start) if start else "",
        start_observed=format_time(report.get("from_observed_at") or
                                   (start.get("first_observed_at") if start else None)),
        start_models=str(start.get("model_count", "")) if start else "",
        end_label=snapshot_label(end) if end else "",
        end_observed=format_time(report.get("to_observed_at") or
                                 (end.get("first_observed_at") if end else None)),
        end_models=str(end.get("model_count", "")) if end else "",
        starts_inside=_starts_inside(report),
        empty=end is None,
        net=net,
    )
    section._net_changes = net_changes
    moves: list[Move] = []
    providers: dict[str, ProviderMoves] = {}
    for change in net_changes:
        if change.get("kind") != "price_changed":
            continue
        row = _price(change)
        move = Move(row, row.delta, row.delta_value)
        moves.append(move)
        tally = providers.setdefault(move.row.provider, ProviderMoves(move.row.provider))
        pct = move.row.pct
        if move.row.direction == "up":
            tally.ups += 1
            size = math.inf if pct is None else pct
            if tally.biggest_up is None or size > tally.biggest_up:
                tally.biggest_up = None if pct is None and size == math.inf else pct
        elif move.row.direction == "down":
            tally.downs += 1
            if pct is not None and (tally.biggest_down is None or pct < tally.biggest_down):
                tally.biggest_down = pct
    ups = sorted((m for m in moves if m.row.direction == "up"), key=lambda m: m.sort_up)
    downs = sorted((m for m in moves if m.row.direction == "down"), key=lambda m: m.sort_down)
    section.increases, section.increase_total = ups[:TOP_MOVES], len(ups)
    section.decreases, section.decrease_total = downs[:TOP_MOVES], len(downs)
    section.by_provider = sorted(providers.values(),
                                 key=lambda p: (-(p.ups + p.downs), p.provider))
    section.weakenings = [row for row in net.policies if row.weakened]
    section.unknowns = [row for row in net.policies if row.became_unknown and not row.weakened]
    section.models_gone = list(net.models_removed)

    net_weakened = {(row.model, row.provider) for row in section.weakenings}
    events = [e for e in report.get("events") or [] if isinstance(e, dict)]
    transient = 0
    for number, event in enumerate(events):
        changes = [c for c in event.get("changes") or [] if isinstance(c, dict)]
        transient += sum(
            1 for c in changes
            if c.get("kind") == "data_policy_changed" and c.get("weakened") is True
            and (str(c.get("model") or ""), str(c.get("provider") or "")) not in net_weakened
        )
        section.events.append(Event(
            anchor=f"{section.anchor}-event-{number + 1}",
            observed_at=format_time(event.get("observed_at")),
            from_label=snapshot_label(event.get("from")) if event.get("from") else "none",
            to_label=snapshot_label(event.get("to")) if event.get("to") else "none",
            reverted=event.get("outcome") == "reverted",
            counts=count_text(changes),
            lines=describe_all(changes),
        ))
        section.event_changes += len(changes)
    section.transient_weakenings = transient
    floors = report.get("effective_floors")
    section.effective_floors = [str(f) for f in floors] if isinstance(floors, list) else []
    rising = [moved for moved in net.effective if moved.tone == "up"]
    falling = [moved for moved in net.effective if moved.tone == "down"]
    section.effective_up, section.effective_up_total = rising[:TOP_MOVES], len(rising)
    section.effective_down, section.effective_down_total = falling[:TOP_MOVES], len(falling)
    if isinstance(report.get("impact"), dict):
        section.impact = _impact(report["impact"], net_changes)
    return section


def build_report_view(report: dict[str, Any]) -> ReportView:
    """Shape report JSON (one source or several) into display-ready sections."""
    reports = report.get("sources", [report])
    since = format_time(report.get("since")) if report.get("since") else "the beginning"
    until = format_time(report.get("until"))
    sources = [_section(r, i + 1) for i, r in enumerate(reports) if isinstance(r, dict)]
    return ReportView(title=f"{since} to {until}", since=since, until=until, sources=sources)


def render_report_markdown(report: dict[str, Any]) -> str:
    text = markdown_env().get_template("report.md.j2").render(view=build_report_view(report))
    return tidy_markdown(text)


def render_report_html(report: dict[str, Any], *,
                       nav: list[tuple[str, str, bool]] | None = None,
                       kicker: str = "Catalog report") -> str:
    return html_env().get_template("report.html.j2").render(
        view=build_report_view(report), nav=nav, kicker=kicker
    )
