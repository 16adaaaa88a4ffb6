"""Effective prices, pure (tracker/effective.py): floors, the blended price, the effective offer
with its tie-breaks, and the derived `effective_price_changed` records with their causes.

The properties check the effective offer against a second computation written here from the
definitions alone (exact fractions, no Decimal arithmetic, no code of the module).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, note
from hypothesis import strategies as st
from support.builders import DEMO_ZDR_JUMP
from support.strategies import PURE_SETTINGS

from tracker.catalog import Catalog, Model, Provider, parse_catalog
from tracker.demo import demo_catalogs
from tracker.effective import (
    FLOORS,
    blended_price,
    effective_changes,
    effective_offer,
    effective_offers,
    effective_timeline,
    meets,
)

# --- the definitions, written out independently ---

ACCEPTED = {"zdr": {"zdr"}, "no_training": {"zdr", "no_training"}}


def qualifies(policy: str | None, floor: str) -> bool:
    return floor == "any" or policy in ACCEPTED[floor]


def exact_blend(provider: Provider, weights: tuple[int, int]) -> Fraction:
    w_in, w_out = weights
    return (w_in * Fraction(provider.input_price) + w_out * Fraction(provider.output_price)) \
        / (w_in + w_out)


def cheapest(model: Model, floor: str, weights: tuple[int, int] = (3, 1)) -> Provider | None:
    """The qualifying offer with the lowest blended price; ties to the lower input price,
    then the provider name."""
    best: tuple[Fraction, Fraction, str] | None = None
    chosen = None
    for provider in model.providers.values():
        if not qualifies(provider.data_policy, floor):
            continue
        key = (exact_blend(provider, weights), Fraction(provider.input_price), provider.name)
        if best is None or key < best:
            best, chosen = key, provider
    return chosen


def offer(name: str, inp: str, out: str, policy: str | None) -> Provider:
    return Provider(name, Decimal(inp), Decimal(out), policy)


def model(model_id: str, *offers: Provider) -> Model:
    return Model(model_id, 1_700_000_000, "acme", providers={o.name: o for o in offers})


def catalog(*models: Model) -> Catalog:
    return Catalog({m.id: m for m in models})


# --- the definitions, by example ---


def test_floors_an_unknown_policy_meets_only_any() -> None:
    assert [f for f in FLOORS if meets("zdr", f)] == ["zdr", "no_training", "any"]
    assert [f for f in FLOORS if meets("no_training", f)] == ["no_training", "any"]
    for policy in ("none", None, "", "ZDR", "opt_in", "unknown"):
        assert [f for f in FLOORS if meets(policy, f)] == ["any"], policy


def test_the_blended_price_is_three_to_one_and_exact() -> None:
    assert blended_price(Decimal("0.23"), Decimal("0.4")) == Decimal("0.2725")
    assert blended_price(Decimal("0.59"), Decimal("0.79")) == Decimal("0.64")
    # no float noise: 0.1 and 0.2 blend to exactly 0.125
    assert blended_price(Decimal("0.1"), Decimal("0.2")) == Decimal("0.125")
    assert blended_price(Decimal("2"), Decimal("8"), (Decimal(1), Decimal(1))) == Decimal(5)
    assert blended_price(Decimal("2"), Decimal("8"), (Decimal(0), Decimal(1))) == Decimal(8)


def test_ties_go_to_the_lower_input_price_then_the_provider_name() -> None:
    # a and b blend to the same 3.0; b has the lower input price
    tied = model("m", offer("a", "2", "6", "zdr"), offer("b", "1", "9", "zdr"))
    assert effective_offer(tied, "zdr").provider == "b"
    # same blended price, same input price: the provider name decides
    same = model("m", offer("zeta", "1", "9", "zdr"), offer("alpha", "1", "9", "zdr"))
    assert effective_offer(same, "zdr").provider == "alpha"


def test_a_model_without_a_qualifying_offer_has_none() -> None:
    only_none = model("m", offer("p", "1", "1", "none"), offer("q", "2", "2", None))
    assert effective_offer(only_none, "zdr") is None
    assert effective_offer(only_none, "no_training") is None
    assert effective_offer(only_none, "any").provider == "p"
    rows = effective_offers(catalog(only_none, model("empty")))
    assert [(r.model, r.floor, r.provider) for r in rows] == [("m", "any", "p")]


def test_offers_are_sorted_by_model_then_floor_strongest_first() -> None:
    rows = effective_offers(catalog(model("b", offer("p", "1", "1", "zdr")),
                                    model("a", offer("p", "1", "1", "no_training"))))
    assert [(r.model, r.floor) for r in rows] == [
        ("a", "no_training"), ("a", "any"), ("b", "zdr"), ("b", "no_training"), ("b", "any")]


# --- the derived records, by example ---


def changes(old: Catalog, new: Catalog, floors: tuple[str, ...] = ("zdr", "any")) -> list[tuple]:
    return [(c["model"], c["field"], (c["old"] or {}).get("provider"),
             (c["new"] or {}).get("provider"), c["causes"])
            for c in effective_changes(old, new, floors)]


def test_the_demo_zdr_jump() -> None:
    v2, v3 = (parse_catalog(body) for body in demo_catalogs()[1:3])
    records = [c for c in effective_changes(v2, v3, ["zdr", "no_training", "any"])
               if c["model"] == "llama-3.3-70b-instruct"]
    # at zdr and at no_training groq (zdr) now beats every other offer; at any, deepinfra's
    # weakening changes nothing: no record
    assert [c["field"] for c in records] == ["effective.zdr", "effective.no_training"]
    assert records[0] == DEMO_ZDR_JUMP


def test_a_removal_a_price_cut_a_lost_offer_and_an_unchanged_one() -> None:
    old = catalog(
        model("removed", offer("cheap", "1", "1", "zdr"), offer("dear", "2", "2", "zdr")),
        model("cut", offer("first", "1", "1", "zdr"), offer("second", "2", "2", "zdr")),
        model("lost", offer("only", "1", "1", "zdr"), offer("open", "0.5", "0.5", "none")),
        model("still", offer("best", "1", "1", "zdr"), offer("other", "3", "3", "zdr")),
    )
    new = catalog(
        model("removed", offer("dear", "2", "2", "zdr")),
        model("cut", offer("first", "1", "1", "zdr"), offer("second", "0.5", "0.5", "zdr")),
        model("lost", offer("only", "1", "1", "none"), offer("open", "0.5", "0.5", "none")),
        # a price change of an offer that is effective on neither side moves nothing
        model("still", offer("best", "1", "1", "zdr"), offer("other", "2", "2", "zdr")),
    )
    assert changes(old, new) == [
        ("cut", "effective.zdr", "first", "second", ["price_changed"]),
        ("cut", "effective.any", "first", "second", ["price_changed"]),
        ("lost", "effective.zdr", "only", None, ["data_policy_changed"]),
        ("removed", "effective.zdr", "cheap", "dear", ["provider_removed"]),
        ("removed", "effective.any", "cheap", "dear", ["provider_removed"]),
    ]
    lost = next(c for c in effective_changes(old, new, ["zdr"]) if c["model"] == "lost")
    assert lost["new"] is None and lost["provider"] == "only" and lost["change_pct"] is None


def test_models_added_and_removed_and_first_offers() -> None:
    old = catalog(model("gone", offer("p", "1", "1", "zdr")),
                  model("gains", offer("open", "1", "1", "none")))
    new = catalog(model("born", offer("p", "1", "1", "zdr")),
                  model("gains", offer("open", "1", "1", "none"),
                        offer("safe", "2", "2", "zdr")))
    assert changes(old, new, ("zdr",)) == [
        ("born", "effective.zdr", None, "p", ["model_added"]),
        ("gains", "effective.zdr", None, "safe", ["provider_added"]),
        ("gone", "effective.zdr", "p", None, ["model_removed"]),
    ]
    assert effective_changes(None, new, ["zdr"]) == []  # a first state is not a change


def test_the_same_provider_at_the_same_blended_price_is_no_change() -> None:
    # input up, output down: the blended price is the same, so the effective offer is too
    old = catalog(model("m", offer("p", "1", "5", "zdr")))
    new = catalog(model("m", offer("p", "2", "2", "zdr")))
    assert effective_changes(old, new, ["zdr"]) == []


# --- properties ---

NAMES = st.sampled_from(["a", "b", "c", "deepinfra", "groq", "z"])
POLICIES = st.sampled_from(["zdr", "no_training", "none", None, "ZDR", "opt_in"])
# Few distinct prices, so that ties (in blended and in input price) are frequent.
PRICES = st.one_of(st.sampled_from(["0", "0.5", "1", "1.5", "2", "3", "9"]),
                   st.decimals(min_value=0, max_value=100, places=3,
                               allow_nan=False).map(str))
WEIGHTS = st.tuples(st.integers(0, 4), st.integers(0, 4)).filter(lambda w: sum(w) > 0)


@st.composite
def models(draw: st.DrawFn, model_id: str = "m", weights: tuple[int, int] = (3, 1)) -> Model:
    """A model with up to 6 offers of random prices, or (half the time) offers that all blend
    to the same price under `weights` with different input prices: the ties."""
    names = draw(st.lists(NAMES, unique=True, max_size=6))
    w_in, w_out = weights
    if w_out and draw(st.booleans()):
        total = 12 * draw(st.integers(1, 3))  # a multiple of every weight: exact outputs
        offers = []
        for name in names:
            j = draw(st.integers(0, total // (w_in * w_out) if w_in else 3))
            offers.append(offer(name, str(w_out * j), str(total // w_out - w_in * j),
                                draw(POLICIES)))
        return model(model_id, *offers)
    return model(model_id, *(offer(name, draw(PRICES), draw(PRICES), draw(POLICIES))
                             for name in names))


@PURE_SETTINGS
@given(st.data(), st.sampled_from(FLOORS), WEIGHTS)
def test_the_effective_offer_is_the_minimum_of_the_qualifying_offers(
    data: st.DataObject, floor: str, weights: tuple[int, int]
) -> None:
    subject = data.draw(models(weights=weights))
    blend = (Decimal(weights[0]), Decimal(weights[1]))
    found = effective_offer(subject, floor, blend)
    expected = cheapest(subject, floor, weights)
    note(f"found {found}, expected {expected}")
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.provider, found.input_price, found.output_price) == (
        expected.name, expected.input_price, expected.output_price)
    exact = exact_blend(expected, weights)
    assert abs(Fraction(found.blended) - exact) <= exact / 10**60
    # and it is never beaten by a qualifying offer
    for other in subject.providers.values():
        if qualifies(other.data_policy, floor):
            assert exact_blend(other, weights) >= exact


@PURE_SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.booleans()), max_size=6),
       st.data())
def test_records_are_emitted_exactly_when_the_effective_offer_moves(
    plan: list[tuple[str, bool]], data: st.DataObject
) -> None:
    old = catalog(*(data.draw(models(mid)) for mid, present in dict(plan).items() if present))
    new = catalog(*(data.draw(models(mid)) for mid in ("m1", "m2", "m3")
                    if data.draw(st.booleans())))
    records = {(c["model"], c["field"]): c for c in effective_changes(old, new, FLOORS)}
    for mid in ("m1", "m2", "m3"):
        for floor in FLOORS:
            was = cheapest(old.models[mid], floor) if mid in old.models else None
            now = cheapest(new.models[mid], floor) if mid in new.models else None
            record = records.get((mid, f"effective.{floor}"))
            same = (was is None and now is None) or (
                was is not None and now is not None and was.name == now.name
                and exact_blend(was, (3, 1)) == exact_blend(now, (3, 1)))
            assert (record is None) == same, (mid, floor, was, now)
            if record is not None:
                assert (record["old"] or {}).get("provider") == (was.name if was else None)
                assert (record["new"] or {}).get("provider") == (now.name if now else None)
                assert record["provider"] == (now or was).name
                assert record["causes"], record


@PURE_SETTINGS
@given(st.lists(st.tuples(NAMES, st.integers(0, 5), st.integers(1, 4), PRICES, PRICES,
                          POLICIES), max_size=8),
       st.sampled_from(FLOORS))
def test_the_timeline_holds_the_effective_offer_of_every_moment(
    pieces: list[tuple[str, int, int, str, str, str | None]], floor: str
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    intervals = []
    for name, begin, length, inp, out, policy in pieces:
        end = None if length == 4 else start + timedelta(days=begin + length)
        intervals.append((start + timedelta(days=begin), end, name, Decimal(inp),
                          Decimal(out), policy))
    timeline = effective_timeline("m", intervals, floor)
    for day in range(12):
        moment = start + timedelta(days=day, hours=12)
        held = [model("m", offer(name, str(inp), str(out), policy))
                for a, b, name, inp, out, policy in intervals
                if a <= moment and (b is None or moment < b)]
        # one provider may hold two intervals at once in this random input: pick the best
        candidates = [cheapest(m, floor) for m in held]
        best = min((c for c in candidates if c is not None),
                   key=lambda p: (exact_blend(p, (3, 1)), p.input_price, p.name), default=None)
        piece = next(((a, b, o) for a, b, o in timeline
                      if a <= moment and (b is None or moment < b)), None)
        if best is None:
            assert piece is None, moment
        else:
            assert piece is not None and piece[2].provider == best.name, (moment, piece, best)
            assert Fraction(piece[2].blended) == exact_blend(best, (3, 1))
