"""The exact bodies kept for audit (tracker.store.rawbody): every body comes back byte for byte
through any delta chain, and a catalog served in another order costs a few hundred bytes, not
a recompressed copy (issue 11: real routers reorder on every poll)."""

from __future__ import annotations

import copy
import itertools
import json
import random

import pytest
import zstandard
from support.builders import catalog, model, provider

from tracker.store import rawbody

WORDS = ["fast", "cheap", "vision", "tools", "long", "context", "reasoning", "coding", "chat",
         "agents", "json"]


def big_catalog(models: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    return catalog(*[
        model(f"model-{i:04d}", *[provider(f"host-{j}", round(rng.uniform(0.1, 9), 3), 1.5)
                                  for j in range(rng.randint(1, 6))],
              description=" ".join(rng.choices(WORDS, k=40)))
        for i in range(models)])


def served(payload: dict, seed: int, indent: int | None = 1, reorder: float = 1.0) -> bytes:
    """The catalog as a router serves it: the models in another order each time, and the
    providers of a share (`reorder`) of them."""
    rng = random.Random(seed)
    again = copy.deepcopy(payload)
    rng.shuffle(again["data"])
    for item in again["data"]:
        if rng.random() < reorder:
            rng.shuffle(item["providers"])
    again["catalog_age_seconds"] = rng.randrange(3600)
    return json.dumps(again, indent=indent).encode()


@pytest.mark.parametrize("indent", [1, None])
def test_every_body_of_a_reordered_series_comes_back_exactly(indent: int | None) -> None:
    payload = big_catalog(300)
    bodies = []
    for version in range(6):
        payload["data"][version]["providers"][0]["input_price"] = 0.5 + version
        bodies.append(served(payload, version, indent))
    blobs = [rawbody.compress(bodies[0])]
    blobs += [rawbody.compress(new, base) for base, new in itertools.pairwise(bodies)]
    assert all(blob.startswith(rawbody.SORTED_DELTA) for blob in blobs[1:])
    for index, body in enumerate(bodies):
        assert rawbody.decompress_chain(blobs[:index + 1]) == body
        if index:
            assert rawbody.decompress(blobs[index], bodies[index - 1]) == body


def test_a_reordered_catalog_is_a_small_delta() -> None:
    payload = big_catalog(1000)
    base, again = served(payload, 1, reorder=0.3), served(payload, 2, reorder=0.3)
    byte_delta = zstandard.ZstdCompressor(level=rawbody.DELTA_LEVEL, dict_data=(
        zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    )).compress(again)
    sorted_delta = rawbody.compress(again, base)
    # The permutation and the models whose providers moved, against a copy of the others: a
    # thirtieth of the body at the delta level (a fortieth at level 3, for four times the
    # CPU), less than a byte-level delta.
    assert len(sorted_delta) < len(byte_delta)
    assert len(sorted_delta) * 25 < len(again)


@pytest.mark.parametrize(("base", "body"), [
    (b'{"data": [1, 2]}', b'{"data":[2,1] }'),
    (b'{"x": 1, "data": [{"a": 1},  {"b": 2}], "y": 2}', b'{"x":1,"data":[{"b":2},{"a":1}]}'),
    (b'{"data": [{"a": 1}, {"a": 1}]}', b'{"data": [{"a": 1}, {"a": 1}, {"a": 1}]}'),
    (b'{"data": [[1], [2]]}', b'{"data": [ [2] ,\n [1] ]}'),
    (b'{"data": [{"a": 1}, {"b": 2}, {"c": 3}]}', b'{"data": [{"a":1},{"b":2} ,{"c":3}]}'),
    (b'{"data": [{}, {}]}', '{"data": [{"é": "\\u00e9"}, {}]}'.encode()),
])
def test_odd_but_valid_bodies_come_back_exactly(base: bytes, body: bytes) -> None:
    blob = rawbody.compress(body, base)
    assert rawbody.decompress(blob, base) == body
    assert rawbody.decompress_chain([rawbody.compress(base), blob]) == body


@pytest.mark.parametrize(("base", "body"), [
    (b"<html>502 Bad Gateway</html>", b'{"data": [1, 2]}'),      # the base has no form
    (b'{"data": [1, 2]}', b'{"data": [1, 2'),                    # not JSON
    (b'[1, 2]', b'[2, 1]'),                                      # no data array
    (b'{"data": [1]}', b'{"data": []}'),                         # nothing to sort
])
def test_bodies_without_a_form_are_plain_deltas(base: bytes, body: bytes) -> None:
    blob = rawbody.compress(body, base)
    assert not blob.startswith(rawbody.SORTED_DELTA)
    assert rawbody.decompress(blob, base) == body
    assert rawbody.decompress_chain([rawbody.compress(base), blob]) == body


def test_deltas_written_before_sorted_forms_still_decompress() -> None:
    base, body = served(big_catalog(50), 1), served(big_catalog(50), 2)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    old_style = zstandard.ZstdCompressor(level=3, dict_data=dictionary).compress(body)
    assert rawbody.decompress(old_style, base) == body
    third = served(big_catalog(50), 3)
    chain = [rawbody.compress(base), old_style, rawbody.compress(third, body)]
    assert rawbody.decompress_chain(chain) == third
