"""The `tracker` command line: parse arguments, call one function, print its result.

Data goes to stdout, logs and progress to stderr. Every failure is one line on stderr and a
documented exit code (see tracker.errors); `-v` adds the traceback for unexpected errors.
"""

from __future__ import annotations

import errno
import gc
import re
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import click

from tracker import __version__
from tracker.errors import ExitCode, PayloadError, TrackerError
from tracker.reports import render
from tracker.timeutil import iso

if TYPE_CHECKING:
    from tracker.api import Tracker

FORMAT_TEXT_JSON = click.Choice(["text", "json"])


@dataclass
class AppContext:
    """What the group's options set for every command: where the config and database are."""

    config: str | None = None
    database_url: str | None = None
    verbosity: int = 0
    opened: list[Tracker] = field(default_factory=list)

    def tracker(self, **overrides: Any) -> Tracker:
        """The `Tracker` for this invocation; `overrides` are the command's own flags.
        `run()` closes every tracker it opened, whatever happens."""
        from tracker.api import Tracker

        opened = Tracker.open(self.database_url, config=self.config, **overrides)
        self.opened.append(opened)
        return opened

    def close(self) -> None:
        for opened in self.opened:
            opened.close()
        self.opened.clear()


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option("--config", metavar="FILE", help="Config file (default: tracker.toml in the user "
              "config directory; env TRACKER_CONFIG).")
@click.option("--database-url", metavar="URL", help="SQLAlchemy URL (env TRACKER_DATABASE_URL).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Log lines for people or for log shippers.")
@click.version_option(__version__, prog_name="catalog-tracker")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, config: str | None,
        database_url: str | None, log_format: str) -> None:
    """Watch an LLM router's model catalog and report what changed.

    \b
    Example:
      export AURIKO_API_KEY=ak_live_...
      tracker fetch && tracker diff --format md
    """
    from tracker.logs import setup_logging

    verbosity = -1 if quiet else verbose
    setup_logging(verbosity, log_format)
    app = ctx.ensure_object(AppContext)
    app.config, app.database_url, app.verbosity = config, database_url, verbosity


# --- fetch, ingest, import-git, demo: the write side ---


def _run_options(func: Any) -> Any:
    """The options of every command that runs sources: fetch and schedule."""
    options = [
        click.option("--lock-timeout", type=click.FloatRange(0), metavar="SECONDS",
                     help="Wait this long for another run of the same source to finish, "
                          "then exit 5 (env TRACKER_LOCK_TIMEOUT) [60]."),
        click.option("--notify-on-failure", type=click.IntRange(1), metavar="N",
                     help="Alert the notification targets after N failed runs in a row "
                          "(env TRACKER_NOTIFY_ON_FAILURE)."),
        click.option("--no-notify", is_flag=True, help="Send no notifications."),
        click.option("--deadline", type=click.FloatRange(1), metavar="SECONDS",
                     help="Wall-clock limit of each source's fetch, every attempt and retry "
                          "wait included: past it the run fails (exit 3) and releases its "
                          "lock [120]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _print_result(result: dict[str, Any], fmt: str) -> None:
    """A fetch or ingest result: its JSON, or the terminal lines."""
    _echo(render("run", fmt, result))


_accept_shrink_option = click.option(
    "--accept-shrink", is_flag=True,
    help="Accept a catalog that would be held as suspicious (empty, or more than max_shrink "
         "of the models gone).")


@cli.command()
@click.option("--source", metavar="NAME",
              help="Source to fetch (default: every source of the config file, else auriko).")
@click.option("--endpoint", type=click.Choice(["chat_completions", "responses"]),
              help="Which model list to pull (responses widens it).")
@click.option("--base-url", metavar="URL", help="API base ending in /v1 (env AURIKO_BASE_URL).")
@click.option("--reports-dir", metavar="DIR", help="Where changelogs go (env TRACKER_REPORTS_DIR).")
@click.option("--retries", type=click.IntRange(0, 20),
              help="Retries on 429/5xx/network errors [3].")
@click.option("--timeout", type=click.FloatRange(0.1), help="Read timeout in seconds [60].")
@_run_options
@_accept_shrink_option
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def fetch(app: AppContext, source: str | None, endpoint: str | None, base_url: str | None,
          reports_dir: str | None, retries: int | None, timeout: float | None,
          lock_timeout: float | None, notify_on_failure: int | None, no_notify: bool,
          deadline: float | None,
          accept_shrink: bool, fmt: str) -> int:
    """Pull the catalog once: validate, store if new, diff, write changelogs, notify.

    Without --source, every source of the config file is fetched, one after the other; one
    failing does not stop the others, and the exit code is the worst of them.

    \b
    Example (hourly from cron):
      AURIKO_API_KEY_FILE=/etc/tracker/key tracker fetch --reports-dir /var/lib/tracker/reports
    """
    with app.tracker(base_url=base_url, endpoint=endpoint, reports_dir=reports_dir,
                     lock_timeout=lock_timeout, notify_on_failure=notify_on_failure) as t:
        report = t.run(source, base_url=base_url, endpoint=endpoint, retries=retries,
                       timeout=timeout, notify=not no_notify, accept_shrink=accept_shrink,
                       deadline=deadline)
    if len(report.outcomes) == 1:
        outcome = report.outcomes[0]
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        _print_result(outcome.result.to_json(), fmt)
        return ExitCode.OK
    if fmt == "json":
        _echo(render("run", "json", [o.to_json() for o in report.outcomes]))
    for outcome in report.outcomes:
        if outcome.result is not None and fmt != "json":
            _print_result(outcome.result.to_json(), fmt)
        elif outcome.error is not None:
            click.echo(f"tracker: error: source {outcome.source}: {outcome.message}", err=True)
    return report.exit_code


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--observed-at", metavar="ISO8601", help="When this body was observed [now].")
@click.option("--source", metavar="NAME", help="Source it belongs to (default: auriko).")
@click.option("--endpoint", type=click.Choice(["chat_completions", "responses"]))
@click.option("--reports-dir", metavar="DIR", help="Where changelogs go.")
@_accept_shrink_option
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def ingest(app: AppContext, file: Any, observed_at: str | None, source: str | None,
           endpoint: str | None, reports_dir: str | None, accept_shrink: bool,
           fmt: str) -> None:
    """Run the pipeline on a saved /v1/models response body (FILE, or - for stdin).

    \b
    Example:
      curl -sH "Authorization: Bearer $AURIKO_API_KEY" https://api.auriko.ai/v1/models \\
        | tracker ingest - --observed-at 2026-11-01T09:00Z
    """
    with app.tracker(endpoint=endpoint, reports_dir=reports_dir) as t:
        result = t.ingest(file.read(), source=source, observed_at=observed_at,
                          accept_shrink=accept_shrink)
    _print_result(result.to_json(), fmt)


@cli.command("import-git")
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path))
@click.argument("path")
@click.option("--ref", default="HEAD", show_default=True, help="Branch, tag or commit to walk.")
@click.option("--source", metavar="NAME", help="Source to import into (default: auriko).")
@click.option("--changelogs/--no-changelogs", default=False, show_default=True,
              help="Also write a changelog per transition into the reports directory.")
