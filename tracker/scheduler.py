"""`tracker schedule`: run every source on a cron expression or an interval, in the foreground.

APScheduler 3.x in one worker thread: one run at a time (`max_instances=1`; a tick that comes
while a run is still going is skipped), missed runs coalesced into one, optional random jitter,
a first run at start-up unless `initial_run` is off. SIGTERM or SIGINT stops the schedule: a
run in progress finishes (its transaction commits), sources not yet started in that run are
skipped, and the process exits 0. A fetch still waiting on the remote is cut off
`ClientOptions.stop_grace` (3 s) after the signal and recorded as failed, so a server that
trickles cannot keep the process alive until systemd's SIGKILL. A second signal exits at
once (130); the database is still consistent, since every write is one transaction.

A failed run is logged and the schedule goes on. Each source of each run logs one line
(`tracker.run`); the run lock (see tracker.locking) keeps a scheduler and any cron `fetch` on
the same database from running a source twice at once.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.config import ScheduleConfig
from tracker.errors import UsageError
from tracker.runner import Runner

log = logging.getLogger("tracker.scheduler")

_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    """When to run: a crontab expression or an interval, plus jitter and a first run."""

    cron: str | None = None
    every: timedelta | None = None
    jitter: timedelta | None = None
    initial_run: bool = True
    timezone: str | None = None

    def describe(self) -> str:
        when = f"cron {self.cron!r}" if self.cron else f"every {_span(self.every)}"
        if self.timezone and self.cron:
            when += f" ({self.timezone})"
        if self.jitter:
            when += f", jitter up to {_span(self.jitter)}"
        return when


def _span(value: timedelta | None) -> str:
    seconds = value.total_seconds() if value else 0.0
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def resolve_schedule(
    config: ScheduleConfig,
    *,
    cron: str | None = None,
    every: timedelta | None = None,
    jitter: timedelta | None = None,
    initial_run: bool | None = None,
    timezone: str | None = None,
) -> Schedule:
    """Flags beat the config file's [schedule]; exactly one of cron and every must result."""
    if cron is not None and every is not None:
        raise UsageError("give --cron or --every, not both")
    if cron is None and every is None:
        cron, every = config.cron, config.every
    if cron is None and every is None:
        raise UsageError("no schedule: give --cron EXPR or --every DURATION "
                         "(or set cron or every in the config file's [schedule])")
    if every is not None and every.total_seconds() <= 0:
        raise UsageError("--every must be longer than 0 s")
    schedule = Schedule(
        cron=cron,
        every=every if cron is None else None,
        jitter=jitter if jitter is not None else config.jitter,
        initial_run=config.initial_run if initial_run is None else initial_run,
        timezone=timezone or config.timezone,
    )
    build_trigger(schedule)  # validate the expression and the time zone now
    return schedule


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 is Sunday) in APScheduler 3's terms, which count
    from Monday: every item becomes day names (`1-5` -> `mon,tue,wed,thu,fri`)."""
    if field == "*":
        return field
    items: list[str] = []
    for item in field.lower().split(","):
        base, _, step_text = item.partition("/")
        if step_text and not step_text.isdigit():
            raise ValueError(f"bad day of week {item!r}")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 7
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _weekday_number(start), _weekday_number(end)
        else:
            first = _weekday_number(base)
            last = 7 if step_text else first
        if last < first and last == 0:  # "5-0" or "fri-sun" written with 0
            last = 7
        if step < 1 or last < first or not 0 <= first <= 7 or not 0 <= last <= 7:
            raise ValueError(f"bad day of week {item!r}")
        items.extend(_CRON_WEEKDAYS[day] for day in range(first, last + 1, step))
    return ",".join(dict.fromkeys(items))


def _weekday_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text[:3] in _CRON_WEEKDAYS:
        return _CRON_WEEKDAYS.index(text[:3])
    raise ValueError(f"bad day of week {text!r}")


def _zone(name: str | None) -> Any:
    if name is None:
        try:
            from tzlocal import get_localzone

            return get_localzone()
        except Exception:  # no local zone configured (a bare container): UTC
            return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r} (use e.g. UTC or Europe/Berlin)") from None


def build_trigger(schedule: Schedule) -> Any:
    """The APScheduler trigger for a schedule (UsageError for a bad cron expression)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    jitter = int(schedule.jitter.total_seconds()) if schedule.jitter else None
    zone = _zone(schedule.timezone)
    if schedule.cron is not None:
        fields = schedule.cron.split()
        if len(fields) != 5:
            raise UsageError(f"a cron expression has 5 fields (minute hour day month weekday), "
                             f"not {len(fields)}: {schedule.cron!r}")
        try:
            return CronTrigger(minute=fields[0], hour=fields[1], day=fields[2], month=fields[3],
                               day_of_week=crontab_weekdays(fields[4]), timezone=zone,
                               jitter=jitter)
        except ValueError as exc:
            raise UsageError(f"invalid cron expression {schedule.cron!r}: {exc}") from None
    assert schedule.every is not None
    return IntervalTrigger(seconds=schedule.every.total_seconds(), timezone=zone, jitter=jitter)


def run_schedule(runner: Runner, schedule: Schedule, *, handle_signals: bool = True) -> int:
    """Run `runner` on `schedule` until SIGTERM/SIGINT (or `runner.stop` is set); return 0."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    stop = runner.stop
    zone = _zone(schedule.timezone)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=zone,
    )
    runs = 0

    def tick() -> None:
        nonlocal runs
        runs += 1
        try:
            report = runner.run_once()
        except Exception:
            log.exception("run %d failed unexpectedly; the schedule goes on", runs)
            return
        if report.stopped or stop.is_set():
            return
        # From the trigger, not the scheduler: shutdown() holds the scheduler's job-store lock
        # while it waits for this very run to end.
        upcoming = trigger.get_next_fire_time(None, datetime.now(zone))
        log.debug("run %d done (exit %d); next run about %s", runs, report.exit_code,
                  _when(upcoming), extra={"exit_code": report.exit_code,
                                          "next_run": _when(upcoming)})

    options: dict[str, Any] = {}
    if schedule.initial_run:
        options["next_run_time"] = datetime.now(zone)
    trigger = build_trigger(schedule)
    scheduler.add_job(tick, trigger, id="fetch", name="fetch", **options)

    # The handler only records the signal: locks (an Event's, a log handler's) taken inside
    # a signal handler can deadlock with the code it interrupted. The main loop acts on it.
    received: list[str] = []
    previous: dict[signal.Signals, Any] = {}
    if handle_signals:
        def on_signal(signum: int, _frame: Any) -> None:
            received.append(signal.Signals(signum).name)
            if len(received) > 1:
                os.write(2, f"tracker: {received[-1]} again: exiting now\n".encode())
                os._exit(130)

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)

    scheduler.start()
    job = scheduler.get_job("fetch")
    first = job.next_run_time if job is not None else None
    names = ", ".join(source.name for source in runner.sources)
    log.info("schedule: %s; sources: %s; first run %s", schedule.describe(), names,
             "now" if schedule.initial_run else _when(first), extra={"next_run": _when(first)})
    try:
        while not received and not stop.wait(0.2):
            pass
        if received:
            log.warning("%s: stopping; a run in progress finishes first (a fetch still "
                        "waiting on the remote is cut off after %g s)", received[0],
                        runner.client_options.stop_grace)
        stop.set()
        scheduler.shutdown(wait=True)  # a run in progress finishes first
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("schedule stopped after %d run%s", runs, "" if runs == 1 else "s")
    return 0


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
