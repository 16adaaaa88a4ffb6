"""Changelog rendering: a diff (the guide's change-record JSON) as Markdown, HTML or a summary.

>>> diff = {"from": None, "to": {"id": 1, "catalog_version": "2026-11-02.1",
...         "content_hash": "ab12", "first_observed_at": "2026-11-02T09:00:00Z",
...         "model_count": 3}, "changes": []}
>>> summarize(diff)
'catalog 2026-11-02.1 (first snapshot): no changes.'
"""

from __future__ import annotations

from typing import Any

from .changelog import render_html, render_markdown, summary

__all__ = ["changelog_html", "changelog_markdown", "summarize"]


def changelog_markdown(diff: dict[str, Any]) -> str:
    """The diff as a Markdown changelog; every remote string is escaped with ``md_escape``."""
    return render_markdown(diff)


def changelog_html(diff: dict[str, Any]) -> str:
    """The diff as one self-contained HTML page: inline CSS, no scripts, a strict CSP."""
    return render_html(diff)


def summarize(diff: dict[str, Any]) -> str:
    """One plain-text paragraph for the terminal: counts per kind and the biggest price moves."""
    return summary(diff)
