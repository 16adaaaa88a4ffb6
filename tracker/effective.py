"""Effective prices: what a team pays for a model when it may only use offers that meet a
data-policy floor. Pure: catalogs in, offers and change records out; no I/O, no database.

A router offers each model through several providers, each with its own prices and data
policy (see docs/effective-price.md for the definitions in full):

- **Floors.** `zdr`: offers whose policy is `zdr`; `no_training`: `zdr` or `no_training`;
  `any`: every offer, null and unknown policies included. An unknown or null policy meets
  only `any`.
- **Blended price** of an offer: `(3 x input + 1 x output) / 4`, USD per 1M tokens (the
  weights are the config file's `blend = [3, 1]`), computed with exact decimals.
- **Effective offer** of a model at a floor: the qualifying offer with the lowest blended
  price; ties go to the lower input price, then the provider name. A model with no
  qualifying offer has none.

>>> from tracker.catalog import parse_catalog
>>> from tracker.demo import demo_catalogs
>>> v2, v3 = (parse_catalog(body) for body in demo_catalogs()[1:3])
>>> offer = effective_offer(v2.models["llama-3.3-70b-instruct"], "zdr")
>>> offer.provider, offer.blended
('deepinfra', Decimal('0.2725'))
>>> moved = effective_changes(v2, v3, ["zdr"])
>>> for c in moved:
...     print(c["model"], c["old"]["provider"], "->", c["new"]["provider"], c["causes"])
kimi-k2-instruct-0905 fireworks -> deepinfra ['provider_added']
llama-3.3-70b-instruct deepinfra -> groq ['data_policy_changed']
llama-4-maverick-17b-128e-instruct groq -> fireworks ['provider_removed']
>>> change = moved[1]
>>> change["old"]
{'provider': 'deepinfra', 'input_price': 0.23, 'output_price': 0.4, 'blended': 0.2725}
>>> change["new"]
{'provider': 'groq', 'input_price': 0.59, 'output_price': 0.79, 'blended': 0.64}
>>> change["change_pct"], change["causes"]
(134.86, ['data_policy_changed'])

`effective_price_changed` records are *derived*: the diff of two catalogs never holds them,
and they are never stored. `effective_changes(old, new, floors)` computes them on request
(`tracker diff --effective FLOOR`, and every report when the config names `effective_floors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any

from tracker.catalog import (
    Catalog,
    Model,
    Provider,
    decimal_to_json,
    json_number_to_decimal,
    model_from_json,
    provider_from_json,
)
from tracker.diff import KIND_ORDER, Change, change_pct

__all__ = [
    "DEFAULT_BLEND",
    "EFFECTIVE_KIND",
    "FLOORS",
    "MONEY",
    "Blend",
    "EffectiveOffer",
    "apply_offer_changes",
    "blended_price",
    "causes_of",
    "effective_by_floor",
    "effective_changes",
    "effective_offer",
    "effective_offers",
    "effective_timeline",
    "meets",
    "plain_decimal",
    "replay_offer_changes",
    "touched_models",
]

EFFECTIVE_KIND = "effective_price_changed"

FLOORS: tuple[str, ...] = ("zdr", "no_training", "any")
"""The data-policy floors, strongest first (the order results are sorted in)."""

_FLOOR_POLICIES: Mapping[str, frozenset[str]] = {
    "zdr": frozenset({"zdr"}),
    "no_training": frozenset({"zdr", "no_training"}),
}

Blend = tuple[Decimal, Decimal]
"""The weights of the input and the output price in the blended price."""

DEFAULT_BLEND: Blend = (Decimal(3), Decimal(1))

MONEY = Context(prec=80)
"""The decimal context of money arithmetic: wide enough that sums and products of stored
prices (at most 40 characters each) and token counts are exact."""


def meets(policy: str | None, floor: str) -> bool:
    """Whether an offer with data policy `policy` qualifies at `floor`.

    >>> meets("zdr", "no_training"), meets("no_training", "zdr"), meets(None, "any")
    (True, False, True)
    >>> meets(None, "no_training"), meets("ZDR", "zdr")      # unknown values meet only `any`
    (False, False)
    """
    if floor == "any":
        return True
    try:
        return policy in _FLOOR_POLICIES[floor]
    except KeyError:
        raise ValueError(f"unknown floor {floor!r} (use one of: {', '.join(FLOORS)})") from None


def blended_price(input_price: Decimal, output_price: Decimal,
                  blend: Blend = DEFAULT_BLEND) -> Decimal:
    """`(w_in x input + w_out x output) / (w_in + w_out)`, exactly (USD per 1M tokens).

    >>> blended_price(Decimal("0.59"), Decimal("0.79"))
    Decimal('0.64')
    >>> blended_price(Decimal("2.5"), Decimal("10"), (Decimal(1), Decimal(1)))
    Decimal('6.25')
    """
    return _blended(input_price, output_price, blend[0], blend[1])


@lru_cache(maxsize=1 << 16)  # a history prices the same few thousand offers again and again
def _blended(input_price: Decimal, output_price: Decimal, w_in: Decimal,
             w_out: Decimal) -> Decimal:
    total = MONEY.add(MONEY.multiply(w_in, input_price), MONEY.multiply(w_out, output_price))
    return plain_decimal(MONEY.divide(total, MONEY.add(w_in, w_out)))


def plain_decimal(value: Decimal) -> Decimal:
    """`value` without trailing zeros and without an exponent: `Decimal('630')`, not
    `Decimal('6.3E+2')` (the same number, as people write it).

    >>> plain_decimal(Decimal("630.00")), plain_decimal(Decimal("0.27250"))
    (Decimal('630'), Decimal('0.2725'))
    """
    if not value:
        return Decimal(0)
    reduced = value.normalize(MONEY)
    exponent = reduced.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return reduced.quantize(Decimal(1), context=MONEY)
    return reduced


@dataclass(frozen=True)
class EffectiveOffer:
    """The effective offer of one model at one floor: the cheapest qualifying offer."""

    model: str
    floor: str
    provider: str
    input_price: Decimal
    output_price: Decimal
    blended: Decimal

    def to_json(self) -> dict[str, Any]:
        """A row of `tracker effective --format json`."""
        return {"model": self.model, "floor": self.floor, **self.offer_json()}

    def offer_json(self) -> dict[str, Any]:
        """The offer as an `effective_price_changed` record's `old` / `new`."""
        return {
            "provider": self.provider,
            "input_price": decimal_to_json(self.input_price),
            "output_price": decimal_to_json(self.output_price),
            "blended": decimal_to_json(self.blended),
        }

    @property
    def sort_key(self) -> tuple[Decimal, Decimal, str]:
        """Lowest blended price first; ties to the lower input price, then the name."""
        return (self.blended, self.input_price, self.provider)


