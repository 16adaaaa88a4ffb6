"""The catalog: validation, normalization and identity of `/v1/models` payloads.

A payload is parsed once into a `Catalog`: immutable, order-free (models keyed by id, providers
keyed by name), prices as exact decimals, unknown fields kept in `extra`. Everything downstream
(store, diff, reports) works on this form only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from tracker import payload_schema
from tracker.errors import PayloadError

POLICY_RANK: Mapping[str, int] = {"zdr": 2, "no_training": 1, "none": 0}
"""Data policies from strongest to weakest; a move down this order is a weakening."""

# Top-level fields that describe the response, not the catalog: never part of identity or diffs.
VOLATILE_TOP_LEVEL = frozenset({"catalog_age_seconds"})
KNOWN_TOP_LEVEL = frozenset({"object", "data", "catalog_version"}) | VOLATILE_TOP_LEVEL
KNOWN_MODEL_FIELDS = frozenset(
    {"id", "object", "created", "owned_by", "context_window", "supported_endpoints", "providers"}
)
KNOWN_PROVIDER_FIELDS = frozenset({"name", "input_price", "output_price", "data_policy"})

MAX_PROBLEMS_SHOWN = 5

# --- the normalized form ---


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider's offer of a model: prices in USD per 1M tokens, exact."""

    name: str
    input_price: Decimal
    output_price: Decimal
    data_policy: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The provider as it appears in change records (prices as JSON numbers)."""
        return {
            "name": self.name,
            "input_price": decimal_to_json(self.input_price),
            "output_price": decimal_to_json(self.output_price),
            "data_policy": self.data_policy,
            **self.extra,
        }

    def canonical(self) -> dict[str, Any]:
        """A JSON-able form with prices as canonical decimal strings (for hashing)."""
        return {
            "name": self.name,
            "input_price": decimal_text(self.input_price),
            "output_price": decimal_text(self.output_price),
            "data_policy": self.data_policy,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True, slots=True)
class Model:
    """One model of the catalog with its providers keyed by name."""

    id: str
    created: int
    owned_by: str
    context_window: int | None = None
    supported_endpoints: tuple[str, ...] | None = None
    providers: Mapping[str, Provider] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    # SHA-256 of the canonical form, computed once when parsed (empty when loaded from the
    # database; `digest_of` fills the gap). Not part of equality.
    digest: bytes = field(default=b"", compare=False, repr=False)

    def to_record(self) -> dict[str, Any]:
        """The model as it appears in `model_added` / `model_removed` records."""
        return {
            "id": self.id,
            "created": self.created,
            "owned_by": self.owned_by,
            "context_window": self.context_window,
            "supported_endpoints": (
                list(self.supported_endpoints) if self.supported_endpoints is not None else None
            ),
            "providers": [self.providers[name].to_record() for name in sorted(self.providers)],
            **self.extra,
        }

    def canonical(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "owned_by": self.owned_by,
            "context_window": self.context_window,
            "supported_endpoints": (
                list(self.supported_endpoints) if self.supported_endpoints is not None else None
            ),
            "providers": [self.providers[name].canonical() for name in sorted(self.providers)],
            "extra": dict(self.extra),
        }


@dataclass(frozen=True, slots=True)
class Catalog:
    """One catalog state: what a source offered at one moment, independent of order."""

    models: Mapping[str, Model]
    catalog_version: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Each model's JSON text as received, to the model parsed from it: lets the next parse
    # reuse every model whose text is unchanged (about 99% of them from one version to the
    # next). Empty for catalogs loaded from the database. Not part of equality.
    raw_models: Mapping[bytes, Model] = field(default_factory=dict, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical content; the catalog version itself is not part of it."""
        return content_hash(self)

    @property
    def identity(self) -> str:
        """What makes two payloads the same snapshot: the version, else the content hash."""
        return self.catalog_version or self.content_hash

    def __len__(self) -> int:
        return len(self.models)


def content_hash(catalog: Catalog) -> str:
    """SHA-256 over the models' digests in id order and the top-level unknown fields."""
    hasher = hashlib.sha256()
    for model_id in sorted(catalog.models):
        hasher.update(digest_of(catalog.models[model_id]))
    hasher.update(orjson.dumps(dict(catalog.extra), option=orjson.OPT_SORT_KEYS))
    return hasher.hexdigest()


def digest_of(model: Model) -> bytes:
    """The model's content digest (order of providers and of JSON keys does not count)."""
    if model.digest:
        return model.digest
    canonical = orjson.dumps(model.canonical(), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


def decimal_text(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros ("2.5", "10", "0.075")."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def decimal_to_json(value: Decimal) -> float | int:
    """A decimal as a JSON number: integral values as ints, others as the nearest float.

    The float's repr is the shortest that round-trips, so "0.075" prints as 0.075. Integers
    beyond 64 bits stay floats (as the payload's parser read them): JSON encoders refuse them.
    """
    if value == value.to_integral_value() and _JSON_INT_MIN <= value <= _JSON_INT_MAX:
        return int(value)
    return float(value)


# The integers orjson reads and writes exactly; a payload's larger ones are read as floats.
_JSON_INT_MIN, _JSON_INT_MAX = -(2**63), 2**64 - 1


def json_number_to_decimal(value: int | float) -> Decimal:
    """Exact decimal of a JSON number as written: floats go through their shortest repr."""
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))


