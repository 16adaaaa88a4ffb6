"""The catalog: the documented `/v1/models` schema, validation, normalization and identity.

A payload is parsed once into a `Catalog`: immutable, order-free (models keyed by id, providers
keyed by name), prices as exact decimals, unknown fields kept in `extra`. Everything downstream
(store, diff, reports) works on this form only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

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

# --- the documented schema, used to validate (pydantic keeps unknown fields with extra="allow") ---

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _ProviderSchema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    name: NonEmptyStr
    input_price: Price
    output_price: Price
    data_policy: NonEmptyStr | None = None


class _ModelSchema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    id: NonEmptyStr
    object: str | None = None
    created: int
    owned_by: str
    context_window: Annotated[int, Field(ge=0)] | None = None
    supported_endpoints: list[NonEmptyStr] | None = None
    providers: list[_ProviderSchema] = Field(default_factory=list)


class _CatalogSchema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    object: str
    data: list[_ModelSchema]
    catalog_version: NonEmptyStr | None = None
    catalog_age_seconds: float | None = None


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
    canonical = {
        "models": [catalog.models[mid].canonical() for mid in sorted(catalog.models)],
        "extra": dict(catalog.extra),
    }
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


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


def parse_catalog(body: bytes) -> Catalog:
    """Parse and validate a raw `/v1/models` response body into a normalized `Catalog`.

    Raises `PayloadError` naming the first few problems (model id and field).
    """
    payload = decode_json(body)
    return catalog_from_payload(payload)


def decode_json(body: bytes) -> Any:
    """Decode a JSON body strictly: UTF-8, no NaN/Infinity; an HTML page says so."""
    stripped = body.lstrip()[:64].lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        raise PayloadError("payload rejected: the body is HTML/XML, not JSON")
    if not body.strip():
        raise PayloadError("payload rejected: the body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"payload rejected: not valid JSON ({exc})") from None


def catalog_from_payload(payload: Any) -> Catalog:
    if not isinstance(payload, dict):
        raise PayloadError(
            f"payload rejected: expected a JSON object, got {type(payload).__name__}"
        )
    try:
        parsed = _CatalogSchema.model_validate(payload)
    except ValidationError as exc:
        problems = _describe_errors(exc, payload)
        raise PayloadError(_rejection_message(problems), problems) from None

    problems = []
    if parsed.object != "list":
        problems.append(f"object: expected 'list', got {parsed.object!r}")
    models: dict[str, Model] = {}
    for raw_model in payload["data"]:
        model, duplicate_provider = _normalize_model(raw_model)
        if model.id in models:
            problems.append(f"model {model.id!r}: duplicate model id")
            continue
        if duplicate_provider is not None:
            problems.append(
                f"model {model.id!r} providers: duplicate provider name {duplicate_provider!r}"
            )
        models[model.id] = model
    if problems:
        raise PayloadError(_rejection_message(problems), problems)

    extra = {k: v for k, v in payload.items() if k not in KNOWN_TOP_LEVEL}
    return Catalog(models=models, catalog_version=parsed.catalog_version, extra=extra)


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
    return model, duplicate


def _describe_errors(exc: ValidationError, payload: dict[str, Any]) -> list[str]:
    """Pydantic errors as 'model <id> providers[1].input_price: <message>' lines."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        where = _locate(loc, payload)
        problems.append(f"{where}: {error['msg']}")
    return problems


def _locate(loc: list[str | int], payload: dict[str, Any]) -> str:
    if len(loc) >= 2 and loc[0] == "data" and isinstance(loc[1], int):
        data = payload.get("data")
        model_label = f"data[{loc[1]}]"
        if isinstance(data, list) and loc[1] < len(data) and isinstance(data[loc[1]], dict):
            model_id = data[loc[1]].get("id")
            if isinstance(model_id, str):
                model_label = f"model {model_id!r}"
        rest = _dotted(loc[2:])
        return f"{model_label} {rest}" if rest else model_label
    return _dotted(loc) or "payload"


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