def effective_offer(model: Model, floor: str, blend: Blend = DEFAULT_BLEND
                    ) -> EffectiveOffer | None:
    """The effective offer of `model` at `floor`; None when no offer qualifies."""
    return effective_by_floor(model, (floor,), blend)[floor]


def effective_by_floor(model: Model, floors: Sequence[str], blend: Blend = DEFAULT_BLEND
                       ) -> dict[str, EffectiveOffer | None]:
    """The effective offer of `model` at each of `floors` (None where no offer qualifies):
    every offer priced once, in tie-break order, and the first that meets each floor."""
    ranked = sorted([(blended_price(p.input_price, p.output_price, blend), p.input_price,
                      p.name, p) for p in model.providers.values()], key=_TIE_BREAK)
    found: dict[str, EffectiveOffer | None] = {}
    for floor in floors:
        if floor not in FLOORS:
            raise ValueError(f"unknown floor {floor!r} (use one of: {', '.join(FLOORS)})")
        accepted = _FLOOR_POLICIES.get(floor)  # None: any policy
        found[floor] = None
        for blended, _, name, p in ranked:
            if accepted is None or p.data_policy in accepted:
                found[floor] = EffectiveOffer(model.id, floor, name, p.input_price,
                                              p.output_price, blended)
                break
    return found


_TIE_BREAK = itemgetter(0, 1, 2)  # blended price, input price, provider name


def effective_offers(catalog: Catalog, floors: Sequence[str] = FLOORS,
                     blend: Blend = DEFAULT_BLEND,
                     models: Iterable[str] | None = None) -> list[EffectiveOffer]:
    """The effective offer of every model (or of `models`) at each floor, sorted by model,
    then floor (strongest first); models without a qualifying offer at a floor are left out.
    """
    wanted = sorted(catalog.models if models is None else set(models) & catalog.models.keys())
    order = [f for f in FLOORS if f in set(floors)]
    found: list[EffectiveOffer] = []
    for model_id in wanted:
        offers = effective_by_floor(catalog.models[model_id], order, blend)
        found.extend(offer for offer in offers.values() if offer is not None)
    return found


