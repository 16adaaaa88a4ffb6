"""The data-policy audit trail and the policies as they stand, as Markdown, HTML and CSV.

Input is plain JSON: the audit records of `tracker.reporting.audit` (the guide's audit record
plus ``became_unknown`` and ``source``) with the window they cover, or the current policies of
`tracker.reporting.current_policies`. CSV goes through the csv module, and every text cell
that a spreadsheet would read as a formula (``= + - @``, tab, carriage return) is prefixed
with a single quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .changelog import tidy_markdown
from .env import html_env, markdown_env
from .format import format_time, policy_label, visible
from .phrases import FLAG_WORDS, policy_flag, restored_text

__all__ = [
    "audit_csv",
    "audit_html",
    "audit_markdown",
    "csv_text",
    "current_csv",
    "current_html",
    "current_markdown",
    "spreadsheet_safe",
]

AUDIT_CSV_COLUMNS = ("observed_at", "source", "catalog_version", "previous_catalog_version",
                     "model", "provider", "old", "new", "weakened", "became_unknown",
                     "strengthened", "restored", "weakened_at")
CURRENT_CSV_COLUMNS = ("source", "as_of", "catalog_version", "model", "provider",
                       "data_policy", "input_price", "output_price", "model_only_none")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that no spreadsheet evaluates: text starting like a formula gets a quote;
    bidi controls and invisible or look-alike characters become visible escapes (`visible`),
    so that two ids that look the same in a spreadsheet can be told apart."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str):
        value = visible(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(column)) for column in columns])
    return out.getvalue()


@dataclass(frozen=True)
class AuditRow:
    observed_at: str
    source: str
    version: str
    model: str
    provider: str
    old: str
    new: str
    weakened: bool
    became_unknown: bool
    flag: str = ""  # phrases.policy_flag: weakened, became_unknown, restored, strengthened
    restores: str = ""  # a restoration: "undoes the weakening of 2026-11-03, 3 days earlier"

    @property
    def flag_words(self) -> str:
        return FLAG_WORDS.get(self.flag, "")


@dataclass
class ProviderTally:
    provider: str
    changes: int = 0
    weakened: int = 0
    unknown: int = 0


@dataclass
class AuditView:
    since: str | None  # None: all history
    until: str
    sources: list[str]
    rows: list[AuditRow]
    by_provider: list[ProviderTally] = field(default_factory=list)

    @property
    def multi(self) -> bool:
        return len(self.sources) > 1

    @property
    def weakened(self) -> list[AuditRow]:
        return [r for r in self.rows if r.weakened]

    @property
    def unknown(self) -> list[AuditRow]:
        return [r for r in self.rows if r.became_unknown and not r.weakened]

    @property
    def restored(self) -> list[AuditRow]:
        return [r for r in self.rows if r.flag == "restored"]

    @property
    def strengthened(self) -> list[AuditRow]:
        """Strengthenings, restorations included."""
        return [r for r in self.rows if r.flag in ("restored", "strengthened")]

    def title(self, arrow: str = "to", *, heading: bool = False) -> str:
        """`all history up to 2026-11-06 09:00 UTC` (capitalized as a `heading`), or
        `<since> to <until>`."""
        if self.since is None:
            return f"{'All' if heading else 'all'} history up to {self.until}"
        return f"{self.since} {arrow} {self.until}"


def build_audit_view(audit: dict[str, Any]) -> AuditView:
    """``audit`` is ``{"since", "until", "sources": [names], "records": [...]}``."""
    rows: list[AuditRow] = []
    tallies: dict[str, ProviderTally] = {}
    for record in audit.get("records") or []:
        version = record.get("catalog_version")
        row = AuditRow(
            observed_at=format_time(record.get("observed_at")),
            source=str(record.get("source") or ""),
            version=str(version) if version is not None else "(unversioned)",
            model=str(record.get("model") or ""),
            provider=str(record.get("provider") or ""),
            old=policy_label(record.get("old")),
            new=policy_label(record.get("new")),
            weakened=record.get("weakened") is True,
            became_unknown=record.get("became_unknown") is True,
            flag=policy_flag(record),
            restores=(restored_text(record.get("weakened_at"), record.get("observed_at"))
                      if policy_flag(record) == "restored" else ""),
        )
        rows.append(row)
        tally = tallies.setdefault(row.provider, ProviderTally(row.provider))
        tally.changes += 1
        tally.weakened += row.weakened
        tally.unknown += row.became_unknown and not row.weakened
    since = audit.get("since")
    return AuditView(
        since=format_time(since) if since else None,
        until=format_time(audit.get("until")),
        sources=[str(s) for s in audit.get("sources") or []],
        rows=rows,
        by_provider=sorted(tallies.values(),
                           key=lambda t: (-t.weakened, -t.unknown, -t.changes, t.provider)),
    )


def audit_markdown(audit: dict[str, Any]) -> str:
    view = build_audit_view(audit)
    return tidy_markdown(markdown_env().get_template("audit.md.j2").render(view=view))


def audit_html(audit: dict[str, Any], *, nav: list[tuple[str, str, bool]] | None = None) -> str:
    return html_env().get_template("audit.html.j2").render(view=build_audit_view(audit), nav=nav)


def audit_csv(records: Iterable[dict[str, Any]]) -> str:
    return csv_text(AUDIT_CSV_COLUMNS, records)


# --- the policies as they stand ---


@dataclass(frozen=True)
class ModelPolicies:
    model: str
    providers: list[tuple[str, str]]  # (provider, policy label)


@dataclass
class PolicyTally:
    provider: str
    zdr: int = 0
    no_training: int = 0
    none: int = 0
    unknown: int = 0


@dataclass
class CurrentSource:
    name: str
    as_of: str
    snapshot: str
    observed_at: str
    models: int
    counts: dict[str, int]
    only_none: list[ModelPolicies]
    no_known_protection: list[ModelPolicies]
    by_provider: list[PolicyTally]


@dataclass
class CurrentView:
    as_of: str
    sources: list[CurrentSource]

    @property
    def multi(self) -> bool:
        return len(self.sources) > 1


def _current_source(data: dict[str, Any]) -> CurrentSource:
    snapshot = data.get("snapshot") or {}
    policies = [p for p in data.get("policies") or [] if isinstance(p, dict)]
    tallies: dict[str, PolicyTally] = {}
    for offer in policies:
        tally = tallies.setdefault(str(offer.get("provider")), PolicyTally(str(offer["provider"])))
        policy = offer.get("data_policy")
        if policy == "zdr":
            tally.zdr += 1
        elif policy == "no_training":
            tally.no_training += 1
        elif policy == "none":
            tally.none += 1
        else:
            tally.unknown += 1

    def entries(key: str) -> list[ModelPolicies]:
        return [
            ModelPolicies(str(item.get("model")), [
                (str(p.get("provider")), policy_label(p.get("data_policy")))
                for p in item.get("providers") or []
            ])
            for item in data.get(key) or []
        ]

    from .format import snapshot_label

    return CurrentSource(
        name=str(data.get("source") or ""),
        as_of=format_time(data.get("as_of")),
        snapshot=snapshot_label(snapshot) if snapshot else "",
        observed_at=format_time(data.get("observed_at") or snapshot.get("first_observed_at"))
        if snapshot else "",
        models=int(snapshot.get("model_count") or 0) if snapshot else 0,
        counts=dict(data.get("counts") or {}),
        only_none=entries("only_none"),
        no_known_protection=entries("no_known_protection"),
        by_provider=sorted(tallies.values(), key=lambda t: (-t.none, -t.unknown, t.provider)),
    )


def build_current_view(current: dict[str, Any]) -> CurrentView:
    sources = current.get("sources", [current])
    return CurrentView(format_time(current.get("as_of")), [_current_source(s) for s in sources])


def current_markdown(current: dict[str, Any]) -> str:
    view = build_current_view(current)
    return tidy_markdown(markdown_env().get_template("audit_current.md.j2").render(view=view))


def current_html(current: dict[str, Any], *,
                 nav: list[tuple[str, str, bool]] | None = None) -> str:
    return html_env().get_template("audit_current.html.j2").render(
        view=build_current_view(current), nav=nav)


def current_csv(current: dict[str, Any]) -> str:
    sources = current.get("sources", [current])
    rows: list[dict[str, Any]] = []
    for data in sources:
        only_none = {str(item.get("model")) for item in data.get("only_none") or []}
        version = (data.get("snapshot") or {}).get("catalog_version")
        for offer in data.get("policies") or []:
            rows.append({
                "source": data.get("source"), "as_of": data.get("as_of"),
                "catalog_version": version, "model": offer.get("model"),
                "provider": offer.get("provider"), "data_policy": offer.get("data_policy"),
                "input_price": offer.get("input_price"),
                "output_price": offer.get("output_price"),
                "model_only_none": str(offer.get("model")) in only_none,
            })
    return csv_text(CURRENT_CSV_COLUMNS, rows)

