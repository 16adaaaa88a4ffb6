"""Every rendering of the tool's output, reached through one lookup: `render(document, fmt, data)`.

>>> diff = {"from": None, "to": {"id": 1, "catalog_version": "2026-11-02.1",
...         "content_hash": "ab12", "first_observed_at": "2026-11-02T09:00:00Z",
...         "model_count": 3}, "changes": []}
>>> render("changelog", "summary", diff)
'catalog 2026-11-02.1 (first snapshot): no changes.'
>>> ("changelog", "md") in RENDERERS and ("audit", "csv") in RENDERERS
True

Every renderer takes plain JSON (the shapes the guide documents) and returns text. HTML pages
are self-contained (inline CSS, no scripts, a strict Content-Security-Policy); every remote
string is escaped: autoescaping for HTML and Atom, ``md_escape`` for Markdown, a quote before
formula-like CSV cells, visible escapes for the terminal. Modules are imported on first use, so
a run that prints one line never loads Jinja2.

| document | formats | data |
| --- | --- | --- |
| changelog | md, html, summary, text | a diff (text: for a terminal) |
| report | md, html | a window report |
| audit | md, html, csv | ``{"since", "until", "sources", "records"}`` (csv: the records) |
| current | md, html, csv | the policies as they stand (``audit --current``) |
| history | text, html | one model's history (html: one per source) |
| effective | text, csv | effective offers (text: ``EffectiveReport.document()``; csv: the rows) |
| feed | atom | transitions, newest first |
| site_index, site_models | html | the static site's index pages |
| run, snapshots, sources, status, import, demo | text | terminal output of those commands |
| price | text | the offers that held at a moment (``tracker price``) |
| status | openmetrics | health as OpenMetrics text for Prometheus |
| export | jsonl, csv | rows of ``tracker export`` (``export.export_lines`` streams them) |

Any document renders as ``json`` too: indented JSON of the data, times as ISO text.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["RENDERERS", "render", "to_json_text"]

NavLinks = list[tuple[str, str, bool]] | None

# (document, format) -> "module:function" inside this package.
RENDERERS: dict[tuple[str, str], str] = {
    ("changelog", "md"): "changelog:render_markdown",
    ("changelog", "html"): "changelog:render_html",
    ("changelog", "summary"): "changelog:summary",
    ("changelog", "text"): "terminal:changelog_text",
    ("report", "md"): "report:render_report_markdown",
    ("report", "html"): "report:render_report_html",
    ("audit", "md"): "audit:audit_markdown",
    ("audit", "html"): "audit:audit_html",
    ("audit", "csv"): "audit:audit_csv",
    ("current", "md"): "audit:current_markdown",
    ("current", "html"): "audit:current_html",
    ("current", "csv"): "audit:current_csv",
    ("history", "text"): "history:history_text",
    ("history", "html"): "history:history_html",
    ("effective", "text"): "effective:effective_text",
    ("effective", "csv"): "effective:effective_csv",
    ("feed", "atom"): "feed:render_feed",
    ("site_index", "html"): "site_pages:site_index_html",
    ("site_models", "html"): "site_pages:site_models_html",
    ("run", "text"): "terminal:run_text",
    ("snapshots", "text"): "terminal:snapshots_text",
    ("sources", "text"): "terminal:sources_text",
    ("status", "text"): "terminal:status_text",
    ("import", "text"): "terminal:import_text",
    ("demo", "text"): "terminal:demo_text",
    ("price", "text"): "terminal:price_text",
    ("status", "openmetrics"): "metrics:status_openmetrics",
    ("export", "jsonl"): "export:export_jsonl",
    ("export", "csv"): "export:export_csv",
}


def render(document: str, fmt: str, data: Any, **options: Any) -> str:
    """`data` as `document` in format `fmt`; `options` go to the renderer (e.g. `nav`)."""
    if fmt == "json":
        return to_json_text(data)
    try:
        target = RENDERERS[(document, fmt)]
    except KeyError:
        raise ValueError(f"no {fmt} rendering of {document}") from None
    module, _, name = target.partition(":")
    function = getattr(import_module(f"{__name__}.{module}"), name)
    text: str = function(data, **options)
    return text


def to_json_text(value: Any) -> str:
    """Indented JSON, as every `--format json` prints it (times and decimals as text)."""
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()