@click.option("--reports-dir", metavar="DIR", help="Where changelogs go (with --changelogs).")
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def import_git(app: AppContext, repo: Path, path: str, ref: str, source: str | None,
               changelogs: bool, reports_dir: str | None, fmt: str) -> None:
    """Backfill every committed version of PATH in a git-scraping REPO, oldest first.

    Each version is observed at its commit time. Re-running continues where it stopped.

    \b
    Example:
      git clone https://github.com/you/auriko-models-scrape scrape
      tracker import-git scrape models.json
    """
    # A bar only for a person watching: cron logs and pipes get the summary line alone.
    quiet = app.verbosity < 0 or not sys.stderr.isatty()
    with app.tracker(reports_dir=reports_dir) as t, ExitStack() as stack:
        bar: Any = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if quiet:
                return
            if bar is None:
                bar = stack.enter_context(click.progressbar(
                    length=total, label="importing", file=sys.stderr, show_pos=True))
            bar.update(done - bar.pos)

        summary = t.import_git(repo, path, ref=ref, source=source, changelogs=changelogs,
                               progress=progress)
    _echo(render("import", fmt, summary.to_json()))


@cli.command()
@click.option("--reports-dir", metavar="DIR", default="./reports-out/demo", show_default=True,
              help="Where the demo's changelogs go.")
@pass_app
def demo(app: AppContext, reports_dir: str) -> None:
    """Offline end-to-end run on the bundled sample catalogs (no network, no key).

    A loopback server plays the router; each sample catalog is fetched through the real
    client as source demo, observed at the date its version carries (2026-11-01 to 06), and
    the changelogs are written. The database is the one --database-url or
    TRACKER_DATABASE_URL names (an earlier demo there is replaced, other sources are left
    alone), else a demo database of its own, started afresh. It ends with commands that
    look around the demo history as they are printed.

    \b
    Example:
      tracker demo && ls reports-out/demo
    """
    with app.tracker() as t:
        result = t.demo(reports_dir)
    _echo(render("demo", "text", result.to_json()))


# --- schedule, status: running unattended ---


@cli.command()
@click.option("--cron", metavar="EXPR",
              help='Crontab expression, e.g. "0 * * * *" (local time unless --timezone).')
