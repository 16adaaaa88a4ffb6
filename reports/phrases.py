"""The words for changes, defined once: how kinds are counted ("3 price changes, 1 data-policy
change (1 weakened)") and the one Markdown sentence for a change. The CLI, the log lines, the
notifications and every report use these.

>>> count_text([{"kind": "price_changed"}, {"kind": "price_changed"},
...             {"kind": "data_policy_changed", "old": "zdr", "new": "none", "weakened": True}])
'2 price changes, 1 data-policy change (1 weakened)'
>>> markdown_line({"kind": "price_changed", "model": "gpt-4o", "provider": "openai",
...                "field": "input_price", "old": 2.5, "new": 2.0, "change_pct": -20.0})
'**gpt-4o** on openai: input price $2.50 → $2.00 (-20.0%)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .format import format_count, format_json, format_pct, format_price, md_escape, policy_label

__all__ = [
    "FLAG_WORDS",
    "KIND_LABELS",
    "Count",
    "became_unknown",
    "by_model",
    "count_text",
    "counts",
    "days_between",
    "effective_reason",
    "markdown_line",
    "offer_words",
    "plural",
    "plural_word",
    "policy_flag",
    "restored_text",
    "reused_version",
    "reused_version_text",
    "strengthened",
]

_RANKED_POLICIES = ("zdr", "no_training", "none")
_RANK = {policy: rank for rank, policy in enumerate(reversed(_RANKED_POLICIES))}

# How a data-policy change is flagged (`policy_flag`), in words; "" is not flagged.
FLAG_WORDS: dict[str, str] = {
    "weakened": "weakened",
    "became_unknown": "became unknown",
    "restored": "restored",
    "strengthened": "strengthened",
}


def plural_word(count: int, one: str, many: str) -> str:
    """The word alone, for a count shown apart (a page's card): `policy became unknown`."""
    return one if count == 1 else many


def plural(count: int, one: str, many: str) -> str:
    """`1 policy became unknown`, `2 policies became unknown`.

    >>> plural(1, "policy became unknown", "policies became unknown")
    '1 policy became unknown'
    """
    return f"{count} {one if count == 1 else many}"

# Known kinds in the order their counts and sections appear (money first), with the
# singular and plural label of a count.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "effective_price_changed": ("effective-price change", "effective-price changes"),
    "price_changed": ("price change", "price changes"),
    "data_policy_changed": ("data-policy change", "data-policy changes"),
    "model_added": ("model added", "models added"),
    "model_removed": ("model removed", "models removed"),
    "provider_added": ("provider added", "providers added"),
    "provider_removed": ("provider removed", "providers removed"),
    "context_window_changed": ("context-window change", "context-window changes"),
    "endpoints_changed": ("endpoint change", "endpoint changes"),
    "field_changed": ("other field change", "other field changes"),
}


@dataclass(frozen=True)
class Count:
    kind: str
    count: int
    label: str
    note: str = ""

    @property
    def text(self) -> str:
        return f"{self.count} {self.label}{self.note}"


def became_unknown(change: Mapping[str, Any]) -> bool:
    """A policy change to a value that is not one of the known policies (or to none given)."""
    flag = change.get("became_unknown")
    if isinstance(flag, bool):
        return flag
    old, new = change.get("old"), change.get("new")
    return old in _RANKED_POLICIES and new not in _RANKED_POLICIES


def strengthened(change: Mapping[str, Any]) -> bool:
    """A policy change up the order `zdr` > `no_training` > `none` (both sides known)."""
    flag = change.get("strengthened")
    if isinstance(flag, bool):
        return flag
    old, new = _RANK.get(str(change.get("old"))), _RANK.get(str(change.get("new")))
    return old is not None and new is not None and new > old