# --- parsing ---


def parse_catalog(body: bytes, previous: Catalog | None = None) -> Catalog:
    """Parse and validate a raw `/v1/models` response body into a normalized `Catalog`.

    The body is first split into its members and its models' JSON texts without building
    Python objects (msgspec's Raw). With `previous` (the last catalog parsed), a model whose
    text is byte-for-byte unchanged is reused as it is; only new and changed models are
    validated, decoded and normalized. The result is the same as a parse from scratch.
    Raises `PayloadError` naming the first few problems (model id and field).
    """
    members = _split_members(body)
    problems: list[str] = []
    _check_top_level_keys(body, members, problems)
    envelope = _check_envelope(members, problems)
    items = _split_items(members["data"], problems) if "data" in members else None
    if problems or items is None:
        raise PayloadError(_rejection_message(problems), problems)

    known = previous.raw_models if previous is not None else {}
    models: dict[str, Model] = {}
    raw_models: dict[bytes, Model] = {}
    for index, item in enumerate(items):
        text = bytes(item)
        model = known.get(text) or _validated_model(text, index, problems)
        if model is None:
            continue
        if model.id in models:
            problems.append(f"model {model.id!r}: duplicate model id")
            continue
        models[model.id] = model
        raw_models[text] = model
    if problems:
        raise PayloadError(_rejection_message(problems), problems)

    extra = {k: _decode(v) for k, v in members.items() if k not in KNOWN_TOP_LEVEL}
    return Catalog(
        models=models,
        catalog_version=envelope.get("catalog_version"),
        extra=extra,
        raw_models=raw_models,
    )


def decode_body(body: bytes) -> Any:
    """A whole body decoded strictly; an empty body, an HTML page or bad JSON is rejected."""
    _check_not_html(body)
    return _decode(body)


def rejection(problems: list[str]) -> PayloadError:
    """The error for a payload with these problems (the first few are named)."""
    return PayloadError(_rejection_message(problems), problems)


def _check_not_html(body: bytes) -> None:
    head = body.lstrip()[:1]
    if not head:
        raise PayloadError("payload rejected: the body is empty")
    if head == b"<":
        raise PayloadError("payload rejected: the body is HTML/XML, not JSON")


