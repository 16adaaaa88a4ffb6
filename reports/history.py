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
from .phrases import FLAG_WORDS, policy_flag

__all__ = ["build_history_view", "history_html", "history_text"]

# Okabe-Ito: distinguishable with the common forms of colour blindness; dashes beyond them.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#8C564B")
DASHES = ("", "7 4", "2 3")
_RANK = {"zdr": 2, "no_training": 1, "none": 0}

WIDTH, HEIGHT = 960, 260
# The right margin holds the label of each line's last value.
LEFT, RIGHT, TOP, BOTTOM = 72, 176, 14, 34
# Lines at the same price at the same time are drawn this far apart (px), side by side.
OVERLAP_GAP = 4.0
LABEL_GAP = 14.0  # the least vertical distance between two end labels
LANE_HEIGHT, LANE_GAP = 20, 6  # the data-policy lanes

# The effective price per floor (the cheapest qualifying offer) is drawn as a broad translucent
# band under the providers' lines, a colour per floor (Paul Tol's muted scheme, which the
# providers' Okabe-Ito colours do not use).
EFFECTIVE_COLORS = {"zdr": "#117733", "no_training": "#332288", "any": "#882255"}
# Bands of different floors at the same price nest: the strongest floor is the broadest.
EFFECTIVE_WIDTHS = {"zdr": 15.0, "no_training": 10.0, "any": 6.0}

# The colours of data policies in the lanes: strong to weak, then not stated and other values.
POLICY_COLORS = {"zdr": "#1a7f37", "no_training": "#0b5cad", "none": "#c0262d"}
NOT_STATED_COLOR, OTHER_POLICY_COLOR = "#8c959f", "#6d28d9"


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
    dot: bool = True  # the price starts here (first value, or a move): a dot marks it


@dataclass
class Series:
    name: str
    color: str
    dash: str
    segments: list[Segment] = field(default_factory=list)
    joins: str = ""
    width: float = 2.5  # stroke width (an effective-price band is broader)


@dataclass(frozen=True)
class EndLabel:
    """The last value of one or more lines (the same price), in the right margin."""

    x: float
    y: float  # where the text sits
    line_y: float  # where the line ends (a leader joins them when they differ)
    line_x: float
    color: str
    text: str
    title: str
    names: str = ""  # a second, smaller line: the providers that share this last value

    @property
    def height(self) -> float:
        return LABEL_GAP * (2 if self.names else 1)


@dataclass
class Chart:
    title: str
    width: int
    height: int
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    series: list[Series]
    labels: list[EndLabel] = field(default_factory=list)
    overlaps: bool = False  # some lines share a price at the same time (drawn side by side)
    y_max: float = 0.0  # the price at the top of the plot
    # The effective price at each floor, drawn as bands under the providers' lines.
    effective: list[Series] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Step chart of the {self.title.lower()} per provider over time"


@dataclass(frozen=True)
class LaneBar:
    x0: float
    x1: float
    fill: str
    text: str  # the policy, when the bar is wide enough to hold it
    title: str
    inset: float = 6.0  # where the text starts (past the mark of a change)


@dataclass(frozen=True)
class LaneMark:
    x: float
    symbol: str  # ▼ weakened, ▲ strengthened, ↺ restored, ? became unknown, • other
    css: str
    title: str


@dataclass
class Lane:
    name: str
    y: float
    bars: list[LaneBar] = field(default_factory=list)
    marks: list[LaneMark] = field(default_factory=list)


@dataclass
class PolicyLanes:
    """The data policy of each provider over time, a lane each, on the price charts' time
    axis: policy changes get their own marks here instead of dots on a price line."""

    width: int
    height: int
    plot: tuple[float, float, float, float]
    x_ticks: list[tuple[float, str]]
    lanes: list[Lane]
    legend: list[tuple[str, str]]  # (policy label, colour) of the policies shown


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


@dataclass(frozen=True)
class TimeAxis:
    """The time axis every chart of one history shares."""

    t0: datetime
    t1: datetime
    left: float = float(LEFT)
    right: float = float(WIDTH - RIGHT)

    def x(self, moment: datetime) -> float:
        seconds = (self.t1 - self.t0).total_seconds()
        return self.left + (moment - self.t0).total_seconds() / seconds * (self.right - self.left)

    def ticks(self) -> list[tuple[float, str]]:
        return _x_ticks(self.t0, self.t1, self.x)


