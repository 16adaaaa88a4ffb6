"""`tracker price MODEL --at WHEN`: the offer(s) that held at a moment, with their interval.

This is the lookup a cost script needs to price a past request: the state of the catalog at
WHEN is the latest state observed at or before it, and each offer of the model in that state
comes with the interval ``[from, to)`` its price and policy held (as `tracker history` shows
it: to is None while it still holds).

>>> from tracker.config import SourceConfig
>>> from tracker.demo import demo_catalogs
>>> from tracker.pipeline import Pipeline
>>> from tracker.store.db import open_database
>>> from tracker.timeutil import parse_iso
>>> engine = open_database("sqlite://")
>>> pipeline = Pipeline(engine, SourceConfig(name="auriko"))
>>> for day, body in enumerate(demo_catalogs()[:2], start=1):
...     _ = pipeline.ingest(body, observed_at=parse_iso(f"2026-11-0{day}T09:00Z"))
>>> held = price_at(engine, "auriko", "deepseek-v3.1", parse_iso("2026-11-01T12:00Z"),
...                 provider="deepinfra")
>>> [(o.provider, str(o.input_price), iso(o.start), iso(o.end)) for o in held.offers]
[('deepinfra', '0.25', '2026-11-01T09:00:00Z', '2026-11-02T09:00:00Z')]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from tracker.catalog import decimal_to_json
from tracker.errors import NotFoundError
from tracker.history import closest, histories, resolve_sources
from tracker.store import reads
from tracker.store.reads import SnapshotInfo
from tracker.timeutil import iso

__all__ = ["HeldOffer", "PriceAt", "price_at"]


@dataclass(frozen=True)
class HeldOffer:
    """One provider's offer as it held at the moment asked about, and when it held."""

    provider: str
    input_price: Decimal
    output_price: Decimal
    data_policy: str | None
    start: datetime
    end: datetime | None  # None: it still holds
    first_catalog_version: str | None  # the state it was first observed in

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "input_price": decimal_to_json(self.input_price),
            "output_price": decimal_to_json(self.output_price),
            "data_policy": self.data_policy,
            "from": iso(self.start),
            "to": iso(self.end) if self.end is not None else None,
            "first_catalog_version": self.first_catalog_version,
        }


@dataclass
class PriceAt:
    """What `Tracker.price` found: the model's offers in the state that held at `at`."""

    source: str
    model: str
    at: datetime
    snapshot: SnapshotInfo  # the state at `at`
    observed_at: datetime  # the latest observation of that state at or before `at`
    offers: list[HeldOffer]
    provider: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model": self.model,
            "provider": self.provider,
            "at": iso(self.at),
            "snapshot": self.snapshot.to_json(),
            "observed_at": iso(self.observed_at),
            "offers": [offer.to_json() for offer in self.offers],
        }


def _holds(start: datetime, end: datetime | None, at: datetime) -> bool:
    return start <= at and (end is None or at < end)


def _spans_text(spans: Iterable[tuple[datetime, datetime | None]]) -> str:
    return ", ".join(f"{iso(a)} to {iso(b) if b else 'now'}" for a, b in spans)


def price_at(engine: Engine, source: str, model: str, at: datetime, *,
             provider: str | None = None, configured: Iterable[str] = ()) -> PriceAt:
    """The offers of `model` (of `provider` only, when given) that held at `at` in `source`.

    A `NotFoundError` when the model was never listed (naming the closest ids), when nothing
    was observed by then, when the model was not listed at that moment (saying when it was),
    or when the provider did not offer it then (naming those that did).
    """
    with engine.connect() as conn:
        ((name, source_id),) = resolve_sources(conn, [source], configured)
        found = histories(conn, name, source_id, models=[model])
        if model not in found:
            suggestions = closest(model, reads.model_ids(conn, source_id))
            hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
            raise NotFoundError(f"unknown model {model!r} in source {name!r}{hint}")
        state = reads.state_at(conn, source_id, at, inclusive=True)
    if state is None:
        raise NotFoundError(f"source {name!r} had no state observed at or before {iso(at)}")
    snapshot, observed_at = state
    history = found[model]
    if not any(_holds(a, b, at) for a, b in history.presence):
        raise NotFoundError(f"model {model!r} was not in the catalog of source {name!r} at "
                            f"{iso(at)}; it was listed {_spans_text(history.presence)}")
    offers = [
        HeldOffer(offered_by, span.input_price, span.output_price, span.data_policy,
                  span.start, span.end, span.snapshot.catalog_version)
        for offered_by, spans in sorted(history.providers.items())
        for span in spans if _holds(span.start, span.end, at)
    ]
    if provider is not None:
        chosen = [offer for offer in offers if offer.provider == provider]
        if not chosen:
            if provider not in history.providers:
                suggestions = closest(provider, sorted(history.providers))
                hint = (f"; did you mean: {', '.join(suggestions)}?" if suggestions
                        else f"; its providers: {', '.join(sorted(history.providers))}")
                raise NotFoundError(
                    f"model {model!r} was never offered by provider {provider!r}{hint}")
            offered = ", ".join(offer.provider for offer in offers) or "none"
            when = _spans_text((span.start, span.end) for span in history.providers[provider])
            raise NotFoundError(
                f"provider {provider!r} did not offer {model!r} at {iso(at)} (offered then "
                f"by: {offered}); it did {when}")
        offers = chosen
    return PriceAt(name, model, at, snapshot, observed_at, offers, provider)
