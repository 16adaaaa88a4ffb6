"""Pure diff: two catalog states in, change records out. No I/O, no database.

>>> from tracker.catalog import parse_catalog
>>> changes = diff_catalogs(parse_catalog(old_body), parse_catalog(new_body))  # doctest: +SKIP

Records follow the guide's schema (`kind`, `model`, `provider`, `field`, `old`, `new`, plus
`change_pct` for prices and `weakened` / `became_unknown` for data policies), in a deterministic
order: kind (in the order below), model, provider, field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tracker.catalog import POLICY_RANK, Catalog, Model, Provider, decimal_to_json

Change = dict[str, Any]

KIND_ORDER = (
    "model_added",
    "model_removed",
    "provider_added",
    "provider_removed",
    "price_changed",
    "data_policy_changed",
    "context_window_changed",
    "endpoints_changed",
    "field_changed",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


def diff_catalogs(old: Catalog | None, new: Catalog) -> list[Change]:
    """Every change from `old` to `new`; a first state (`old` is None) has no changes."""
    if old is None:
        return []
    changes: list[Change] = []
    old_models, new_models = old.models, new.models
    for model_id in old_models.keys() - new_models.keys():
        changes.append(_record("model_removed", model_id, old=old_models[model_id].to_record()))
    for model_id in new_models.keys() - old_models.keys():
        changes.append(_record("model_added", model_id, new=new_models[model_id].to_record()))
    for model_id in old_models.keys() & new_models.keys():
        before, after = old_models[model_id], new_models[model_id]
        if before is not after and before != after:
            changes.extend(_diff_model(before, after))
    changes.extend(_diff_extra(old.extra, new.extra, model=None, provider=None))
    return sort_changes(changes)


def sort_changes(changes: list[Change]) -> list[Change]:
    """Sort records by kind (guide order, unknown kinds last), model, provider, field."""
    return sorted(
        changes,
        key=lambda c: (
            _KIND_RANK.get(c["kind"], len(KIND_ORDER)),
            c["kind"],
            c["model"] or "",
            c["provider"] or "",
            c["field"] or "",
        ),
    )


def _record(
    kind: str,
    model: str | None,
    provider: str | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> Change:
    return {"kind": kind, "model": model, "provider": provider, "field": field,
            "old": old, "new": new}


def _diff_model(before: Model, after: Model) -> list[Change]:
    mid = before.id
    changes: list[Change] = []
    if before.context_window != after.context_window:
        changes.append(_record("context_window_changed", mid, field="context_window",
                               old=before.context_window, new=after.context_window))
    if before.supported_endpoints != after.supported_endpoints:
        changes.append(_record(
            "endpoints_changed", mid, field="supported_endpoints",
            old=_endpoint_list(before.supported_endpoints),
            new=_endpoint_list(after.supported_endpoints),
        ))
    for name in ("created", "owned_by"):
        if getattr(before, name) != getattr(after, name):
            changes.append(_record("field_changed", mid, field=name,
                                   old=getattr(before, name), new=getattr(after, name)))
    changes.extend(_diff_extra(before.extra, after.extra, model=mid, provider=None))

    old_providers, new_providers = before.providers, after.providers
    for name in old_providers.keys() - new_providers.keys():
        changes.append(_record("provider_removed", mid, name,
                               old=old_providers[name].to_record()))
    for name in new_providers.keys() - old_providers.keys():
        changes.append(_record("provider_added", mid, name, new=new_providers[name].to_record()))
    for name in old_providers.keys() & new_providers.keys():
        if old_providers[name] != new_providers[name]:
            changes.extend(_diff_provider(mid, old_providers[name], new_providers[name]))
    return changes


def _diff_provider(model_id: str, before: Provider, after: Provider) -> list[Change]:
    changes: list[Change] = []
    for price_field in ("input_price", "output_price"):
        old_price: Decimal = getattr(before, price_field)
        new_price: Decimal = getattr(after, price_field)
        if old_price != new_price:
            change = _record("price_changed", model_id, before.name, price_field,
                             decimal_to_json(old_price), decimal_to_json(new_price))
            change["change_pct"] = change_pct(old_price, new_price)
            changes.append(change)
    if before.data_policy != after.data_policy:
        change = _record("data_policy_changed", model_id, before.name, "data_policy",
                         before.data_policy, after.data_policy)
        change["weakened"] = policy_weakened(before.data_policy, after.data_policy)
        change["became_unknown"] = policy_became_unknown(before.data_policy, after.data_policy)
        changes.append(change)
    changes.extend(_diff_extra(before.extra, after.extra, model=model_id, provider=before.name))
    return changes


def change_pct(old: Decimal, new: Decimal) -> float | None:
    """Percent change rounded to 2 places; None when the old price was zero."""
    if old == 0:
        return None
    return float(round((new - old) / old * 100, 2))


def policy_weakened(old: str | None, new: str | None) -> bool:
    """True when both policies are known and the new one is weaker (zdr > no_training > none)."""
    old_rank = POLICY_RANK.get(old) if old is not None else None
    new_rank = POLICY_RANK.get(new) if new is not None else None
    return old_rank is not None and new_rank is not None and new_rank < old_rank


def policy_became_unknown(old: str | None, new: str | None) -> bool:
    """True when a known policy became null or a value outside the documented ones."""
    return old in POLICY_RANK and new not in POLICY_RANK


def _endpoint_list(endpoints: tuple[str, ...] | None) -> list[str] | None:
    return sorted(endpoints) if endpoints is not None else None


def _diff_extra(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    model: str | None,
    provider: str | None,
    prefix: str = "",
) -> list[Change]:
    """`field_changed` records for unknown fields, descending into objects as dotted paths."""
    changes: list[Change] = []
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if before == after and (key in old) == (key in new):
            continue
        path = f"{prefix}{key}"
        if isinstance(before, dict) and isinstance(after, dict):
            changes.extend(_diff_extra(before, after, model=model, provider=provider,
                                       prefix=f"{path}."))
        else:
            changes.append(_record("field_changed", model, provider, path, before, after))
    return changes