def time_axis(providers: list[tuple[str, list[dict[str, Any]]]],
              until: datetime | None) -> TimeAxis | None:
    spans = [s for _, items in providers for s in items]
    if not spans:
        return None
    starts = [t for s in spans if (t := _time(s["from"])) is not None]
    ends = [t for s in spans if (t := _time(s.get("to"))) is not None]
    t0 = min(starts)
    t1 = max([*ends, *starts, *([until] if until else [])])
    if t1 <= t0:
        t1 = t0 + timedelta(days=1)
    if any(not s.get("to") for s in spans):
        # a value still current is drawn a little past the last observation, to the edge
        t1 += max((t1 - t0) * 0.04, timedelta(hours=1))
    return TimeAxis(t0, t1)


def _overlapping(spans: list[tuple[int, datetime, datetime, Decimal]],
                 me: int, start: datetime, end: datetime, price: Decimal) -> list[int]:
    """The providers (by number) whose line shares this price during this interval."""
    return sorted({number for number, a, b, value in spans
                   if value == price and a < end and start < b} | {me})


def _spread(labels: list[EndLabel], top: float, bottom: float) -> list[EndLabel]:
    """End labels moved apart vertically (at least LABEL_GAP), kept inside the plot."""
    ordered = sorted(labels, key=lambda label: label.y)
    placed: list[float] = []
    for number, label in enumerate(ordered):
        y = max(label.y, top + 4)
        if placed and y < placed[-1] + ordered[number - 1].height:
            y = placed[-1] + ordered[number - 1].height
        placed.append(y)
    overflow = placed[-1] + ordered[-1].height - LABEL_GAP - (bottom + 4) if placed else 0
    if overflow > 0:  # pushed past the bottom: shift the stack up, keeping the gaps
        placed[-1] -= overflow
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - ordered[i].height)
    return [EndLabel(label.x, round(y, 1), label.line_y, label.line_x, label.color,
                     label.text, label.title, label.names)
            for label, y in zip(ordered, placed, strict=True)]


