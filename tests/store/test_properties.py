"""Properties of storage on random catalogs, on both backends (Hypothesis;
tests/support/strategies.py builds them). What must hold for every one of them:

- a stored catalog loads back exactly as it was parsed;
- every invalid payload is rejected (exit 4) and recorded as a rejected observation, and
  nothing of it is stored.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from support.strategies import (
    DB_SETTINGS,
    T0,
    Number,
    Style,
    assert_same_catalog,
    model,
    payload_pairs,
    payloads,
    provider,
    styles,
    to_body,
)

from tracker.catalog import (
    parse_catalog,
)
from tracker.config import SourceConfig
from tracker.diff import diff_catalogs
from tracker.errors import PayloadError
from tracker.pipeline import Pipeline, RunResult
from tracker.store import rawbody, reads

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
            # The state's content; its label is the version it was first served under.
            assert_same_catalog(reads.load_catalog(conn, source, result.snapshot),
                                replace(parse_catalog(body),
                                        catalog_version=result.snapshot.catalog_version))
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
        # (the long version serves v0's content: the same state, labelled v0, served as it)
        assert_same_catalog(reads.load_catalog(conn, source, result.snapshot),
                            replace(parse_catalog(body),
                                    catalog_version=result.snapshot.catalog_version))
    assert result.served_version == version


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
