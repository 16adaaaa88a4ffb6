"""Usage files (tracker/usage.py): how a team writes its monthly token volumes, what a
malformed one says, and how a change record moves the monthly cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tracker.errors import ExitCode, UsageError
from tracker.usage import UsageRow, monthly_cost, parse_usage, record_impact

HEADER = "model,provider,input_tokens,output_tokens\n"


def test_pinned_and_routed_rows_in_any_column_order() -> None:
    rows = parse_usage("\ufeffoutput_tokens,model,input_tokens,provider\n"
                       "30000000,gpt-4o,120000000,openai\n"
                       "\n"
                       "200000000,llama-3.3-70b-instruct,800000000,\n")
    assert rows == [UsageRow(2, "gpt-4o", "openai", 120_000_000, 30_000_000),
                    UsageRow(4, "llama-3.3-70b-instruct", None, 800_000_000, 200_000_000)]


@pytest.mark.parametrize(("text", "message"), [
    ("", "usage file is empty: expected the header model,provider,input_tokens,output_tokens"),
    ("model,provider,input_tokens\n", "line 1: missing column 'output_tokens'"),
    ("model,provider,input,output_tokens\n", "line 1: unknown column 'input'"),
    (HEADER + "gpt-4o,openai,120000000\n", "line 2: expected 4 fields"),
    (HEADER + "gpt-4o,openai,1.5e8,0\n",
     "line 2: input_tokens must be a whole number of tokens (0 or more), got '1.5e8'"),
    (HEADER + "gpt-4o,openai,100,-5\n", "line 2: output_tokens must be a whole number"),
    (HEADER + ",openai,100,5\n", "line 2: the model is empty"),
    (HEADER + "m,,1,1\n\nm,,2,2\n", "line 4: m, routed (no provider), is already on line 2"),
    (HEADER + 'm,"p,1,1\n', "line 2: expected 4 fields"),
])
def test_a_malformed_file_is_one_line_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_usage(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


def test_monthly_cost_is_exact() -> None:
    # 0.1 + 0.2 per 1M tokens, a million tokens each: exactly $0.30, no float noise
    assert monthly_cost(1_000_000, 1_000_000, Decimal("0.1"), Decimal("0.2")) == Decimal("0.3")
    assert monthly_cost(800_000_000, 200_000_000, Decimal("0.59"), Decimal("0.79")) == 630
    assert monthly_cost(0, 0, Decimal("3"), Decimal("9")) == 0


def test_what_a_record_does_to_the_monthly_cost() -> None:
    rows = parse_usage(HEADER + "m,p,2000000,1000000\nm,,4000000,0\nother,q,1,1\n")

    def impact(**change: object) -> tuple[bool, Decimal | None]:
        return record_impact({"model": "m", "provider": "p", "field": None, "old": None,
                              "new": None, **change}, rows, floor="zdr")

    # a pinned row: its offer's price moves; 2M input tokens x +$0.50 = +$1 a month
    assert impact(kind="price_changed", field="input_price", old=1.5, new=2) == (True, 1)
    assert impact(kind="price_changed", field="output_price", old=3, new=1) == (True, -2)
    assert impact(kind="price_changed", provider="x", field="input_price", old=1, new=2) == (
        False, None)
    # a routed row: the effective price at the usage floor moves; 4M x (0.64 - 0.23)
    moved = {"kind": "effective_price_changed", "provider": "groq", "field": "effective.zdr",
             "old": {"provider": "deepinfra", "input_price": 0.23, "output_price": 0.4,
                     "blended": 0.2725},
             "new": {"provider": "groq", "input_price": 0.59, "output_price": 0.79,
                     "blended": 0.64}}
    assert impact(**moved) == (True, Decimal("1.44"))
    assert impact(**{**moved, "field": "effective.any"}) == (False, None)  # another floor
    assert impact(**{**moved, "new": None}) == (True, None)  # the last offer went: unpriced
    # additions and removals of what the usage needs concern it without a price
    assert impact(kind="provider_removed") == (True, None)
    assert impact(kind="model_removed", provider=None) == (True, None)
    # what the usage does not depend on does not concern it
    assert impact(kind="data_policy_changed", field="data_policy", old="zdr", new="none") == (
        False, None)
    assert impact(kind="price_changed", model="unused", field="input_price", old=1,
                  new=2) == (False, None)
