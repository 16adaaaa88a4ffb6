"""Changelog rendering: Markdown, HTML and the one-paragraph summary of a diff."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tracker.reports import render
from tracker.reports.format import format_price, md_escape

FROM = {
    "id": 41,
    "catalog_version": "2026-11-01.1",
    "content_hash": "9f2c4e1ab3d4e5f60718293a4b5c6d7e",
    "first_observed_at": "2026-11-01T09:00:12Z",
    "model_count": 212,
}
TO = {
    "id": 42,
    "catalog_version": "2026-11-02.1",
    "content_hash": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "first_observed_at": "2026-11-02T09:00:07Z",
    "model_count": 213,
}

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE_MODEL = f"evil{SCRIPT}|x`*_[a](b)\n# ]]>\u202eid"
PIPE_MODEL = "a|b|c"


def provider(name: str, inp: float, out: float, policy: str | None) -> dict[str, Any]:
    return {"name": name, "input_price": inp, "output_price": out, "data_policy": policy}


def change(
    kind: str,
    model: str | None = None,
    provider: str | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "model": model,
        "provider": provider,
        "field": field,
        "old": old,
        "new": new,
        **extra,
    }


def full_diff() -> dict[str, Any]:
    """A diff holding every kind of change record, plus one kind this version doesn't know."""
    return {
        "from": FROM,
        "to": TO,
        "changes": [
            change(
                "price_changed",
                "gpt-4o-2024-08-06",
                "openai",
                "input_price",
                2.5,
                2.0,
                change_pct=-20.0,
            ),
            change(
                "price_changed",
                "gpt-4o-2024-08-06",
                "azure",
                "output_price",
                10,
                12.5,
                change_pct=25.0,
            ),
            change(
                "price_changed",
                "gemini-2.0-flash",
                "google",
                "input_price",
                0.1,
                0.075,
                change_pct=-25.0,
            ),
            change(
                "price_changed",
                "claude-3-5-haiku",
                "anthropic",
                "output_price",
                4.0,
                4.2,
                change_pct=5.0,
            ),
            change(
                "data_policy_changed",
                "mistral-large",
                "mistral",
                "data_policy",
                "zdr",
                "no_training",
                weakened=True,
            ),
            change(
                "data_policy_changed",
                "deepseek-v3",
                "fireworks",
                "data_policy",
                "none",
                "zdr",
                weakened=False,
            ),
            change(
                "data_policy_changed",
                "qwen-2.5-72b",
                "hyperbolic",
                "data_policy",
                "no_training",
                None,
                weakened=True,
            ),
            change(
                "model_added",
                "o3-mini",
                new={
                    "id": "o3-mini",
                    "created": 1738000000,
                    "owned_by": "openai",
                    "context_window": 200000,
                    "supported_endpoints": ["chat_completions", "responses"],
                    "providers": [
                        provider("openai", 1.1, 4.4, "zdr"),
                        {**provider("azure-eu", 1.21, 4.84, None), "region": "eu"},
                    ],
                },
            ),
            change(
                "model_removed",
                "gpt-3.5-turbo-0613",
                old={
                    "id": "gpt-3.5-turbo-0613",
                    "created": 1686000000,
                    "owned_by": "openai",
                    "context_window": 4096,
                    "supported_endpoints": ["chat_completions"],
                    "providers": [provider("openai", 1.5, 2.0, "no_training")],
                },
            ),
            change(
                "provider_added",
                "gpt-4o-2024-08-06",
                "groq",
                new=provider("groq", 2.25, 9.0, "none"),
            ),
            change(
                "provider_removed",
                "gemini-2.0-flash",
                "vertex-eu",
                old=provider("vertex-eu", 0.1, 0.4, "zdr"),
            ),
            change(
                "context_window_changed",
                "llama-3.3-70b",
                field="context_window",
                old=8192,
                new=131072,
            ),
            change(
                "endpoints_changed",
                "o1",
                field="supported_endpoints",
                old=["chat_completions"],
                new=["chat_completions", "responses"],
            ),
            change("field_changed", "o1", "openai", "providers.openai.rate_limits.rpm", 500, 1000),
            change("field_changed", None, None, "catalog.notice", None, "maintenance friday"),
            change("shutdown_announced", "gpt-4-0314", field="shutdown_at", new="2026-12-01"),
        ],
    }