def policy_flag(change: Mapping[str, Any]) -> str:
    """How a data-policy change is flagged: `weakened`, `became_unknown`, `restored` (a
    strengthening that undoes the offer's last weakening), `strengthened`, or "".

    >>> policy_flag({"old": "none", "new": "zdr", "restored": True}), policy_flag(
    ...     {"old": "none", "new": "no_training"})
    ('restored', 'strengthened')
    """
    if change.get("weakened") is True:
        return "weakened"
    if became_unknown(change):
        return "became_unknown"
    if change.get("restored") is True:
        return "restored"
    return "strengthened" if strengthened(change) else ""


def days_between(earlier: object, later: object) -> int | None:
    """Whole days from one ISO time to another (None when either is missing or unreadable)."""
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(earlier).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(later).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (end - start).days if earlier and later else None


def restored_text(weakened_at: object, at: object = None) -> str:
    """What a restoration undoes: `undoes the weakening of 2026-11-03, 3 days earlier`.

    >>> restored_text("2026-11-03T09:00:00Z", "2026-11-06T09:00:00Z")
    'undoes the weakening of 2026-11-03, 3 days earlier'
    """
    if not weakened_at:
        return "undoes an earlier weakening"
    text = f"undoes the weakening of {str(weakened_at)[:10]}"
    days = days_between(weakened_at, at) if at else None
    if days is not None and days >= 1:
        text += f", {plural(days, 'day', 'days')} earlier"
    return text


def counts(kinds: Iterable[str], weakened: int, unknown: int = 0, *, restored: int = 0,
           stronger: int = 0) -> list[Count]:
    """One count per kind, known kinds in `KIND_LABELS` order, then unknown kinds by name;
    the data-policy count notes its weakened, became-unknown, restored and (other)
    strengthened changes."""
    tally: dict[str, int] = {}
    for kind in kinds:
        tally[kind] = tally.get(kind, 0) + 1
    found: list[Count] = []
    for kind, (one, many) in KIND_LABELS.items():
        n = tally.pop(kind, 0)
        if n:
            flags = [f"{weakened} weakened"] if weakened else []
            flags += [f"{unknown} became unknown"] if unknown else []
            flags += [f"{restored} restored"] if restored else []
            flags += [f"{stronger} strengthened"] if stronger else []
            note = f" ({', '.join(flags)})" if kind == "data_policy_changed" and flags else ""
            found.append(Count(kind, n, one if n == 1 else many, note))
    for kind in sorted(tally):  # kinds this version does not know yet
        found.append(Count(kind, tally[kind], kind.replace("_", " ")))
    return found


def count_text(changes: Iterable[Mapping[str, Any]]) -> str:
    """`3 price changes, 1 data-policy change (1 weakened)` or `no changes` (our own words
    only: no remote string)."""
    records = [c for c in changes if isinstance(c, Mapping)]
    if not records:
        return "no changes"
    flags = [policy_flag(c) for c in records if c.get("kind") == "data_policy_changed"]
    kinds = ["" if c.get("kind") is None else str(c.get("kind")) for c in records]
    return ", ".join(c.text for c in counts(
        kinds, flags.count("weakened"), flags.count("became_unknown"),
        restored=flags.count("restored"), stronger=flags.count("strengthened")))


def reused_version(diff: Mapping[str, Any]) -> str | None:
    """The catalog_version a transition (a diff with `version_reused`) re-served with other
    content, or None when the version was not reused."""
    if diff.get("version_reused") is not True:
        return None
    served = diff.get("served_version")
    if served is None:
        target = diff.get("to")
        served = target.get("catalog_version") if isinstance(target, Mapping) else None
    return "" if served is None else str(served)


def reused_version_text(version: str, escape: Any = str) -> str:
    """The one sentence for a version served again with other content (the version escaped
    with `escape`): `catalog version v1 was re-served with different content`.

    >>> reused_version_text("v1")
    'catalog version v1 was re-served with different content'
    """
    return f"catalog version {escape(version)} was re-served with different content"


def _model_providers(change: Mapping[str, Any]) -> list[str]:
    record = change.get("new") if change.get("kind") == "model_added" else change.get("old")
    if not isinstance(record, Mapping):
        return []
    return [str(p.get("name")) for p in record.get("providers") or [] if isinstance(p, Mapping)]