def build_chart(title: str, key: str, providers: list[tuple[str, list[dict[str, Any]]]],
                colors: dict[str, tuple[str, str]], until: datetime | None) -> Chart | None:
    """A step chart of one price field (``input_price`` or ``output_price``) per provider.

    Lines that hold the same price at the same time are drawn side by side (`OVERLAP_GAP`
    apart), a dot marks where a price starts or moves (not a policy change: the policy
    lanes show those), and the last value of each line is written at its end.
    """
    axis = time_axis(providers, until)
    if axis is None:
        return None
    spans = [(name, s) for name, items in providers for s in items]
    left, top = axis.left, float(TOP)
    right, bottom = axis.right, float(HEIGHT - BOTTOM)
    top_price = max(float(_price(s[key])) for _, s in spans)
    step = _nice_step(top_price if top_price > 0 else 1.0)
    y_max = step * max(1, -(-top_price // step)) if top_price > 0 else step * 4
    if y_max <= top_price:
        y_max += step

    def y(price: float) -> float:
        return bottom - price / y_max * (bottom - top)

    y_ticks = []
    value = 0.0
    while value <= y_max + step / 1000:
        y_ticks.append((y(value), format_price(Decimal(f"{value:.10g}"))))
        value += step
    intervals = [
        (number, _time(span["from"]) or axis.t0, _time(span.get("to")) or axis.t1,
         _price(span[key]))
        for number, (_, items) in enumerate(providers) for span in items
    ]
    series: list[Series] = []
    ends: dict[Decimal, list[tuple[int, float, float]]] = {}  # last price -> (number, x, y)
    overlaps = False
    for number, (name, items) in enumerate(providers):
        color, dash = colors[name]
        line = Series(name, color, dash)
        joins: list[str] = []
        previous: tuple[datetime | None, float, Decimal] | None = None
        for span in items:
            start, end = _time(span["from"]), _time(span.get("to"))
            assert start is not None
            price = _price(span[key])
            group = _overlapping(intervals, number, start, end or axis.t1, price)
            overlaps = overlaps or len(group) > 1
            shift = (group.index(number) - (len(group) - 1) / 2) * OVERLAP_GAP
            x0, x1, yy = axis.x(start), axis.x(end or axis.t1), y(float(price)) + shift
            touching = previous is not None and previous[0] == start
            if touching and previous is not None and previous[1] != yy:
                joins.append(f"M{x0:.1f} {previous[1]:.1f}V{yy:.1f}")
            begin, finish = _period(span["from"], span.get("to"))
            line.segments.append(Segment(
                d=f"M{x0:.1f} {yy:.1f}H{max(x1, x0 + 1):.1f}",
                title=f"{name}: {format_price(span[key])} per 1M tokens, {begin} to {finish}",
                cx=round(x0, 1), cy=round(yy, 1),
                dot=not touching or previous is None or previous[2] != price,
            ))
            previous = (end, yy, price)
        if items and previous is not None:
            ends.setdefault(_price(items[-1][key]), []).append(
                (number, axis.x(previous[0] or axis.t1), previous[1]))
        line.joins = "".join(joins)
        series.append(line)
    labels = []
    for price, lines in ends.items():
        names = [providers[number][0] for number, _, _ in lines]
        gone = [providers[number][0] for number, _, _ in lines
                if providers[number][1][-1].get("to")]
        number, line_x, line_y = lines[0]
        together = ", ".join(names)
        labels.append(EndLabel(
            x=right + 8, y=sum(ly for _, _, ly in lines) / len(lines) + 4, line_y=line_y,
            line_x=line_x, color=colors[names[0]][0] if len(names) == 1 else "#1f2328",
            text=(f"{format_price(price)} {names[0]}" if len(names) == 1
                  else f"{format_price(price)}: {len(names)} providers")
            + (" (gone)" if len(gone) == len(names) else ""),
            title=f"{format_price(price)} per 1M tokens, last value of: {together}"
                  + (f" (no longer offered: {', '.join(gone)})" if gone else ""),
            names="" if len(names) == 1 else (together if len(together) <= 30
                                               else together[:29] + "…"),
        ))
    return Chart(title, WIDTH, HEIGHT, (left, top, right, bottom), y_ticks, axis.ticks(),
                 series, _spread(labels, top, bottom), overlaps, y_max=y_max)


def effective_series(chart: Chart, key: str, effective: list[tuple[str, list[dict[str, Any]]]],
                     axis: TimeAxis) -> list[Series]:
    """The effective price at each floor (``(floor, intervals)``, intervals as
    `ModelHistory.to_json()["effective"]` has them) on a chart's scale: one band per floor,
    with a tooltip per interval naming the provider."""
    _, top, _, bottom = chart.plot

    def y(price: Decimal) -> float:
        return bottom - float(price) / chart.y_max * (bottom - top) if chart.y_max else bottom

    bands: list[Series] = []
    for floor, items in effective:
        band = Series(f"effective ({floor})", EFFECTIVE_COLORS.get(floor, "#555555"), "",
                      width=EFFECTIVE_WIDTHS.get(floor, 8.0))
        joins: list[str] = []
        previous: tuple[datetime | None, float] | None = None
        for span in items:
            start, end = _time(span["from"]), _time(span.get("to"))
            assert start is not None
            x0, x1, yy = axis.x(start), axis.x(end or axis.t1), y(_price(span[key]))
            if previous is not None and previous[0] == start and previous[1] != yy:
                joins.append(f"M{x0:.1f} {previous[1]:.1f}V{yy:.1f}")
            begin, finish = _period(span["from"], span.get("to"))
            band.segments.append(Segment(
                d=f"M{x0:.1f} {yy:.1f}H{max(x1, x0 + 1):.1f}",
                title=(f"effective at {floor}: {span.get('provider')}, "
                       f"{format_price(span[key])} per 1M tokens (blended "
                       f"{format_price(span.get('blended'))}), {begin} to {finish}"),
                cx=round(x0, 1), cy=round(yy, 1), dot=False))
            previous = (end, yy)
        band.joins = "".join(joins)
        bands.append(band)
    return bands


@dataclass(frozen=True)
class EffectiveRow:
    start: str
    end: str
    provider: str
    input: str
    output: str
    blended: str
    move: str  # up | down | "" against the interval before (blended)


@dataclass
class EffectiveBlock:
    """The effective offer of the model at one floor over time (a table of the page)."""

    floor: str
    color: str
    rows: list[EffectiveRow]


def _effective_blocks(effective: list[tuple[str, list[dict[str, Any]]]]) -> list[EffectiveBlock]:
    blocks: list[EffectiveBlock] = []
    for floor, items in effective:
        rows: list[EffectiveRow] = []
        previous: dict[str, Any] | None = None
        for span in items:
            begin, finish = _period(span["from"], span.get("to"))
            touching = previous is not None and previous.get("to") == span["from"]
            before = _price(previous["blended"]) if previous is not None and touching else None
            rows.append(EffectiveRow(begin, finish, str(span.get("provider") or ""),
                                     format_price(span["input_price"]),
                                     format_price(span["output_price"]),
                                     format_price(span.get("blended")),
                                     _move(before, _price(span["blended"]))))
            previous = span
        blocks.append(EffectiveBlock(floor, EFFECTIVE_COLORS.get(floor, "#555555"), rows))
    return blocks


def _policy_color(policy: object) -> str:
    if policy is None or policy == "":
        return NOT_STATED_COLOR
    return POLICY_COLORS.get(str(policy), OTHER_POLICY_COLOR)


_MARKS = {"weakened": ("▼", "warn"), "became_unknown": ("?", "unknown"),
          "restored": ("↺", "stronger"), "strengthened": ("▲", "stronger")}


def build_policy_lanes(providers: list[tuple[str, list[dict[str, Any]]]],
                       flags: dict[str, list[str]], until: datetime | None) -> PolicyLanes | None:
    """A lane per provider with its data policy over time; each change is marked with its
    flag (`flags`: per provider, the flag of each span, as the rows have them)."""
    axis = time_axis(providers, until)
    if axis is None:
        return None
    lanes: list[Lane] = []
    shown: dict[str, str] = {}
    for index, (name, items) in enumerate(providers):
        lane = Lane(name, TOP + index * (LANE_HEIGHT + LANE_GAP))
        # Runs of touching spans with one policy (a price move alone does not end a bar).
        runs: list[tuple[datetime, datetime | None, object, str]] = []  # start, end, policy, flag
        for number, span in enumerate(items):
            start, end = _time(span["from"]), _time(span.get("to"))
            assert start is not None
            policy = span.get("data_policy")
            flag = (flags.get(name) or [""] * len(items))[number]
            if runs and runs[-1][1] == start and runs[-1][2] == policy:
                runs[-1] = (runs[-1][0], end, policy, runs[-1][3])
            else:
                touching = bool(runs) and runs[-1][1] == start
                runs.append((start, end, policy, flag if touching else ""))
        for start, end, policy, flag in runs:
            label = policy_label(policy)
            shown.setdefault(label, _policy_color(policy))
            x0, x1 = axis.x(start), axis.x(end or axis.t1)
            begin, finish = _period(iso_text(start), iso_text(end) if end else None)
            inset = 16.0 if flag else 6.0
            lane.bars.append(LaneBar(
                round(x0, 1), round(max(x1, x0 + 1), 1), _policy_color(policy),
                label if (x1 - x0) > 7.5 * len(label) + inset + 2 else "",
                f"{name}: data policy {label}, {begin} to {finish}", inset))
            if flag:
                symbol, css = _MARKS.get(flag, ("•", ""))
                lane.marks.append(LaneMark(round(x0, 1), symbol, css,
                                           f"{name}: {FLAG_WORDS.get(flag, flag)}, now {label}, "
                                           f"{begin}"))
        lanes.append(lane)
    height = TOP + len(lanes) * (LANE_HEIGHT + LANE_GAP) + BOTTOM
    return PolicyLanes(WIDTH, height, (axis.left, float(TOP), axis.right, float(height - BOTTOM)),
                       axis.ticks(), lanes, list(shown.items()))


def iso_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SpanRow:
    start: str
    end: str
    input: str
    output: str
    policy: str
    flag: str  # phrases.policy_flag: weakened | became_unknown | restored | strengthened | ""
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
    lanes: PolicyLanes | None = None
    effective: list[EffectiveBlock] = field(default_factory=list)


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


def span_flags(spans: list[dict[str, Any]]) -> list[str]:
    """The flag (`phrases.policy_flag`) of each span's data policy against the span just
    before it: `weakened`, `became_unknown`, `restored` (it undoes the provider's last
    weakening), `strengthened`, or "" (no change, or not touching the one before).

    >>> span_flags([{"from": "a", "to": "b", "data_policy": "zdr"},
    ...             {"from": "b", "to": "c", "data_policy": "none"},
    ...             {"from": "c", "to": None, "data_policy": "zdr"}])
    ['', 'weakened', 'restored']
    """
    flags: list[str] = []
    last_change: tuple[object, object, bool] | None = None  # old, new, weakened
    for number, span in enumerate(spans):
        previous = spans[number - 1] if number else None
        old, new = (previous or {}).get("data_policy"), span.get("data_policy")
        if previous is None or previous.get("to") != span["from"] or old == new:
            flags.append("")
            continue
        old_rank, new_rank = _RANK.get(str(old)), _RANK.get(str(new))
        weakened = old_rank is not None and new_rank is not None and new_rank < old_rank
        restored = last_change is not None and last_change[2] and last_change[:2] == (new, old)
        flags.append(policy_flag({"old": old, "new": new, "weakened": weakened,
                                  "restored": restored}))
        last_change = (old, new, weakened)
    return flags


def _source_history(history: dict[str, Any], index: int) -> SourceHistory:
    providers = [(p["provider"], p["intervals"]) for p in history.get("providers") or []]
    colors = {name: (PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE)) % len(DASHES)])
              for i, (name, _) in enumerate(providers)}
    until = _time(history.get("observed_until"))
    charts = [c for c in (build_chart("Input price", "input_price", providers, colors, until),
                          build_chart("Output price", "output_price", providers, colors, until))
              if c is not None]
    effective = [(str(e.get("floor")), e.get("intervals") or [])
                 for e in history.get("effective") or [] if isinstance(e, dict)]
    axis = time_axis(providers, until)
    if axis is not None:
        for chart, key in zip(charts, ("input_price", "output_price"), strict=False):
            chart.effective = effective_series(chart, key, effective, axis)
    flags = {name: span_flags(spans) for name, spans in providers}
    lanes = build_policy_lanes(providers, flags, until)
    blocks: list[ProviderBlock] = []
    now: list[tuple[str, str, str, str]] = []
    for name, spans in providers:
        rows: list[SpanRow] = []
        previous: dict[str, Any] | None = None
        for number, span in enumerate(spans):
            touching = previous is not None and previous.get("to") == span["from"]
            before_in = _price(previous["input_price"]) if previous and touching else None
            before_out = _price(previous["output_price"]) if previous and touching else None
            begin, finish = _period(span["from"], span.get("to"))
            rows.append(SpanRow(
                start=begin, end=finish,
                input=format_price(span["input_price"]), output=format_price(span["output_price"]),
                policy=policy_label(span.get("data_policy")),
                flag=flags[name][number],
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
        charts=charts, providers=blocks, attributes=attributes, now=now, lanes=lanes,
        effective=_effective_blocks(effective),
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
            note = f"  {FLAG_WORDS[r.flag].upper()}" if r.flag in FLAG_WORDS else ""
            out.append(f"  {r.start:<21} {r.end:<21} {r.input:>10} {r.output:>10}  "
                       f"{plain_text(r.policy)}{note}")
    if not view.providers:
        out.append("")
        out.append("no providers listed")
    for floor in view.effective:
        out.append("")
        out.append(f"effective at {floor.floor} (the cheapest {floor.floor} offer by blended "
                   "price)" if floor.floor != "any" else
                   "effective at any (the cheapest offer by blended price)")
        out.append(f"  {'from':<21} {'to':<21} {'provider':<16} {'input':>10} {'output':>10} "
                   f"{'blended':>10}")
        for e in floor.rows:
            out.append(f"  {e.start:<21} {e.end:<21} {plain_text(e.provider):<16} "
                       f"{e.input:>10} {e.output:>10} {e.blended:>10}")
        if not floor.rows:
            out.append("  no qualifying offer at any time")
    out.append("")
    out.append("Prices are USD per 1M tokens; intervals are [from, to), times in UTC.")
    return "\n".join(out) + "\n"