@click.option("--every", metavar="DURATION", help="Interval: 30s, 15m, 1h, 1h30m, 1d.")
@click.option("--jitter", metavar="DURATION",
              help="Delay each run by a random time up to this (spreads load).")
@click.option("--initial-run/--no-initial-run", default=None,
              help="Run once right at start-up [--initial-run].")
@click.option("--timezone", metavar="ZONE", help="Time zone of --cron, e.g. UTC [local].")
@click.option("--source", metavar="NAME",
              help="Only this source (default: every source of the config file, else auriko).")
@click.option("--reports-dir", metavar="DIR", help="Where changelogs go (env TRACKER_REPORTS_DIR).")
@click.option("--retries", type=click.IntRange(0, 20),
              help="Retries on 429/5xx/network errors [3].")
@click.option("--timeout", type=click.FloatRange(0.1), help="Read timeout in seconds [60].")
@_run_options
@pass_app
def schedule(app: AppContext, cron: str | None, every: str | None, jitter: str | None,
             initial_run: bool | None, timezone: str | None, source: str | None,
             reports_dir: str | None, retries: int | None, timeout: float | None,
             lock_timeout: float | None, notify_on_failure: int | None,
             no_notify: bool, deadline: float | None) -> int:
    """Run fetch on a schedule, in the foreground, until SIGTERM or Ctrl-C.

    One run at a time; missed runs are coalesced; a failed run is logged and the schedule
    goes on. On SIGTERM a run in progress finishes, then the process exits 0; a fetch still
    waiting on the remote 3 s later is cut off (recorded as failed). Flags beat the config
    file's [schedule].

    \b
    Example (every hour at minute 7, plus a run now):
      tracker schedule --cron "7 * * * *" --jitter 2m
    """
    import logging

    if app.verbosity == 0:  # a line per run (and per notification) is the point here
        for name in ("tracker.run", "tracker.scheduler", "tracker.notify", "tracker.locking"):
            logging.getLogger(name).setLevel(logging.INFO)
    with app.tracker(reports_dir=reports_dir, lock_timeout=lock_timeout,
                     notify_on_failure=notify_on_failure) as t:
        return t.schedule(cron=cron, every=every, jitter=jitter, initial_run=initial_run,
                          timezone=timezone, source=source, retries=retries, timeout=timeout,
                          notify=not no_notify, deadline=deadline)


@cli.command()
@click.option("--source", metavar="NAME", help="Only this source (default: every source).")
@click.option("--max-age", metavar="DURATION",
              help="Exit 6 when a source's newest successful fetch is older than this (2h).")
@click.option("--max-failures", type=click.IntRange(1), metavar="N",
              help="Exit 6 when a source's last N polls failed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "openmetrics"]),
              default="text", show_default=True,
              help="openmetrics: gauges for Prometheus; health is catalog_tracker_up, and the "
                   "exit code is 0 whatever it says.")
@pass_app
def status(app: AppContext, source: str | None, max_age: str | None, max_failures: int | None,
           fmt: str) -> None:
    """Health per source: last successful fetch, last change, failures in a row.

    The sources of the config file (else auriko) are checked; other sources stored in the
    database are listed too. Exit 6 with one line on stderr when a checked source is stale
    (--max-age) or failing (--max-failures): point any monitoring system at it.

    \b
    Example (a monitoring check; metrics for node_exporter's textfile collector):
      tracker status --max-age 2h --format json
      tracker status --max-age 2h --format openmetrics > tracker.prom.tmp \\
        && mv tracker.prom.tmp /var/lib/node_exporter/tracker.prom
    """
    from tracker.errors import UnhealthyError

    with app.tracker() as t:
        report = t.status(source, max_age=max_age, max_failures=max_failures).to_json()
    _echo(render("status", fmt, report))
    if not report["healthy"] and fmt != "openmetrics":
        raise UnhealthyError("unhealthy: " + "; ".join(report["problems"]))


# --- snapshots, diff: the read side ---

_SOURCE_HELP = "Source (default: the only source in the database, else auriko)."


@cli.command()
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def sources(app: AppContext, fmt: str) -> None:
    """List configured sources (and any others in the database) with their last observation.

    \b
    Example:
      tracker --config /etc/catalog-tracker/tracker.toml sources
    """
    with app.tracker() as t:
        rows = t.sources()
        kinds = {name: source.kind for name, source in t.settings.sources.items()}
    _echo(render("sources", fmt, rows, **({"kinds": kinds} if fmt == "text" else {})))


@cli.command()
@click.option("--source", metavar="NAME", help=_SOURCE_HELP)
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def snapshots(app: AppContext, source: str | None, fmt: str) -> None:
    """List stored snapshots, oldest first.

    \b
    Example:
      tracker snapshots --format json | jq '.[-1]'
    """
    with app.tracker() as t:
        rows = t.snapshots(source)
    if fmt == "json":
        _echo(render("snapshots", fmt, [row.to_json() for row in rows]))
        return
    _echo(render("snapshots", fmt, [
        {**row.to_json(), "last_observed_at": iso(row.last_observed_at)} for row in rows]))


