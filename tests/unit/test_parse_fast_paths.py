"""The parse's fast paths (issue 11): what a series of real polls gets reused, and what still
gets checked. Real routers list models and providers in another order on every poll, and
their catalog_age_seconds changes every time; the result must be the same as a parse from
scratch, and an ambiguous payload must still be rejected.
"""

from __future__ import annotations

import copy
import json
import random

import orjson
import pytest
from support.builders import base_catalog, body, catalog, model, provider

from tracker.catalog import (
    catalog_text_digest,
    duplicate_key,
    may_repeat_a_key,
    order_free_key,
    order_free_text,
    parse_catalog,
    provider_order_key,
)
from tracker.errors import PayloadError


def shuffled(payload: dict, seed: int) -> dict:
    """The same catalog with its models, providers and keys in another order."""
    rng = random.Random(seed)
    again = copy.deepcopy(payload)
    rng.shuffle(again["data"])
    for index, item in enumerate(again["data"]):
        rng.shuffle(item["providers"])
        keys = list(item)
        rng.shuffle(keys)
        again["data"][index] = {key: item[key] for key in keys}
    again["catalog_age_seconds"] = rng.randrange(3600)
    return again


def test_models_whose_providers_were_reordered_are_reused_and_equal_a_parse_from_scratch() -> None:
    first = parse_catalog(body(base_catalog()))
    for seed in range(5):
        text = body(shuffled(base_catalog(), seed))
        again = parse_catalog(text, first)
        assert again == parse_catalog(text) and again.content_hash == first.content_hash
        # Not parsed again: the very model objects of the previous parse.
        assert all(again.models[m] is first.models[m] for m in first.models)


def providers_shuffled(payload: dict, seed: int) -> dict:
    """The same catalog with its models and providers in another order, each model's other
    members as they were: what a real router serves on every poll."""
    rng = random.Random(seed)
    again = copy.deepcopy(payload)
    rng.shuffle(again["data"])
    for item in again["data"]:
        item["providers"].reverse()
        rng.shuffle(item["providers"])
    return again


def test_a_series_of_polls_reuses_every_model_whatever_order_it_lists_them_in() -> None:
    # The first parse keys its models by their order-free form only; the next ones find a
    # reordered model by its provider order too (the cheaper key), or by the order-free form
    # when its members moved as well.
    previous = parse_catalog(body(base_catalog()))
    first = previous
    for seed in range(6):
        reorder = providers_shuffled if seed % 3 else shuffled
        text = body(reorder(base_catalog(), seed))
        again = parse_catalog(text, previous)
        assert again == parse_catalog(text)
        assert all(again.models[m] is first.models[m] for m in first.models)
        previous = again


def test_the_provider_order_key_ignores_the_providers_order_and_nothing_else() -> None:
    one = model("m", provider("a", 1, 2), provider("b", 3, 4), provider("c", 5, 6))
    other = {**one, "providers": list(reversed(one["providers"]))}
    assert provider_order_key(body(one)) == provider_order_key(body(other))
    assert provider_order_key(body(one)) != provider_order_key(body({**one, "created": 1}))
    assert provider_order_key(body(one)) != provider_order_key(
        body({**one, "providers": one["providers"][:2]}))
    moved = {key: one[key] for key in reversed(list(one))}  # members in another order
    assert provider_order_key(body(one)) != provider_order_key(body(moved))
    assert order_free_key(body(one)) == order_free_key(body(moved))


@pytest.mark.parametrize("text", [
    # The first provider's text is also another member's: where the providers are is not
    # certain, so no key (the order-free key still tells).
    b'{"id": "m", "mirror": {"name": "a"}, "providers": [{"name": "a"}, {"name": "b"}]}',
    b'{"id": "m", "providers": [{"name": "a"}, {"name": "b"}], "mirror": [{"name": "a"}]}',
    # Providers that are not set out alike.
    b'{"id": "m", "providers": [{"name": "a"}, {"name": "b"},{"name": "c"}]}',
    b'{"id": "m", "providers": [{"name": "a"}]}',     # nothing to reorder
    b'{"id": "m", "providers": {"name": "a"}}',       # not a list
    b'{"id": "m", "providers": [{"name": "a"}, {"name": "b"}]',  # not JSON
])
def test_a_text_whose_providers_cannot_be_located_has_no_provider_order_key(text: bytes) -> None:
    assert provider_order_key(text) is None


