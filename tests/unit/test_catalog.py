"""Validation and normalization of `/v1/models` payloads (unit tests, no I/O)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.builders import base_catalog, body, catalog, model, provider

from tracker.catalog import parse_catalog
from tracker.errors import PayloadError


def test_a_valid_catalog_is_normalized_with_exact_prices() -> None:
    parsed = parse_catalog(body(base_catalog()))
    assert parsed.catalog_version == "v1"
    assert sorted(parsed.models) == ["claude-sonnet", "gpt-4o", "llama-70b"]
    groq = parsed.models["llama-70b"].providers["groq"]
    assert groq.input_price == Decimal("0.59") and str(groq.input_price) == "0.59"
    assert parsed.models["llama-70b"].context_window == 131_072


def test_unknown_fields_are_kept_at_every_level() -> None:
    payload = catalog(
        model("m", provider("p", 1, 2, region="eu", limits={"rpm": 60}), tier="gold"),
        region_note="x",
    )
    parsed = parse_catalog(body(payload))
    assert parsed.extra == {"region_note": "x"}
    assert parsed.models["m"].extra == {"tier": "gold"}
    assert parsed.models["m"].providers["p"].extra == {"region": "eu", "limits": {"rpm": 60}}


def test_identity_is_an_order_free_content_hash_and_the_version_only_a_label() -> None:
    payload = base_catalog(version=None)
    reordered = json.loads(json.dumps(payload))
    reordered["data"].reverse()
    for item in reordered["data"]:
        item["providers"].reverse()
    reordered["catalog_age_seconds"] = 12345
    a, b = parse_catalog(body(payload)), parse_catalog(body(reordered))
    assert a.identity == b.identity == a.content_hash
    labelled = parse_catalog(body(base_catalog("v9")))
    assert labelled.identity == labelled.content_hash == a.content_hash
    assert labelled.catalog_version == "v9"


def test_float_noise_is_not_a_difference() -> None:
    a = parse_catalog(body(catalog(model("m", provider("p", 0.1, 3)))))
    b = parse_catalog(b'{"object":"list","data":[{"id":"m","object":"model","created":1700000000,'
                      b'"owned_by":"acme","context_window":128000,"supported_endpoints":'
                      b'["chat_completions"],"providers":[{"name":"p","input_price":0.10,'
                      b'"output_price":3.0,"data_policy":"zdr"}]}]}')
    assert a.content_hash == b.content_hash


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", "empty"),
        (b"<html><body>Bad gateway</body></html>", "HTML"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"object": "list", "data": [}', "not valid JSON"),
        (b'{"object": "list", "data": [{"id": "m", "created": 1, "owned_by": "x",'
         b' "providers": [{"name": "p", "input_price": Infinity, "output_price": 1}]}]}',
         "not valid JSON"),
        (body({"object": "page", "data": []}), "object: expected 'list'"),
        (body({"data": []}), "object: required field missing"),
        (body(catalog(model("m", provider("p", True, 1)))), "model 'm' providers[0].input_price"),
        (body(catalog(model("m", created="yesterday"))), "model 'm' created"),
        (body(catalog(model("m", context_window=-5))), "model 'm' context_window"),
        (body(catalog(model("m", supported_endpoints="chat"))), "supported_endpoints"),
        (body(catalog(model("m", provider("p", 1, 1, policy=7)))), "data_policy"),
        (body(catalog(model("m"), model("m"))), "model 'm': duplicate model id"),
        (body(catalog(model("m", provider("p", 1, 1), provider("p", 1, 1)))),
         "duplicate provider name 'p'"),
    ],
)
def test_invalid_payloads_are_rejected_with_the_place_named(payload: bytes, expected: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_catalog(payload)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_only_the_first_few_problems_are_listed() -> None:
    payload = catalog(*(model(f"m{i}", provider("p", -1, -1)) for i in range(10)))
    with pytest.raises(PayloadError) as info:
        parse_catalog(body(payload))
    message = str(info.value)
    # The first problem of each model is named, five at most, then a count of the rest.
    assert message.startswith(
        "payload rejected (10 problems): model 'm0' providers[0].input_price: "
        "Expected `float` >= 0.0; model 'm1'")
    assert message.endswith("; and 5 more")
    assert len(info.value.problems) == 10