@cli.command()
@click.argument("from_ref", metavar="[FROM", required=False)
@click.argument("to_ref", metavar="[TO]]", required=False)
@click.option("--source", metavar="NAME", help=_SOURCE_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]),
              help="text on a terminal, else md (what scripts and files get) [md].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
@click.option("--effective", "floors", multiple=True, metavar="FLOOR",
              type=click.Choice(["zdr", "no_training", "any"]),
              help="Also the effective_price_changed records at this data-policy floor "
                   "(zdr, no_training or any; repeat for several).")
@pass_app
def diff(app: AppContext, from_ref: str | None, to_ref: str | None, source: str | None,
         fmt: str | None, output: Path | None, floors: tuple[str, ...]) -> None:
    """Changes between two snapshots (default: previous to latest).

    FROM and TO are a snapshot id, a catalog_version, a content-hash prefix, an ISO date or
    time (the state observed then), latest or previous. Printed to a terminal, the default
    format is plain text; piped or written with -o, it is Markdown.

    With --effective FLOOR, the diff also lists how each model's effective price at that
    floor moved (its cheapest offer that meets the floor) and why.

    \b
    Example:
      tracker diff 2026-11-01 latest --format json
      tracker diff previous latest --effective zdr --effective any
    """
    if fmt is None:
        fmt = "text" if output is None and sys.stdout.isatty() else "md"
    with app.tracker() as t:
        result = t.diff(source, from_ref, to_ref, effective=floors)
    _emit(render("changelog", fmt, result), output)


# --- report, audit, history, feed, site: the read side over windows of time ---

_SOURCES_HELP = "Source (repeat for several, in sections; default: the only source in the " \
                "database, else auriko). Any source in the database works, configured or not."
_OUTPUT = click.Path(dir_okay=False, path_type=Path)


@cli.command()
@click.option("--since", metavar="WHEN", help="Start of the window (ISO date/time, or 7d back).")
@click.option("--until", metavar="WHEN", help="End of the window, exclusive [now].")
@click.option("--source", "sources", multiple=True, metavar="NAME", help=_SOURCES_HELP)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=_OUTPUT, help="Write to FILE instead of stdout.")
@click.option("--weekly", is_flag=True,
              help="Write the last complete ISO week as weekly-YYYY-Www.{md,html,json} into "
                   "the reports directory (idempotent; for a timer after fetch).")
@click.option("--week", metavar="YYYY-Www", help="With --weekly: this ISO week instead.")
@click.option("--reports-dir", metavar="DIR",
              help="With --weekly: where to write (env TRACKER_REPORTS_DIR).")
@click.option("--usage", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="A CSV of monthly token volumes (model,provider,input_tokens,"
                   "output_tokens): add what the window's changes cost on it "
                   "[the config's usage_file].")
@pass_app
def report(app: AppContext, since: str | None, until: str | None, sources: tuple[str, ...],
           fmt: str, output: Path | None, weekly: bool, week: str | None,
           reports_dir: str | None, usage: Path | None) -> None:
    """Net changes over a window [since, until) and the timeline of every transition in it.

    Net changes compare the catalog at the start with the catalog at the end (a price that
    went down and back up nets to nothing); the timeline lists every transition in between
    with its observation time. The HTML leads with the biggest price moves, policy
    weakenings and models gone; with effective_floors configured, with the effective prices
    at those floors. --usage adds the cost of the window's changes on your monthly token
    volumes (a blank provider is priced at the effective offer at usage_floor).

    \b
    Example (the weekly report, and a timer's idempotent weekly files):
      tracker report --since 7d --format html -o last-week.html
      tracker report --since 30d --usage usage.csv --format json | jq .impact.delta
      tracker report --weekly --reports-dir /var/lib/tracker/reports
    """
    from tracker.errors import UsageError

    with app.tracker(reports_dir=reports_dir) as t:
        if weekly:
            if since or until or output:
                raise UsageError("--weekly picks its own window and files; drop --since, "
                                 "--until and -o (use --week YYYY-Www for another week)")
            from tracker.windows import parse_week

            year, number = parse_week(week) if week else (None, None)
            if usage is not None:
                raise UsageError("--weekly prices the config's usage_file; drop --usage")
            for path, written in t.weekly(year, number, sources):
                click.echo(f"{'wrote' if written else 'unchanged'} {path}")
            return
        if week:
            raise UsageError("--week goes with --weekly")
        if not since:
            raise UsageError("report needs --since WHEN (e.g. --since 7d or --since "
                             "2026-11-01), or --weekly")
        result = t.report(since, until, sources, usage=usage).to_json()
    _emit(render("report", fmt, result), output)


