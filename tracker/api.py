"""`Tracker`: the product as one object. The `tracker` command line is a thin face on it.

Open one on a database, feed it catalogs (fetched, ingested, or backfilled from git), and read
the history back as typed results: snapshots, diffs, window reports, the data-policy audit,
model histories, health. Every method is what one command does; the CLI parses its arguments,
calls the method, and prints what a renderer makes of the result.

>>> from tracker import Tracker
>>> from tracker.demo import demo_catalogs
>>> first, second = demo_catalogs()[:2]
>>> with Tracker.open("sqlite://", environ={}) as t:    # an in-memory database
...     t.ingest(first, observed_at="2026-11-01T09:00Z").outcome
...     t.ingest(second, observed_at="2026-11-02T09:00Z").outcome
...     [(c["model"], c["field"], c["old"], c["new"]) for c in t.diff()["changes"]][:2]
'new'
'new'
[('deepseek-v3.1', 'input_price', 0.25, 0.2), ('deepseek-v3.1', 'output_price', 1, 0.8)]

Settings follow the guide: arguments beat environment variables, which beat the config file
(`tracker.toml`). Pass `environ={}` to ignore the environment entirely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.config import Settings, SourceConfig, load_settings
from tracker.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.client import ClientOptions
    from tracker.gitimport import ImportSummary
    from tracker.history import AuditRecord, CurrentPolicies, ModelHistory, WindowReport
    from tracker.pipeline import Pipeline, RunResult
    from tracker.publish import SiteResult
    from tracker.runner import RunReport
    from tracker.scheduler import Schedule
    from tracker.status import StatusReport
    from tracker.store.reads import SnapshotInfo
    from tracker.vocabulary import Diff

When = datetime | str


class Tracker:
    """One database of catalog histories, and everything the tool does with it.

    Create it with `Tracker.open(...)`; close it (or use it as a context manager) to release
    the database connections.

    >>> with Tracker.open("sqlite://", environ={}) as t:
    ...     t.settings.sources["auriko"].base_url
    'https://api.auriko.ai/v1'
    """

    def __init__(self, settings: Settings, *, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self._environ = environ
        self._engine: Engine | None = None

    # --- opening and closing ---

    @classmethod
    def open(
        cls,
        database_url: str | None = None,
        *,
        config: str | Path | None = None,
        reports_dir: str | Path | None = None,
        base_url: str | None = None,
        endpoint: str | None = None,
        lock_timeout: float | None = None,
        notify_on_failure: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Tracker:
        """A tracker on `database_url` (a SQLAlchemy URL; default: the configured database).

        The other arguments override the configuration as the CLI's flags do. The database is
        created and migrated on first use.

        >>> t = Tracker.open("sqlite://", reports_dir="/tmp/reports", environ={})
        >>> t.settings.reports_dir
        PosixPath('/tmp/reports')
        >>> t.close()
        """
        settings = load_settings(
            config_path=str(config) if config is not None else None,
            database_url=database_url,
            reports_dir=str(reports_dir) if reports_dir is not None else None,
            base_url=base_url,
            endpoint=endpoint,
            lock_timeout=lock_timeout,
            notify_on_failure=notify_on_failure,
            environ=environ,
        )
        return cls(settings, environ=environ)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, opened (and migrated) on first use."""
        if self._engine is None:
            from tracker.store.db import open_database

            self._engine = open_database(self.settings.database_url)
        return self._engine

    def close(self) -> None:
        """Release the database connections (the tracker can be used again afterwards)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the write side ---

    def ingest(
        self,
        body: bytes | str,
        *,
        source: str | None = None,
        observed_at: When | None = None,
        accept_shrink: bool = False,
        write_changelogs: bool = True,
    ) -> RunResult:
        """Run the pipeline on a saved `/v1/models` response body, as `tracker ingest` does.

        `observed_at` (a datetime or ISO 8601 text) defaults to now. Changelogs of a
        transition are written into the reports directory unless `write_changelogs` is off.

        >>> from tracker.demo import demo_catalogs
        >>> with Tracker.open("sqlite://", environ={}) as t:
        ...     result = t.ingest(demo_catalogs()[0], observed_at="2026-11-01")
        >>> result.outcome, result.snapshot.label, result.snapshot.model_count
        ('new', '2026-11-01.1', 39)
        """
        from tracker.timeutil import parse_iso

        moment = parse_iso(observed_at) if isinstance(observed_at, str) else observed_at
        data = body.encode() if isinstance(body, str) else body
        return self._pipeline(source, accept_shrink=accept_shrink).ingest(
            data, observed_at=moment, origin="ingest", write_changelogs=write_changelogs)

    def fetch(
        self,
        source: str | None = None,
        *,
        base_url: str | None = None,
        endpoint: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        notify: bool = True,
        accept_shrink: bool = False,
    ) -> RunResult:
        """Pull one source's catalog once (default: the default source): validate, store if
        new, diff, write changelogs, notify. Raises the `TrackerError` of a failed run (a
        `failed` or `rejected` observation is recorded first).

        `run` does the same for several sources and keeps going when one fails.
        """
        report = self.run(source, base_url=base_url, endpoint=endpoint, retries=retries,
                          timeout=timeout, notify=notify, accept_shrink=accept_shrink)
        (outcome,) = report.outcomes
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def run(
        self,
        source: str | None = None,
        *,
        base_url: str | None = None,
        endpoint: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        notify: bool = True,
        accept_shrink: bool = False,
        failure_level: int | None = None,
    ) -> RunReport:
        """One run over the named source, else every source of the config file: each under
        its run lock, one failing never stopping the others (`RunReport.exit_code` is the
        worst). This is `tracker fetch`."""
        import logging

        from tracker.runner import Runner

        runner = Runner(self.settings, self.engine,
                        self.run_sources(source, base_url=base_url, endpoint=endpoint),
                        client_options=self.client_options(retries, timeout), notify=notify,
                        failure_level=logging.INFO if failure_level is None else failure_level,
                        accept_shrink=accept_shrink, environ=self._environ)
        return runner.run_once()

    def import_git(
        self,
        repo: str | Path,
        path: str,
        *,
        ref: str = "HEAD",
        source: str | None = None,
        changelogs: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportSummary:
        """Backfill every committed version of `path` in the git repository `repo`, oldest
        first, each observed at its commit time. Re-running continues where it stopped."""
        from tracker.gitimport import import_git

        return import_git(self._pipeline(source), Path(repo), path, ref=ref,
                          write_changelogs=changelogs, progress=progress)

    def schedule(
        self,
        *,
        cron: str | None = None,
        every: str | timedelta | None = None,
        jitter: str | timedelta | None = None,
        initial_run: bool | None = None,
        timezone: str | None = None,
        source: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        notify: bool = True,
        handle_signals: bool = True,
    ) -> int:
        """Run `run()` on a schedule in the foreground until SIGTERM or Ctrl-C; return the exit
        code. Arguments beat the config file's `[schedule]`."""
        import logging

        from tracker.runner import Runner
        from tracker.scheduler import run_schedule

        plan = self.schedule_plan(cron=cron, every=every, jitter=jitter,
                                  initial_run=initial_run, timezone=timezone)
        runner = Runner(self.settings, self.engine, self.run_sources(source),
                        client_options=self.client_options(retries, timeout), notify=notify,
                        failure_level=logging.WARNING, environ=self._environ)
        return run_schedule(runner, plan, handle_signals=handle_signals)

    def schedule_plan(
        self,
        *,
        cron: str | None = None,
        every: str | timedelta | None = None,
        jitter: str | timedelta | None = None,
        initial_run: bool | None = None,
        timezone: str | None = None,
    ) -> Schedule:
        """The schedule `schedule()` would follow (arguments beat the config file)."""
        from tracker.scheduler import resolve_schedule
        from tracker.timeutil import parse_duration

        def span(value: str | timedelta | None) -> timedelta | None:
            return parse_duration(value) if isinstance(value, str) else value

        return resolve_schedule(self.settings.schedule, cron=cron, every=span(every),
                                jitter=span(jitter), initial_run=initial_run, timezone=timezone)

    # --- the read side ---

    def sources(self) -> list[dict[str, Any]]:
        """Every configured source and every source stored in the database, with its last
        observation."""
        from tracker.history import source_overview

        return source_overview(self.engine, list(self.settings.sources))

    def snapshots(self, source: str | None = None) -> list[SnapshotInfo]:
        """The stored snapshots of a source, oldest first.

        >>> from tracker.demo import demo_catalogs
        >>> with Tracker.open("sqlite://", environ={}) as t:
        ...     for body in demo_catalogs()[:2]:
        ...         _ = t.ingest(body)
        ...     [s.label for s in t.snapshots()]
        ['2026-11-01.1', '2026-11-02.1']
        """
        from tracker.history import list_snapshots

        return list_snapshots(self.engine, self._stored_source(source))

    def diff(self, source: str | None = None, from_ref: str | None = None,
             to_ref: str | None = None) -> Diff:
        """The changes between two snapshots (default: previous to latest), as the guide's
        diff object `{"from", "to", "source", "changes"}`.

        A reference is a snapshot id, a catalog_version, `#` and a content-hash prefix, an ISO
        date or time (the state observed then), `latest` or `previous`.
        """
        from tracker.history import diff_between

        name = self._stored_source(source)
        result = diff_between(self.engine, name, from_ref, to_ref)
        result["source"] = name
        return result

    def report(self, since: When, until: When | None = None,
               sources: Sequence[str] = ()) -> WindowReport:
        """Net changes over the window [since, until) and the timeline of every transition
        in it, per source (default: the default source). WHEN is a datetime, ISO text or a
        span back from now such as `7d`."""
        from tracker.history import window_report

        names, configured = self._read_sources(sources)
        return window_report(self.engine, names, self.window(since, until),
                             configured=configured)

    def weekly(self, year: int | None = None, week: int | None = None,
               sources: Sequence[str] = ()) -> list[tuple[Path, bool]]:
        """Write the weekly report files of an ISO week (default: the last complete one) into
        the reports directory; return each path and whether it was (re)written."""
        from tracker.publish import write_weekly
        from tracker.windows import last_complete_week

        if year is None or week is None:
            year, week = last_complete_week()
        names, configured = self._read_sources(sources)
        return write_weekly(self.engine, names, self.settings.reports_dir, year, week,
                            configured=configured)

    def audit(self, since: When | None = None, until: When | None = None,
              sources: Sequence[str] = (), *, weakened_only: bool = False) -> list[AuditRecord]:
        """Every data-policy change of the window, when first observed; with `weakened_only`,
        only weakenings and policies that became unknown."""
        from tracker.history import audit

        names, configured = self._read_sources(sources)
        records = audit(self.engine, names, self.window(since, until), configured=configured)
        if weakened_only:
            records = [r for r in records if r.weakened or r.became_unknown]
        return records

    def current_policies(self, at: When | None = None,
                         sources: Sequence[str] = ()) -> CurrentPolicies:
        """Every offer's data policy as it stood at `at` (default: now)."""
        from tracker.history import current_policies

        names, configured = self._read_sources(sources)
        return current_policies(self.engine, names, self.window(None, at).until,
                                configured=configured)

    def history(self, model: str, provider: str | None = None,
                source: str | None = None) -> ModelHistory:
        """Every price and data policy `model` had, per provider, with when each held. An
        unknown model raises `NotFoundError` naming the closest ids."""
        from tracker.history import model_history

        names, configured = self._read_sources((source,) if source else ())
        return model_history(self.engine, names[0], model, provider, configured=configured)

    def feed(self, sources: Sequence[str] = (), *, since: When | None = None,
             until: When | None = None, limit: int = 100, site_url: str | None = None) -> str:
        """An Atom 1.0 feed with one entry per transition, newest first."""
        from tracker.publish import feed_document

        names, configured = self._read_sources(sources)
        return feed_document(self.engine, names, since=_text(since), until=_text(until),
                             limit=limit, site_url=site_url, configured=configured)

    def build_site(self, directory: str | Path, sources: Sequence[str] = (), *,
                   site_url: str | None = None, feed_limit: int = 100) -> SiteResult:
        """Write the static site (changelogs, weekly reports, model pages, audit, feed) into
        `directory`; pages whose content did not change are left alone."""
        from tracker.publish import build_site

        names, configured = self._read_sources(sources)
        return build_site(self.engine, names, Path(directory), configured=configured,
                          site_url=site_url, feed_limit=feed_limit)

    def status(self, source: str | None = None, *, max_age: str | timedelta | None = None,
               max_failures: int | None = None) -> StatusReport:
        """Health per source: last success, last change, failures in a row. `healthy` is
        false when a checked source is older than `max_age` or failed `max_failures` times
        in a row."""
        from tracker.errors import ConfigError
        from tracker.status import collect_status
        from tracker.timeutil import parse_duration

        age = parse_duration(max_age) if isinstance(max_age, str) else max_age
        checked = [s.name for s in self.settings.run_sources()] if source is None else [source]
        report = collect_status(self.engine, checked, max_age=age, max_failures=max_failures,
                                only=source)
        if (source is not None and source not in self.settings.sources
                and not report.sources[0].kind):
            known = ", ".join(sorted(self.settings.sources))
            raise ConfigError(f"unknown source {source!r} (configured: {known})")
        return report

    # --- migrations ---

    def upgrade(self) -> tuple[str | None, str]:
        """Apply migrations up to the newest schema; return (revision before, revision now)."""
        from tracker.store.db import (
            HEAD_REVISION,
            create_db_engine,
            current_revision,
            upgrade_database,
        )

        engine = create_db_engine(self.settings.database_url)
        try:
            before = current_revision(engine)
            upgrade_database(engine)
        finally:
            engine.dispose()
        return before, HEAD_REVISION

    def revision(self) -> str | None:
        """The schema revision stamped in the database (None for an empty database)."""
        from tracker.store.db import create_db_engine, current_revision

        engine = create_db_engine(self.settings.database_url)
        try:
            return current_revision(engine)
        finally:
            engine.dispose()

    # --- helpers the CLI shares ---

    def window(self, since: When | None, until: When | None = None) -> Any:
        """The half-open window [since, until) (`tracker.windows.Window`)."""
        from tracker.windows import Window, parse_window

        if isinstance(since, datetime) or isinstance(until, datetime):
            from tracker.timeutil import now

            return Window(since if isinstance(since, datetime) else None,
                          until if isinstance(until, datetime) else now())
        return parse_window(since, until)

    def run_sources(self, source: str | None = None, *, base_url: str | None = None,
                    endpoint: str | None = None) -> list[SourceConfig]:
        """The sources a run covers, with `base_url`/`endpoint` applied to the one named."""
        sources = self.settings.run_sources(source)
        if len(sources) > 1 and (base_url or endpoint):
            raise UsageError("--base-url and --endpoint apply to one source; name it with "
                             "--source")
        if sources and endpoint and sources[0].kind != "auriko":
            raise UsageError(f"--endpoint applies to auriko sources, not {sources[0].kind}")
        # Arguments beat the config file for the one source they name.
        return [replace(s, base_url=base_url or s.base_url, endpoint=endpoint or s.endpoint)
                for s in sources]

    def client_options(self, retries: int | None = None,
                       timeout: float | None = None) -> ClientOptions:
        """HTTP client settings: `timeout` caps the connect and read timeouts."""
        from tracker.client import ClientOptions

        base = ClientOptions()
        backoff = self.settings.retry_backoff
        return ClientOptions(
            connect_timeout=min(timeout, base.connect_timeout) if timeout else base.connect_timeout,
            read_timeout=timeout or base.read_timeout,
            retries=base.retries if retries is None else retries,
            backoff=base.backoff if backoff is None else backoff,
        )

    def _pipeline(self, source: str | None, *, accept_shrink: bool = False) -> Pipeline:
        from tracker.pipeline import Pipeline

        return Pipeline(self.engine, self.settings.source(source),
                        reports_dir=self.settings.reports_dir, accept_shrink=accept_shrink)

    def _stored_source(self, name: str | None) -> str:
        from tracker.config import DEFAULT_SOURCE

        return name or DEFAULT_SOURCE

    def _read_sources(self, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """The sources to read (default: the default source) and the configured names."""
        from tracker.config import DEFAULT_SOURCE

        return (list(names) or [DEFAULT_SOURCE]), list(self.settings.sources)


def _text(value: When | None) -> str | None:
    if isinstance(value, datetime):
        from tracker.timeutil import iso

        return iso(value)
    return value