def offer_words(floor: str) -> str:
    """How an offer at a floor is named in a sentence: `zdr offer`, `no_training offer`,
    `offer` (at `any`)."""
    return "offer" if floor == "any" else f"{floor} offer"


def _price_moves(provider: str, records: list[Mapping[str, Any]]) -> str:
    moves = [f"{str(r.get('field') or '').removesuffix('_price')} {format_price(r.get('old'))}"
             f" → {format_price(r.get('new'))}" for r in records]
    return f"{provider} {', '.join(moves)}"


def by_model(changes: Iterable[Mapping[str, Any]]) -> dict[object, list[Mapping[str, Any]]]:
    """The records of a diff grouped by model: what `effective_reason` reads for one record's
    siblings (a report has thousands of records; each reason reads only its model's)."""
    grouped: dict[object, list[Mapping[str, Any]]] = {}
    for change in changes:
        grouped.setdefault(change.get("model"), []).append(change)
    return grouped


def cause_phrases(model: object, providers: Sequence[str], kinds: Iterable[str],
                  siblings: Sequence[Mapping[str, Any]]) -> list[str]:
    """The records of `siblings` (the other records of the same diff) about `model` that
    are of one of `kinds` and, but for the model's own addition or removal, about one of
    `providers`, in words: `deepinfra weakened to none`, `together input $0.88 → $0.10`,
    `groq removed` (raw: remote names unescaped)."""
    wanted = set(kinds)
    found: list[str] = []
    prices: dict[str, list[Mapping[str, Any]]] = {}
    for record in siblings:
        kind = record.get("kind")
        if kind not in wanted or record.get("model") != model:
            continue
        if kind in ("model_added", "model_removed"):
            found.append("model added" if kind == "model_added" else "model removed")
            continue
        name = str(record.get("provider") or "")
        if name not in providers:
            continue
        if kind == "price_changed":
            prices.setdefault(name, []).append(record)
        elif kind in ("provider_added", "provider_removed"):
            found.append(f"{name} {'added' if kind == 'provider_added' else 'removed'}")
        elif kind == "data_policy_changed":
            flag = policy_flag(record)
            new = policy_label(record.get("new"))
            found.append(f"{name} weakened to {new}" if flag == "weakened"
                         else f"{name} now {new}")
    found += [_price_moves(name, records) for name, records in sorted(prices.items())]
    return list(dict.fromkeys(found))


def effective_reason(change: Mapping[str, Any],
                     siblings: Sequence[Mapping[str, Any]] = ()) -> str:
    """Why an `effective_price_changed` record moved, in words, from its `causes` and the
    records beside it (`siblings`: the rest of its diff): `deepinfra weakened to none; next
    zdr offer: groq`. Raw text (remote names unescaped).

    >>> change = {"kind": "effective_price_changed", "model": "llama", "provider": "groq",
    ...           "field": "effective.zdr", "causes": ["data_policy_changed"],
    ...           "old": {"provider": "deepinfra", "blended": 0.2725},
    ...           "new": {"provider": "groq", "blended": 0.64}}
    >>> effective_reason(change, [{"kind": "data_policy_changed", "model": "llama",
    ...                            "provider": "deepinfra", "old": "zdr", "new": "none",
    ...                            "weakened": True}])
    'deepinfra weakened to none; next zdr offer: groq'
    >>> effective_reason(change)            # without the records beside it
    'deepinfra or groq: data-policy change; next zdr offer: groq'
    """
    floor = str(change.get("field") or "").removeprefix("effective.")
    old, new = change.get("old"), change.get("new")
    was = str(old.get("provider")) if isinstance(old, Mapping) else None
    now = str(new.get("provider")) if isinstance(new, Mapping) else None
    involved = [name for name in (was, now) if name is not None]
    causes = [str(c) for c in change.get("causes") or []]
    phrases = cause_phrases(change.get("model"), involved, causes, siblings)
    about_old = was is not None and any(p.startswith(f"{was} ") for p in phrases)
    if not phrases and causes:
        labels = ", ".join(KIND_LABELS.get(c, (c.replace("_", " "),))[0] for c in causes)
        who = " or ".join(dict.fromkeys(involved))
        phrases = [f"{who}: {labels}" if who and not set(causes) & {"model_added",
                                                                    "model_removed"}
                   else labels]
        about_old = bool(set(causes) & {"provider_removed", "data_policy_changed",
                                        "price_changed"})
    words = offer_words(floor)
    if now is None:
        tail = f"no {words} left"
    elif was is None:
        tail = f"cheapest {words}: {now}"
    elif was != now:
        named = any(p.startswith(f"{now} ") for p in phrases)
        tail = (f"next {words}: {now}" if about_old
                else f"now the cheapest {words}" if named
                else f"{now} is now the cheapest {words}")
    else:
        tail = ""
    return "; ".join(part for part in ("; ".join(phrases), tail) if part)