@cli.command()
@click.option("--since", metavar="WHEN", help="Start of the window [the beginning].")
@click.option("--until", metavar="WHEN", help="End of the window, exclusive [now]; with "
              "--current, the moment the policies are shown as of.")
@click.option("--current", is_flag=True,
              help="The policies as they stand, and the models reachable only through "
                   "providers with policy none.")
@click.option("--weakened", "only_flagged", is_flag=True,
              help="Only weakenings and policies that became unknown.")
@click.option("--source", "sources", multiple=True, metavar="NAME", help=_SOURCES_HELP)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json", "csv"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=_OUTPUT, help="Write to FILE instead of stdout.")
@pass_app
def audit(app: AppContext, since: str | None, until: str | None, current: bool,
          only_flagged: bool, sources: tuple[str, ...], fmt: str,
          output: Path | None) -> None:
    """Every data-policy change of a window: when first observed, in which catalog version,
    old and new policy, weakenings flagged (zdr > no_training > none), and policies that
    became unknown flagged separately.

    \b
    Example (a quarter for the spreadsheet; the policies as they stand):
      tracker audit --since 2026-07-01 --until 2026-10-01 --format csv -o q3-policies.csv
      tracker audit --current --format html -o policies.html
    """
    from tracker.errors import UsageError

    with app.tracker() as t:
        if current:
            if since or only_flagged:
                raise UsageError("--current shows one moment: drop --since and --weakened "
                                 "(--until sets the moment)")
            _emit(render("current", fmt, t.current_policies(until, sources).to_json()), output)
            return
        window = t.window(since, until)
        records = [r.to_json() for r in t.audit(window.since, window.until, sources,
                                                 weakened_only=only_flagged)]
        names = t.source_names(sources)
    if fmt in ("json", "csv"):
        _emit(render("audit", fmt, records), output)
        return
    document = {"since": iso(window.since) if window.since else None,
                "until": iso(window.until), "sources": names, "records": records}
    _emit(render("audit", fmt, document), output)


@cli.command()
@click.argument("model")
@click.option("--provider", metavar="P", help="Only this provider's offer.")
@click.option("--source", metavar="NAME", help=_SOURCE_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=_OUTPUT, help="Write to FILE instead of stdout.")
@pass_app
def history(app: AppContext, model: str, provider: str | None, source: str | None, fmt: str,
            output: Path | None) -> None:
    """Every price and data policy MODEL had, per provider, with when each value held.

    The HTML page draws a step chart of input and output price per provider. An unknown
    model is an error that names the closest model ids.

    \b
    Example:
      tracker history gpt-4o --provider azure
      tracker history gpt-4o --format html -o gpt-4o.html
    """
    with app.tracker() as t:
        found = t.history(model, provider, source).to_json()
    _emit(render("history", fmt, found), output)


@cli.command()
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@click.option("--floor", "floors", multiple=True, type=click.Choice(["zdr", "no_training", "any"]),
              help="Only this data-policy floor (repeat for several) [every floor].")
@click.option("--at", metavar="WHEN",
              help="The state observed at or before this time (ISO date/time, or 7d back) "
                   "[now].")
@click.option("--source", metavar="NAME", help=_SOURCE_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=_OUTPUT, help="Write to FILE instead of stdout.")
@pass_app
def effective(app: AppContext, models: tuple[str, ...], floors: tuple[str, ...],
              at: str | None, source: str | None, fmt: str, output: Path | None) -> None:
    """The effective offer of every model (or of each MODEL) per data-policy floor: what
    you pay when you may only use offers that meet it.

    Floors: zdr (policy zdr), no_training (zdr or no_training), any (every offer, unknown
    policies included). The effective offer is the qualifying offer with the lowest blended
    price, (3 x input + 1 x output) / 4 per 1M tokens (the config's blend); ties go to the
    lower input price, then the provider name. A model without a qualifying offer at a floor
    is left out of it.

    \b
    Example:
      tracker effective llama-3.3-70b-instruct --floor zdr
      tracker effective --at 2026-11-01 --format csv -o effective.csv
    """
    with app.tracker() as t:
        result = t.effective(models, floors=floors or None, at=at, source=source)
    if fmt in ("json", "csv"):
        _emit(render("effective", fmt, result.to_json()), output)
        return
    _emit(render("effective", fmt, result.document()), output)


@cli.command()
@click.option("--source", "sources", multiple=True, metavar="NAME", help=_SOURCES_HELP)
@click.option("--since", metavar="WHEN", help="Only transitions observed from then on.")
@click.option("--until", metavar="WHEN", help="Only transitions observed before then [now].")
@click.option("--limit", type=click.IntRange(0), default=100, show_default=True,
              help="Newest entries kept (0: all).")
