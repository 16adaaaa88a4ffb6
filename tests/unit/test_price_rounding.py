"""Prices agree when they agree to 12 significant digits (issue 10, point 1), and every price
formats, however large (point 4). Pure: catalogs, diffs and renderings, no database.

A router that computes prices in floats serves 0.8299999999999998 one day and 0.83 the next;
that is the same price, the same content, the same state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from support.builders import body, catalog, model, provider

from tracker.catalog import decimal_text, parse_catalog, round_price
from tracker.diff import change_pct, diff_catalogs
from tracker.reports import render
from tracker.reports.format import format_price

NOISE = [  # (as a router writes it, the price it is)
    (0.8299999999999998, "0.83"),
    (0.19999999999999998, "0.2"),
    (0.30000000000000004, "0.3"),
    (2.4999999999999996, "2.5"),
    (1.0000000000000002, "1"),
]


def priced(inp: float, out: float = 10.0, version: str | None = "v1") -> bytes:
    return body(catalog(model("m", provider("p", inp, out)), version=version))


@pytest.mark.parametrize(("noisy", "clean"), NOISE)
def test_a_price_with_float_noise_is_stored_and_shown_rounded(noisy: float, clean: str) -> None:
    parsed = parse_catalog(priced(noisy)).models["m"].providers["p"]
    assert parsed.input_price == Decimal(clean)
    assert decimal_text(Decimal(repr(noisy))) == clean
    assert format_price(noisy) == format_price(float(clean))


@pytest.mark.parametrize(("noisy", "clean"), NOISE)
def test_a_catalog_differing_only_by_float_noise_is_the_same_state(noisy: float,
                                                                    clean: str) -> None:
    a, b = parse_catalog(priced(float(clean))), parse_catalog(priced(noisy))
    assert a.content_hash == b.content_hash == b.identity
    assert diff_catalogs(a, b) == []


def test_a_move_in_the_12th_significant_digit_is_a_change_and_never_reads_0_percent() -> None:
    a, b = parse_catalog(priced(1.0)), parse_catalog(priced(1.00000000001))
    assert a.content_hash != b.content_hash
    (change,) = diff_catalogs(a, b)
    assert (change["old"], change["new"]) == (1, 1.00000000001)
    assert change["change_pct"] == 1e-09
    # Rounded to 2 places, a tiny move keeps 2 significant digits instead of reading 0.0.
    assert change_pct(Decimal("100"), Decimal("100.001")) == 0.001
    assert change_pct(Decimal("2.5"), Decimal("2")) == -20.0


def test_digits_beyond_the_twelfth_are_rounded_half_even() -> None:
    assert round_price(Decimal("1.23456789012345")) == Decimal("1.23456789012")
    assert round_price(Decimal("0.000001234567890125")) == Decimal("0.00000123456789012")
    assert round_price(Decimal("0.000001234567890135")) == Decimal("0.00000123456789014")
    assert round_price(Decimal("2.0000000000005")) == Decimal("2")
    assert decimal_text(Decimal("123456789012345678")) == "123456789012000000"


HUGE = [1e26, 3.5e27, 1e38, 1e-20]


@pytest.mark.parametrize("price", HUGE)
def test_every_price_that_validates_formats_in_every_renderer(price: float) -> None:
    old, new = parse_catalog(priced(2.5)), parse_catalog(priced(price, out=price))
    diff: dict[str, Any] = {
        "from": {"id": 1, "catalog_version": "v1", "content_hash": "a" * 64,
                 "first_observed_at": "2026-01-01T00:00:00Z", "model_count": 1},
        "to": {"id": 2, "catalog_version": "v2", "content_hash": "b" * 64,
               "first_observed_at": "2026-01-02T00:00:00Z", "model_count": 1},
        "changes": diff_catalogs(old, new), "source": "auriko",
    }
    assert len(diff["changes"]) == 2
    for fmt in ("md", "html", "summary"):
        assert render("changelog", fmt, diff)
    assert format_price(price).startswith("$")
    if price >= 1e26:
        assert format_price(price).endswith(".00") and "," in format_price(price)