def test_a_reordered_model_with_another_member_like_a_provider_is_still_parsed_right() -> None:
    # A member listed before the providers holds the text of the provider listed first: the
    # provider-order key cannot place the providers, and the model goes the order-free way.
    payload = base_catalog()
    gpt = payload["data"][0]
    payload["data"][0] = {"mirror": {"input_price": 1}, **gpt}
    first = parse_catalog(body(payload))
    again_payload = copy.deepcopy(payload)
    again_gpt = again_payload["data"][0]
    again_gpt["providers"].reverse()
    again_gpt["mirror"] = dict(again_gpt["providers"][0])
    text = body(again_gpt)
    assert text.count(body(again_gpt["providers"][0])) == 2
    assert provider_order_key(text) is None
    again = parse_catalog(body(again_payload), first)
    assert again == parse_catalog(body(again_payload)) and again != first
    assert again.models["gpt-4o"].extra["mirror"] == again_gpt["providers"][0]


def test_a_changed_model_is_parsed_again_and_the_others_are_reused() -> None:
    first = parse_catalog(body(base_catalog()))
    changed = shuffled(base_catalog(), 7)
    gpt = next(m for m in changed["data"] if m["id"] == "gpt-4o")
    gpt["providers"][0]["input_price"] = 2.0
    again = parse_catalog(body(changed), first)
    assert again == parse_catalog(body(changed))
    assert again.models["gpt-4o"] is not first.models["gpt-4o"]
    assert again.models["claude-sonnet"] is first.models["claude-sonnet"]


def test_float_noise_is_not_taken_for_the_same_text_but_parses_to_the_same_price() -> None:
    clean = catalog(model("m", provider("p", 0.83, 3.32)))
    noisy = b'{"object": "list", "data": [' + body(clean["data"][0]).replace(
        b"0.83", b"0.8299999999999998") + b"]}"
    first = parse_catalog(body(clean))
    again = parse_catalog(noisy, first)
    assert again.models["m"] is not first.models["m"]  # another text: validated again
    assert again.models["m"] == first.models["m"]      # the same price to 12 digits


@pytest.mark.parametrize("twice", [
    b'"id": "gpt-4o", "id": "gpt-4o"',            # at the model's top level
    b'"owned_by": "acme", "owned_by": "evil"',
])
def test_a_reordered_model_that_repeats_a_key_is_still_rejected(twice: bytes) -> None:
    payload = base_catalog()
    first = parse_catalog(body(payload))
    gpt = dict(payload["data"][0])
    gpt["providers"] = list(reversed(gpt["providers"]))  # a reorder: the fast path's case
    text = body(gpt)
    field = twice.split(b",")[0]
    text = text.replace(field, twice, 1)
    with pytest.raises(PayloadError, match="duplicate key"):
        parse_catalog(b'{"object": "list", "data": [' + text + b"]}", first)


def test_a_provider_that_repeats_a_key_is_rejected_even_when_the_model_was_seen() -> None:
    payload = base_catalog()
    first = parse_catalog(body(payload))
    text = body(payload).replace(b'"name": "openai"', b'"name": "openai", "name": "openai"')
    with pytest.raises(PayloadError, match="duplicate key 'name'"):
        parse_catalog(text, first)


@pytest.mark.parametrize("text", [
    b'{"a": 1, "a": 2}',
    b'{"a": {"b": 1, "b": 1}}',
    b'{"a": [{"k": 1}, {"k": 1, "k": 2}]}',
    b'{"a\\"": 1, "a\\"": 2}',
    b'{"\\u0061": 1, "a": 2}',
    b'{"x": "\\u003a", "x": 1}',
    b'{"a" : 1 , "a" : 1}',
])
def test_a_repeated_key_is_always_suspected_and_then_named(text: bytes) -> None:
    assert may_repeat_a_key(text, order_free_text(orjson.loads(text)) or b"")
    assert duplicate_key(text) is not None