@click.option("--site-url", metavar="URL",
              help="Where `tracker site` output is published: entries link to its pages.")
@click.option("-o", "--output", type=_OUTPUT, help="Write to FILE instead of stdout.")
@pass_app
def feed(app: AppContext, sources: tuple[str, ...], since: str | None, until: str | None,
         limit: int, site_url: str | None, output: Path | None) -> None:
    """An Atom 1.0 feed with one entry per transition, newest first.

    \b
    Example:
      tracker feed -o /var/www/catalog/changes.atom
    """
    with app.tracker() as t:
        _emit(t.feed(sources, since=since, until=until, limit=limit, site_url=site_url), output)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", "sources", multiple=True, metavar="NAME", help=_SOURCES_HELP)
@click.option("--site-url", metavar="URL",
              help="Public URL of DIR, for absolute links in the feed (pages stay relative).")
@click.option("--feed-limit", type=click.IntRange(0), default=100, show_default=True,
              help="Newest entries in changes.atom (0: all).")
@pass_app
def site(app: AppContext, directory: Path, sources: tuple[str, ...], site_url: str | None,
         feed_limit: int) -> None:
    """Write a static site into DIRECTORY: transitions newest first, a changelog per
    transition, weekly reports, a history page per model, the audit trail, the feed, and
    the same history as a static JSON API under api/ (index.json, current.json,
    models/NAME.json, changes.jsonl, with their JSON Schemas).

    Relative links only: serve it with any web server or open index.html from disk.

    \b
    Example:
      tracker site /var/www/catalog --site-url https://catalog.example.com
    """
    with app.tracker() as t:
        result = t.build_site(directory, sources, site_url=site_url, feed_limit=feed_limit)
    click.echo(f"wrote {result.pages} pages and {result.api_files} API files to {directory}: "
               f"{result.transitions} transitions, {result.weeks} weekly reports, "
               f"{result.models} models"
               + (f"; removed {result.removed} stale pages" if result.removed else ""))


# --- price, export, datasette-metadata: the history as data ---

# The kinds of `tracker export` (tracker.exports.EXPORT_KINDS; listed here so that the CLI
# starts without importing the database layer).
_EXPORT_KINDS = ("offers", "models", "changes", "observations")


@cli.command()
@click.argument("model")
@click.option("--provider", metavar="P", help="Only this provider's offer.")
@click.option("--at", metavar="WHEN",
              help="The moment: an ISO date (00:00 UTC) or time, or a span back such as 7d "
                   "[now].")
@click.option("--source", metavar="NAME", help=_SOURCE_HELP)
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def price(app: AppContext, model: str, provider: str | None, at: str | None,
          source: str | None, fmt: str) -> None:
    """The offer(s) of MODEL that held at a moment, each with the interval it held.

    The state at WHEN is the latest one observed at or before it. Each offer comes with
    [from, to): when its price and data policy held (to is null while they still hold). An
    unknown model is an error that names the closest model ids; so is a model that was not
    listed at that moment.

    \b
    Example (price a request made on 2026-11-01 at 14:30 UTC):
      tracker price gpt-4o --provider openai --at 2026-11-01T14:30Z --format json
    """
    with app.tracker() as t:
        found = t.price(model, provider=provider, at=at, source=source).to_json()
    _echo(render("price", fmt, found))


@cli.command()
@click.argument("kind", metavar="KIND", type=click.Choice(_EXPORT_KINDS))
@click.option("--since", metavar="WHEN",
              help="Only what held (offers, models) or was observed (changes, observations) "
                   "from then on.")
@click.option("--until", metavar="WHEN", help="... and before then, exclusive [now].")
@click.option("--source", "sources", multiple=True, metavar="NAME", help=_SOURCES_HELP)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", type=_OUTPUT,
              help="Write to FILE (whole or not at all) instead of stdout.")
@pass_app
def export(app: AppContext, kind: str, since: str | None, until: str | None,
           sources: tuple[str, ...], fmt: str, output: Path | None) -> None:
    """The history as rows, for scripts and notebooks, streamed as JSON Lines or CSV.

    KIND: offers (one row per interval of one price and policy of an offer), models (per
    interval of a model's own fields), changes (every change record), observations (every
    poll). Times are ISO 8601 in UTC, prices numbers in USD per 1M tokens. Rows are written as
    the database sends them, so memory stays flat. CSV is spreadsheet-safe, as the audit's.

    \b
    Example (a month of prices, into DuckDB):
      tracker export offers --since 2026-11-01 --until 2026-12-01 -o offers.jsonl
      duckdb -c "SELECT model, provider, input_price FROM 'offers.jsonl'"
    """
    target: Path | TextIO = output if output is not None else sys.stdout
    with app.tracker() as t:
        try:
            result = t.export(kind, target, since=since, until=until, sources=sources, fmt=fmt)
        except BrokenPipeError:
            # The reader stopped early (`| head`): the rows it wanted were written. Point
            # stdout at /dev/null so that flushing it at exit does not fail again.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
    if output is not None:
        click.echo(f"wrote {result.rows} rows to {output}", err=True)


