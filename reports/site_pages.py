"""Pages of the static site that only the site has: the index of transitions and the index
of models. (The site's other pages are the changelog, report, audit and history pages.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .env import html_env
from .format import format_price

__all__ = ["site_index_html", "site_models_html"]

NavLinks = list[tuple[str, str, bool]] | None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def site_index_html(rows: list[dict[str, Any]], *, sources: list[dict[str, Any]],
                    weeks: list[tuple[str, str, str]], generated: datetime,
                    nav: NavLinks = None) -> str:
    """``rows``: transitions newest first (observed_at, source, before, after, reverted,
    summary, weakened, href); ``weeks``: (label, href, summary) newest first."""
    shown = [{**row, "when": _when(row["observed_at"])} for row in rows]
    info = [{**s, "first_text": _when(s["first"]), "last_text": _when(s["last"])}
            for s in sources]
    return html_env().get_template("site_index.html.j2").render(
        rows=shown, sources=info, weeks=weeks, generated=_when(generated), nav=nav,
        multi=len(sources) > 1,
    )


def site_models_html(models: list[dict[str, Any]], *, sources: list[str],
                     nav: NavLinks = None) -> str:
    """``models``: id, href, sources, current, providers, cheapest_input/output, last_change."""
    shown = [{
        **m,
        "input_text": format_price(m["cheapest_input"]) if m["cheapest_input"] is not None
        else "—",
        "output_text": format_price(m["cheapest_output"]) if m["cheapest_output"] is not None
        else "—",
        "last_text": _when(m["last_change"]),
    } for m in models]
    current = sum(1 for m in models if m["current"])
    return html_env().get_template("site_models.html.j2").render(
        models=shown, sources=sources, nav=nav, current=current, multi=len(sources) > 1,
    )
