"""Rendering: change records and reports as Markdown, HTML, CSV, Atom or a summary.

>>> diff = {"from": None, "to": {"id": 1, "catalog_version": "2026-11-02.1",
...         "content_hash": "ab12", "first_observed_at": "2026-11-02T09:00:00Z",
...         "model_count": 3}, "changes": []}
>>> summarize(diff)
'catalog 2026-11-02.1 (first snapshot): no changes.'

Every function takes plain JSON (the shapes the guide documents) and returns text. HTML pages
are self-contained (inline CSS, no scripts, a strict Content-Security-Policy); every remote
string is escaped: autoescaping for HTML and Atom, ``md_escape`` for Markdown, a quote before
formula-like CSV cells.
"""

from __future__ import annotations

from typing import Any

from .changelog import render_html, render_markdown, summary

__all__ = [
    "audit_csv",
    "audit_html",
    "audit_markdown",
    "changelog_html",
    "changelog_markdown",
    "current_csv",
    "current_html",
    "current_markdown",
    "feed_atom",
    "history_html",
    "history_text",
    "report_html",
    "report_markdown",
    "summarize",
]

NavLinks = list[tuple[str, str, bool]] | None


def changelog_markdown(diff: dict[str, Any]) -> str:
    """The diff as a Markdown changelog; every remote string is escaped with ``md_escape``."""
    return render_markdown(diff)


def changelog_html(diff: dict[str, Any], *, nav: NavLinks = None) -> str:
    """The diff as one self-contained HTML page: inline CSS, no scripts, a strict CSP."""
    return render_html(diff, nav=nav)


def summarize(diff: dict[str, Any]) -> str:
    """One plain-text paragraph for the terminal: counts per kind and the biggest price moves."""
    return summary(diff)


def report_markdown(report: dict[str, Any]) -> str:
    """A window report (the guide's report JSON, one source or several) as Markdown."""
    from .report import render_report_markdown

    return render_report_markdown(report)


def report_html(report: dict[str, Any], *, nav: NavLinks = None,
                kicker: str = "Catalog report") -> str:
    """A window report as one page, leading with the biggest moves, weakenings, models gone."""
    from .report import render_report_html

    return render_report_html(report, nav=nav, kicker=kicker)


def audit_markdown(audit: dict[str, Any]) -> str:
    """``{"since", "until", "sources", "records"}`` as a Markdown audit trail."""
    from .audit import audit_markdown as render

    return render(audit)


def audit_html(audit: dict[str, Any], *, nav: NavLinks = None) -> str:
    from .audit import audit_html as render

    return render(audit, nav=nav)


def audit_csv(records: list[dict[str, Any]]) -> str:
    """Audit records as CSV for spreadsheets (formula-like cells neutralized)."""
    from .audit import audit_csv as render

    return render(records)


def current_markdown(current: dict[str, Any]) -> str:
    """The data policies as they stand (``tracker audit --current``) as Markdown."""
    from .audit import current_markdown as render

    return render(current)


def current_html(current: dict[str, Any], *, nav: NavLinks = None) -> str:
    from .audit import current_html as render

    return render(current, nav=nav)


def current_csv(current: dict[str, Any]) -> str:
    from .audit import current_csv as render

    return render(current)


def history_text(history: dict[str, Any]) -> str:
    """One model's history (``ModelHistory.to_json()``) as terminal text."""
    from .history import history_text as render

    return render(history)


def history_html(histories: dict[str, Any] | list[dict[str, Any]], *,
                 nav: NavLinks = None) -> str:
    """One model's history page (one history per source) with step charts in inline SVG."""
    from .history import history_html as render

    return render(histories, nav=nav)


def feed_atom(events: list[dict[str, Any]], **options: Any) -> str:
    """Transitions (newest first) as an Atom 1.0 feed; see ``reports.feed.render_feed``."""
    from .feed import render_feed

    return render_feed(events, **options)
