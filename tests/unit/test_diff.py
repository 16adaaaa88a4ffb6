"""The pure diff: catalogs in, change records out (unit tests)."""

from __future__ import annotations

import copy

from support.builders import base_catalog, body, catalog, model, provider

from tracker.catalog import parse_catalog
from tracker.diff import diff_catalogs


def parsed(payload: dict) -> object:
    return parse_catalog(body(payload))


def test_identical_catalogs_have_no_changes_and_a_first_state_none() -> None:
    a = parse_catalog(body(base_catalog()))
    assert diff_catalogs(a, parse_catalog(body(base_catalog("v2")))) == []
    assert diff_catalogs(None, a) == []


def test_prices_compare_as_decimals_and_carry_a_percentage() -> None:
    old = parse_catalog(body(catalog(model("m", provider("p", 0.3, 0)))))
    new = parse_catalog(body(catalog(model("m", provider("p", 0.1 + 0.2, 0.5)))))
    changes = diff_catalogs(old, new)
    # 0.1 + 0.2 is 0.30000000000000004 as a float: the same price to 12 significant digits.
    assert [(c["field"], c["old"], c["new"], c["change_pct"]) for c in changes] == [
        ("output_price", 0, 0.5, None),  # from zero there is no percentage
    ]


def test_policy_changes_are_ranked() -> None:
    def policy_change(old: str | None, new: str | None) -> dict:
        a = parse_catalog(body(catalog(model("m", provider("p", 1, 1, old)))))
        b = parse_catalog(body(catalog(model("m", provider("p", 1, 1, new)))))
        (change,) = diff_catalogs(a, b)
        return {k: change[k] for k in ("old", "new", "weakened", "became_unknown")}

    assert policy_change("zdr", "no_training")["weakened"] is True
    assert policy_change("no_training", "none")["weakened"] is True
    assert policy_change("none", "zdr")["weakened"] is False
    assert policy_change("zdr", None) == {"old": "zdr", "new": None, "weakened": False,
                                          "became_unknown": True}
    assert policy_change(None, "none")["became_unknown"] is False


def test_unknown_fields_diff_as_dotted_paths() -> None:
    a = parse_catalog(body(catalog(model("m", provider("p", 1, 1, limits={"rpm": 60, "tpm": 1}),
                                        meta={"tier": "a", "keep": 1}), note="x")))
    b = parse_catalog(body(catalog(model("m", provider("p", 1, 1, limits={"rpm": 90, "tpm": 1}),
                                        meta={"tier": "b", "keep": 1}), note="y")))
    changes = diff_catalogs(a, b)
    assert [(c["model"], c["provider"], c["field"], c["old"], c["new"]) for c in changes] == [
        (None, None, "note", "x", "y"),
        ("m", None, "meta.tier", "a", "b"),
        ("m", "p", "limits.rpm", 60, 90),
    ]


def test_order_is_kind_then_model_then_provider_then_field() -> None:
    a = base_catalog()
    b = copy.deepcopy(a)
    for item in b["data"]:
        for prov in item["providers"]:
            prov["input_price"] += 1
            prov["output_price"] += 1
    b["data"].append(model("aaa", provider("z", 1, 1)))
    changes = diff_catalogs(parse_catalog(body(a)), parse_catalog(body(b)))
    keys = [(c["kind"], c["model"], c["provider"], c["field"]) for c in changes]
    assert keys[0] == ("model_added", "aaa", None, None)
    prices = keys[1:]
    assert prices == sorted(prices)
    assert len(prices) == 12


def test_diff_does_not_depend_on_payload_order() -> None:
    a, b = base_catalog(), base_catalog("v2")
    b["data"][0]["providers"][0]["input_price"] = 1.0
    shuffled = copy.deepcopy(b)
    shuffled["data"].reverse()
    for item in shuffled["data"]:
        item["providers"].reverse()
    assert diff_catalogs(parse_catalog(body(a)), parse_catalog(body(b))) == diff_catalogs(
        parse_catalog(body(a)), parse_catalog(body(shuffled)))
