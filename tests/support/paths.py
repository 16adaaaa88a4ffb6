"""Where the checkout is, wherever the tests are run from (CI runs them through a symlink)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
CHECKOUT = TESTS.parent
