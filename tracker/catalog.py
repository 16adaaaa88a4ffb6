"""The catalog: the documented `/v1/models` schema, validation, normalization and identity.

A payload is parsed once into a `Catalog`: immutable, order-free (models keyed by id, providers
keyed by name), prices as exact decimals, unknown fields kept in `extra`. Everything downstream
(store, diff, reports) works on this form only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Annotated, Any, NotRequired

import msgspec
import orjson
from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

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

# --- the documented schema, used to validate (extra="allow" keeps unknown fields) ---
# TypedDicts rather than models: pydantic validates them without building objects, which
# halves the cost of checking a 2,000-model catalog.

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_STRICT = ConfigDict(extra="allow", strict=True)


@with_config(_STRICT)
class _ProviderSchema(TypedDict):
    name: NonEmptyStr
    input_price: Price
    output_price: Price
    data_policy: NotRequired[NonEmptyStr | None]


@with_config(_STRICT)
class _ModelSchema(TypedDict):
    id: NonEmptyStr
    object: NotRequired[str | None]
    created: int
    owned_by: str
    context_window: NotRequired[Annotated[int, Field(ge=0)] | None]
    supported_endpoints: NotRequired[list[NonEmptyStr] | None]
    providers: NotRequired[list[_ProviderSchema]]


@with_config(_STRICT)
class _EnvelopeSchema(TypedDict):
    object: str
    data: list[Any]  # each model is validated on its own, and only when it changed
    catalog_version: NotRequired[NonEmptyStr | None]
    catalog_age_seconds: NotRequired[float | None]


_envelope = TypeAdapter(_EnvelopeSchema)
_model = TypeAdapter(_ModelSchema)


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

    The float's repr is the shortest that round-trips, so "0.075" prints as 0.075.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)


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
    decoded, validated and normalized. The result is the same as a parse from scratch.
    Raises `PayloadError` naming the first few problems (model id and field).
    """
    members = _split_object(body)
    envelope_payload = {k: _decode(v) for k, v in members.items() if k != "data"}
    items = _split_list(members["data"]) if "data" in members else None
    problems: list[str] = []
    try:
        _envelope.validate_python({**envelope_payload, "data": items or []})
    except ValidationError as exc:
        problems = _describe_errors(exc, "")
    if items is None:
        problems.append("data: " + ("Field required" if "data" not in members
                                    else "Input should be a valid list"))
    if problems:
        raise PayloadError(_rejection_message(problems), problems)
    if envelope_payload["object"] != "list":
        problems.append(f"object: expected 'list', got {envelope_payload['object']!r}")

    known = previous.raw_models if previous is not None else {}
    models: dict[str, Model] = {}
    raw_models: dict[bytes, Model] = {}
    for index, item in enumerate(items or ()):
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

    extra = {k: v for k, v in envelope_payload.items() if k not in KNOWN_TOP_LEVEL}
    return Catalog(
        models=models,
        catalog_version=envelope_payload.get("catalog_version"),
        extra=extra,
        raw_models=raw_models,
    )


_split_object_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_split_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])


def _split_object(body: bytes) -> dict[str, msgspec.Raw]:
    """The top-level members as undecoded JSON texts; an HTML page or non-object says so."""
    head = body.lstrip()[:1]
    if not head:
        raise PayloadError("payload rejected: the body is empty")
    if head == b"<":
        raise PayloadError("payload rejected: the body is HTML/XML, not JSON")
    try:
        return _split_object_decoder.decode(body)
    except msgspec.ValidationError:
        kind = type(_decode(body)).__name__
        raise PayloadError(f"payload rejected: expected a JSON object, got {kind}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None


def _split_list(text: msgspec.Raw) -> list[msgspec.Raw] | None:
    try:
        return _split_list_decoder.decode(text)
    except msgspec.ValidationError:
        return None
    except msgspec.DecodeError as exc:  # pragma: no cover - the outer split checked syntax
        raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None


def _decode(text: bytes | msgspec.Raw) -> Any:
    """Decode JSON strictly: UTF-8, no NaN or Infinity."""
    try:
        return orjson.loads(text if isinstance(text, bytes) else bytes(text))
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None


def _validated_model(text: bytes, index: int, problems: list[str]) -> Model | None:
    """The normalized model from its JSON text, or None with its problems appended."""
    raw = _decode(text)
    model_id = raw.get("id") if isinstance(raw, dict) else None
    label = f"model {model_id!r}" if isinstance(model_id, str) else f"data[{index}]"
    try:
        _model.validate_python(raw)
    except ValidationError as exc:
        problems.extend(_describe_errors(exc, label))
        return None
    model, duplicate_provider = _normalize_model(raw)
    if duplicate_provider is not None:
        problems.append(
            f"model {model.id!r} providers: duplicate provider name {duplicate_provider!r}"
        )
        return None
    return model


def _normalize_model(raw: dict[str, Any]) -> tuple[Model, str | None]:
    """The normalized model, and the first provider name it lists twice (if any)."""
    providers: dict[str, Provider] = {}
    duplicate: str | None = None
    for raw_provider in raw.get("providers") or ():
        provider = Provider(
            name=raw_provider["name"],
            input_price=json_number_to_decimal(raw_provider["input_price"]),
            output_price=json_number_to_decimal(raw_provider["output_price"]),
            data_policy=raw_provider.get("data_policy"),
            extra={k: v for k, v in raw_provider.items() if k not in KNOWN_PROVIDER_FIELDS},
        )
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


def _describe_errors(exc: ValidationError, label: str) -> list[str]:
    """Pydantic errors as "model 'id' providers[1].input_price: <message>" lines."""
    problems = []
    for error in exc.errors(include_url=False):
        where = " ".join(part for part in (label, _dotted(error["loc"])) if part)
        problems.append(f"{where or 'payload'}: {error['msg']}")
    return problems


def _dotted(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _rejection_message(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    suffix = f"; and {more} more" if more > 0 else ""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return f"payload rejected ({count}): {shown}{suffix}"

