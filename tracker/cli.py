"""The `tracker` command line: parse arguments, call one function, print its result.

Data goes to stdout, logs and progress to stderr. Every failure is one line on stderr and a
documented exit code (see tracker.errors); `-v` adds the traceback for unexpected errors.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from tracker import __version__
from tracker.errors import PayloadError, TrackerError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.config import Settings
    from tracker.pipeline import Pipeline, RunResult

FORMAT_TEXT_JSON = click.Choice(["text", "json"])


@dataclass
class AppContext:
    config: str | None
    database_url: str | None
    verbosity: int

    def settings(self, **overrides: Any) -> Settings:
        from tracker.config import load_settings

        return load_settings(
            config_path=self.config, database_url=self.database_url, **overrides
        )

    def engine(self, settings: Settings) -> Engine:
        from tracker.store.db import open_database

        return open_database(settings.database_url)


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
    ctx.obj = AppContext(config=config, database_url=database_url, verbosity=verbosity)


# --- fetch, ingest, import-git, demo: the write side ---


def _client_options(retries: int | None, timeout: float | None) -> Any:
    import os

    from tracker.client import ClientOptions

    base = ClientOptions()
    backoff = os.environ.get("TRACKER_RETRY_BACKOFF")
    return ClientOptions(
        connect_timeout=min(timeout, base.connect_timeout) if timeout else base.connect_timeout,
        read_timeout=timeout or base.read_timeout,
        retries=base.retries if retries is None else retries,
        backoff=float(backoff) if backoff else base.backoff,
    )


def _print_result(result: RunResult, fmt: str) -> None:
    if fmt == "json":
        _print_json(result.to_json())
        return
    from tracker.reports import summarize

    label = result.snapshot.label if result.snapshot else "?"
    count = result.snapshot.model_count if result.snapshot else 0
    if result.outcome == "unchanged":
        click.echo(f"{result.source}: unchanged ({label}, {count} models)")
    elif result.previous is None:
        click.echo(f"{result.source}: first snapshot {label} stored ({count} models)")
    else:
        verb = "new snapshot" if result.outcome == "new" else "returned to earlier snapshot"
        click.echo(f"{result.source}: {verb} {label}. {summarize(result.diff_json())}")
    for path in result.changelogs:
        click.echo(f"  wrote {path}")


@cli.command()
@click.option("--source", metavar="NAME", help="Source to fetch (default: auriko).")
@click.option("--endpoint", type=click.Choice(["chat_completions", "responses"]),
              help="Which model list to pull (responses widens it).")
@click.option("--base-url", metavar="URL", help="API base ending in /v1 (env AURIKO_BASE_URL).")
@click.option("--reports-dir", metavar="DIR", help="Where changelogs go (env TRACKER_REPORTS_DIR).")
@click.option("--retries", type=click.IntRange(0, 20),
              help="Retries on 429/5xx/network errors [3].")
@click.option("--timeout", type=click.FloatRange(0.1), help="Read timeout in seconds [60].")
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def fetch(app: AppContext, source: str | None, endpoint: str | None, base_url: str | None,
          reports_dir: str | None, retries: int | None, timeout: float | None, fmt: str) -> None:
    """Pull the catalog once: validate, store if new, diff, write changelogs.

    \b
    Example (hourly from cron):
      AURIKO_API_KEY_FILE=/etc/tracker/key tracker fetch --reports-dir /var/lib/tracker/reports
    """
    from tracker.logs import register_secret
    from tracker.pipeline import Pipeline

    settings = app.settings(base_url=base_url, endpoint=endpoint, reports_dir=reports_dir)
    source_config = settings.source(source)
    key = source_config.resolve_api_key()
    register_secret(key)
    pipeline = Pipeline(app.engine(settings), source_config, reports_dir=settings.reports_dir,
                        client_options=_client_options(retries, timeout))
    _print_result(pipeline.fetch(api_key=key or ""), fmt)


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--observed-at", metavar="ISO8601", help="When this body was observed [now].")
@click.option("--source", metavar="NAME", help="Source it belongs to (default: auriko).")
@click.option("--endpoint", type=click.Choice(["chat_completions", "responses"]))
@click.option("--reports-dir", metavar="DIR", help="Where changelogs go.")
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def ingest(app: AppContext, file: Any, observed_at: str | None, source: str | None,
           endpoint: str | None, reports_dir: str | None, fmt: str) -> None:
    """Run the pipeline on a saved /v1/models response body (FILE, or - for stdin).

    \b
    Example:
      curl -sH "Authorization: Bearer $AURIKO_API_KEY" https://api.auriko.ai/v1/models \\
        | tracker ingest - --observed-at 2026-11-01T09:00Z
    """
    from tracker.timeutil import parse_iso

    settings = app.settings(endpoint=endpoint, reports_dir=reports_dir)
    pipeline = _pipeline(app, settings, source)
    moment = parse_iso(observed_at) if observed_at else None
    _print_result(pipeline.ingest(file.read(), observed_at=moment, origin="ingest"), fmt)


def _pipeline(app: AppContext, settings: Settings, source: str | None) -> Pipeline:
    from tracker.pipeline import Pipeline

    return Pipeline(app.engine(settings), settings.source(source),
                    reports_dir=settings.reports_dir)


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
    from contextlib import ExitStack

    from tracker.gitimport import import_git as run_import

    settings = app.settings(reports_dir=reports_dir)
    pipeline = _pipeline(app, settings, source)
    # A bar only for a person watching: cron logs and pipes get the summary line alone.
    quiet = app.verbosity < 0 or not sys.stderr.isatty()
    with ExitStack() as stack:
        bar: Any = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if quiet:
                return
            if bar is None:
                bar = stack.enter_context(click.progressbar(
                    length=total, label="importing", file=sys.stderr, show_pos=True))
            bar.update(done - bar.pos)

        summary = run_import(pipeline, repo, path, ref=ref, write_changelogs=changelogs,
                             progress=progress)
    if fmt == "json":
        _print_json(summary.to_json())
    else:
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary.outcomes.items())) or "none"
        click.echo(f"{summary.commits} commits: {summary.imported} imported ({outcomes}), "
                   f"{summary.skipped} skipped, {summary.rejected} rejected")


@cli.command()
@click.option("--reports-dir", metavar="DIR", default="./reports-out/demo", show_default=True,
              help="Where the demo's changelogs go.")
@pass_app
def demo(app: AppContext, reports_dir: str) -> None:
    """Offline end-to-end run on the bundled sample catalogs (no network, no key).

    A loopback server plays the router; each sample catalog is fetched through the real
    client into a demo database of its own, and the changelogs are written.

    \b
    Example:
      tracker demo && ls reports-out/demo
    """
    from platformdirs import user_data_path

    from tracker.config import APP_NAME
    from tracker.demo import run_demo
    from tracker.reports import summarize

    target = Path(reports_dir).expanduser()
    database = user_data_path(APP_NAME) / "demo.db"
    result = run_demo(target, database)
    for run in result.runs:
        label = run.snapshot.label if run.snapshot else "?"
        if run.previous is None:
            count = run.snapshot.model_count if run.snapshot else 0
            click.echo(f"{label}: first snapshot ({count} models)")
        else:
            click.echo(f"{label}: {summarize(run.diff_json())}")
    changelogs = [p for run in result.runs for p in run.changelogs]
    click.echo(f"\nWrote {len(changelogs)} changelogs to {target.resolve()}:")
    for path in changelogs:
        click.echo(f"  {path.name}")
    click.echo("\nExplore the demo history:\n"
               f"  tracker --database-url {result.database_url} snapshots --source demo\n"
               f"  tracker --database-url {result.database_url} diff 1 latest --source demo")


# --- snapshots, diff: the read side ---


@cli.command()
@click.option("--source", metavar="NAME", help="Source (default: auriko).")
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@pass_app
def snapshots(app: AppContext, source: str | None, fmt: str) -> None:
    """List stored snapshots, oldest first.

    \b
    Example:
      tracker snapshots --format json | jq '.[-1]'
    """
    from tracker.queries import list_snapshots
    from tracker.store.repo import iso

    settings = app.settings()
    rows = list_snapshots(app.engine(settings), settings.source(source).name)
    if fmt == "json":
        _print_json([row.to_json() for row in rows])
        return
    click.echo(f"{'id':>6}  {'first observed':<20}  {'last observed':<20}  {'models':>6}  version")
    for row in rows:
        click.echo(f"{row.id:>6}  {iso(row.first_observed_at)[:19]:<20}  "
                   f"{iso(row.last_observed_at)[:19]:<20}  {row.model_count:>6}  {row.label}")


@cli.command()
@click.argument("from_ref", metavar="[FROM", required=False)
@click.argument("to_ref", metavar="[TO]]", required=False)
@click.option("--source", metavar="NAME", help="Source (default: auriko).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
@pass_app
def diff(app: AppContext, from_ref: str | None, to_ref: str | None, source: str | None,
         fmt: str, output: Path | None) -> None:
    """Changes between two snapshots (default: previous to latest).

    FROM and TO are a snapshot id, a catalog_version, a content-hash prefix, an ISO date or
    time (the state observed then), latest or previous.

    \b
    Example:
      tracker diff 2026-11-01 latest --format json
    """
    from tracker.queries import diff_between

    settings = app.settings()
    result = diff_between(app.engine(settings), settings.source(source).name, from_ref, to_ref)
    result["source"] = settings.source(source).name
    _emit(_render_diff(result, fmt), output)


def _render_diff(result: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return _json_text(result)
    from tracker.reports import changelog_html, changelog_markdown

    return changelog_markdown(result) if fmt == "md" else changelog_html(result)


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
    from tracker.store.db import HEAD_REVISION, create_db_engine, current_revision, upgrade_database

    settings = app.settings()
    engine = create_db_engine(settings.database_url)
    before = current_revision(engine)
    upgrade_database(engine)
    if before == HEAD_REVISION:
        click.echo(f"already at {HEAD_REVISION}")
    else:
        click.echo(f"upgraded {before or 'empty database'} -> {HEAD_REVISION}")


@db.command("current")
@pass_app
def db_current(app: AppContext) -> None:
    """Show the database's schema revision and the newest one this version knows.

    \b
    Example:
      tracker db current
    """
    from tracker.store.db import HEAD_REVISION, create_db_engine, current_revision, redact_url

    settings = app.settings()
    revision = current_revision(create_db_engine(settings.database_url))
    state = "up to date" if revision == HEAD_REVISION else f"head is {HEAD_REVISION}"
    click.echo(f"{redact_url(settings.database_url)}: {revision or 'empty'} ({state})")


# --- output helpers ---


def _json_text(value: Any) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def _print_json(value: Any) -> None:
    click.echo(_json_text(value))


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from tracker.pipeline import write_atomically

    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(output, text)
    click.echo(f"wrote {output}", err=True)


# --- entry point ---


_VERBOSITY_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose", "-q", "--quiet"})


def _hoist_verbosity(args: list[str]) -> list[str]:
    """Accept -v/-q after the command name too (`tracker fetch -v`), as users type them."""
    cut = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:cut] if a in _VERBOSITY_FLAGS]
    rest = [a for a in args[:cut] if a not in _VERBOSITY_FLAGS]
    return flags + rest + args[cut:]


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI; map errors to one stderr line and the documented exit code."""
    args = _hoist_verbosity(list(sys.argv[1:] if argv is None else argv))
    verbose = any(a in ("-v", "-vv", "-vvv", "--verbose") for a in args)
    try:
        result = cli.main(args=args, prog_name="tracker", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("tracker: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("tracker: interrupted", err=True)
        sys.exit(130)
    except TrackerError as exc:
        _fail(exc, exc.exit_code, verbose)
    except Exception as exc:
        _fail(exc, 1, verbose, unexpected=True)
    sys.exit(result if isinstance(result, int) else 0)


def _fail(exc: BaseException, code: int, verbose: bool, *, unexpected: bool = False) -> NoReturn:
    from tracker.logs import scrub

    if verbose and unexpected:
        import traceback

        click.echo(scrub(traceback.format_exc()), err=True)
    label = "unexpected error" if unexpected else "error"
    text = str(exc) if not unexpected else f"{type(exc).__name__}: {exc}"
    # One line, whatever the remote put into the message.
    line = " ".join(scrub(text).split())
    click.echo(f"tracker: {label}: {line}", err=True)
    if isinstance(exc, PayloadError) and verbose:
        for problem in exc.problems:
            click.echo(f"  {scrub(problem)}", err=True)
    sys.exit(code)
