"""Where the items of a JSON array sit in the text they were decoded from.

A decode into `msgspec.Raw` gives each item's text but not its place. Most texts set out an
array's items alike (`",\\n  "` or `","` between every two), so one comparison of the text
with the items joined by that separator places them all, and proves the text is exactly
that: the parse cuts a body's items out this way, the store cuts a body into its form, and a
model's providers are found this way to key it without their order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# What separates two items of an array: whitespace and a comma.
GAP = re.compile(rb"[ \t\r\n,]*")


def uniform_run(text: bytes, start: int, items: Sequence[Any],
                step: int = 1000) -> tuple[bytes, int] | None:
    """When `text` holds at `start` the `items` (two or more texts) one after the other, with
    the same separator between every two: that separator and where the last item ends. None
    for any other text. Compared `step` items at a time: a copy of a few hundred kilobytes,
    not of a whole catalog.

    >>> uniform_run(b'[{"a": 1}, {"b": 2}, 3]', 1, [b'{"a": 1}', b'{"b": 2}', b"3"])
    (b', ', 22)
    >>> uniform_run(b'[{"a": 1}, {"b": 2},3]', 1, [b'{"a": 1}', b'{"b": 2}', b"3"]) is None
    True
    """
    after_first = start + len(items[0])
    separator = text[after_first:GAP.match(text, after_first).end()]  # type: ignore[union-attr]
    if b"," not in separator:
        return None
    at = start
    for first in range(0, len(items), step):
        run = separator.join(items[first:first + step])
        if not text.startswith(run, at):
            return None
        at += len(run) + len(separator)
    return separator, at - len(separator)
