"""Schedules: cron weekdays counted as cron does, and flags beating the config file's [schedule]."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tracker.config import ScheduleConfig
from tracker.errors import UsageError
from tracker.scheduler import Schedule, crontab_weekdays, resolve_schedule


def test_crontab_weekdays_count_from_sunday_as_cron_does() -> None:
    assert crontab_weekdays("*") == "*"
    assert crontab_weekdays("0") == crontab_weekdays("7") == "sun"
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("mon-fri") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("*/2") == "sun,tue,thu,sat"
    assert crontab_weekdays("5-0") == crontab_weekdays("fri-sun") == "fri,sat,sun"
    with pytest.raises(ValueError):
        crontab_weekdays("8")


def test_a_weekly_cron_fires_on_the_crontab_weekday() -> None:
    from datetime import UTC, datetime

    from tracker.scheduler import build_trigger

    trigger = build_trigger(Schedule(cron="0 9 * * 1", timezone="UTC"))  # Mondays 09:00
    after = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
    fire = trigger.get_next_fire_time(None, after)
    assert fire.weekday() == 0 and (fire.hour, fire.minute) == (9, 0)


def test_flags_beat_the_config_file_schedule() -> None:
    config = ScheduleConfig(cron="0 * * * *", jitter=timedelta(minutes=5), initial_run=False)
    plan = resolve_schedule(config, every=timedelta(seconds=30))
    assert plan.cron is None and plan.every == timedelta(seconds=30)
    assert plan.jitter == timedelta(minutes=5) and plan.initial_run is False
    assert plan.describe() == "every 30s, jitter up to 5m"
    assert resolve_schedule(config).describe() == "cron '0 * * * *', jitter up to 5m"
    assert resolve_schedule(config, initial_run=True).initial_run is True
    with pytest.raises(UsageError):
        resolve_schedule(ScheduleConfig())
