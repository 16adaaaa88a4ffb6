"""Pure diff: two catalog states in, change records out. No I/O, no database.

>>> from tracker.catalog import parse_catalog
>>> from tracker.demo import demo_catalogs
>>> old, new = (parse_catalog(body) for body in demo_catalogs()[1:3])
>>> changes = diff_catalogs(old, new)
>>> sorted({c["kind"] for c in changes})
['data_policy_changed', 'provider_added', 'provider_removed']

Records follow the guide's schema (`kind`, `model`, `provider`, `field`, `old`, `new`, plus
`change_pct` for prices and `weakened` / `became_unknown` / `strengthened` for data
policies), in a deterministic order: kind (in the order below), model, provider, field.

Fields the schema does not know (`field_changed`, `shutdown_announced`) are reported by path:
the keys from the catalog, model or provider down to the value, joined with `.`, descending
into a value only when it is an object on both sides. So that every path names exactly one
place, a `~` in a key is written `~0` and a `.` is written `~1` (as JSON Pointer escapes `~`
and `/`; a NUL character, which PostgreSQL text cannot hold, is written `~2`): the key
`"cache.read"` inside `"pricing"` is the path `pricing.cache~1read`, while
`pricing.cache.read` is `{"pricing": {"cache": {"read": ...}}}`. Keys without `.` or `~`
(nearly all of them) read as they always did.

A field that exists on one side only carries `"absent": "old"` (it did not exist before) or
`"absent": "new"` (it was removed); its missing side is null in `old` / `new`. Without the key,
both sides exist, and a null is a JSON null. Values compare as JSON, as the content hash
does: `true` is not `1`, and `1` is not `1.0`.

`apply_changes(old, diff_catalogs(old, new))` rebuilds `new`: replay a changelog with it.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Context, Decimal
from typing import Any

import orjson

from tracker.catalog import (
    POLICY_RANK,
    Catalog,
    Model,
    Provider,
    decimal_to_json,
    digest_of,
    json_number_to_decimal,
    model_from_json,
    models_not_reused,
    provider_from_json,
)

Change = dict[str, Any]

KIND_ORDER = (
    "shutdown_announced",  # first: users need to migrate before the date
    "model_added",
    "model_removed",
    "provider_added",
    "provider_removed",
    "price_changed",
    "data_policy_changed",
    "context_window_changed",
    "endpoints_changed",
    "field_changed",
    "effective_price_changed",  # derived (tracker.effective), never in a plain diff
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}

# A date after which a model or tier stops being served (Auriko's model directory). Newly
# announced, it gets a kind of its own; a later change or withdrawal is a field_changed.
SHUTDOWN_FIELD = "shutdown_at"


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
    for model_id in models_not_reused(old_models, new_models):
        before, after = old_models[model_id], new_models[model_id]
        if _models_differ(before, after):
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
        if _providers_differ(old_providers[name], new_providers[name]):
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
        change["strengthened"] = policy_strengthened(before.data_policy, after.data_policy)
        changes.append(change)
    changes.extend(_diff_extra(before.extra, after.extra, model=model_id, provider=before.name))
    return changes


def change_pct(old: Decimal, new: Decimal) -> float | None:
    """Percent change rounded to 2 places; None when the old price was zero (or the move is
    beyond what a float holds). A move too small for 2 places keeps 2 significant digits, so
    a price change never reads 0.0%.

    >>> change_pct(Decimal("2.5"), Decimal("2")), change_pct(Decimal("100"), Decimal("100.001"))
    (-20.0, 0.001)
    """
    if old == 0:
        return None
    pct = (new - old) / old * 100
    # Rounding to 2 places keeps every digit before the point: a context wide enough for it
    # (the default 28 digits raise InvalidOperation for a price that went from 1e-30 to 1).
    rounded = float(pct.quantize(_CENT, context=Context(prec=max(28, pct.adjusted() + 3))))
    if rounded == 0 and pct != 0:
        rounded = float(Context(prec=2).plus(pct))
    return rounded if math.isfinite(rounded) else None


_CENT = Decimal("0.01")


def policy_weakened(old: str | None, new: str | None) -> bool:
    """True when both policies are known and the new one is weaker (zdr > no_training > none)."""
    old_rank = POLICY_RANK.get(old) if old is not None else None
    new_rank = POLICY_RANK.get(new) if new is not None else None
    return old_rank is not None and new_rank is not None and new_rank < old_rank


def policy_strengthened(old: str | None, new: str | None) -> bool:
    """True when both policies are known and the new one is stronger (the reverse of
    `policy_weakened`)."""
    return policy_weakened(new, old)


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
    """`field_changed` records for unknown fields, descending into objects as dotted paths
    (keys escaped, see the module docstring); a field on one side only says which is absent."""
    changes: list[Change] = []
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if key in old and key in new and _same_json(before, after):
            continue
        path = f"{prefix}{_escape_key(key)}"
        if isinstance(before, dict) and isinstance(after, dict):
            changes.extend(_diff_extra(before, after, model=model, provider=provider,
                                       prefix=f"{path}."))
            continue
        if key == SHUTDOWN_FIELD and before is None and after is not None:
            change = _record("shutdown_announced", model, provider, path, before, after)
        else:
            change = _record("field_changed", model, provider, path, before, after)
        if key not in old:
            change["absent"] = "old"
        elif key not in new:
            change["absent"] = "new"
        changes.append(change)
    return changes


_ESCAPES = {"~": "~0", ".": "~1", "\x00": "~2"}
_UNESCAPES = {escaped: char for char, escaped in _ESCAPES.items()}


def _escape_key(key: str) -> str:
    """One key as a path segment: `~` as `~0`, `.` as `~1` (JSON Pointer's way), NUL as `~2`."""
    return re.sub(r"[~.\x00]", lambda m: _ESCAPES[m.group()], key)


def _split_path(path: str) -> list[str]:
    """The keys of a dotted path, unescaped (the inverse of joining `_escape_key`s)."""
    return [re.sub(r"~[012]", lambda m: _UNESCAPES[m.group()], part) for part in path.split(".")]


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON, as the content hash sees it: `true` is not `1`, `1` is not `1.0`."""
    if a != b:
        return False
    sort = orjson.OPT_SORT_KEYS
    return orjson.dumps(a, option=sort) == orjson.dumps(b, option=sort)


def _models_differ(before: Model, after: Model) -> bool:
    if before is after:
        return False
    if before.digest and after.digest:
        return before.digest != after.digest
    # Python's == takes `true` for `1` in unknown fields; the digest (as the hash) does not.
    return before != after or digest_of(before) != digest_of(after)


def _providers_differ(before: Provider, after: Provider) -> bool:
    return before != after or not _same_json(before.canonical(), after.canonical())


# --- replaying changes ---


def apply_changes(catalog: Catalog, changes: Iterable[Change]) -> Catalog:
    """`catalog` with the change records applied: the inverse of `diff_catalogs`.

    `apply_changes(old, diff_catalogs(old, new))` equals `new`, unknown fields included (a
    removed field is told from a null one by the records' `absent` key). Records may come in
    any order, as `diff_catalogs` returns them or as JSON (`tracker diff --format json`), so a
    changelog can be replayed from a known state. The `catalog_version` is the snapshot's
    identity, not content, and is not among the records: the result keeps `catalog`'s (use
    `dataclasses.replace` to set the target's).

    >>> from tracker.catalog import parse_catalog
    >>> from tracker.demo import demo_catalogs
    >>> old, new = (parse_catalog(body) for body in demo_catalogs()[1:3])
    >>> replayed = apply_changes(old, diff_catalogs(old, new))
    >>> replayed.models == new.models
    True

    Raises `ValueError` when a record does not fit the catalog: an unknown kind, or a model,
    provider or field that is not there.
    """
    models = dict(catalog.models)
    extra = dict(catalog.extra)
    for change in changes:
        try:
            if change["model"] is None:
                extra = _apply_to_fields(extra, change)
            else:
                _apply_to_models(models, change)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(
                f"change does not apply to this catalog ({exc!r}): {change!r}"
            ) from None
    return Catalog(models=models, catalog_version=catalog.catalog_version, extra=extra)


def model_from_record(record: Mapping[str, Any]) -> Model:
    """The model of a `model_added` / `model_removed` record (the inverse of `to_record`).

    A record has the payload's shape, so it is normalized as a payload is; copied first, so
    the catalog shares nothing with records the caller may still change.
    """
    return model_from_json(copy.deepcopy(dict(record)))


def provider_from_record(record: Mapping[str, Any]) -> Provider:
    """The provider of a `provider_added` / `provider_removed` record (or of a model record)."""
    return provider_from_json(copy.deepcopy(dict(record)))


_MODEL_ATTRIBUTES = frozenset({"created", "owned_by"})  # model-level field_changed, not extra


def _apply_to_models(models: dict[str, Model], change: Change) -> None:
    kind, model_id, name = change["kind"], change["model"], change["provider"]
    if kind == "model_added":
        models[model_id] = model_from_record(change["new"])
        return
    if kind == "model_removed":
        del models[model_id]
        return
    model = models[model_id]
    if name is not None:
        providers = dict(model.providers)
        if kind == "provider_added":
            providers[name] = provider_from_record(change["new"])
        elif kind == "provider_removed":
            del providers[name]
        else:
            providers[name] = _apply_to_provider(providers[name], change)
        models[model_id] = _rebuilt(model, providers=providers)
    elif kind == "context_window_changed":
        models[model_id] = _rebuilt(model, context_window=change["new"])
    elif kind == "endpoints_changed":
        endpoints = change["new"]
        models[model_id] = _rebuilt(
            model, supported_endpoints=tuple(sorted(endpoints)) if endpoints is not None else None
        )
    elif kind == "field_changed" and change["field"] in _MODEL_ATTRIBUTES:
        models[model_id] = _rebuilt(model, **{change["field"]: change["new"]})
    else:
        models[model_id] = _rebuilt(model, extra=_apply_to_fields(model.extra, change))


def _apply_to_provider(provider: Provider, change: Change) -> Provider:
    kind = change["kind"]
    if kind == "price_changed":
        price = json_number_to_decimal(change["new"])
        if change["field"] == "input_price":
            return replace(provider, input_price=price)
        if change["field"] == "output_price":
            return replace(provider, output_price=price)
        raise KeyError(change["field"])
    if kind == "data_policy_changed":
        return replace(provider, data_policy=change["new"])
    return replace(provider, extra=_apply_to_fields(provider.extra, change))


def _apply_to_fields(extra: Mapping[str, Any], change: Change) -> dict[str, Any]:
    """Unknown fields with one `field_changed` (or `shutdown_announced`) record applied."""
    if change["kind"] not in ("field_changed", "shutdown_announced"):
        raise ValueError(f"unknown change kind {change['kind']!r}: {change!r}")
    return _with_path(extra, _split_path(change["field"]), change)


def _with_path(fields: Mapping[str, Any], keys: list[str], change: Change) -> dict[str, Any]:
    """A copy of `fields` with the value at `keys` set (or removed), copying only that path."""
    result = dict(fields)
    key, *rest = keys
    if rest:
        child = result[key]
        if not isinstance(child, Mapping):
            raise TypeError(f"{key!r} is not an object")
        result[key] = _with_path(child, rest, change)
    elif change.get("absent") == "new":
        del result[key]
    else:
        result[key] = copy.deepcopy(change["new"])
    return result


def _rebuilt(model: Model, **fields: Any) -> Model:
    """The model with `fields` replaced and its digest computed afresh."""
    changed = replace(model, digest=b"", **fields)
    return replace(changed, digest=digest_of(changed))
