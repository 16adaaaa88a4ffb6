"""Hypothesis strategies for catalogs in the documented `/v1/models` shape, hostile strings and
unknown fields at every level included, written as JSON the way servers do (any key order, any
spacing, prices as `2`, `0.075`, `0.10` or `7.5E-2`); and what a payload says, worked out
independently of the parser. Used by tests/unit/test_properties.py and
tests/store/test_properties.py.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tracker.catalog import (
    KNOWN_MODEL_FIELDS,
    KNOWN_PROVIDER_FIELDS,
    KNOWN_TOP_LEVEL,
    MAX_PRICE_TEXT,
    Catalog,
    Model,
    Provider,
    decimal_text,
    digest_of,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)

# Database-backed properties run fewer examples: each one is a few transactions.
DB_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PURE_SETTINGS = settings(max_examples=100, deadline=None)


# --- writing JSON as a server might ---


@dataclass(frozen=True)
class Number:
    """A JSON number written exactly as `text` (e.g. "0.10", "7.5E-2")."""

    text: str

    @property
    def value(self) -> Decimal:
        return Decimal(self.text)


@dataclass(frozen=True)
class Style:
    ensure_ascii: bool
    spacing: str  # after "," and ":"; "" or " " or "\n  "


def write_json(value: Any, style: Style) -> str:
    """JSON text of `value` (dicts keep their order; `Number`s are written verbatim)."""
    sep = style.spacing
    if isinstance(value, Number):
        return value.text
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=style.ensure_ascii)}:{sep}{write_json(v, style)}"
                 for k, v in value.items())
        return "{" + f",{sep}".join(items) + "}"
    if isinstance(value, list):
        return "[" + f",{sep}".join(write_json(v, style) for v in value) + "]"
    return json.dumps(value, ensure_ascii=style.ensure_ascii)


def to_body(payload: dict[str, Any], style: Style = Style(True, " ")) -> bytes:
    return write_json(payload, style).encode()


def plain(value: Any) -> Any:
    """The payload as the JSON values a parser sees (`Number`s as floats or ints)."""
    if isinstance(value, Number):
        return orjson.loads(value.text)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --- strategies: valid payloads ---

HOSTILE = [
    "<script>alert(1)</script>",
    "a|b|c",
    "`code` ``",
    "line\nbreak\r\n",
    "\u202eevil\u202c",
    "\u200fRTL\u200e",
    "emoji 🚀",
    "*bold* _it_ [x](javascript:alert(1))",
    "&amp; &lt;",
    "' OR 1=1 --",
    "back\\slash",
    '"quoted"',
    "{{ jinja }}",
    "tab\there",
]
# Keys that make paths interesting: dots, escapes, NUL, the shutdown field.
TRICKY_KEYS = ["a", "b", "a.b", "a~1b", "~", "~0", ".", "", "x.y.z", "\x00", "shutdown_at"]

# Strategies are built once: building one per draw costs more than drawing from it.


@functools.cache
def texts(min_size: int = 0, max_size: int = 10) -> st.SearchStrategy[str]:
    """Any text: hostile strings, and anything Unicode has (NUL included)."""
    generated = st.text(min_size=min_size, max_size=max_size)
    return st.one_of(st.sampled_from([h for h in HOSTILE if len(h) >= min_size]), generated)


@functools.cache
def identifiers(min_size: int = 0) -> st.SearchStrategy[str]:
    """Text for ids, names, policies and versions: anything but NUL (which is rejected)."""
    return texts(min_size).filter(lambda text: "\x00" not in text)


@functools.cache
def versions() -> st.SearchStrategy[str]:
    """A `catalog_version`: an identifier that is not white space only (rejected as blank)."""
    return identifiers(min_size=1).filter(lambda text: bool(text.strip()))


@functools.cache
def keys(exclude: frozenset[str] = frozenset()) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(TRICKY_KEYS), texts(max_size=6)).filter(
        lambda k: k not in exclude
    )


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # the integers orjson keeps exact
    st.floats(allow_nan=False, allow_infinity=False),
    texts(),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys(), children, max_size=3)
    ),
    max_leaves=6,
)


@functools.cache
def extras(exclude: frozenset[str], max_size: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Unknown fields: any JSON under any key the schema does not know at that level."""
    return st.dictionaries(keys(exclude), json_values, max_size=max_size)


@st.composite
def decimal_texts(draw: st.DrawFn) -> Number:
    """A price with a few digits, written the many ways JSON allows: 2, 0.075, 0.10, 7.5E-2."""
    digits = draw(st.integers(min_value=0, max_value=999_999))
    scale = draw(st.integers(min_value=0, max_value=6))
    if draw(st.booleans()):
        exponent = draw(st.sampled_from(["e", "E", "e-", "E-", "e+"]))
        return Number(f"{digits}{exponent}{scale if exponent.endswith('-') else 0}")
    if not scale:
        return Number(str(digits))
    text = str(digits).rjust(scale + 1, "0")
    trailing_zeros = "0" * draw(st.integers(min_value=0, max_value=2))
    return Number(f"{text[:-scale]}.{text[-scale:]}{trailing_zeros}")


