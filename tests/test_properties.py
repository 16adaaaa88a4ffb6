"""Properties of the pipeline on random catalogs (Hypothesis).

The strategies build payloads in the documented `/v1/models` shape, hostile strings and unknown
fields at every level included, and write them as JSON the way servers do (any key order, any
spacing, prices as `2`, `0.075`, `0.10` or `7.5E-2`). What must hold for every one of them:

- parsing keeps everything the payload says, prices as exact decimals;
- a stored catalog loads back exactly as it was parsed, on both backends;
- a catalog has no changes against itself, and diffs do not depend on order;
- replaying the change records of a diff (`apply_changes`) rebuilds the target exactly;
- every invalid payload is rejected (exit 4) and recorded as a rejected observation, and
  nothing of it is stored.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

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
    parse_catalog,
)
from tracker.config import SourceConfig
from tracker.diff import apply_changes, diff_catalogs
from tracker.errors import PayloadError
from tracker.pipeline import Pipeline, RunResult
from tracker.store import rawbody, reads

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
        payload["catalog_version"] = draw(st.none() | identifiers(min_size=1))
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
        known["catalog_version"] = draw(st.none() | identifiers(min_size=1))
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


# --- storage ---


# Examples share their test's database: each observation comes a minute after the last one,
# and each versioned payload gets a version of its own (one version is one content).
_minutes = itertools.count()
_serial = itertools.count()


def ingest(engine: Engine, body: bytes) -> RunResult:
    """Ingest a body as the next observation of the source (shrinking catalogs accepted)."""
    pipeline = Pipeline(engine, SourceConfig(name="auriko"), accept_shrink=True)
    return pipeline.ingest(body, observed_at=T0 + timedelta(minutes=next(_minutes)))


def versioned(payload: dict[str, Any]) -> dict[str, Any]:
    version = payload.get("catalog_version")
    return {**payload, "catalog_version": f"{version}#{next(_serial)}"} if version else payload


@DB_SETTINGS
@given(pair=payload_pairs(), style=styles)
def test_stored_catalogs_load_back_exactly_as_parsed(
    engine: Engine, pair: tuple[dict[str, Any], dict[str, Any]], style: Style
) -> None:
    # All examples share the database: each one continues the history the last one left.
    previous_body: bytes | None = None
    for payload in pair:
        body = to_body(versioned(payload), style)
        result = ingest(engine, body)
        assert result.snapshot is not None
        with engine.connect() as conn:
            source = reads.source_id(conn, "auriko")
            assert source is not None
            assert_same_catalog(reads.load_catalog(conn, source, result.snapshot),
                                parse_catalog(body))
            if result.outcome == "new":
                assert reads.raw_body(conn, result.snapshot.id) == body
        if previous_body is not None:
            # Diffs made from the stored state are the diffs of the payloads themselves.
            assert result.changes == diff_catalogs(parse_catalog(previous_body),
                                                   parse_catalog(body))
        previous_body = body


def test_a_change_that_only_json_tells_apart_is_stored(engine: Engine) -> None:
    for version, flag in enumerate((1, True, 1.0)):
        model = {"id": "m", "created": 1, "owned_by": "o", "flag": flag}
        body = to_body({"object": "list", "catalog_version": f"v{version}", "data": [model]})
        result = ingest(engine, body)
        assert result.snapshot is not None
        with engine.connect() as conn:
            source = reads.source_id(conn, "auriko")
            assert source is not None
            stored = reads.load_catalog(conn, source, result.snapshot)
        assert_same_catalog(stored, parse_catalog(body))


BEYOND_POSTGRESQL_COLUMNS = {
    "a model id of 500 characters": {"id": "m" * 500},
    "an owner of 500 characters": {"owned_by": "o" * 500},
    "a provider name of 500 characters": {"providers": [
        {"name": "p" * 500, "input_price": 1, "output_price": 1}]},
    "a data policy of 1,000 characters": {"providers": [
        {"name": "p", "input_price": 1, "output_price": 1, "data_policy": "z" * 1000}]},
    "a created time in milliseconds": {"created": 1_700_000_000_000},
    "a created time after 2038": {"created": 2**31},
    "a context window of 2**31 tokens": {"context_window": 2**31},
    "a catalog_version of 500 characters": {},
    "an unknown field's path of 5,000 characters": {"k" * 5000: "changed"},
}


@pytest.mark.parametrize("what", list(BEYOND_POSTGRESQL_COLUMNS))
def test_valid_payloads_beyond_the_old_column_widths_are_stored(
    engine: Engine, what: str
) -> None:
    usual = {"id": "m", "created": 1, "owned_by": "o"}
    ingest(engine, to_body({"object": "list", "catalog_version": "v0", "data": [usual]}))
    model = {**usual, **BEYOND_POSTGRESQL_COLUMNS[what]}
    version = "v" * 500 if "catalog_version" in what else "v1"
    body = to_body({"object": "list", "catalog_version": version, "data": [model]})
    result = ingest(engine, body)  # stored with its change records
    assert result.snapshot is not None
    with engine.connect() as conn:
        source = reads.source_id(conn, "auriko")
        assert source is not None
        assert_same_catalog(reads.load_catalog(conn, source, result.snapshot), parse_catalog(body))


# --- invalid payloads ---

WRONG_VALUES: dict[str, list[Any]] = {
    "id": [None, 1, "", [], {"x": 1}, "nul\x00"],
    "created": [None, "1700000000", 1.5, True, [], {}, 2**63, 2**64, -(2**63) - 1],
    "owned_by": [None, 1, True, [], "\x00"],
    "object": [1, [], {}],
    "context_window": [-1, "128k", 1.5, True, [], 2**63, 10**30],
    "supported_endpoints": ["chat_completions", [1], [""], [None], {}, True],
    "providers": [None, {}, "openai", [1], [None], [[]]],
    "name": [None, "", 1, [], "nul\x00"],
    "input_price": [-0.01, -1, "1.5", "NaN", "Infinity", "-1", None, True, [], {}, 1e41, 5e-324],
    "output_price": [-(10**6), "0", "nan", None, False, [1], 1.7976931348623157e308, 1.5e-39],
    "data_policy": ["", 1, True, [], {}, "zdr\x00"],
}
ENVELOPE_WRONG_VALUES: dict[str, list[Any]] = {
    "object": [None, "model", "List", 1, []],
    "data": [None, {}, "models", 1, [1], [None], ["x"], [[]]],
    "catalog_version": ["", 1, [], {}, True, "v1\x00"],
    "catalog_age_seconds": ["5", [], {}, True],
}
NOT_JSON = [
    b"",
    b"   \n",
    b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
    b"  <html><head><title>Login</title></head></html>",
    b"<?xml version='1.0'?><error/>",
    b"null",
    b"[]",
    b'"list"',
    b"42",
    b"\xff\xfe{}",
    b'{"object": "list", "data": [], }',
    b"{'object': 'list', 'data': []}",
]


@st.composite
def invalid_payloads(draw: st.DrawFn) -> tuple[str, bytes]:
    """A payload made invalid in one way (described), as the body a server would send."""
    payload = draw(payloads(min_models=1))
    data = payload["data"]
    target = draw(st.sampled_from(data))
    if not target.get("providers"):
        target["providers"] = [provider(draw, "p")]
    offer = draw(st.sampled_from(target["providers"]))
    how = draw(st.sampled_from(
        ["model field", "provider field", "missing", "envelope", "duplicate model",
         "duplicate provider", "bad number", "truncated", "not json"]
    ))
    if how == "model field":
        name = draw(st.sampled_from(["id", "created", "owned_by", "object", "context_window",
                                     "supported_endpoints", "providers"]))
        target[name] = draw(st.sampled_from(WRONG_VALUES[name]))
        what = f"model {name} = {target[name]!r}"
    elif how == "provider field":
        name = draw(st.sampled_from(["name", "input_price", "output_price", "data_policy"]))
        offer[name] = draw(st.sampled_from(WRONG_VALUES[name]))
        what = f"provider {name} = {offer[name]!r}"
    elif how == "missing":
        record, name = draw(st.sampled_from(
            [(target, "id"), (target, "created"), (target, "owned_by"), (offer, "name"),
             (offer, "input_price"), (offer, "output_price"), (payload, "object"),
             (payload, "data")]
        ))
        del record[name]
        what = f"{name} missing"
    elif how == "envelope":
        name = draw(st.sampled_from(list(ENVELOPE_WRONG_VALUES)))
        payload[name] = draw(st.sampled_from(ENVELOPE_WRONG_VALUES[name]))
        what = f"envelope {name} = {payload[name]!r}"
    elif how == "duplicate model":
        twin = {**model(draw, target["id"]), "id": target["id"]}
        data.insert(draw(st.integers(0, len(data))), twin)
        what = f"model id {target['id']!r} twice"
    elif how == "duplicate provider":
        twin = {**provider(draw, offer["name"]), "name": offer["name"]}
        target["providers"].insert(draw(st.integers(0, len(target["providers"]))), twin)
        what = f"provider {offer['name']!r} twice"
    elif how == "bad number":
        name = draw(st.sampled_from(["input_price", "output_price"]))
        offer[name] = Number(draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400",
                                                   "-0.5", "0x10", "1.", ".5", "01"])))
        what = f"{name} written {offer[name].text}"
    else:
        body = to_body(payload, draw(styles))
        if how == "truncated":
            cut = draw(st.integers(0, body.rindex(b"}") - 1))
            return f"cut at byte {cut}", body[:cut]
        return "not JSON", draw(st.sampled_from(NOT_JSON))
    return what, to_body(payload, draw(styles))


def count(engine: Engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}"
                                 + (f" WHERE {where}" if where else ""))).scalar_one()


STORED = ("snapshots", "model_states", "offers", "changes")


@DB_SETTINGS
@given(invalid=invalid_payloads())
def test_invalid_payloads_are_rejected_recorded_and_never_stored(
    engine: Engine, invalid: tuple[str, bytes]
) -> None:
    what, body = invalid
    note(f"{what}: {body!r}")
    stored = [count(engine, t) for t in STORED]
    rejected = count(engine, "observations", "outcome = 'rejected'")

    with pytest.raises(PayloadError) as caught:
        ingest(engine, body)

    assert caught.value.exit_code == 4
    assert str(caught.value).startswith("payload rejected")
    assert "\n" not in str(caught.value)
    assert [count(engine, t) for t in STORED] == stored
    assert count(engine, "observations", "outcome = 'rejected'") == rejected + 1
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM observations ORDER BY id DESC LIMIT 1")
        ).one()
    assert (row.outcome, row.snapshot_id, row.error) == ("rejected", None, str(caught.value))
    assert rawbody.decompress(row.rejected_body) == body