def causes_of(before: Model | None, after: Model | None, floor: str,
              old: EffectiveOffer | None, new: EffectiveOffer | None) -> list[str]:
    """The kinds of the underlying change records that moved a model's effective offer at
    `floor` from `old` to `new` (in the documented kind order).

    Only the offers that are effective on one side or the other can have moved it: a price
    change counts when that offer qualifies on both sides, a data-policy change when it made
    the offer qualify or stop qualifying at this floor.
    """
    if before is None:
        return ["model_added"]
    if after is None:
        return ["model_removed"]
    kinds: set[str] = set()
    for name in {offer.provider for offer in (old, new) if offer is not None}:
        was, now = before.providers.get(name), after.providers.get(name)
        if was is None:
            kinds.add("provider_added")
        elif now is None:
            kinds.add("provider_removed")
        else:
            qualified, qualifies = meets(was.data_policy, floor), meets(now.data_policy, floor)
            if qualified != qualifies:
                kinds.add("data_policy_changed")
            elif qualified and (was.input_price != now.input_price
                                or was.output_price != now.output_price):
                kinds.add("price_changed")
    return [kind for kind in KIND_ORDER if kind in kinds]


_OFFER_KINDS = frozenset({"provider_added", "provider_removed", "price_changed",
                          "data_policy_changed"})


def apply_offer_changes(catalog: Catalog, changes: Iterable[Mapping[str, Any]]) -> Catalog:
    """`catalog` with the records that bear on offers applied (models and providers added or
    removed, prices, data policies), the others left out: the next state, as far as effective
    prices go, without rebuilding every touched model as `tracker.diff.apply_changes` does.
    Raises `ValueError` when a record does not fit the catalog."""
    models = dict(catalog.models)
    replay_offer_changes(models, changes)
    return Catalog(models=models, catalog_version=catalog.catalog_version, extra=catalog.extra)


def replay_offer_changes(models: dict[str, Model], changes: Iterable[Mapping[str, Any]]) -> None:
    """`apply_offer_changes` on a dict of models, in place (`ValueError` on a record that
    does not fit; the dict is then partly changed)."""
    touched: dict[str, dict[str, Provider]] = {}
    try:
        for change in changes:
            kind, model_id, name = change["kind"], change["model"], change["provider"]
            if kind == "model_added":
                # (stored records are fresh objects that nothing changes: no copy needed)
                models[model_id] = model_from_json(change["new"])
                touched.pop(model_id, None)
            elif kind == "model_removed":
                del models[model_id]
                touched.pop(model_id, None)
            elif kind in _OFFER_KINDS:
                offers = touched.get(model_id)
                if offers is None:
                    offers = touched[model_id] = dict(models[model_id].providers)
                if kind == "provider_added":
                    offers[name] = provider_from_json(change["new"])
                    continue
                if kind == "provider_removed":
                    del offers[name]
                    continue
                was = offers[name]
                inp, out, policy = was.input_price, was.output_price, was.data_policy
                if kind == "data_policy_changed":
                    policy = change["new"]
                elif change["field"] == "input_price":
                    inp = json_number_to_decimal(change["new"])
                elif change["field"] == "output_price":
                    out = json_number_to_decimal(change["new"])
                else:
                    raise KeyError(change["field"])
                offers[name] = Provider(name, inp, out, policy, was.extra)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"change does not apply to this catalog ({exc!r})") from None
    for model_id, offers in touched.items():
        old = models[model_id]
        models[model_id] = Model(old.id, old.created, old.owned_by, old.context_window,
                                 old.supported_endpoints, offers, old.extra)


def touched_models(changes: Iterable[Mapping[str, Any]]) -> set[str]:
    """The models a list of change records is about (catalog-level records have none)."""
    return {str(c["model"]) for c in changes if c.get("model") is not None}


OffersMemo = dict[int, tuple[Model, dict[str, "EffectiveOffer | None"]]]
"""`effective_by_floor` results by model object (kept alive beside them), for a caller that
prices the same Model objects again, as consecutive transitions do."""