def _split_members(body: bytes) -> dict[str, msgspec.Raw]:
    """The top-level members as undecoded JSON texts; an HTML page or non-object says so."""
    _check_not_html(body)
    try:
        members: dict[str, msgspec.Raw] = payload_schema.members_decoder.decode(body)
    except msgspec.ValidationError:
        kind = type(_decode(body)).__name__
        raise PayloadError(f"payload rejected: expected a JSON object, got {kind}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None
    except RecursionError:
        raise PayloadError("payload rejected: not valid JSON (nested too deeply)") from None
    return members


def _check_top_level_keys(
    body: bytes, members: dict[str, msgspec.Raw], problems: list[str]
) -> None:
    """Repeated keys outside `data` (the models are checked one by one, when they change)."""
    skeleton = body
    if "data" in members:
        data = bytes(members["data"])
        start = body.find(data)
        if start >= 0:
            skeleton = body[:start] + b"[]" + body[start + len(data):]
    duplicate = duplicate_key(skeleton)
    if duplicate is not None:
        problems.append(f"duplicate key {duplicate!r} in the top-level object")


def _check_envelope(members: dict[str, msgspec.Raw], problems: list[str]) -> dict[str, Any]:
    """The known top-level members, decoded and checked; problems appended."""
    envelope: dict[str, Any] = {}
    for name in payload_schema.ENVELOPE_REQUIRED:
        if name not in members:
            problems.append(f"{name}: required field missing")
    for name, kind in payload_schema.ENVELOPE_TYPES.items():
        if name in members:
            try:
                envelope[name] = msgspec.json.decode(members[name], type=kind)
            except msgspec.ValidationError as exc:
                problems.append(f"{name}: {exc}")
            except msgspec.DecodeError as exc:
                raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None
    if "object" in envelope and envelope["object"] != "list":
        problems.append(f"object: expected 'list', got {envelope['object']!r}")
    if "\x00" in (envelope.get("catalog_version") or ""):
        problems.append("catalog_version: contains a NUL character")
    return envelope


def _split_items(text: msgspec.Raw, problems: list[str]) -> list[msgspec.Raw] | None:
    try:
        items: list[msgspec.Raw] = payload_schema.items_decoder.decode(text)
    except msgspec.ValidationError:
        problems.append("data: expected an array of models")
        return None
    return items


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _DuplicateKey(next(k for i, k in enumerate(keys) if k in keys[:i]))
    return dict(pairs)


def duplicate_key(text: bytes) -> str | None:
    """The first key that an object in `text` repeats, if any.

    JSON parsers disagree on which of two equal keys wins, so a payload that repeats one is
    ambiguous and rejected. Only new and changed models' texts are checked (the stdlib scanner
    with a hook costs about 10 µs per model).
    """
    try:
        json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        return exc.key
    except (ValueError, RecursionError):  # not JSON, or too deep: the strict decoder says so
        return None
    return None


def _decode(text: bytes | msgspec.Raw) -> Any:
    """Decode JSON strictly: UTF-8, no NaN or Infinity."""
    try:
        return orjson.loads(text if isinstance(text, bytes) else bytes(text))
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None


def _validated_model(text: bytes, index: int, problems: list[str]) -> Model | None:
    """The normalized model from its JSON text, or None with its problem appended."""
    raw = _decode(text)
    model_id = raw.get("id") if isinstance(raw, dict) else None
    label = f"model {model_id!r}" if isinstance(model_id, str) else f"data[{index}]"
    duplicate = duplicate_key(text)
    if duplicate is not None:
        problems.append(f"{label}: duplicate key {duplicate!r}")
        return None
    try:
        payload_schema.model_decoder.decode(text)
    except msgspec.ValidationError as exc:
        problems.append(_describe_error(label, str(exc)))
        return None
    model, duplicate_provider = _normalize_model(raw)
    if duplicate_provider is not None:
        problems.append(
            f"model {model.id!r} providers: duplicate provider name {duplicate_provider!r}"
        )
        return None
    unstorable = _unstorable(model)
    if unstorable is not None:
        problems.append(f"model {model.id!r} {unstorable}")
        return None
    return model


# What is kept exactly: a price as plain decimal text of at most 40 characters (the width of
# the price columns: up to 1e20, down to about 1e-20 at float precision), integers in 64 bits
# (the JSON parser reads larger ones as floats, and SQLite stores no more), names without NUL
# characters (PostgreSQL text cannot hold them; unknown fields, kept as JSON, can).
MAX_PRICE_TEXT = 40
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _unstorable(model: Model) -> str | None:
    """The first value of a validated model that cannot be kept exactly, described."""
    names = {"id": model.id, "owned_by": model.owned_by}
    for provider in model.providers.values():
        names[f"providers {provider.name!r} name"] = provider.name
        names[f"providers {provider.name!r} data_policy"] = provider.data_policy or ""
    for where, name in names.items():
        if "\x00" in name:
            return f"{where}: contains a NUL character"
    for name in ("created", "context_window"):
        value = getattr(model, name)
        if value is not None and not (isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX):
            return f"{name}: {value!r} is out of range (a 64-bit integer)"
    for provider in model.providers.values():
        for name in ("input_price", "output_price"):
            price: Decimal = getattr(provider, name)
            if len(decimal_text(price)) > MAX_PRICE_TEXT:
                return (f"providers {provider.name!r} {name}: {price} is out of range (at most "
                        f"{MAX_PRICE_TEXT} characters as a plain decimal)")
    return None


def provider_from_json(raw: Mapping[str, Any]) -> Provider:
    """A provider from its validated JSON object (payload or change record)."""
    return Provider(
        name=raw["name"],
        input_price=json_number_to_decimal(raw["input_price"]),
        output_price=json_number_to_decimal(raw["output_price"]),
        data_policy=raw.get("data_policy"),
        extra={k: v for k, v in raw.items() if k not in KNOWN_PROVIDER_FIELDS},
    )


def model_from_json(raw: Mapping[str, Any]) -> Model:
    """A model from its validated JSON object (payload or change record), digest included."""
    return _normalize_model(raw)[0]


def _normalize_model(raw: Mapping[str, Any]) -> tuple[Model, str | None]:
    """The normalized model, and the first provider name it lists twice (if any)."""
    providers: dict[str, Provider] = {}
    duplicate: str | None = None
    for raw_provider in raw.get("providers") or ():
        provider = provider_from_json(raw_provider)
        if provider.name in providers and duplicate is None:
            duplicate = provider.name
        providers[provider.name] = provider
    endpoints = raw.get("supported_endpoints")
    model = Model(
        id=raw["id"],
        created=raw["created"],
        owned_by=raw["owned_by"],
        context_window=raw.get("context_window"),
        supported_endpoints=tuple(sorted(endpoints)) if endpoints is not None else None,
        providers=providers,
        extra={k: v for k, v in raw.items() if k not in KNOWN_MODEL_FIELDS},
    )
    return replace(model, digest=digest_of(model)), duplicate


def _describe_error(label: str, message: str) -> str:
    """msgspec's "Expected `float`, got `str` - at `$.providers[0].input_price`" as
    "model 'm' providers[0].input_price: Expected `float`, got `str`"."""
    detail, _, path = message.partition(" - at `$")
    path = path.rstrip("`").lstrip(".")
    return f"{label} {path}: {detail}" if path else f"{label}: {detail}"


def _rejection_message(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    suffix = f"; and {more} more" if more > 0 else ""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return f"payload rejected ({count}): {shown}{suffix}"

