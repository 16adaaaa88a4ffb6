"""Windows of observation time: half-open ``[since, until)`` windows from WHEN arguments, and
ISO weeks (the weekly reports).

>>> window = week_window(2026, 45)
>>> window.label()
'[2026-11-02T00:00:00Z, 2026-11-09T00:00:00Z)'
>>> week_label(*iso_week_of(window.since))
'2026-W45'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tracker.errors import UsageError
from tracker.timeutil import iso, parse_when

__all__ = [
    "Window",
    "iso_week_of",
    "last_complete_week",
    "parse_week",
    "parse_window",
    "week_label",
    "week_window",
    "weeks_between",
]


@dataclass(frozen=True)
class Window:
    """A half-open window of observation time, ``[since, until)``; ``since`` None: all time."""

    since: datetime | None
    until: datetime

    def contains(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and moment < self.until

    def label(self) -> str:
        start = iso(self.since) if self.since else "the beginning"
        return f"[{start}, {iso(self.until)})"


def parse_window(since: str | None, until: str | None, *,
                 now: datetime | None = None) -> Window:
    """A window from WHEN arguments (ISO date or time, or a span back from now such as 7d).

    ``until`` defaults to now. Both spans are measured from the same ``now``.
    """
    moment = now or datetime.now(UTC)
    start = parse_when(since, now=moment) if since else None
    end = parse_when(until, now=moment) if until else moment
    if start is not None and start >= end:
        raise UsageError(f"empty window: --since {iso(start)} is not before --until {iso(end)}")
    return Window(start, end)


def week_window(year: int, week: int) -> Window:
    """ISO week ``year``-W``week`` as a window: Monday 00:00 UTC to the next Monday."""
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UsageError(f"no such ISO week: {year}-W{week:02d}") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    try:
        return Window(start, start + timedelta(days=7))
    except OverflowError:  # 9999-W52 ends in the year 10000
        raise UsageError(f"{year}-W{week:02d} is out of range: it ends after 9999-12-31") \
            from None


def parse_week(text: str) -> tuple[int, int]:
    """``2026-W45`` (or ``2026W45``) as (year, week)."""
    cleaned = text.strip().upper().replace("-W", "W")
    year, _, week = cleaned.partition("W")
    if not (year.isdigit() and week.isdigit() and len(year) == 4):
        raise UsageError(f"not an ISO week: {text!r} (use e.g. 2026-W45)")
    week_window(int(year), int(week))  # validates
    return int(year), int(week)


def iso_week_of(moment: datetime) -> tuple[int, int]:
    calendar = moment.astimezone(UTC).isocalendar()
    return calendar.year, calendar.week


def last_complete_week(now: datetime | None = None) -> tuple[int, int]:
    """The ISO week before the one ``now`` falls in (the last one that has fully ended)."""
    return iso_week_of((now or datetime.now(UTC)) - timedelta(days=7))


def weeks_between(first: datetime, last: datetime) -> list[tuple[int, int]]:
    """Every ISO week from the one holding ``first`` to the one holding ``last``, in order."""
    weeks: list[tuple[int, int]] = []
    year, week = iso_week_of(first)
    end = iso_week_of(last)
    while (year, week) <= end:
        weeks.append((year, week))
        following = week_window(year, week).until
        year, week = iso_week_of(following)
    return weeks


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"
