"""Model histories: every price and policy a model had, per provider, over time.

Input is the JSON of `tracker.reporting.ModelHistory.to_json()` (one per source). The HTML
page draws a step chart of the input and output price per provider as inline SVG (no
script, no external asset: a tooltip is an SVG ``<title>``), then a table of every value with
its validity interval. Coordinates are computed here; provider names and every other remote
string reach the page through the autoescaping template only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .env import html_env
from .format import format_count, format_price, format_time, plain_text, policy_label

__all__ = ["build_history_view", "history_html", "history_text"]

# Okabe-Ito: distinguishable with the common forms of colour blindness; dashes beyond them.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#8C564B")
DASHES = ("", "7 4", "2 3")
_RANK = {"zdr": 2, "no_training": 1, "none": 0}

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 20, 14, 34


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _price(value: object) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _period(start: object, end: object) -> tuple[str, str]:
    return format_time(start), (format_time(end) if end else "now")


@dataclass(frozen=True)
class Segment:
    d: str
    title: str
    cx: float
    cy: float


@dataclass
class Series:
    name: str
    color: str
    dash: str
    segments: list[Segment] = field(default_factory=list)
    joins: str = ""


@dataclass
class Chart:
    title: str
    width: int
    height: int
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    series: list[Series]

    @property
    def label(self) -> str:
        return f"Step chart of the {self.title.lower()} per provider over time"


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks
    magnitude: float = 10.0 ** int(f"{raw:e}".split("e")[1])
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10.0 * magnitude


_TICK_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 28, 91, 182, 364, 728)
]


def _x_ticks(t0: datetime, t1: datetime, x: Any) -> list[tuple[float, str]]:
    """Ticks at round times (whole hours or UTC midnights), at most about seven."""
    span = t1 - t0
    step = next((s for s in _TICK_STEPS if span / s <= 7), _TICK_STEPS[-1])
    daily = step >= timedelta(days=1)
    fmt = "%Y-%m-%d" if daily else "%m-%d %H:%M"
    origin = t0.replace(minute=0, second=0, microsecond=0)
    if daily:
        origin = origin.replace(hour=0)
    tick = origin
    while tick < t0:
        tick += step
    ticks: list[tuple[float, str]] = []
    while tick <= t1:
        ticks.append((x(tick), tick.strftime(fmt)))
        tick += step
    return ticks


def build_chart(title: str, key: str, providers: list[tuple[str, list[dict[str, Any]]]],
                colors: dict[str, tuple[str, str]], until: datetime | None) -> Chart | None:
    """A step chart of one price field (``input_price`` or ``output_price``) per provider."""
    spans = [(name, s) for name, items in providers for s in items]
    if not spans:
        return None
    starts = [t for _, s in spans if (t := _time(s["from"])) is not None]
    ends = [t for _, s in spans if (t := _time(s.get("to"))) is not None]
    t0 = min(starts)
    t1 = max([*ends, *starts, *([until] if until else [])])
    if t1 <= t0:
        t1 = t0 + timedelta(days=1)
    if any(not s.get("to") for _, s in spans):
        # a value still current is drawn a little past the last observation, to the edge
        t1 += max((t1 - t0) * 0.04, timedelta(hours=1))
    left, top = float(LEFT), float(TOP)
    right, bottom = float(WIDTH - RIGHT), float(HEIGHT - BOTTOM)
    top_price = max(float(_price(s[key])) for _, s in spans)
    step = _nice_step(top_price if top_price > 0 else 1.0)
    y_max = step * max(1, -(-top_price // step)) if top_price > 0 else step * 4
    if y_max <= top_price:
        y_max += step

    def x(moment: datetime) -> float:
        return left + (moment - t0).total_seconds() / (t1 - t0).total_seconds() * (right - left)

    def y(price: float) -> float:
        return bottom - price / y_max * (bottom - top)

    y_ticks = []
    value = 0.0
    while value <= y_max + step / 1000:
        y_ticks.append((y(value), format_price(Decimal(f"{value:.10g}"))))
        value += step
    series: list[Series] = []
    count = len(providers)
    for number, (name, items) in enumerate(providers):
        color, dash = colors[name]
        # Equal prices would hide each other's line: each provider is drawn a little apart.
        shift = (number - (count - 1) / 2) * 2.0

        line = Series(name, color, dash)
        joins: list[str] = []
        previous: tuple[datetime | None, float] | None = None
        for span in items:
            start, end = _time(span["from"]), _time(span.get("to"))
            assert start is not None
            price = float(_price(span[key]))
            x0, x1, yy = x(start), x(end or t1), y(price) + shift
            if previous is not None and previous[0] == start:
                joins.append(f"M{x0:.1f} {previous[1]:.1f}V{yy:.1f}")
            begin, finish = _period(span["from"], span.get("to"))
            line.segments.append(Segment(
                d=f"M{x0:.1f} {yy:.1f}H{max(x1, x0 + 1):.1f}",
                title=f"{name}: {format_price(span[key])} per 1M tokens, {begin} to {finish}",
                cx=round(x0, 1), cy=round(yy, 1),
            ))
            previous = (end, yy)
        line.joins = "".join(joins)
        series.append(line)
    return Chart(title, WIDTH, HEIGHT, (left, top, right, bottom), y_ticks,
                 _x_ticks(t0, t1, x), series)


@dataclass(frozen=True)
class SpanRow:
    start: str
    end: str
    input: str
    output: str
    policy: str
    flag: str  # weakened | unknown | ""
    input_move: str  # up | down | ""
    output_move: str
    version: str


@dataclass
class ProviderBlock:
    name: str
    color: str
    dash: str
    current: bool
    rows: list[SpanRow]


@dataclass(frozen=True)
class AttrRow:
    start: str
    end: str
    context: str
    endpoints: str
    owned_by: str


@dataclass
class SourceHistory:
    source: str
    model: str
    anchor: str
    current: bool
    observed_from: str
    observed_until: str
    presence: list[tuple[str, str]]
    charts: list[Chart]
    providers: list[ProviderBlock]
    attributes: list[AttrRow]
    now: list[tuple[str, str, str, str]]  # provider, input, output, policy


@dataclass
class HistoryView:
    model: str
    sources: list[SourceHistory]
    provider: str | None

    @property
    def multi(self) -> bool:
        return len(self.sources) > 1


def _move(old: Decimal | None, new: Decimal) -> str:
    if old is None or old == new:
        return ""
    return "up" if new > old else "down"


def _flag(old: object, new: object, first: bool) -> str:
    if first:
        return ""
    old_rank, new_rank = _RANK.get(str(old)), _RANK.get(str(new))
    if old_rank is not None and new_rank is not None and new_rank < old_rank:
        return "weakened"
    if old_rank is not None and new_rank is None:
        return "unknown"
    return ""


def _source_history(history: dict[str, Any], index: int) -> SourceHistory:
    providers = [(p["provider"], p["intervals"]) for p in history.get("providers") or []]
    colors = {name: (PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE)) % len(DASHES)])
              for i, (name, _) in enumerate(providers)}
    until = _time(history.get("observed_until"))
    charts = [c for c in (build_chart("Input price", "input_price", providers, colors, until),
                          build_chart("Output price", "output_price", providers, colors, until))
              if c is not None]
    blocks: list[ProviderBlock] = []
    now: list[tuple[str, str, str, str]] = []
    for name, spans in providers:
        rows: list[SpanRow] = []
        previous: dict[str, Any] | None = None
        for span in spans:
            touching = previous is not None and previous.get("to") == span["from"]
            before_in = _price(previous["input_price"]) if previous and touching else None
            before_out = _price(previous["output_price"]) if previous and touching else None
            begin, finish = _period(span["from"], span.get("to"))
            rows.append(SpanRow(
                start=begin, end=finish,
                input=format_price(span["input_price"]), output=format_price(span["output_price"]),
                policy=policy_label(span.get("data_policy")),
                flag=_flag(previous.get("data_policy") if previous else None,
                           span.get("data_policy"), previous is None or not touching),
                input_move=_move(before_in, _price(span["input_price"])),
                output_move=_move(before_out, _price(span["output_price"])),
                version=str(span.get("first_catalog_version") or ""),
            ))
            previous = span
        current = bool(spans) and spans[-1].get("to") is None
        if current:
            last = spans[-1]
            now.append((name, format_price(last["input_price"]), format_price(last["output_price"]),
                        policy_label(last.get("data_policy"))))
        color, dash = colors[name]
        blocks.append(ProviderBlock(name, color, dash, current, rows))
    attributes = []
    for state in history.get("model_states") or []:
        begin, finish = _period(state["from"], state.get("to"))
        endpoints = state.get("supported_endpoints")
        context = state.get("context_window")
        attributes.append(AttrRow(
            begin, finish,
            f"{format_count(context)} tokens" if context is not None else "unknown",
            ", ".join(str(e) for e in endpoints) if isinstance(endpoints, list) else "unknown",
            str(state.get("owned_by") or ""),
        ))
    return SourceHistory(
        source=str(history.get("source") or ""),
        model=str(history.get("model") or ""),
        anchor=f"source-{index}",
        current=bool(history.get("current")),
        observed_from=format_time(history.get("observed_from")),
        observed_until=format_time(history.get("observed_until")),
        presence=[_period(p["from"], p.get("to")) for p in history.get("presence") or []],
        charts=charts, providers=blocks, attributes=attributes, now=now,
    )


def build_history_view(histories: list[dict[str, Any]]) -> HistoryView:
    """One model's histories (one per source) as display-ready sections with charts."""
    model = str(histories[0].get("model") or "") if histories else ""
    provider = histories[0].get("provider") if histories else None
    return HistoryView(model, [_source_history(h, i + 1) for i, h in enumerate(histories)],
                       str(provider) if provider else None)


