"""Window reports: net changes between the two ends of a window, and the timeline in between.

Input is the report JSON (see the guide: ``{"since", "until", "from", "to", "net", "events"}``,
one such object per source, or ``{"since", "until", "sources": [...]}`` for several). It is
shaped into a view model (``build_report_view``) that the templates lay out. The HTML leads
with what a reader wants first: the biggest price increases and decreases (percent and
absolute, per 1M tokens), moves per provider, policy weakenings and models gone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .changelog import (
    Changelog,
    ModelRow,
    PolicyRow,
    PriceRow,
    _price,
    build_view,
    tidy_markdown,
)
from .describe import ChangeLine, count_text, describe_all
from .env import html_env, markdown_env
from .format import format_pct, format_time, snapshot_label

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


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


def _delta(change: dict[str, Any]) -> tuple[str, Decimal]:
    old, new = _decimal(change.get("old")), _decimal(change.get("new"))
    if old is None or new is None or not old.is_finite() or not new.is_finite():
        return "—", Decimal(0)
    delta = new - old
    from .format import format_price

    text = format_price(abs(delta))
    return ("+" if delta > 0 else "-" if delta < 0 else "±") + text, delta


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
        text, value = _delta(change)
        move = Move(_price(change), text, value)
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