@pytest.mark.parametrize("text", [
    b'{"a": 1, "b": {"a": 2}}',
    b'{"url": "https://x:8080/", "t": "12:30"}',
    b'{"a:b": "c:d", "list": [{"a": 1}, {"a": 1}]}',
    json.dumps(base_catalog(), indent=1).encode(),
])
def test_a_text_without_repeated_keys_passes_without_the_slow_check(text: bytes) -> None:
    assert not may_repeat_a_key(text, order_free_text(orjson.loads(text)) or b"")
    assert duplicate_key(text) is None


def test_the_order_free_text_ignores_key_and_provider_order_but_not_values() -> None:
    one = model("m", provider("a", 1, 2), provider("b", 3, 4))
    other = {key: one[key] for key in reversed(list(one))}
    other["providers"] = list(reversed(one["providers"]))
    assert order_free_text(one) == order_free_text(other)
    assert order_free_text(one) != order_free_text({**one, "created": 1})
    assert order_free_text({**one, "context_window": 1}) != order_free_text(
        {**one, "context_window": 1.0})


def test_a_body_that_differs_only_in_catalog_age_seconds_is_the_same_catalog_text() -> None:
    accepted = body(base_catalog())
    older = body({**base_catalog(), "catalog_age_seconds": 3599})
    digest = catalog_text_digest(accepted)
    assert digest is not None and catalog_text_digest(older) == digest
    assert parse_catalog(older) == parse_catalog(accepted)


@pytest.mark.parametrize("served", [
    {**base_catalog(), "catalog_age_seconds": "stale"},     # invalid: a full parse rejects it
    {**base_catalog("v2")},                                   # another label
    {**base_catalog(), "note": "x"},                          # another top-level field
    shuffled(base_catalog(), 1),                              # the models in another order
])
def test_anything_else_is_not_the_same_catalog_text(served: dict) -> None:
    assert catalog_text_digest(body(served)) != catalog_text_digest(body(base_catalog()))


def test_a_repeated_top_level_key_is_never_the_same_catalog_text() -> None:
    accepted = body(base_catalog())
    twice = accepted.replace(b'"object": "list"', b'"object": "list", "object": "list"')
    assert catalog_text_digest(twice) is None
    assert catalog_text_digest(accepted) is not None
    with pytest.raises(PayloadError, match="duplicate key 'object'"):
        parse_catalog(twice)


@pytest.mark.parametrize("twice", [
    b'{"model": 1, "model": 2}',                 # the key repeats at the top level
    b'{"model": {"x": 1}, "model": 2}',
])
def test_a_member_that_repeats_has_no_order_free_key(twice: bytes) -> None:
    assert order_free_key(twice) is None
    assert order_free_key(twice.replace(b'"model": 2', b'"other": 2')) is not None


def test_the_order_free_key_ignores_member_and_provider_order_but_not_texts() -> None:
    one = model("m", provider("a", 1, 2), provider("b", 3, 4))
    other = {key: one[key] for key in reversed(list(one))}
    other["providers"] = list(reversed(one["providers"]))
    assert order_free_key(body(one)) == order_free_key(body(other))
    assert order_free_key(body(one)) != order_free_key(body({**one, "created": 1}))
    assert order_free_key(body({**one, "context_window": 1})) != order_free_key(
        body({**one, "context_window": 1.0}))


@pytest.mark.parametrize("layout", [
    lambda text: text,                                      # as the builders write it
    lambda text: text.replace(b"}, {", b"},\n    {"),     # one model per line
    lambda text: text.replace(b"}, {", b"},{", 1),          # separators that differ
])
def test_any_layout_of_the_items_parses_alike(layout: object) -> None:
    assert callable(layout)
    text = body(base_catalog())
    assert parse_catalog(layout(text)) == parse_catalog(text)


def test_a_data_member_given_twice_with_the_same_items_is_rejected() -> None:
    items = body(base_catalog()["data"])
    twice = b'{"object": "list", "data": ' + items + b', "data": ' + items + b"}"
    with pytest.raises(PayloadError, match="duplicate key 'data'"):
        parse_catalog(twice)