@cli.command("datasette-metadata")
@click.option("--database-name", metavar="NAME",
              help="The name Datasette serves the database under: its file name without .db "
                   "[the configured SQLite file's, else tracker].")
@click.option("-o", "--output", type=_OUTPUT, help="Write to FILE instead of stdout.")
@pass_app
def datasette_metadata(app: AppContext, database_name: str | None, output: Path | None) -> None:
    """A Datasette metadata.json for the database: titles, column descriptions and units,
    the storage tables hidden, and canned queries (the catalog as of a date, the biggest
    price moves of the last 7 days, every weakening).

    \b
    Example:
      tracker datasette-metadata -o metadata.json
      datasette ~/.local/share/catalog-tracker/tracker.db -m metadata.json
    """
    with app.tracker() as t:
        metadata = t.datasette_metadata(database_name).to_json()
    _emit(render("datasette", "json", metadata), output)


# --- db ---


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: AppContext) -> None:
    """Apply migrations up to the newest schema (fetch also does this on first use).

    \b
    Example:
      TRACKER_DATABASE_URL=postgresql+psycopg://tracker@db/tracker tracker db upgrade
    """
    with app.tracker() as t:
        before, head = t.upgrade()
    if before == head:
        click.echo(f"already at {head}")
    else:
        click.echo(f"upgraded {before or 'empty database'} -> {head}")


@db.command("current")
@pass_app
def db_current(app: AppContext) -> None:
    """Show the database's schema revision and the newest one this version knows.

    \b
    Example:
      tracker db current
    """
    from tracker.logs import redact_url
    from tracker.store.db import HEAD_REVISION

    with app.tracker() as t:
        revision = t.revision()
        url = t.settings.database_url
    state = "up to date" if revision == HEAD_REVISION else f"head is {HEAD_REVISION}"
    click.echo(f"{redact_url(url)}: {revision or 'empty'} ({state})")


# --- output helpers ---


def _echo(text: str) -> None:
    click.echo(text, nl=not text.endswith("\n"))


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        _echo(text)
        return
    from tracker.publish import write_atomically

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(output, text)
    except OSError as exc:  # a path under a file, a full disk, a read-only directory
        raise _file_fault(exc, output) from None
    click.echo(f"wrote {output}", err=True)


def _file_fault(exc: OSError, path: Path | None = None) -> TrackerError:
    """An OS error on a file the user named (`-o FILE`, a site or reports directory) as the
    one line of a storage fault (exit 7): which file, and why."""
    from tracker.errors import StorageError

    target = Path(path or exc.filename or "?")
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocker is None and exc.errno == errno.ENOTDIR and target.exists():
        blocker = target
    reason = (f"{blocker} is a file, not a directory" if blocker is not None
              else exc.strerror or str(exc))
    return StorageError(f"cannot write {target}: {reason}")


# --- entry point ---


_VERBOSITY_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose", "-q", "--quiet"})


