"""Parsing WHEN arguments: ISO dates and times, or spans back from now such as `7d`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from tracker.errors import UsageError


def now() -> datetime:
    """The current time in UTC (the one clock every module reads)."""
    return datetime.now(UTC)


# How far ahead of this machine's clock another clock may run: an observation time given
# beyond it is refused, and `status` flags stored observations dated beyond it.
CLOCK_SKEW = timedelta(minutes=5)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second (microseconds when present)."""
    return moment.isoformat().replace("+00:00", "Z")


_SPAN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> timedelta:
    """`30s`, `15m`, `1h`, `7d`, `2w` as a timedelta."""
    match = _SPAN.match(text)
    if not match:
        raise UsageError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 7d, 2w)")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise _out_of_range(text) from None


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO date (00:00 UTC), an ISO time (UTC unless it says otherwise), or a span ago."""
    if _SPAN.match(text):
        try:
            return (now or datetime.now(UTC)) - parse_span(text)
        except OverflowError:
            raise _out_of_range(text) from None
    return parse_iso(text)


def _out_of_range(text: str) -> UsageError:
    return UsageError(f"{text.strip()[:60]!r} is out of range: a time must fall between "
                      "0001-01-01 and 9999-12-31 UTC")


def parse_iso(text: str) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"not a date or time: {text!r} (use e.g. 2026-11-01, 2026-11-01T12:00Z or 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        raise _out_of_range(text) from None


def looks_like_iso(text: str) -> bool:
    try:
        parse_iso(text)
    except UsageError:
        return False
    return True


_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """`90` (seconds), `30s`, `15m`, `1h`, `1h30m`, `1.5h`, `2d`, `1w` as a timedelta."""
    value = text.strip().lower()
    try:
        if re.fullmatch(r"\d+(?:\.\d+)?", value):
            return timedelta(seconds=float(value))
        if _DURATION.fullmatch(value):
            parts = _DURATION_PART.findall(value)
            return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    except OverflowError:
        pass
    raise UsageError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 1h30m, 7d)")


def format_age(age: timedelta | None) -> str:
    """`45s`, `12m`, `3h 5m`, `2d 4h`; `never` for None."""
    if age is None:
        return "never"
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86_400
    if seconds < 3600:
        return f"{minutes}m"
    if seconds < 86_400:
        return f"{hours}h {minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{days}d {hours % 24}h" if hours % 24 else f"{days}d"
