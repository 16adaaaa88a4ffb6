"""Properties of parsing and diffing on random catalogs (Hypothesis; tests/support/strategies.py
builds them). What must hold for every one of them:

- parsing keeps everything the payload says, prices as exact decimals;
- a catalog has no changes against itself, and diffs do not depend on order;
- replaying the change records of a diff (`apply_changes`) rebuilds the target exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from support.strategies import (
    PURE_SETTINGS,
    Style,
    assert_same_catalog,
    expected_catalog,
    payload_pairs,
    payloads,
    reordered,
    styles,
    to_body,
)

from tracker.catalog import (
    Catalog,
    parse_catalog,
)
from tracker.diff import apply_changes, diff_catalogs

# --- parsing ---


@PURE_SETTINGS
@given(payload=payloads(), style=styles)
def test_parsing_keeps_everything_a_valid_payload_says(
    payload: dict[str, Any], style: Style
) -> None:
    body = to_body(payload, style)
    note(body.decode())
    assert_same_catalog(parse_catalog(body), expected_catalog(payload))


@PURE_SETTINGS
@given(pair=payload_pairs(), style=styles)
def test_parsing_with_the_previous_catalog_is_the_same_as_from_scratch(
    pair: tuple[dict[str, Any], dict[str, Any]], style: Style
) -> None:
    old, new = (to_body(p, style) for p in pair)
    assert_same_catalog(parse_catalog(new, parse_catalog(old)), parse_catalog(new))


# --- diffs ---


@PURE_SETTINGS
@given(payload=payloads())
def test_a_catalog_has_no_changes_against_itself(payload: dict[str, Any]) -> None:
    catalog = parse_catalog(to_body(payload))
    assert diff_catalogs(catalog, catalog) == []
    assert diff_catalogs(catalog, parse_catalog(to_body(payload, Style(False, "")))) == []


@PURE_SETTINGS
@given(data=st.data(), pair=payload_pairs())
def test_diffs_do_not_depend_on_the_order_of_models_providers_or_keys(
    data: st.DataObject, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    old, new = pair
    old_again, new_again = data.draw(reordered(old)), data.draw(reordered(new))
    a, b = parse_catalog(to_body(old)), parse_catalog(to_body(new))
    a2, b2 = parse_catalog(to_body(old_again)), parse_catalog(to_body(new_again))
    assert a.content_hash == a2.content_hash
    assert diff_catalogs(a, a2) == []
    assert diff_catalogs(a2, b2) == diff_catalogs(a, b)


def change_schema_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("tracker").joinpath("diff.schema.json").read_text()
    schema = json.loads(text)
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/change"})


CHANGE_SCHEMA = change_schema_validator()


@PURE_SETTINGS
@given(pair=payload_pairs())
def test_replaying_a_diff_rebuilds_the_newer_catalog(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    a, b = (parse_catalog(to_body(p)) for p in pair)
    records = diff_catalogs(a, b)
    note(json.dumps(records, indent=1, default=str))
    target = replace(b, catalog_version=a.catalog_version)  # a version is identity, not content
    assert_same_catalog(apply_changes(a, records), target)
    # The same from the JSON a user would have (`tracker diff --format json`), in any order.
    as_json = orjson.loads(orjson.dumps(records))
    assert_same_catalog(apply_changes(a, reversed(as_json)), target)
    for record in as_json:
        CHANGE_SCHEMA.validate(record)
        assert ("absent" in record) <= (record["kind"] in ("field_changed", "shutdown_announced"))
        assert record.get("absent") in (None, "old", "new")


def test_absent_and_null_fields_are_told_apart_and_dotted_keys_are_escaped() -> None:
    def diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[Any, ...]]:
        base = {"id": "m", "created": 1, "owned_by": "o"}
        a = parse_catalog(to_body({"object": "list", "data": [{**base, **old}]}))
        b = parse_catalog(to_body({"object": "list", "data": [{**base, **new}]}))
        records = diff_catalogs(a, b)
        assert_same_catalog(apply_changes(a, records), b)
        return [(c["field"], c["old"], c["new"], c.get("absent")) for c in records]

    assert diff({}, {"note": None}) == [("note", None, None, "old")]
    assert diff({"note": None}, {}) == [("note", None, None, "new")]
    assert diff({"note": None}, {"note": 1}) == [("note", None, 1, None)]
    assert diff({"flag": 1}, {"flag": True}) == [("flag", 1, True, None)]
    assert diff({"a": {"b": 1}, "a.b": 1}, {"a": {"b": 2}, "a.b": 3}) == [
        ("a.b", 1, 2, None),  # inside "a"
        ("a~1b", 1, 3, None),  # the key "a.b"
    ]
    assert diff({"a": {}}, {"a": {"~": 1, "\x00": 2}}) == [
        ("a.~0", None, 1, "old"),
        ("a.~2", None, 2, "old"),  # NUL, which PostgreSQL text cannot hold
    ]


def test_price_moves_at_the_ends_of_the_range_are_reported_and_replayed() -> None:
    # Found by Hypothesis: the percentage of a move from 1e-20 raised InvalidOperation, and a
    # price of 2e19 became an integer too large for JSON encoders (so for the changes table).
    def offered_at(price: float) -> Catalog:
        offer = {"name": "p", "input_price": price, "output_price": 0}
        model = {"id": "m", "created": 1, "owned_by": "o", "providers": [offer]}
        return parse_catalog(to_body({"object": "list", "data": [model]}))

    for old, new, pct in ((1e-20, 1e6, 1e28), (1.5, 2e19, 1.3333333333333333e21), (2e19, 0, -100)):
        a, b = offered_at(old), offered_at(new)
        (change,) = diff_catalogs(a, b)
        assert (change["old"], change["new"]) == (old, new)
        assert change["change_pct"] == pytest.approx(pct)
        assert orjson.loads(orjson.dumps(change)) == change
        assert apply_changes(a, [change]) == b


