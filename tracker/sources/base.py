"""What every source adapter provides, and helpers they share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Protocol

from tracker.catalog import Catalog, Model, digest_of, rejection
from tracker.errors import PayloadError
from tracker.vocabulary import id_label


class SourceAdapter(Protocol):
    """How to ask a kind of catalog for its models, and how to read the answer."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str]
    default_key_env: ClassVar[str]
    # Whether a fetch refuses to run without a key (public catalogs don't need one).
    needs_key: ClassVar[bool]

    def request(self, base_url: str, endpoint: str | None) -> tuple[str, dict[str, str]]:
        """The URL and query parameters of the catalog."""
        ...

    def parse(self, body: bytes, previous: Catalog | None = None) -> Catalog:
        """The normalized catalog; raises `PayloadError` naming the first problems."""
        ...

    # Optional: `catalog_digest(body) -> str | None`, a digest of the catalog text of `body`
    # that leaves out the fields that change on every poll: two bodies with the same digest
    # certainly parse to the same catalog, although their bytes differ (None: this body
    # cannot be vouched for). The pipeline then records an unchanged observation without a
    # parse; without it, only identical bytes skip the parse.


class ModelsList:
    """The request of the catalogs that live at `{base}/models` with no parameters."""

    def request(self, base_url: str, endpoint: str | None) -> tuple[str, dict[str, str]]:
        return base_url.rstrip("/") + "/models", {}


def build_catalog(
    models: Iterable[Model],
    *,
    version: str | None = None,
    extra: Mapping[str, Any] | None = None,
    problems: list[str] | None = None,
) -> Catalog:
    """A catalog from normalized models: duplicate ids are problems; digests are filled in."""
    problems = problems if problems is not None else []
    by_id: dict[str, Model] = {}
    from tracker.payload_schema import MAX_NAME

    for model in models:
        if len(model.id) > MAX_NAME:
            problems.append(f"model {id_label(model.id)}: id longer than {MAX_NAME} characters")
            continue
        if model.id in by_id:
            problems.append(f"model {id_label(model.id)}: duplicate model id")
            continue
        by_id[model.id] = model if model.digest else replace(model, digest=digest_of(model))
    if problems:
        raise rejection(problems)
    return Catalog(models=by_id, catalog_version=version, extra=dict(extra or {}))


def per_million(value: Any, where: str, problems: list[str]) -> Decimal | None:
    """A per-token price string such as "0.0000025" as an exact price per 1M tokens ("2.5").

    None (with a problem recorded) when it is not a finite decimal.
    """
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        problems.append(f"{where}: not a decimal price: {value!r}")
        return None
    if not price.is_finite():
        problems.append(f"{where}: not a finite price: {value!r}")
        return None
    return price.scaleb(6)


def require_list(payload: Any, key: str = "data") -> list[Any]:
    if not isinstance(payload, dict):
        kind = type(payload).__name__
        raise PayloadError(f"payload rejected: expected a JSON object, got {kind}")
    data = payload.get(key)
    if not isinstance(data, list):
        raise PayloadError(f"payload rejected: {key}: expected an array of models")
    return data
