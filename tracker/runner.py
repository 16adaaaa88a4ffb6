"""A run: every configured source once, each under its run lock: fetch, store, notify.

`tracker fetch` runs it once; `tracker schedule` runs it on every tick. One source failing
never stops the others; the run's exit code is the worst of its sources' (see `worst_code`).

>>> from tracker.config import SourceConfig, load_settings
>>> from tracker.demo import DEMO_KEY, demo_catalogs, serve_catalogs
>>> from tracker.store.db import open_database
>>> engine = open_database("sqlite://")
>>> with serve_catalogs() as server:                  # a loopback server plays the router
...     server.body = demo_catalogs()[0]
...     url = f"http://127.0.0.1:{server.server_address[1]}/v1"
...     demo = SourceConfig("demo", base_url=url, api_key=DEMO_KEY)
...     report = Runner(load_settings(environ={}), engine, [demo], environ={}).run_once()
>>> report.exit_code, [o.outcome for o in report.outcomes]
(0, ['new'])
>>> worst_code([0, 3, 5])
3
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from tracker.client import ClientOptions
from tracker.config import Settings, SourceConfig
from tracker.errors import (
    ChangelogWriteError,
    LockBusyError,
    PayloadError,
    RemoteError,
    TrackerError,
)
from tracker.logs import register_secret, scrub
from tracker.pipeline import Pipeline, RunResult

log = logging.getLogger("tracker.run")

# The exit code of a run over several sources is that of its worst source, in this order:
# unexpected error, configuration, storage fault, changelogs not written, rejected payload,
# remote failure, lock busy, success.
SEVERITY = (1, 2, 7, 8, 4, 3, 5, 0)


def worst_code(codes: Sequence[int]) -> int:
    """The exit code that says most about what went wrong (0 for none)."""
    present = set(codes)
    return next((code for code in SEVERITY if code in present), 0)


@dataclass
class SourceOutcome:
    """What one source's part of a run came to."""

    source: str
    result: RunResult | None = None
    error: BaseException | None = None
    duration: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.error is None:
            return 0
        return self.error.exit_code if isinstance(self.error, TrackerError) else 1

    @property
    def outcome(self) -> str:
        """new, unchanged, reverted, failed, rejected, lock_busy or error."""
        if self.result is not None:
            return self.result.outcome
        if isinstance(self.error, RemoteError):
            return "failed"
        if isinstance(self.error, PayloadError):
            return "rejected"
        if isinstance(self.error, LockBusyError):
            return "lock_busy"
        return "error"

    @property
    def message(self) -> str:
        """The error as one scrubbed line ("" on success)."""
        if self.error is None:
            return ""
        text = str(self.error) if isinstance(self.error, TrackerError) else (
            f"{type(self.error).__name__}: {self.error}")
        from tracker.reports.format import plain_text

        # One line, whatever the remote put into it: escapes and bidi controls made visible.
        return plain_text(scrub(text)).strip()

    def to_json(self) -> dict[str, Any]:
        """The fetch result (`RunResult.to_json`), or the source, outcome and error."""
        if self.result is not None and self.error is None:
            return self.result.to_json()
        if self.result is not None:  # stored, but its changelogs could not be written
            return {**self.result.to_json(), "error": self.message,
                    "exit_code": self.exit_code}
        return {"source": self.source, "outcome": self.outcome, "error": self.message,
                "exit_code": self.exit_code}


@dataclass
class RunReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    stopped: bool = False  # a stop was requested before every source had run

    @property
    def exit_code(self) -> int:
        return worst_code([o.exit_code for o in self.outcomes])