def storable(price: float) -> bool:
    """Within the documented range (at most 40 characters as a plain decimal)."""
    return len(decimal_text(Decimal(repr(price)))) <= MAX_PRICE_TEXT


prices = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.floats(min_value=0, max_value=1e20, allow_nan=False).filter(storable),
    decimal_texts(),
)
policies = st.sampled_from(["zdr", "no_training", "none", None]) | identifiers(min_size=1)
model_ids = st.sampled_from(["gpt-4o", "claude", "llama.3", "m~1"]) | identifiers(min_size=1)
provider_names = st.sampled_from(["openai", "azure", "groq", "a.b"]) | identifiers(min_size=1)
# The columns are 32-bit on PostgreSQL (see test_valid_payloads_beyond_the_column_widths...).
int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
endpoint_lists = st.none() | st.lists(
    st.sampled_from(["chat_completions", "responses"]) | texts(min_size=1), max_size=3
)
styles = st.builds(Style, st.booleans(), st.sampled_from(["", " ", "\n  "]))


@functools.cache
def orders(size: int) -> st.SearchStrategy[list[int]]:
    return st.permutations(range(size))


def shuffled(draw: st.DrawFn, items: list[Any]) -> list[Any]:
    return [items[i] for i in draw(orders(len(items)))]


def shuffled_dict(draw: st.DrawFn, mapping: dict[str, Any]) -> dict[str, Any]:
    return dict(shuffled(draw, list(mapping.items())))


def provider(draw: st.DrawFn, name: str) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "input_price": draw(prices),
                              "output_price": draw(prices)}
    if draw(st.booleans()):
        record["data_policy"] = draw(policies)
    record.update(draw(extras(KNOWN_PROVIDER_FIELDS, 2)))
    return shuffled_dict(draw, record)