def history_html(histories: dict[str, Any] | list[dict[str, Any]], *,
                 nav: list[tuple[str, str, bool]] | None = None) -> str:
    items = histories if isinstance(histories, list) else [histories]
    return html_env().get_template("history.html.j2").render(
        view=build_history_view(items), nav=nav
    )


def history_text(history: dict[str, Any]) -> str:
    """The history for a terminal: one table per provider; remote text made plain."""
    view = _source_history(history, 1)
    out: list[str] = []
    status = "in the catalog now" if view.current else "not in the catalog now"
    out.append(f"{plain_text(view.model)} (source {plain_text(view.source)}): {status}; "
               f"observed {view.observed_from} to {view.observed_until}")
    listed = "; ".join(f"{a} to {b}" for a, b in view.presence)
    out.append(f"listed: {listed}")
    if view.attributes:
        out.append("")
        out.append("model")
        out.append(f"  {'from':<21} {'to':<21} {'context':<18} {'owned by':<14} endpoints")
        for a in view.attributes:
            out.append(f"  {a.start:<21} {a.end:<21} {a.context:<18} "
                       f"{plain_text(a.owned_by):<14} {plain_text(a.endpoints)}")
    for block in view.providers:
        out.append("")
        out.append(f"{plain_text(block.name)}{'' if block.current else ' (not offered now)'}")
        out.append(f"  {'from':<21} {'to':<21} {'input':>10} {'output':>10}  policy")
        for r in block.rows:
            note = {"weakened": "  WEAKENED", "unknown": "  BECAME UNKNOWN"}.get(r.flag, "")
            out.append(f"  {r.start:<21} {r.end:<21} {r.input:>10} {r.output:>10}  "
                       f"{plain_text(r.policy)}{note}")
    if not view.providers:
        out.append("")
        out.append("no providers listed")
    out.append("")
    out.append("Prices are USD per 1M tokens; intervals are [from, to), times in UTC.")
    return "\n".join(out) + "\n"