class Runner:
    """Runs a set of sources against one database; reuse it across runs (the scheduler
    does) to keep each source's pipeline and its catalog cache."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        sources: Sequence[SourceConfig],
        *,
        client_options: ClientOptions | None = None,
        lock_timeout: float | None = None,
        notify: bool = True,
        stop: threading.Event | None = None,
        failure_level: int = logging.WARNING,
        accept_shrink: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sources = list(sources)
        self.stop = stop or threading.Event()
        # A stop request cuts a fetch that is still waiting on the remote short (after the
        # options' `stop_grace`), so that SIGTERM ends a run within seconds, whatever the
        # remote does.
        self.client_options = replace(client_options or ClientOptions(), cancel=self.stop)
        self.lock_timeout = settings.lock_timeout if lock_timeout is None else lock_timeout
        # `fetch` reports failures itself (one line each), so it logs them at INFO only.
        self.failure_level = failure_level
        # Accept catalogs that would be held as suspicious (empty, too many models gone).
        self.accept_shrink = accept_shrink
        # Where API keys and notification URLs are read from (None: the process environment).
        self.environ = environ
        self._pipelines: dict[str, Pipeline] = {}
        self.notifier: Any = None
        if notify and settings.notify:
            from tracker.notify import Notifier

            self.notifier = Notifier(engine, settings.notify, reports_dir=settings.reports_dir,
                                     environ=environ, settings=settings)

    def run_once(self) -> RunReport:
        report = RunReport()
        for source in self.sources:
            if self.stop.is_set():
                report.stopped = True
                log.info("stop requested: source %s not run", source.name)
                continue
            report.outcomes.append(self.run_source(source))
        return report

    def run_source(self, source: SourceConfig) -> SourceOutcome:
        """One source: lock, fetch and store, notify, unlock; errors are caught and kept."""
        from tracker.locking import run_lock

        outcome = SourceOutcome(source.name)
        started = time.monotonic()
        try:
            with run_lock(self.engine, source.name, timeout=self.lock_timeout,
                          cancel=self.stop):
                try:
                    outcome.result = self._fetch(source)
                except ChangelogWriteError as exc:  # the state is stored all the same
                    outcome.result, outcome.error = exc.result, exc
                except Exception as exc:
                    outcome.error = exc
                if self.notifier is not None and not self._unobserved(outcome.error):
                    observation = outcome.result.observation_id if outcome.result else None
                    self.notifier.after_run(source.name, observation)
        except Exception as exc:  # the lock itself: busy, or the database is unreachable
            outcome.error = exc
        outcome.duration = time.monotonic() - started
        _log_outcome(outcome, self.failure_level)
        return outcome

    def _fetch(self, source: SourceConfig) -> RunResult:
        pipeline = self._pipelines.get(source.name)
        if pipeline is None:
            pipeline = Pipeline(self.engine, source, reports_dir=self.settings.reports_dir,
                                client_options=self.client_options,
                                accept_shrink=self.accept_shrink,
                                effective_floors=self.settings.effective_floors,
                                blend=self.settings.blend)
            self._pipelines[source.name] = pipeline
        # Read the key on every run: a key file (systemd credential) may have been rotated.
        key = source.resolve_api_key(self.environ)
        register_secret(key)
        return pipeline.fetch(api_key=key or "")

    @staticmethod
    def _unobserved(error: BaseException | None) -> bool:
        """Errors raised before a poll was recorded (no key, bad configuration): no news."""
        return error is not None and not isinstance(
            error, RemoteError | PayloadError | ChangelogWriteError)


def _log_outcome(outcome: SourceOutcome, failure_level: int = logging.WARNING) -> None:
    """The one log line per source and run (with fields for --log-format json)."""
    result = outcome.result
    extra: dict[str, Any] = {
        "source": outcome.source,
        "outcome": outcome.outcome,
        "duration_ms": int(outcome.duration * 1000),
        "exit_code": outcome.exit_code,
    }
    took = f"in {outcome.duration:.2f} s"
    if result is not None and outcome.error is None:
        if not log.isEnabledFor(logging.INFO):
            return  # (its sentence is not made: an unchanged poll loads no phrase module)
        from tracker.reports.phrases import count_text
        from tracker.reports.terminal import outcome_sentence

        extra.update(snapshot=result.snapshot.label if result.snapshot else None,
                     changes=len(result.changes))
        run = result.to_json()
        text = outcome_sentence(run)
        if result.is_transition:
            text += f": {count_text(result.changes)}"
        log.info("%s: %s %s", outcome.source, text, took, extra=extra)
        return
    extra["error"] = outcome.message
    level = failure_level
    if outcome.exit_code in (1, 2) and failure_level >= logging.WARNING:
        level = logging.ERROR
    log.log(level, "%s: %s (exit %d) %s: %s", outcome.source, outcome.outcome.replace("_", " "),
            outcome.exit_code, took, outcome.message, extra=extra,
            exc_info=outcome.error if outcome.exit_code == 1 and log.isEnabledFor(logging.DEBUG)
            else None)
