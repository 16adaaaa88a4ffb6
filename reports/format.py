"""Formatting helpers shared by the changelog renderers.

Everything here is pure and works on plain values: prices, percentages, times, snapshot
labels, and the escaping of remote strings for Markdown and for the terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = [
    "format_count",
    "format_json",
    "format_pct",
    "format_price",
    "format_time",
    "format_usd",
    "md_escape",
    "plain_text",
    "policy_label",
    "snapshot_label",
    "visible",
    "xml_text",
]

# Bidirectional formatting characters that can make text display in a different order than
# it is stored ("Trojan Source"): the embeddings/overrides U+202A-U+202E, the isolates
# U+2066-U+2069, and the implicit marks LRM, RLM and ALM.
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
# Characters that break a line (a Markdown table row, a terminal paragraph).
_LINE_BREAKS = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
# The Markdown specials that can act inside a line. Remote text never starts a line in our
# templates, so line-start markers (# + - 1.) cannot trigger; ( ) and ! only form links and
# images next to brackets, which are escaped. Escaping less keeps ids like gpt-4o readable.
_MD_SPECIALS = "\\`*_[]|~"

# Characters that show as nothing, or as another character, so that two ids that look the
# same can differ: the other invisible format characters (zero-width space, joiners, word
# joiner, soft hyphen, BOM, the Mongolian vowel separator, tags, invisible operators), the
# spaces that are not U+0020 (no-break, thin, ideographic ...), the fillers that show as a
# blank, the combining grapheme joiner and variation selectors, and the hyphens and minus
# signs that look like "-" (U+2010 hyphen, U+2011 non-breaking hyphen, U+2012 figure dash,
# U+2212 minus). En and em dashes (U+2013, U+2014) look like themselves and stay.
_INVISIBLE = [0x00AD, 0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, *range(0x200B, 0x200E),
              *range(0x2060, 0x2066), *range(0x206A, 0x2070), 0x3164, 0xFEFF, 0xFFA0,
              *range(0xFFF9, 0xFFFC), *range(0xFE00, 0xFE10), 0x1D159, *range(0x1D173, 0x1D17B),
              0xE0001, *range(0xE0020, 0xE0080), *range(0xE0100, 0xE01F0)]
_SPACES = [0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000]
_LOOKALIKE_HYPHENS = [0x2010, 0x2011, 0x2012, 0x2043, 0x2212, 0xFE63, 0xFF0D]


def _escape(cp: int) -> str:
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


_VISIBLE: dict[int, str] = {cp: _escape(cp)
                            for cp in (*_BIDI, *_INVISIBLE, *_SPACES, *_LOOKALIKE_HYPHENS)}

_PLAIN: dict[int, str] = {}
for _cp in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
    _PLAIN[_cp] = f"\\x{_cp:02x}"
for _cp in _LINE_BREAKS:
    _PLAIN[_cp] = " "
_PLAIN[0x09] = " "
_PLAIN.update(_VISIBLE)

_MARKDOWN: dict[int, str] = dict(_PLAIN)
_MARKDOWN.update({ord(ch): "\\" + ch for ch in _MD_SPECIALS})
# Markdown renderers pass raw HTML through, so these become entity references rather than
# backslash escapes (an escaped `\&` would show a literal "&lt;").
_MARKDOWN.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"})


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _translator(table: dict[int, str]) -> Callable[[str], str]:
    """`str.translate(table)`, skipped for the common text that holds none of its characters
    (a regex scan is several times faster than a per-character table lookup)."""
    spans: list[list[int]] = []
    for cp in sorted(table):
        if spans and spans[-1][1] == cp - 1:
            spans[-1][1] = cp
        else:
            spans.append([cp, cp])
    needs = re.compile("[" + "".join(  # as ranges: a class of single characters scans slowly
        re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in spans) + "]")

    # Reports show the same few thousand ids, names and prices many times over: cached.
    @lru_cache(maxsize=16384)
    def translate(text: str) -> str:
        return text.translate(table) if needs.search(text) else text

    return translate


_to_visible = _translator(_VISIBLE)
_to_plain = _translator(_PLAIN)
_to_markdown = _translator(_MARKDOWN)


def visible(value: object) -> str:
    """Replace bidi controls and invisible or look-alike characters (U+200B, U+2011, U+00A0
    ...) with a visible ``\\u202e``-style escape, so that two ids that look the same can be
    told apart.

    Used for HTML, where autoescaping handles markup but not reordering of the display, and
    for CSV cells.

    >>> visible("gpt\u20114o\u200b")
    'gpt\\\\u20114o\\\\u200b'
    """
    return _to_visible(value if type(value) is str else _text(value))


# Characters XML 1.0 does not allow at all (C0 controls but tab and newline, lone surrogates,
# U+FFFE/U+FFFF): a feed that held them would not be well-formed. Shown as visible escapes.
_XML_FORBIDDEN: dict[int, str] = {
    cp: f"\\x{cp:02x}" for cp in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]
}
_XML_FORBIDDEN.update({0xFFFE: "\\ufffe", 0xFFFF: "\\uffff"})


def xml_text(value: object) -> str:
    """A remote string made safe as XML 1.0 character data before escaping: forbidden
    characters (most C0 controls, lone surrogates, U+FFFE/U+FFFF) and bidi controls become
    visible escapes such as ``\\x1b``. Markup characters are left to the autoescaper."""
    text = _text(value).translate(_XML_FORBIDDEN).translate(_VISIBLE)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        text = "".join(f"\\u{ord(ch):04x}" if 0xD800 <= ord(ch) <= 0xDFFF else ch
                       for ch in text)
    return text


def plain_text(value: object) -> str:
    """Make a remote string safe for one line of terminal text.

    Line breaks become spaces; other control characters (ANSI escapes included) and bidi
    controls become visible escapes such as ``\\x1b`` and ``\\u202e``.
    """
    return _to_plain(value if type(value) is str else _text(value))


def md_escape(value: object) -> str:
    """Make a remote string safe as inline Markdown text and inside a table cell.

    Markdown specials are backslash-escaped (so ``|`` cannot add a table column), ``& < >``
    become HTML entities, line breaks become spaces, and control and bidi characters become
    visible escapes.
    """
    return _to_markdown(value if type(value) is str else _text(value))


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            # repr() of a float is the shortest string that round-trips, so 2.5 stays 2.5.
            result = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def format_price(value: object) -> str:
    """USD per 1M tokens, without float noise (see ``_format_price``); cached, as reports
    show the same few hundred prices thousands of times."""
    kind = type(value)
    if kind is float or kind is str or kind is int or kind is Decimal:
        return _cached_price(kind.__name__, value)
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        try:
            return _cached_price(type(value).__name__, value)
        except TypeError:  # an unhashable subclass
            pass
    return _format_price(value)


@lru_cache(maxsize=8192)
def _cached_price(kind: str, value: object) -> str:
    return _format_price(value)


def _format_price(value: object) -> str:
    """USD per 1M tokens, without float noise: 2.5 -> "$2.50", 0.075 -> "$0.075".

    At least two decimals, at most six significant digits in the fraction, trailing zeros
    beyond two decimals stripped, thousands separated by commas. Non-numbers show as-is,
    a missing price as an em dash.
    """
    if value is None:
        return "—"
    number = _decimal(value)
    if number is None:
        return _text(value)
    if number.is_zero():
        return "$0.00"
    exponent = min(number.adjusted() - 5, -2)
    # A context wide enough for every digit kept: the default 28 digits cannot hold a price
    # of 1e26 to the cent (quantize would raise InvalidOperation for any price stored).
    wide = Context(prec=max(28, number.adjusted() - exponent + 2))
    rounded = number.quantize(Decimal(1).scaleb(exponent, wide), context=wide)
    sign = "-" if rounded < 0 else ""
    digits = f"{abs(rounded):f}"
    whole, _, fraction = digits.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{sign}${int(whole):,}.{fraction}"


def format_pct(pct: float | None) -> str:
    """A signed percentage with one decimal ("-20.0%", "+1,500.0%"); tiny moves "+<0.1%"."""
    if pct is None:
        return "—"
    if pct != 0 and abs(pct) < 0.05:
        return f"{'+' if pct > 0 else '-'}<0.1%"
    return f"{pct:+,.1f}%"


def format_count(value: object) -> str:
    """An integer with thousands separators (128000 -> "128,000"); null is "unknown"."""
    if value is None:
        return "unknown"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return _text(value)


def format_json(value: Any, *, limit: int = 300) -> str:
    """Compact JSON for any field value, cut to ``limit`` characters with an ellipsis."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_time(value: object) -> str:
    """An ISO 8601 time as "2026-11-02 09:00 UTC"; anything unparsable is shown as given."""
    if not isinstance(value, str) or not value:
        return _text(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_KNOWN_POLICIES = ("zdr", "no_training", "none")


def policy_label(value: object) -> str:
    """A data policy for display: a known one as it is; a missing one (null, or empty) is
    "not stated"; any other value is its literal, quoted, so that neither can pass for the
    other (a catalog that says "unknown" shows `"unknown"`).

    >>> policy_label("zdr"), policy_label(None), policy_label("opt_in"), policy_label("unknown")
    ('zdr', 'not stated', '"opt_in"', '"unknown"')
    """
    if value is None or value == "":
        return "not stated"
    text = _text(value)
    return text if text in _KNOWN_POLICIES else json.dumps(text, ensure_ascii=False)


def snapshot_label(snapshot: dict[str, Any] | None) -> str:
    """How a person names a snapshot (`tracker.vocabulary.snapshot_label`): the catalog
    version, else `#` and the first 12 hex digits of the content hash; raw (escape it)."""
    from tracker.vocabulary import snapshot_label as label

    if snapshot is None:
        return "none"
    version = snapshot.get("catalog_version")
    content_hash = snapshot.get("content_hash")
    if not version and not content_hash:
        return f"snapshot {_text(snapshot.get('id'))}".strip()
    return label(_text(version) or None, _text(content_hash) or None)


_CENTS = Decimal("0.01")


def format_usd(value: object, *, signed: bool = False) -> str:
    """An amount of money (USD, exact) rounded to cents for display only: `$1,234.56`;
    `signed` shows the sign of a delta (`+$366.00`, `-$12.30`, `±$0.00`); none is `—`.

    >>> format_usd(Decimal("630")), format_usd(366, signed=True), format_usd(-0.004, signed=True)
    ('$630.00', '+$366.00', '±$0.00')
    """
    number = _decimal(value)
    if number is None:
        return "—"
    wide = Context(prec=max(28, number.adjusted() + 4))
    cents = number.quantize(_CENTS, context=wide)
    sign = ("+" if cents > 0 else "-" if cents < 0 else "±") if signed else (
        "-" if cents < 0 else "")
    return f"{sign}${abs(cents):,.2f}"