def hostile_diff() -> dict[str, Any]:
    """Remote strings that try to inject markup, break tables or reorder text."""
    return {
        "from": {**FROM, "catalog_version": f"v1{SCRIPT}"},
        "to": {**TO, "catalog_version": "v2|x"},
        "changes": [
            change("price_changed", HOSTILE_MODEL, IMG, "input_price", 1, 3, change_pct=200.0),
            change("price_changed", PIPE_MODEL, "p|q", "output_price", 2, 1, change_pct=-50.0),
            change(
                "data_policy_changed",
                HOSTILE_MODEL,
                IMG,
                "data_policy",
                f"zdr{SCRIPT}",
                "none\u202e",
                weakened=True,
            ),
            change(
                "model_added",
                HOSTILE_MODEL,
                new={
                    "id": HOSTILE_MODEL,
                    "owned_by": IMG,
                    "context_window": None,
                    "supported_endpoints": [SCRIPT],
                    "providers": [provider(IMG, 1, 2, SCRIPT)],
                },
            ),
            change("provider_added", PIPE_MODEL, IMG, new=provider(IMG, 1, 2, "zdr|x")),
            change("field_changed", HOSTILE_MODEL, IMG, f"meta.{SCRIPT}", IMG, {"k": SCRIPT}),
            change(f"kind{SCRIPT}", HOSTILE_MODEL, IMG, "f|g", SCRIPT, IMG),
        ],
    }


def empty_diff() -> dict[str, Any]:
    return {"from": FROM, "to": TO, "changes": []}


