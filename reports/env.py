"""The Jinja2 environments every renderer shares, compiled once per process.

HTML and Atom autoescape everything; Markdown does not (it is not HTML) and escapes each remote
string with the ``md_escape`` filter instead. No template marks a remote string ``|safe``.
"""

from __future__ import annotations

from functools import cache

import jinja2

from .format import (
    format_count,
    format_pct,
    format_price,
    format_time,
    md_escape,
    plain_text,
    visible,
    xml_text,
)
from .phrases import plural_word

# The templates ship inside the installed package (tracker/reports/templates).
TEMPLATE_PACKAGE = "tracker.reports"

_FILTERS = {
    "plural": plural_word,
    "visible": visible,
    "md_escape": md_escape,
    "plain": plain_text,
    "price": format_price,
    "pct": format_pct,
    "count": format_count,
    "when": format_time,
    "xml_text": xml_text,
}


def _environment(*, autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=autoescape,  # noqa: S701 (Markdown escapes with md_escape instead)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS)
    return env


@cache
def html_env() -> jinja2.Environment:
    """HTML pages: autoescaped; ``visible`` shows bidi controls instead of obeying them."""
    return _environment(autoescape=True)


@cache
def markdown_env() -> jinja2.Environment:
    """Markdown: every remote string goes through ``md_escape``."""
    return _environment(autoescape=False)


@cache
def xml_env() -> jinja2.Environment:
    """Atom: autoescaped XML; ``xml_text`` replaces characters XML 1.0 forbids."""
    return _environment(autoescape=True)