def model(draw: st.DrawFn, model_id: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": model_id, "created": draw(int32),
                              "owned_by": draw(identifiers())}
    if draw(st.booleans()):
        record["object"] = "model"
    if draw(st.booleans()):
        record["context_window"] = draw(st.none() | st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        record["supported_endpoints"] = draw(endpoint_lists)
    names = draw(st.lists(provider_names, unique=True, max_size=3))
    if names or draw(st.booleans()):  # an empty list, or no "providers" at all
        record["providers"] = [provider(draw, name) for name in names]
    record.update(draw(extras(KNOWN_MODEL_FIELDS)))
    return shuffled_dict(draw, record)


@st.composite
def payloads(draw: st.DrawFn, min_models: int = 0) -> dict[str, Any]:
    """A valid `/v1/models` payload (as a dict; `Number`s where prices are written as text)."""
    ids = draw(st.lists(model_ids, unique=True, min_size=min_models, max_size=4))
    payload: dict[str, Any] = {"object": "list", "data": [model(draw, i) for i in ids]}
    if draw(st.booleans()):
        payload["catalog_version"] = draw(st.none() | versions())
    if draw(st.booleans()):
        payload["catalog_age_seconds"] = draw(st.none() | st.integers(0, 10**6) | st.floats(0, 1e6))
    payload.update(draw(extras(KNOWN_TOP_LEVEL)))
    return shuffled_dict(draw, payload)


FIELD_EDITS = st.sampled_from(["keep", "keep", "remove", "null", "replace", "inside"])


def changed_fields(
    draw: st.DrawFn, fields: dict[str, Any], exclude: frozenset[str]
) -> dict[str, Any]:
    """Unknown fields with some kept, removed, nulled, replaced, changed inside, or added."""
    result: dict[str, Any] = {}
    for key, value in fields.items():
        edit = draw(FIELD_EDITS)
        if edit == "keep":
            result[key] = value
        elif edit == "null":
            result[key] = None
        elif edit == "inside" and isinstance(value, dict):
            result[key] = changed_fields(draw, value, frozenset())
        elif edit != "remove":
            result[key] = draw(json_values)
    result.update(draw(extras(exclude, 2)))
    return shuffled_dict(draw, result)


def split(record: dict[str, Any], known: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({k: v for k, v in record.items() if k in known},
            {k: v for k, v in record.items() if k not in known})


OFFER_EDITS = st.sampled_from(["keep", "remove", "price", "policy", "fields"])


def changed_offer(draw: st.DrawFn, offer: dict[str, Any]) -> dict[str, Any] | None:
    edit = draw(OFFER_EDITS)
    if edit == "remove":
        return None
    offer = dict(offer)
    if edit == "price":
        offer[draw(st.sampled_from(["input_price", "output_price"]))] = draw(prices)
    elif edit == "policy":
        offer["data_policy"] = draw(policies)
    elif edit == "fields":
        known, unknown = split(offer, KNOWN_PROVIDER_FIELDS)
        offer = {**known, **changed_fields(draw, unknown, KNOWN_PROVIDER_FIELDS)}
    return offer


def changed_model(draw: st.DrawFn, record: dict[str, Any]) -> dict[str, Any]:
    known, unknown = split(record, KNOWN_MODEL_FIELDS)
    for name, values in (("created", int32), ("owned_by", identifiers()),
                         ("context_window", st.none() | st.integers(0, 2**31 - 1)),
                         ("supported_endpoints", endpoint_lists)):
        if draw(st.integers(0, 3)) == 0:
            if name in ("created", "owned_by") or draw(st.booleans()):
                known[name] = draw(values)
            else:
                known.pop(name, None)
    offers = [o for o in (changed_offer(draw, o) for o in known.get("providers", [])) if o]
    taken = {o["name"] for o in offers}
    offers += [provider(draw, name) for name in draw(st.lists(provider_names, max_size=2))
               if name not in taken and not taken.add(name)]  # type: ignore[func-returns-value]
    known["providers"] = shuffled(draw, offers)
    return {**known, **changed_fields(draw, unknown, KNOWN_MODEL_FIELDS)}


MODEL_EDITS = st.sampled_from(["keep", "keep", "change", "change", "remove"])


def changed_payload(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """A later version of `payload`: models and providers come, go and change in every field."""
    data = []
    for record in payload["data"]:
        edit = draw(MODEL_EDITS)
        if edit != "remove":
            data.append(record if edit == "keep" else changed_model(draw, record))
    taken = {m["id"] for m in data}
    data += [model(draw, i) for i in draw(st.lists(model_ids, unique=True, max_size=2))
             if i not in taken]
    known, unknown = split(payload, KNOWN_TOP_LEVEL)
    if draw(st.booleans()):
        known["catalog_version"] = draw(st.none() | versions())
    return {**known, "data": shuffled(draw, data), **changed_fields(draw, unknown, KNOWN_TOP_LEVEL)}


@st.composite
def payload_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A payload and a later version of it."""
    old = draw(payloads())
    return old, changed_payload(draw, old)


@st.composite
def reordered(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """The same payload with models, providers and every object's keys in another order
    (lists inside unknown fields keep theirs: their order is content)."""

    def keys_shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            return shuffled_dict(draw, {k: keys_shuffled(v) for k, v in value.items()})
        if isinstance(value, list):
            return [keys_shuffled(v) for v in value]
        return value

    def model_reordered(record: dict[str, Any]) -> dict[str, Any]:
        offers = [keys_shuffled(o) for o in record.get("providers", [])]
        known, unknown = split(record, KNOWN_MODEL_FIELDS)
        with_offers = {**known, **keys_shuffled(unknown)}
        if "providers" in record:
            with_offers["providers"] = shuffled(draw, offers)
        return shuffled_dict(draw, with_offers)

    known, unknown = split(payload, KNOWN_TOP_LEVEL)
    models = shuffled(draw, [model_reordered(m) for m in payload["data"]])
    return shuffled_dict(draw, {**known, **keys_shuffled(unknown), "data": models})


# --- what a payload says, independently of the parser ---


def expected_catalog(payload: dict[str, Any]) -> Catalog:
    """The normalized catalog a payload describes, built without the parser."""

    def price(value: Any) -> Decimal:
        return value.value if isinstance(value, Number) else Decimal(repr(value))

    models = {}
    for record in payload["data"]:
        offers = {
            p["name"]: Provider(
                name=p["name"],
                input_price=price(p["input_price"]),
                output_price=price(p["output_price"]),
                data_policy=p.get("data_policy"),
                extra=plain({k: v for k, v in p.items() if k not in KNOWN_PROVIDER_FIELDS}),
            )
            for p in record.get("providers", [])
        }
        endpoints = record.get("supported_endpoints")
        models[record["id"]] = Model(
            id=record["id"],
            created=record["created"],
            owned_by=record["owned_by"],
            context_window=record.get("context_window"),
            supported_endpoints=tuple(sorted(endpoints)) if endpoints is not None else None,
            providers=offers,
            extra=plain({k: v for k, v in record.items() if k not in KNOWN_MODEL_FIELDS}),
        )
    return Catalog(
        models=models,
        catalog_version=payload.get("catalog_version"),
        extra=plain({k: v for k, v in payload.items() if k not in KNOWN_TOP_LEVEL}),
    )


def assert_same_catalog(actual: Catalog, expected: Catalog) -> None:
    """Equal, and equal as JSON too (Python's == takes `true` for `1` and `1` for `1.0`)."""
    assert actual == expected
    assert actual.catalog_version == expected.catalog_version
    assert actual.content_hash == expected.content_hash
    for model_id, model in expected.models.items():
        assert digest_of(actual.models[model_id]) == digest_of(model), model_id