def _effective_side(offer: object) -> str:
    if not isinstance(offer, Mapping):
        return "none"
    return f"{offer.get('provider')} {format_price(offer.get('blended'))}"


def markdown_line(change: Mapping[str, Any],
                  siblings: Sequence[Mapping[str, Any]] = ()) -> str:
    """One change as a Markdown bullet's text; remote strings escaped. `siblings` (the other
    records of its diff) let an effective-price change say what moved it."""
    kind = change["kind"]
    if kind == "effective_price_changed":
        floor = str(change.get("field") or "").removeprefix("effective.")
        pct = change.get("change_pct")
        move = (format_pct(pct) if pct is not None
                else "no offer left" if change.get("new") is None else "new offer")
        return (f"**{md_escape(change.get('model'))}** at {md_escape(floor)}: effective price "
                f"{md_escape(_effective_side(change.get('old')))} → "
                f"{md_escape(_effective_side(change.get('new')))} ({move}): "
                f"{md_escape(effective_reason(change, siblings))}")
    model = f"**{md_escape(change.get('model'))}**" if change.get("model") else "catalog"
    provider = md_escape(change.get("provider")) if change.get("provider") else None
    where = f"{model} on {provider}" if provider else model
    old, new = change.get("old"), change.get("new")
    if kind == "price_changed":
        side = str(change.get("field") or "").removesuffix("_price") or "price"
        pct = change.get("change_pct")
        move = format_pct(pct) if pct is not None else "new charge"
        return f"{where}: {side} price {format_price(old)} → {format_price(new)} ({move})"
    if kind == "data_policy_changed":
        word = FLAG_WORDS.get(policy_flag(change), "")
        flag = f" (**{word}**)" if word else ""
        return (f"{where}: data policy {md_escape(policy_label(old))} → "
                f"{md_escape(policy_label(new))}{flag}")
    if kind in ("model_added", "model_removed"):
        verb = "added" if kind == "model_added" else "removed"
        names = _model_providers(change)
        via = f" ({', '.join(md_escape(n) for n in names[:5])}{', …' if len(names) > 5 else ''})"
        return f"{model} {verb}{via if names else ''}"
    if kind in ("provider_added", "provider_removed"):
        verb = "added" if kind == "provider_added" else "removed"
        return f"{model}: provider {provider} {verb}"
    if kind == "context_window_changed":
        return f"{where}: context window {format_count(old)} → {format_count(new)}"
    if kind == "endpoints_changed":
        def listing(value: Any) -> str:
            return ", ".join(md_escape(v) for v in value) if isinstance(value, list) else "none"

        return f"{where}: endpoints {listing(old)} → {listing(new)}"
    label = kind.replace("_", " ") if kind != "field_changed" else md_escape(change.get("field"))
    return (f"{where}: {label} {md_escape(format_json(old, limit=60))} → "
            f"{md_escape(format_json(new, limit=60))}")
