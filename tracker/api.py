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

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tracker.config import Settings, SourceConfig, load_settings
from tracker.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.client import ClientOptions
    from tracker.datasette_meta import DatasetteMetadata
    from tracker.demo import DemoResult
    from tracker.exports import ExportResult
    from tracker.gitimport import ImportSummary
    from tracker.history import (
        AuditRecord,
        CurrentPolicies,
        EffectiveReport,
        ModelHistory,
        WindowReport,
    )
    from tracker.pipeline import Pipeline, RunResult
    from tracker.price_lookup import PriceAt
    from tracker.publish import SiteResult
    from tracker.runner import RunReport
    from tracker.scheduler import Schedule
    from tracker.status import StatusReport
    from tracker.store.reads import SnapshotInfo
    from tracker.usage import Pricing
    from tracker.vocabulary import Diff
    from tracker.windows import Window

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
        self._empty: Engine | None = None  # what `reader` reads when nothing is stored yet

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

    @property
    def reader(self) -> Engine:
        """The engine the read side uses: the database as it is, never created.

        A SQLite file that is not there is a `ConfigError` naming it, unless it is the
        default database (nothing was stored yet); that, and a database without the
        tracker's tables, reads as an empty history.

        >>> with Tracker.open("sqlite:////no/such/dir/typo.db", environ={}) as t:
        ...     t.snapshots()
        Traceback (most recent call last):
        tracker.errors.ConfigError: no database at /no/such/dir/typo.db (from --database-url): ...
        """
        if self._engine is not None:
            return self._engine
        from tracker.store.db import DatabaseMissingError, open_database, open_existing

        try:
            found = open_existing(self.settings.database_url)
        except DatabaseMissingError as exc:
            if self.settings.database_given:
                raise ConfigError(
                    f"{exc} (from {self.settings.database_origin}): read commands never "
                    "create a database; check the path, or create it with `tracker fetch` "
                    "or `tracker db upgrade`") from None
            found = None
        if found is not None:
            self._engine = found
            return found
        if self._empty is None:  # nothing stored yet: an empty history, in memory
            self._empty = open_database("sqlite://")
        return self._empty

    def close(self) -> None:
        """Release the database connections (the tracker can be used again afterwards)."""
        for engine in (self._engine, self._empty):
            if engine is not None:
                engine.dispose()
        self._engine = self._empty = None

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
        deadline: float | None = None,
    ) -> RunResult:
        """Pull one source's catalog once (default: the default source): validate, store if
        new, diff, write changelogs, notify. Raises the `TrackerError` of a failed run (a
        `failed` or `rejected` observation is recorded first).

        `deadline` (seconds, default 120) bounds the fetch, every attempt and retry wait
        included; past it the run fails with `RemoteError` (exit 3) and its lock is released.
        `run` does the same for several sources and keeps going when one fails.
        """
        report = self.run(source, base_url=base_url, endpoint=endpoint, retries=retries,
                          timeout=timeout, notify=notify, accept_shrink=accept_shrink,
                          deadline=deadline)
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
        deadline: float | None = None,
    ) -> RunReport:
        """One run over the named source, else every source of the config file: each under
        its run lock, one failing never stopping the others (`RunReport.exit_code` is the
        worst). This is `tracker fetch`."""
        import logging

        from tracker.runner import Runner

        sources = self.run_sources(source, base_url=base_url, endpoint=endpoint)
        keyless = []
        for run_source in sources:
            try:
                run_source.check_api_key(self._environ)
            except ConfigError as exc:
                keyless.append(exc)
        if keyless and len(keyless) == len(sources):
            # Nothing could run: fail before the database is created or a lock file made.
            raise keyless[0]
        runner = Runner(self.settings, self.engine, sources,
                        client_options=self.client_options(retries, timeout, deadline),
                        notify=notify,
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

    def demo(self, reports_dir: str | Path = "./reports-out/demo") -> DemoResult:
        """The offline demo, as `tracker demo`: a loopback server plays the router and every
        bundled catalog is fetched through the real client as source `demo`, observed at the
        dates its versions carry (2026-11-01 to 06); changelogs go into `reports_dir`.

        The database is the one named by `--database-url` (the `database_url` argument) or
        `TRACKER_DATABASE_URL`; an earlier demo there is replaced, other sources are left
        alone. Without one (the config file's database is not used), the demo writes a
        database of its own, `demo.db` in the user data directory, afresh every time.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with Tracker.open("sqlite://", environ={}) as t:
        ...         result = t.demo(folder)
        ...         [run.outcome for run in result.runs], t.source_names()
        (['new', 'new', 'new', 'new', 'new', 'new'], ['demo'])
        """
        from sqlalchemy.engine import make_url

        from tracker.demo import (
            DemoResult,
            default_demo_database,
            fresh_demo_database,
            run_demo,
            write_demo_reports,
        )
        from tracker.store.db import open_database

        target = Path(reports_dir).expanduser()
        named = self.settings.database_origin in ("--database-url", "TRACKER_DATABASE_URL")
        if named:
            url = self.settings.database_url
            runs, replaced, others = run_demo(self.engine, target)
            reports = write_demo_reports(self.engine, target)
        else:
            url = fresh_demo_database(default_demo_database())
            engine = open_database(url)
            try:
                runs, replaced, others = run_demo(engine, target)
                reports = write_demo_reports(engine, target)
            finally:
                engine.dispose()
        return DemoResult(url, target, runs, own_database=not named, replaced=replaced,
                          reports=reports,
                          other_sources=others, show_url=make_url(url).password is None)

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
        deadline: float | None = None,
    ) -> int:
        """Run `run()` on a schedule in the foreground until SIGTERM or Ctrl-C; return the exit
        code. Arguments beat the config file's `[schedule]`. A stop request cuts a fetch still
        waiting on the remote short after 3 s; `deadline` as in `fetch`."""
        import logging

        from tracker.runner import Runner
        from tracker.scheduler import run_schedule

        plan = self.schedule_plan(cron=cron, every=every, jitter=jitter,
                                  initial_run=initial_run, timezone=timezone)
        runner = Runner(self.settings, self.engine, self.run_sources(source),
                        client_options=self.client_options(retries, timeout, deadline),
                        notify=notify, failure_level=logging.WARNING, environ=self._environ)
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

        return source_overview(self.reader, list(self.settings.sources))

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

        return list_snapshots(self.reader, self._stored_source(source),
                              configured=list(self.settings.sources))

    def diff(self, source: str | None = None, from_ref: str | None = None,
             to_ref: str | None = None, *, effective: Sequence[str] = ()) -> Diff:
        """The changes between two snapshots (default: previous to latest), as the guide's
        diff object `{"from", "to", "source", "changes"}`.

        A reference is a snapshot id, a catalog_version, `#` and a content-hash prefix, an ISO
        date or time (the state observed then), `latest` or `previous`. `effective` (floors:
        `zdr`, `no_training`, `any`) appends the derived `effective_price_changed` records at
        those floors, as `tracker diff --effective FLOOR` does.
        """
        from tracker.history import diff_between

        name = self._stored_source(source)
        result = diff_between(self.reader, name, from_ref, to_ref,
                              effective=_floors(effective), blend=self.settings.blend)
        result["source"] = name
        return result

    def report(self, since: When, until: When | None = None,
               sources: Sequence[str] = (), *,
               usage: str | Path | None = None) -> WindowReport:
        """Net changes over the window [since, until) and the timeline of every transition
        in it, per source (default: the default source). WHEN is a datetime, ISO text or a
        span back from now such as `7d`.

        With `effective_floors` configured, the net changes and the timeline carry the
        `effective_price_changed` records at those floors. `usage` (default: the config's
        `usage_file`), a CSV of monthly token volumes, adds the cost impact of the window
        (`SourceReport.impact`; `"impact"` in the JSON).
        """
        from tracker.history import window_report

        names, configured = self._read_sources(sources)
        return window_report(self.reader, names, self.window(since, until),
                             configured=configured, pricing=self.pricing(usage))

    def weekly(self, year: int | None = None, week: int | None = None,
               sources: Sequence[str] = ()) -> list[tuple[Path, bool]]:
        """Write the weekly report files of an ISO week (default: the last complete one) into
        the reports directory; return each path and whether it was (re)written."""
        from tracker.publish import write_weekly
        from tracker.windows import last_complete_week

        if year is None or week is None:
            year, week = last_complete_week()
        names, configured = self._read_sources(sources)
        return write_weekly(self.reader, names, self.settings.reports_dir, year, week,
                            configured=configured, pricing=self.pricing())

    def audit(self, since: When | None = None, until: When | None = None,
              sources: Sequence[str] = (), *, weakened_only: bool = False) -> list[AuditRecord]:
        """Every data-policy change of the window, when first observed; with `weakened_only`,
        only weakenings and policies that became unknown."""
        from tracker.history import audit

        names, configured = self._read_sources(sources)
        records = audit(self.reader, names, self.window(since, until), configured=configured)
        if weakened_only:
            records = [r for r in records if r.weakened or r.became_unknown]
        return records

    def current_policies(self, at: When | None = None,
                         sources: Sequence[str] = ()) -> CurrentPolicies:
        """Every offer's data policy as it stood at `at` (default: now)."""
        from tracker.history import current_policies

        names, configured = self._read_sources(sources)
        return current_policies(self.reader, names, self.window(None, at).until,
                                configured=configured)

    def history(self, model: str, provider: str | None = None,
                source: str | None = None) -> ModelHistory:
        """Every price and data policy `model` had, per provider, with when each held, and
        its effective offer over time at each floor of `effective_floors` (default: every
        floor). An unknown model raises `NotFoundError` naming the closest ids."""
        from tracker.effective import FLOORS
        from tracker.history import model_history

        names, configured = self._read_sources((source,) if source else ())
        return model_history(self.reader, names[0], model, provider, configured=configured,
                             floors=self.settings.effective_floors or FLOORS,
                             blend=self.settings.blend)

    def effective(self, models: Sequence[str] = (), *,
                  floors: str | Sequence[str] | None = None, at: When | None = None,
                  source: str | None = None) -> EffectiveReport:
        """The effective offer of every model (or of `models`) at each floor (default: every
        floor, `zdr`, `no_training`, `any`) in the state observed at or before `at` (default:
        now): the qualifying offer with the lowest blended price (`blend`, default 3:1), ties
        to the lower input price, then the provider name. This is `tracker effective`.

        >>> from tracker.demo import demo_catalogs
        >>> with Tracker.open("sqlite://", environ={}) as t:
        ...     for day, body in enumerate(demo_catalogs()[:3], start=1):
        ...         _ = t.ingest(body, observed_at=f"2026-11-0{day}T09:00Z")
        ...     before = t.effective(["llama-3.3-70b-instruct"], floors="zdr",
        ...                          at="2026-11-02T12:00Z")
        ...     now = t.effective(["llama-3.3-70b-instruct"], floors="zdr")
        >>> [(row["provider"], row["blended"]) for row in before.to_json() + now.to_json()]
        [('deepinfra', 0.2725), ('groq', 0.64)]

        A model named that is not in that state raises `NotFoundError` naming the closest ids.
        """
        from tracker.effective import FLOORS
        from tracker.history import effective_prices
        from tracker.timeutil import parse_when

        moment = parse_when(at) if isinstance(at, str) else at
        names, configured = self._read_sources((source,) if source else ())
        chosen = FLOORS if floors is None else _floors(floors)
        if not chosen:
            raise UsageError("no floor given (use zdr, no_training or any)")
        return effective_prices(self.reader, names[0], at=moment, models=models,
                                floors=chosen, blend=self.settings.blend,
                                configured=configured)

    def feed(self, sources: Sequence[str] = (), *, since: When | None = None,
             until: When | None = None, limit: int = 100, site_url: str | None = None) -> str:
        """An Atom 1.0 feed with one entry per transition, newest first."""
        from tracker.publish import feed_document

        names, configured = self._read_sources(sources)
        return feed_document(self.reader, names, since=_text(since), until=_text(until),
                             limit=limit, site_url=site_url, configured=configured,
                             pricing=self.pricing(use_usage=False))

    def build_site(self, directory: str | Path, sources: Sequence[str] = (), *,
                   site_url: str | None = None, feed_limit: int = 100) -> SiteResult:
        """Write the static site (changelogs, weekly reports, model pages, audit, feed) into
        `directory`; pages whose content did not change are left alone."""
        from tracker.publish import build_site

        names, configured = self._read_sources(sources)
        return build_site(self.reader, names, Path(directory), configured=configured,
                          site_url=site_url, feed_limit=feed_limit,
                          pricing=self.pricing(use_usage=False))

    def status(self, source: str | None = None, *, max_age: str | timedelta | None = None,
               max_failures: int | None = None) -> StatusReport:
        """Health per source: last success, last change, failures in a row. `healthy` is
        false when a checked source is older than `max_age` or failed `max_failures` times
        in a row."""
        from tracker.status import collect_status
        from tracker.timeutil import parse_duration

        age = parse_duration(max_age) if isinstance(max_age, str) else max_age
        checked = [s.name for s in self.settings.run_sources()] if source is None else [source]
        report = collect_status(self.reader, checked, max_age=age, max_failures=max_failures,
                                only=source)
        if (source is not None and source not in self.settings.sources
                and not report.sources[0].kind):
            known = ", ".join(sorted(self.settings.sources))
            raise ConfigError(f"unknown source {source!r} (configured: {known})")
        return report

    # --- the history as data ---

    def price(self, model: str, *, provider: str | None = None, at: When | None = None,
              source: str | None = None) -> PriceAt:
        """The offer(s) of `model` that held at `at` (default: now), each with the interval
        ``[from, to)`` its price and policy held: the state at `at` is the latest one observed
        at or before it. This is `tracker price`, the lookup that prices a past request.

        >>> from tracker.demo import demo_catalogs
        >>> with Tracker.open("sqlite://", environ={}) as t:
        ...     for day, body in enumerate(demo_catalogs()[:2], start=1):
        ...         _ = t.ingest(body, observed_at=f"2026-11-0{day}T09:00Z")
        ...     held = t.price("deepseek-v3.1", provider="deepinfra", at="2026-11-01T12:00Z")
        >>> [(o["provider"], o["input_price"], o["from"], o["to"])
        ...  for o in held.to_json()["offers"]]
        [('deepinfra', 0.25, '2026-11-01T09:00:00Z', '2026-11-02T09:00:00Z')]

        An unknown model raises `NotFoundError` naming the closest ids; so does a model that
        was not listed at that moment (saying when it was).
        """
        from tracker.price_lookup import price_at
        from tracker.timeutil import now, parse_when

        moment = (parse_when(at) if isinstance(at, str) else at) or now()
        names, configured = self._read_sources((source,) if source else ())
        return price_at(self.reader, names[0], model, moment, provider=provider,
                        configured=configured)

    def export(self, kind: str, output: str | Path | TextIO, *, since: When | None = None,
               until: When | None = None, sources: Sequence[str] = (),
               fmt: str = "jsonl") -> ExportResult:
        """Write the history as rows (`offers`, `models`, `changes` or `observations`; see
        `tracker.exports`) to `output`, a path or a text stream, as JSON Lines or CSV
        (`fmt`). Rows are streamed from the database and written as they come; a path is
        written atomically (a reader sees the old file or the whole new one). This is
        `tracker export`.

        >>> import io
        >>> from tracker.demo import demo_catalogs
        >>> out = io.StringIO()
        >>> with Tracker.open("sqlite://", environ={}) as t:
        ...     for day, body in enumerate(demo_catalogs()[:2], start=1):
        ...         _ = t.ingest(body, observed_at=f"2026-11-0{day}T09:00Z")
        ...     result = t.export("changes", out, fmt="csv")
        >>> result.rows, out.getvalue().splitlines()[0][:40]
        (7, 'source,observed_at,kind,model,provider,f')
        """
        from tracker.exports import COLUMNS, ExportResult, check_kind, export_rows
        from tracker.reports.export import export_lines

        check_kind(kind, fmt)
        bounded = since is not None or until is not None
        window = self.window(since, until) if bounded else None
        names = self.source_names(sources)
        count = 0
        with self.reader.connect() as conn:
            def counted() -> Iterator[dict[str, Any]]:
                nonlocal count
                for row in export_rows(conn, kind, names, window.since if window else None,
                                       window.until if window else None):
                    count += 1
                    yield row

            lines = export_lines(counted(), COLUMNS[kind], fmt)
            if isinstance(output, str | Path):
                from tracker.publish import write_lines_atomically

                path = Path(output)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_lines_atomically(path, lines)
                return ExportResult(kind, fmt, count, tuple(names), path)
            for line in lines:
                output.write(line)
        return ExportResult(kind, fmt, count, tuple(names))

    def datasette_metadata(self, database: str | None = None) -> DatasetteMetadata:
        """A Datasette `metadata.json` for this database (`tracker.datasette_meta`): titles,
        column descriptions and units, the storage tables hidden, three canned queries.
        `database` is the name Datasette serves it under: the file name without `.db`
        (default: the configured SQLite file's, else `tracker`).

        >>> with Tracker.open("sqlite:////var/lib/tracker/catalog.db", environ={}) as t:
        ...     list(t.datasette_metadata().to_json()["databases"])
        ['catalog']
        """
        from tracker.datasette_meta import datasette_metadata
        from tracker.store.db import sqlite_file

        if database is None:
            path = sqlite_file(self.settings.database_url)
            database = path.stem if path is not None else "tracker"
        return datasette_metadata(database)

    def complete(self, kind: str, incomplete: str = "", *,
                 source: str | None = None) -> list[str]:
        """Shell completions from the database: source names (`kind` "source"), model ids
        ("model") or snapshot references ("snapshot": latest, previous and the labels, newest
        first) that start with `incomplete`. Never creates, migrates or waits for the
        database, and never fails: nothing is found when it is missing, busy or unreadable.

        >>> with Tracker.open("sqlite:////no/such/tracker.db", environ={}) as t:
        ...     t.complete("source", "au"), t.complete("model", "gpt")
        (['auriko'], [])
        """
        from tracker.config import DEFAULT_SOURCE
        from tracker.store import reads
        from tracker.store.db import open_quick_reader
        from tracker.vocabulary import snapshot_label

        found: list[str] = []
        if kind == "source":
            found = sorted(self.settings.sources)
        elif kind == "snapshot":
            found = ["latest", "previous"]
        try:
            engine = open_quick_reader(self.settings.database_url)
        except Exception:
            engine = None
        if engine is not None:
            try:
                with engine.connect() as conn:
                    stored = reads.source_ids(conn)
                    if kind == "source":
                        found = sorted(set(found) | set(stored))
                    else:
                        name = source or (next(iter(stored)) if len(stored) == 1
                                          else DEFAULT_SOURCE)
                        source_id = stored.get(name)
                        if source_id is not None and kind == "model":
                            found = reads.model_ids_starting(conn, source_id, incomplete)
                        elif source_id is not None and kind == "snapshot":
                            labels = (snapshot_label(row.catalog_version, row.content_hash)
                                      for row in reads.snapshot_names(conn, source_id))
                            found = list(dict.fromkeys([*found, *labels]))
            except Exception:  # busy, locked or unreadable: complete to what there is
                found = [value for value in found if value in ("latest", "previous")
                         or value in self.settings.sources]
            finally:
                engine.dispose()
        return [value for value in found if value.startswith(incomplete)]

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

    def window(self, since: When | None, until: When | None = None) -> Window:
        """The half-open window [since, until): WHEN as a datetime, ISO text or a span back
        from now (`7d`); `until` defaults to now.

        >>> Tracker.open("sqlite://", environ={}).window("2026-01-01", "2026-02-01").label()
        '[2026-01-01T00:00:00Z, 2026-02-01T00:00:00Z)'
        """
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

    def client_options(self, retries: int | None = None, timeout: float | None = None,
                       deadline: float | None = None) -> ClientOptions:
        """HTTP client settings: `timeout` caps the connect and read timeouts; `deadline`
        (seconds, default 120) is the wall-clock limit of a whole fetch.

        >>> Tracker.open("sqlite://", environ={}).client_options(deadline=30).deadline
        30
        """
        from tracker.client import ClientOptions

        base = ClientOptions()
        backoff = self.settings.retry_backoff
        return ClientOptions(
            connect_timeout=min(timeout, base.connect_timeout) if timeout else base.connect_timeout,
            read_timeout=timeout or base.read_timeout,
            retries=base.retries if retries is None else retries,
            backoff=base.backoff if backoff is None else backoff,
            deadline=base.deadline if deadline is None else deadline,
        )

    def _pipeline(self, source: str | None, *, accept_shrink: bool = False) -> Pipeline:
        from tracker.pipeline import Pipeline

        return Pipeline(self.engine, self.settings.source(source),
                        reports_dir=self.settings.reports_dir, accept_shrink=accept_shrink,
                        effective_floors=self.settings.effective_floors,
                        blend=self.settings.blend)

    def pricing(self, usage: str | Path | None = None, *, use_usage: bool = True) -> Pricing:
        """What reports add on request, from the settings: effective prices at
        `effective_floors`, and (with `use_usage`) the cost impact on `usage`, else on the
        config's `usage_file`. A malformed usage file is a `UsageError` naming the line.

        >>> Tracker.open("sqlite://", environ={}).pricing().floors
        ()
        """
        from tracker.usage import Pricing, read_usage

        path = usage if usage is not None else self.settings.usage_file
        rows = tuple(read_usage(path)) if use_usage and path is not None else None
        return Pricing(self.settings.effective_floors, self.settings.blend, rows,
                       self.settings.usage_floor,
                       str(Path(path).expanduser()) if rows is not None and path else None)

    def source_names(self, sources: Sequence[str] = ()) -> list[str]:
        """The sources a read covers: the ones named; else the only source in the database,
        when it holds exactly one (the demo's, say); else the default source.

        >>> with Tracker.open("sqlite://", environ={}) as t:
        ...     t.source_names(), t.source_names(["openrouter", "auriko"])
        (['auriko'], ['openrouter', 'auriko'])
        """
        if sources:
            return list(dict.fromkeys(sources))
        from tracker.config import DEFAULT_SOURCE
        from tracker.history import stored_source_names

        stored = stored_source_names(self.reader)
        return stored if len(stored) == 1 else [DEFAULT_SOURCE]

    def _stored_source(self, name: str | None) -> str:
        return self.source_names((name,) if name else ())[0]

    def _read_sources(self, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """The sources to read (see `source_names`) and the configured names."""
        return self.source_names(names), list(self.settings.sources)


def _floors(value: str | Sequence[str]) -> tuple[str, ...]:
    """Floors as given (one, or several), checked and in the documented order."""
    from tracker.effective import FLOORS

    given = [value] if isinstance(value, str) else list(value)
    unknown = [f for f in given if f not in FLOORS]
    if unknown:
        raise UsageError(f"unknown floor {unknown[0]!r} (use one of: {', '.join(FLOORS)})")
    return tuple(f for f in FLOORS if f in given)


def _text(value: When | None) -> str | None:
    if isinstance(value, datetime):
        from tracker.timeutil import iso

        return iso(value)
    return value

