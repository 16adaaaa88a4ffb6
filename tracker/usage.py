"""Cost on your usage: a team's monthly token volumes, priced at two catalog states.

A usage file is a CSV of monthly volumes, one row per model (and provider):

    model,provider,input_tokens,output_tokens
    gpt-4o-2024-08-06,openai,120000000,30000000
    llama-3.3-70b-instruct,,800000000,200000000

A row with a provider is *pinned* to that provider's offer. A blank provider means *routed*:
the row is priced at the model's effective offer at `usage_floor` (default `any`; see
`tracker.effective`). Costs are USD per month, computed with exact decimals (prices are USD per
1M tokens); reports round them to cents for display only.

>>> rows = parse_usage("model,provider,input_tokens,output_tokens\\n"
...                    "llama-3.3-70b-instruct,,800000000,200000000\\n")
>>> from tracker.catalog import parse_catalog
>>> from tracker.demo import demo_catalogs
>>> v2, v3 = (parse_catalog(body) for body in demo_catalogs()[1:3])
>>> impact = cost_impact(rows, v2, v3, floor="zdr")
>>> row = impact.rows[0]
>>> row.old_provider, row.old_cost, row.new_provider, row.new_cost, row.delta, row.causes
('deepinfra', Decimal('264'), 'groq', Decimal('630'), Decimal('366'), ['data_policy_changed'])

(800M input tokens at $0.23 and 200M output tokens at $0.40 are $184 + $80 a month; at groq's
$0.59 / $0.79 they are $472 + $158.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker.catalog import Catalog, Model, Provider, decimal_to_json
from tracker.effective import (
    DEFAULT_BLEND,
    EFFECTIVE_KIND,
    MONEY,
    Blend,
    EffectiveOffer,
    causes_of,
    effective_offer,
    plain_decimal,
)
from tracker.errors import UsageError

__all__ = [
    "USAGE_COLUMNS",
    "CostImpact",
    "ImpactRow",
    "Pricing",
    "UsageRow",
    "cost_impact",
    "monthly_cost",
    "parse_usage",
    "read_usage",
    "record_impact",
]

USAGE_COLUMNS = ("model", "provider", "input_tokens", "output_tokens")
_PER_PRICE_UNIT = -6  # prices are per 1M tokens: a cost is tokens x price x 10^-6


@dataclass(frozen=True)
class UsageRow:
    """One line of a usage file: monthly tokens of a model, pinned to a provider or routed
    (`provider` None)."""

    line: int
    model: str
    provider: str | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Pricing:
    """What the read side adds to diffs and reports on request: `effective_price_changed`
    records at `floors` (blended with `blend`), and the cost impact on `usage` (routed rows
    priced at `usage_floor`)."""

    floors: tuple[str, ...] = ()
    blend: Blend = DEFAULT_BLEND
    usage: tuple[UsageRow, ...] | None = None
    usage_floor: str = "any"
    usage_file: str | None = None


def read_usage(path: str | Path) -> list[UsageRow]:
    """The rows of the usage file at `path`; a file that cannot be read or parsed is a
    `UsageError` (exit 2) naming the file and the line."""
    where = Path(path).expanduser()
    try:
        text = where.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read usage file {where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"usage file {where}: not UTF-8 text") from None
    return parse_usage(text, name=f"usage file {where}")


def parse_usage(text: str, *, name: str = "usage file") -> list[UsageRow]:
    """The rows of a usage CSV (header `model,provider,input_tokens,output_tokens`, in any
    column order). Blank lines are skipped; anything else malformed is a `UsageError` naming
    the line: a missing or unknown column, a row of the wrong width, an empty model, token
    counts that are not whole numbers of 0 or more, a model and provider listed twice."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    rows: list[UsageRow] = []
    seen: dict[tuple[str, str | None], int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = _header(fields, name, line)
                continue
            if len(fields) != len(header):
                raise UsageError(f"{name} line {line}: expected {len(header)} fields "
                                 f"({','.join(header)}), got {len(fields)}")
            values = dict(zip(header, (f.strip() for f in fields), strict=True))
            if not values["model"]:
                raise UsageError(f"{name} line {line}: the model is empty")
            key = (values["model"], values["provider"] or None)
            if key in seen:
                who = f"provider {key[1]}" if key[1] else "routed (no provider)"
                raise UsageError(f"{name} line {line}: {key[0]}, {who}, is already on line "
                                 f"{seen[key]}")
            seen[key] = line
            rows.append(UsageRow(line, key[0], key[1],
                                 _tokens(values["input_tokens"], "input_tokens", name, line),
                                 _tokens(values["output_tokens"], "output_tokens", name, line)))
    except csv.Error as exc:
        raise UsageError(f"{name} line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:
        raise UsageError(f"{name} is empty: expected the header {','.join(USAGE_COLUMNS)}")
    return rows


def _header(fields: list[str], name: str, line: int) -> list[str]:
    header = [f.strip().lower() for f in fields]
    unknown = [f for f in header if f not in USAGE_COLUMNS]
    missing = [c for c in USAGE_COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problem = (f"unknown column {unknown[0]!r}" if unknown
                   else f"missing column {missing[0]!r}" if missing else "a repeated column")
        raise UsageError(f"{name} line {line}: {problem}; the header is "
                         f"{','.join(USAGE_COLUMNS)}")
    return header


def _tokens(text: str, column: str, name: str, line: int) -> int:
    if not text.isascii() or not text.isdigit():
        raise UsageError(f"{name} line {line}: {column} must be a whole number of tokens "
                         f"(0 or more), got {text!r}")
    return int(text)


def monthly_cost(input_tokens: int, output_tokens: int, input_price: Decimal,
                 output_price: Decimal) -> Decimal:
    """USD per month of the tokens at prices per 1M tokens, exactly.

    >>> monthly_cost(120_000_000, 30_000_000, Decimal("2.5"), Decimal("10"))
    Decimal('600')
    """
    total = MONEY.add(MONEY.multiply(Decimal(input_tokens), input_price),
                      MONEY.multiply(Decimal(output_tokens), output_price))
    return plain_decimal(total.scaleb(_PER_PRICE_UNIT, MONEY))


@dataclass(frozen=True)
class ImpactRow:
    """One usage row priced at the window's start and end."""

    model: str
    provider: str | None  # None: routed at `floor`
    floor: str | None  # the floor a routed row is priced at (None for a pinned row)
    input_tokens: int
    output_tokens: int
    old_cost: Decimal | None  # None: not priced (no such model or offer then)
    new_cost: Decimal | None
    causes: list[str]
    old_provider: str | None = None  # the offer each end is priced at
    new_provider: str | None = None
    warning: str | None = None

    @property
    def delta(self) -> Decimal | None:
        if self.old_cost is None or self.new_cost is None:
            return None
        return plain_decimal(MONEY.subtract(self.new_cost, self.old_cost))

    @property
    def sort_key(self) -> tuple[bool, Decimal, str, str]:
        """Largest absolute delta first; rows that could not be priced at both ends last."""
        delta = self.delta
        return (delta is None, -abs(delta) if delta is not None else Decimal(0), self.model,
                self.provider or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "floor": self.floor,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "old_cost": _money(self.old_cost),
            "new_cost": _money(self.new_cost),
            "delta": _money(self.delta),
            "causes": self.causes,
            "old_provider": self.old_provider,
            "new_provider": self.new_provider,
            "warning": self.warning,
        }


def _money(value: Decimal | None) -> float | int | None:
    return decimal_to_json(value) if value is not None else None


@dataclass
class CostImpact:
    """The usage file priced at the window's two ends: rows by absolute delta, then totals
    over the rows priced at both ends (the others carry a warning)."""

    rows: list[ImpactRow]
    floor: str
    old_total: Decimal = Decimal(0)
    new_total: Decimal = Decimal(0)
    unpriced: int = 0  # rows not priced at both ends (not in the totals)
    usage_file: str | None = None

    @property
    def delta(self) -> Decimal:
        return plain_decimal(MONEY.subtract(self.new_total, self.old_total))

    def to_json(self) -> dict[str, Any]:
        """The report's `impact` object (costs USD per month, exact)."""
        return {
            "rows": [row.to_json() for row in self.rows],
            "old_total": decimal_to_json(self.old_total),
            "new_total": decimal_to_json(self.new_total),
            "delta": decimal_to_json(self.delta),
            "usage_floor": self.floor,
            "unpriced": self.unpriced,
            "usage_file": self.usage_file,
        }


@dataclass
class _Side:
    model: Model | None
    offer: Provider | EffectiveOffer | None
    cost: Decimal | None = field(default=None)


def cost_impact(rows: Sequence[UsageRow], old: Catalog | None, new: Catalog | None, *,
                floor: str = "any", blend: Blend = DEFAULT_BLEND,
                usage_file: str | None = None) -> CostImpact:
    """Each usage row's monthly cost at `old` (the window's start) and `new` (its end), the
    delta, and the kinds of the changes that caused it."""
    result: list[ImpactRow] = []
    for row in rows:
        before = _side(row, old, floor, blend)
        after = _side(row, new, floor, blend)
        result.append(ImpactRow(
            model=row.model, provider=row.provider,
            floor=floor if row.provider is None else None,
            input_tokens=row.input_tokens, output_tokens=row.output_tokens,
            old_cost=before.cost, new_cost=after.cost,
            causes=_causes(row, before, after, floor),
            old_provider=_name(before.offer), new_provider=_name(after.offer),
            warning=_warning(row, before, after, floor, no_start=old is None,
                             no_end=new is None),
        ))
    result.sort(key=lambda r: r.sort_key)
    impact = CostImpact(result, floor, usage_file=usage_file)
    for item in result:
        if item.old_cost is None or item.new_cost is None:
            impact.unpriced += 1
        else:
            impact.old_total = MONEY.add(impact.old_total, item.old_cost)
            impact.new_total = MONEY.add(impact.new_total, item.new_cost)
    return impact


def _name(offer: Provider | EffectiveOffer | None) -> str | None:
    if offer is None:
        return None
    return offer.name if isinstance(offer, Provider) else offer.provider


def _side(row: UsageRow, catalog: Catalog | None, floor: str, blend: Blend) -> _Side:
    model = catalog.models.get(row.model) if catalog is not None else None
    if model is None:
        return _Side(None, None)
    offer: Provider | EffectiveOffer | None
    if row.provider is None:
        offer = effective_offer(model, floor, blend)
    else:
        offer = model.providers.get(row.provider)
    if offer is None:
        return _Side(model, None)
    return _Side(model, offer, monthly_cost(row.input_tokens, row.output_tokens,
                                            offer.input_price, offer.output_price))


def _causes(row: UsageRow, before: _Side, after: _Side, floor: str) -> list[str]:
    if before.model is None and after.model is None:
        return []
    if row.provider is None:
        was = before.offer if isinstance(before.offer, EffectiveOffer) else None
        now = after.offer if isinstance(after.offer, EffectiveOffer) else None
        if was is None and now is None and before.model is not None and \
                after.model is not None:
            return []
        if (was is not None and now is not None and was.provider == now.provider
                and was.input_price == now.input_price and was.output_price == now.output_price):
            return []
        return causes_of(before.model, after.model, floor, was, now)
    if before.model is None:
        return ["model_added"]
    if after.model is None:
        return ["model_removed"]
    was_offer, now_offer = before.offer, after.offer
    if was_offer is None and now_offer is None:
        return []
    if was_offer is None:
        return ["provider_added"]
    if now_offer is None:
        return ["provider_removed"]
    moved = (was_offer.input_price != now_offer.input_price
             or was_offer.output_price != now_offer.output_price)
    return ["price_changed"] if moved else []


def _warning(row: UsageRow, before: _Side, after: _Side, floor: str, *, no_start: bool,
             no_end: bool) -> str | None:
    """Why a row could not be priced at one end (or both), in words (raw model names)."""
    if before.model is None and after.model is None and not (no_start or no_end):
        return "not in the catalog"
    if row.provider is None:
        missing = f"no {floor} offer" if floor != "any" else "no offer"
    else:
        missing = f"not offered by {row.provider}"
    problems: list[str] = []
    if no_start:
        problems.append("no catalog at the start of the window")
    elif before.model is None:
        problems.append("not in the catalog at the start of the window")
    elif before.offer is None:
        problems.append(f"{missing} at the start of the window")
    if no_end:
        problems.append("no catalog at the end of the window")
    elif after.model is None:
        problems.append("no longer in the catalog" if before.model is not None
                        else "not in the catalog at the end of the window")
    elif after.offer is None:
        problems.append(f"{missing} at the end of the window")
    return "; ".join(problems) or None


def record_impact(change: Mapping[str, Any], rows: Iterable[UsageRow], *,
                  floor: str = "any") -> tuple[bool, Decimal | None]:
    """Whether a change record concerns the usage, and by how much it moves the monthly cost
    (USD; None when it cannot be priced: an offer or model that appears or disappears).

    A pinned row is moved by the price changes of its offer; a routed row by the
    `effective_price_changed` records of its model at `floor`. Additions and removals of a
    row's model or offer concern it without a price.

    >>> rows = parse_usage("model,provider,input_tokens,output_tokens\\nm,p,2000000,0\\n")
    >>> record_impact({"kind": "price_changed", "model": "m", "provider": "p",
    ...                "field": "input_price", "old": 1.5, "new": 2}, rows)
    (True, Decimal('1'))
    """
    from tracker.catalog import json_number_to_decimal

    kind, model = change.get("kind"), change.get("model")
    concerned = [r for r in rows if r.model == model]
    if not concerned:
        return False, None
    if kind in ("model_added", "model_removed"):
        return True, None
    provider = change.get("provider")
    if kind == EFFECTIVE_KIND:
        routed = [r for r in concerned if r.provider is None]
        if not routed or change.get("field") != f"effective.{floor}":
            return False, None
        old, new = change.get("old"), change.get("new")
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            return True, None
        total = Decimal(0)
        for r in routed:
            after = monthly_cost(r.input_tokens, r.output_tokens,
                                 json_number_to_decimal(new["input_price"]),
                                 json_number_to_decimal(new["output_price"]))
            before = monthly_cost(r.input_tokens, r.output_tokens,
                                  json_number_to_decimal(old["input_price"]),
                                  json_number_to_decimal(old["output_price"]))
            total = MONEY.add(total, MONEY.subtract(after, before))
        return True, plain_decimal(total)
    pinned = [r for r in concerned if r.provider is not None and r.provider == provider]
    if not pinned:
        return False, None
    if kind in ("provider_added", "provider_removed"):
        return True, None
    if kind != "price_changed":
        return False, None
    old_price, new_price = change.get("old"), change.get("new")
    if not isinstance(old_price, int | float) or not isinstance(new_price, int | float):
        return True, None
    step = MONEY.subtract(json_number_to_decimal(new_price), json_number_to_decimal(old_price))
    side = "input_tokens" if change.get("field") == "input_price" else "output_tokens"
    tokens = sum(getattr(r, side) for r in pinned)
    moved = MONEY.multiply(Decimal(tokens), step).scaleb(_PER_PRICE_UNIT, MONEY)
    return True, plain_decimal(moved)
