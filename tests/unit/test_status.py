"""How `tracker status` writes ages."""

from __future__ import annotations

from datetime import timedelta

from tracker.timeutil import format_age


def test_ages_read_like_people_write_them() -> None:
    assert format_age(timedelta(seconds=42)) == "42s"
    assert format_age(timedelta(minutes=12, seconds=5)) == "12m"
    assert format_age(timedelta(hours=3)) == "3h"
    assert format_age(timedelta(hours=3, minutes=5)) == "3h 5m"
    assert format_age(timedelta(days=2, hours=4)) == "2d 4h"
    assert format_age(None) == "never"