def _hoist_verbosity(args: list[str]) -> list[str]:
    """Accept -v/-q after the command name too (`tracker fetch -v`), as users type them."""
    cut = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:cut] if a in _VERBOSITY_FLAGS]
    rest = [a for a in args[:cut] if a not in _VERBOSITY_FLAGS]
    return flags + rest + args[cut:]


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in this process and return its exit code (tests call this directly).

    Every failure prints one line to stderr, `tracker: error: ...`, and returns the documented
    code (`tracker.errors.ExitCode`); `-v` adds the traceback of an unexpected error.
    """
    args = _hoist_verbosity(list(sys.argv[1:] if argv is None else argv))
    verbose = any(a in ("-v", "-vv", "-vvv", "--verbose") for a in args)
    app = AppContext()
    try:
        result = cli.main(args=args, prog_name="tracker", standalone_mode=False, obj=app)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        return _usage_failure(exc)
    except click.ClickException as exc:
        return _fail(exc, ExitCode.USAGE, verbose)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("tracker: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except TrackerError as exc:
        return _fail(exc, exc.exit_code, verbose)
    except OSError as exc:
        if exc.filename is None:  # not a file's fault (a socket, a pipe): unexpected
            return _fail(exc, ExitCode.BUG, verbose, unexpected=True)
        fault = _file_fault(exc)
        return _fail(fault, fault.exit_code, verbose)
    except Exception as exc:
        return _fail(exc, ExitCode.BUG, verbose, unexpected=True)
    finally:
        app.close()
    return result if isinstance(result, int) else ExitCode.OK


# A command imports SQLAlchemy, httpx and the tracker: some 50,000 objects that live until the
# process ends. At Python's default threshold (a collection of the young generation every 700
# new container objects) a startup ran about 140 collections that walked them and freed a few
# hundred cycles between them: 50 ms of an unchanged fetch's half second. At this size the
# young generation is first collected once startup is over, and as often as a long run
# (`schedule`) needs after it.
GC_YOUNG_THRESHOLD = 100_000


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The `tracker` console script: `run`, then exit with its code.

    Before the exit the heap is frozen, so that the interpreter's shutdown collections leave
    alone the objects the process ends with: walking some 90,000 objects scattered over the
    heap cost an unchanged fetch 110 ms of its 430. Everything that matters is closed by then
    (`run` closes the app: its engine, hence every database connection), the `atexit` handlers
    still run (logging's flush among them) and objects still go with their modules; only
    reference cycles are left for the operating system to take back with the rest.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    code = run(argv)
    gc.freeze()
    sys.exit(code)


def _usage_failure(exc: click.UsageError) -> int:
    """A click usage error as the same single line as every other usage error."""
    where = exc.ctx.command_path if exc.ctx is not None else "tracker"
    line = " ".join(exc.format_message().split())
    click.echo(f"tracker: error: {line} (see '{where} --help')", err=True)
    return ExitCode.USAGE


def _fail(exc: BaseException, code: int, verbose: bool, *, unexpected: bool = False) -> int:
    from tracker.logs import scrub
    from tracker.reports.format import plain_text

    if verbose and unexpected:
        import traceback

        lines = _without_sql(scrub(traceback.format_exc())).splitlines()
        click.echo("\n".join(plain_text(line) for line in lines), err=True)
    label = "unexpected error" if unexpected else "error"
    if isinstance(exc, click.ClickException):
        text = exc.format_message()
    else:
        text = str(exc) if not unexpected else f"{type(exc).__name__}: {exc}"
    # One line, whatever the remote put into the message: line breaks become spaces, and
    # terminal escapes, bidi controls and invisible characters visible escapes.
    line = plain_text(_without_sql(scrub(text))).strip()
    click.echo(f"tracker: {label}: {line}", err=True)
    if isinstance(exc, PayloadError) and verbose:
        for problem in exc.problems:
            click.echo(f"  {plain_text(scrub(problem))}", err=True)
    return code


# What SQLAlchemy appends to a driver's message: the statement, its parameters, a link.
_SQL_PARTS = re.compile(r"\s*\[SQL: .*?\](?=\s*(?:\[parameters: |\(Background|$))"
                        r"|\s*\[parameters: .*?\](?=\s*(?:\(Background|$))"
                        r"|\s*\(Background on this error at: [^)]*\)", re.DOTALL)


def _without_sql(text: str) -> str:
    """`text` without the SQL statement and bound parameters SQLAlchemy puts into its errors
    (they can hold remote values, and no line of ours ever shows SQL)."""
    return _SQL_PARTS.sub("", text)


# --- shell completion (`_TRACKER_COMPLETE=bash_source tracker`, see docs/commands.md) ---

# Parameters completed from the database, by name: every --source, every MODEL, FROM and TO.
_COMPLETED = {"source": "source", "sources": "source", "model": "model", "models": "model",
              "from_ref": "snapshot", "to_ref": "snapshot"}


def _completer(kind: str) -> Any:
    """A click `shell_complete` callback: `Tracker.complete(kind, ...)` on the database and
    config named on the line so far (else the environment's and the config file's). It never
    fails and never prints: any error completes to nothing, and logging and warnings are off
    while it runs."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        import logging
        import warnings

        from tracker.api import Tracker

        logging.disable(logging.CRITICAL)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                given = ctx.find_root().params
                sources = ctx.params.get("sources") or ()
                source = ctx.params.get("source") or (sources[0] if sources else None)
                with Tracker.open(given.get("database_url"), config=given.get("config")) as t:
                    return t.complete(kind, incomplete, source=source)
        except Exception:
            return []
        finally:
            logging.disable(logging.NOTSET)

    return complete


def _install_completion(group: click.Group) -> None:
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _install_completion(command)
            continue
        for param in command.params:
            kind = _COMPLETED.get(param.name or "")
            if kind is not None:
                _complete_from_database(param, kind)


def _complete_from_database(param: click.Parameter, kind: str) -> None:
    """Give `param` completions from the database, through its public `shell_complete`."""
    complete = _completer(kind)

    def shell_complete(ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(value) for value in complete(ctx, param, incomplete)]

    param.shell_complete = shell_complete  # type: ignore[method-assign]


_install_completion(cli)