def effective_changes(old: Catalog | None, new: Catalog, floors: Sequence[str],
                      blend: Blend = DEFAULT_BLEND,
                      models: Iterable[str] | None = None,
                      memo: OffersMemo | None = None) -> list[Change]:
    """The `effective_price_changed` records from `old` to `new` at each floor, sorted by
    model, then floor (strongest first). A first state (`old` None) has none.

    A record is emitted when the effective offer's provider or blended price changes; `old`
    or `new` is null when the model gains or loses its last qualifying offer at that floor.
    `models` limits the work to those models (the ones a transition's records touch);
    `memo` keeps each model's offers for the next call with the same floors and blend.
    """
    if old is None or not floors:
        return []
    order = [f for f in FLOORS if f in set(floors)]
    ids = (old.models.keys() | new.models.keys()) if models is None else set(models)
    changes: list[Change] = []
    for model_id in sorted(ids):
        before, after = old.models.get(model_id), new.models.get(model_id)
        if before is None and after is None:
            continue
        if before is not None and after is not None and (
                before is after or before.providers == after.providers):
            continue  # no offer changed: no effective offer can have moved
        old_offers = _offers(before, order, blend, memo) if before is not None else {}
        new_offers = _offers(after, order, blend, memo) if after is not None else {}
        for floor in order:
            was, now = old_offers.get(floor), new_offers.get(floor)
            if was is None and now is None:
                continue
            if (was is not None and now is not None and was.provider == now.provider
                    and was.blended == now.blended):
                continue
            changes.append(_record(model_id, floor, was, now,
                                   causes_of(before, after, floor, was, now)))
    return changes


def _offers(model: Model, floors: Sequence[str], blend: Blend,
            memo: OffersMemo | None) -> dict[str, EffectiveOffer | None]:
    if memo is None:
        return effective_by_floor(model, floors, blend)
    known = memo.get(id(model))
    if known is None or known[0] is not model:
        known = memo[id(model)] = (model, effective_by_floor(model, floors, blend))
    return known[1]


def _record(model_id: str, floor: str, old: EffectiveOffer | None,
            new: EffectiveOffer | None, causes: list[str]) -> Change:
    shown = new if new is not None else old
    assert shown is not None
    return {
        "kind": EFFECTIVE_KIND,
        "model": model_id,
        "provider": shown.provider,
        "field": f"effective.{floor}",
        "old": old.offer_json() if old is not None else None,
        "new": new.offer_json() if new is not None else None,
        "change_pct": (change_pct(old.blended, new.blended)
                       if old is not None and new is not None else None),
        "causes": causes,
    }


OfferInterval = tuple[datetime, datetime | None, str, Decimal, Decimal, str | None]
"""One value of one offer and when it held: (from, to or None for still, provider, input
price, output price, data policy)."""


def effective_timeline(model: str, offers: Iterable[OfferInterval], floor: str,
                       blend: Blend = DEFAULT_BLEND
                       ) -> list[tuple[datetime, datetime | None, EffectiveOffer]]:
    """The effective offer of `model` at `floor` over time, from the intervals its offers
    held: `[from, to)` pieces (to None: still), touching pieces of the same offer merged, no
    piece while no offer qualified.

    >>> from datetime import UTC
    >>> day = [datetime(2026, 11, d, tzinfo=UTC) for d in range(1, 5)]
    >>> offers = [(day[0], None, "groq", Decimal("0.59"), Decimal("0.79"), "zdr"),
    ...           (day[0], day[2], "deepinfra", Decimal("0.23"), Decimal("0.4"), "zdr"),
    ...           (day[2], None, "deepinfra", Decimal("0.23"), Decimal("0.4"), "none")]
    >>> for start, end, offer in effective_timeline("llama", offers, "zdr"):
    ...     print(start.day, end.day if end else "now", offer.provider, offer.blended)
    1 3 deepinfra 0.2725
    3 now groq 0.64
    """
    items = [item for item in offers if meets(item[5], floor)]
    bounds = sorted({item[0] for item in items} | {item[1] for item in items if item[1]})
    pieces: list[tuple[datetime, datetime | None, EffectiveOffer]] = []
    for index, start in enumerate(bounds):
        end = bounds[index + 1] if index + 1 < len(bounds) else None
        held = [_interval_offer(model, floor, item, blend) for item in items
                if item[0] <= start and (item[1] is None or item[1] > start)]
        if not held:
            continue
        best = min(held, key=lambda o: o.sort_key)
        if pieces and pieces[-1][1] == start and pieces[-1][2] == best:
            pieces[-1] = (pieces[-1][0], end, best)
        else:
            pieces.append((start, end, best))
    return pieces


def _interval_offer(model: str, floor: str, item: OfferInterval,
                    blend: Blend) -> EffectiveOffer:
    _, _, provider, input_price, output_price, _ = item
    return EffectiveOffer(model, floor, provider, input_price, output_price,
                          blended_price(input_price, output_price, blend))