def table_rows(markdown: str) -> list[list[str]]:
    """Markdown tables as lists of rows, each row being its raw lines split on unescaped pipes."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


# --- formatting helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.5, "$2.50"),
        (2, "$2.00"),
        (0.075, "$0.075"),
        (0.1 + 0.2, "$0.30"),
        (0.0000123, "$0.0000123"),
        (15.123456789, "$15.1235"),
        (1234.5, "$1,234.50"),
        (0, "$0.00"),
        (None, "—"),
    ],
)
def test_prices_show_without_float_noise(value: float | None, text: str) -> None:
    assert format_price(value) == text


def test_md_escape_neutralizes_markdown_html_newlines_and_bidi() -> None:
    escaped = md_escape("a|b`c*d_e[f](g)\nh\r<i>&j\u202ek\u2066")
    assert escaped == ("a\\|b\\`c\\*d\\_e\\[f\\](g) h &lt;i&gt;&amp;j\\u202ek\\u2066")
    assert "\n" not in escaped and "\u202e" not in escaped
    assert md_escape(None) == ""


# --- full diff, both formats --------------------------------------------------------------------


def test_markdown_shows_every_kind_of_change() -> None:
    md = render("changelog", "md", full_diff())

    assert md.startswith("# Catalog changelog: 2026-11-01.1 → 2026-11-02.1\n")
    assert "2026-11-02 09:00 UTC" in md
    assert ("4 price changes, 3 data-policy changes (2 weakened, 1 strengthened), "
            "1 model added") in md
    for heading in [
        "Price changes",
        "Data-policy changes",
        "Models added",
        "Models removed",
        "Providers added",
        "Providers removed",
        "Context window changes",
        "Endpoint changes",
        "Other field changes",
        "Other changes",
    ]:
        assert f"\n## {heading}\n" in md
    # prices: old, new, arrow and percent, largest move first
    assert "| gemini-2.0-flash | google | input | $0.10 | $0.075 | ▼ -25.0% |" in md
    assert "| gpt-4o-2024-08-06 | openai | input | $2.50 | $2.00 | ▼ -20.0% |" in md
    assert "| $10.00 | $12.50 | ▲ +25.0% |" in md
    order = [md.index(pct) for pct in ["-25.0%", "+25.0%", "-20.0%", "+5.0%"]]
    assert order == sorted(order)
    # policies: weakenings marked and first, null shown as not stated
    assert "| mistral-large | mistral | zdr | no\\_training | **WEAKENED** |" in md
    assert "| qwen-2.5-72b | hyperbolic | no\\_training | not stated | **WEAKENED** |" in md
    assert md.index("qwen") < md.index("deepseek")
    # models added and removed with their providers, prices and policies
    assert "- **o3-mini**: context 200,000 tokens" in md
    assert "  - azure-eu: input $1.21, output $4.84 per 1M tokens; data policy not stated" in md
    assert "  - openai: input $1.50, output $2.00 per 1M tokens; data policy no\\_training" in md
    # providers, context windows, endpoints, fields, unknown kinds
    assert "| gpt-4o-2024-08-06 | groq | $2.25 | $9.00 | none |" in md
    assert "| gemini-2.0-flash | vertex-eu | $0.10 | $0.40 | zdr |" in md
    assert "| llama-3.3-70b | 8,192 | 131,072 | +122,880 (+1,500.0%) |" in md
    assert "| o1 | responses | — | chat\\_completions, responses |" in md
    assert "providers.openai.rate\\_limits.rpm | 500 | 1000 |" in md
    assert '| *(catalog)* | — | catalog.notice | null | "maintenance friday" |' in md
    assert "| shutdown\\_announced | gpt-4-0314 | — | shutdown\\_at |" in md


def test_html_shows_every_kind_of_change() -> None:
    page = render("changelog", "html", full_diff())

    assert "2026-11-01.1 → 2026-11-02.1" in page
    for heading in [
        "Price changes",
        "Data-policy changes",
        "Models added",
        "Models removed",
        "Providers added",
        "Providers removed",
        "Context window changes",
        "Endpoint changes",
        "Other field changes",
        "Other changes",
    ]:
        assert f"<h2>{heading} " in page
    assert '<td class="num down">▼ -25.0%</td>' in page
    assert '<td class="num up">▲ +25.0%</td>' in page
    assert "$0.075" in page and "$12.50" in page
    assert "price went up" in page and "price went down" in page  # the colour legend
    assert page.count('<tr class="weakened">') == 2
    assert "WEAKENED" in page
    assert "<td>not stated</td>" in page or '<td class="policy-new">not stated</td>' in page
    assert "o3-mini" in page and "azure-eu" in page and "$4.84" in page
    assert "gpt-3.5-turbo-0613" in page and "131,072" in page
    assert "providers.openai.rate_limits.rpm" in page
    assert "shutdown_announced" in page and "gpt-4-0314" in page


def test_html_is_self_contained() -> None:
    page = render("changelog", "html", full_diff())

    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
    ) in page
    assert "<style>" in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()


# --- hostile remote strings --------------------------------------------------------------------


def test_html_escapes_hostile_remote_strings() -> None:
    page = render("changelog", "html", hostile_diff())

    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "]]&gt;" in page
    # bidi overrides are shown, not obeyed
    assert "\u202e" not in page
    assert "\\u202e" in page


def test_markdown_escapes_hostile_remote_strings() -> None:
    md = render("changelog", "md", hostile_diff())

    assert "<script" not in md.lower() and "<img" not in md.lower()
    assert "&lt;script&gt;" in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "\u202e" not in md and "\\u202e" in md
    assert "\\]\\]&gt;" in md
    assert "evil&lt;script&gt;alert(1)&lt;/script&gt;\\|x\\`\\*\\_\\[a\\](b) #" in md


def test_markdown_pipes_and_newlines_in_ids_do_not_break_tables() -> None:
    md = render("changelog", "md", hostile_diff())
    tables = table_rows(md)

    assert len(tables) >= 5
    for table in tables:
        columns = unescaped_pipes(table[0])
        assert re.fullmatch(r"\|( -{3,}:? \|)+", table[1])
        for row in table:
            assert row.endswith("|"), row
            assert unescaped_pipes(row) == columns, row
    # a newline in a model id does not start a heading or end the row
    assert not any(line.startswith("# ]]") for line in md.splitlines())


# --- edge cases ---------------------------------------------------------------------------------


def test_no_changes_says_so_plainly() -> None:
    md = render("changelog", "md", empty_diff())
    page = render("changelog", "html", empty_diff())

    assert "No changes." in md
    assert "## " not in md and "|" not in md
    assert "No changes." in page
    assert "<table" not in page and "<h2>" not in page
    assert (render("changelog", "summary", empty_diff())
            == "catalog 2026-11-01.1 -> 2026-11-02.1: no changes.")


def test_first_snapshot_shows_content_hash_when_unversioned() -> None:
    diff = {"from": None, "to": {**TO, "catalog_version": None}, "changes": []}

    md = render("changelog", "md", diff)
    page = render("changelog", "html", diff)

    assert md.startswith("# Catalog changelog: first snapshot #0a1b2c3d4e5f\n")
    assert "no earlier snapshot" in md and "No changes." in md
    assert "first snapshot #0a1b2c3d4e5f" in page and "No changes." in page
    assert (render("changelog", "summary", diff)
            == "catalog #0a1b2c3d4e5f (first snapshot): no changes.")


def test_first_snapshot_with_changes_renders() -> None:
    diff = {**full_diff(), "from": None}

    assert "first snapshot 2026-11-02.1" in render("changelog", "md", diff)
    assert "Price changes" in render("changelog", "html", diff)
    assert render("changelog", "summary", diff).startswith(
        "catalog 2026-11-02.1 (first snapshot): 4 price changes")


def test_price_from_zero_has_no_percent_and_sorts_first() -> None:
    diff = empty_diff()
    diff["changes"] = [
        change("price_changed", "m1", "p", "input_price", 1.0, 2.0, change_pct=100.0),
        change("price_changed", "m2", "p", "output_price", 0, 0.5, change_pct=None),
    ]
    md = render("changelog", "md", diff)

    assert "| m2 | p | output | $0.00 | $0.50 | ▲ new charge |" in md
    assert md.index("| m2 ") < md.index("| m1 ")


# --- summary ------------------------------------------------------------------------------------


def test_summary_is_one_paragraph_with_counts_and_biggest_moves() -> None:
    text = render("changelog", "summary", full_diff())

    assert "\n" not in text
    assert text.startswith(
        "catalog 2026-11-01.1 -> 2026-11-02.1: 4 price changes, "
        "3 data-policy changes (2 weakened, 1 strengthened), 1 model added, 1 model removed, "
        "1 provider added, 1 provider removed, 1 context-window change, 1 endpoint change, "
        "2 other field changes, 1 shutdown announced."
    )
    assert text.endswith(
        " Biggest moves: by percent gemini-2.0-flash on google input -25.0% ($0.10 -> $0.075); "
        "gpt-4o-2024-08-06 on azure output +25.0% ($10.00 -> $12.50); "
        "gpt-4o-2024-08-06 on openai input -20.0% ($2.50 -> $2.00); "
        "by dollars gpt-4o-2024-08-06 on azure output +$2.50 ($10.00 -> $12.50); "
        "gpt-4o-2024-08-06 on openai input -$0.50 ($2.50 -> $2.00); "
        "claude-3-5-haiku on anthropic output +$0.20 ($4.00 -> $4.20)."
    )
    assert "+5.0%" not in text  # only the three biggest moves by each measure


def test_summary_neutralizes_terminal_control_characters() -> None:
    diff = empty_diff()
    diff["changes"] = [
        change("price_changed", "m\x1b[31m\nx\u202e", "p", "input_price", 1, 2, change_pct=100.0),
    ]
    text = render("changelog", "summary", diff)

    assert "\x1b" not in text and "\n" not in text and "\u202e" not in text
    assert "m\\x1b[31m x\\u202e on p input +100.0% ($1.00 -> $2.00)" in text


def test_markdown_renders_safely_through_a_commonmark_renderer() -> None:
    markdown_it = pytest.importorskip("markdown_it")  # comes with rich
    html = (
        markdown_it.MarkdownIt("commonmark")
        .enable("table")
        .render(render("changelog", "md", hostile_diff()))
    )

    assert "<script" not in html and "<img" not in html
    assert "evil&lt;script&gt;alert(1)&lt;/script&gt;|x`*_[a](b) # ]]&gt;\\u202eid" in html
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        cells = {len(re.findall(r"<t[dh][ >]", row)) for row in rows}
        assert len(cells) == 1, table
