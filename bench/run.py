"""Benchmark the tracker as a user runs it: whole `tracker` processes against a synthetic series.

    /work/venv/bin/python bench/run.py                  # 300 versions x 2,000 models
    /work/venv/bin/python bench/run.py --json --no-fail
    /work/venv/bin/python bench/run.py --versions 30 --models 200 --keep

The series (bench/generate.py) is generated once per set of parameters and cached under
bench/out/. Every run then starts from an empty SQLite database in a temporary directory and
times each command as a separate process: wall clock, and peak RSS from the child's own
resource usage (`os.wait4`). See bench/README.md for the targets.

Adding a metric: write a function `step_x(ctx: Context) -> list[Result]` and append
`Step("x", step_x)` to `STEPS`. A step runs after the ones before it, on the same database.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from shutil import rmtree
from typing import Any

import generate  # bench/generate.py, next to this script
from generate import Manifest

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / "out"
API_KEY = "ak_bench_key"
MB = 1_000_000  # targets are in decimal megabytes


# --- results ---


@dataclass
class Result:
    """One measured number, and the upper bound it must stay under (None: informational)."""

    metric: str
    value: float
    unit: str  # "s", "MB" or "" (a count)
    target: float | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if self.value < self.target else "FAIL"

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "status": self.status,
            "detail": self.detail,
            **({"data": self.data} if self.data else {}),
        }


class BenchError(Exception):
    """A step could not measure (a command failed, or did something other than expected)."""


# --- running tracker processes ---


@dataclass
class ProcessRun:
    argv: list[str]
    returncode: int
    seconds: float
    max_rss_bytes: int
    stdout: bytes
    stderr: str


def run_process(argv: Sequence[str], env: dict[str, str], *, capture: bool = True) -> ProcessRun:
    """Run one process to completion: wall-clock time and its peak RSS (and its children's).

    stdout goes to a temporary file (or /dev/null when `capture` is false), so a big output
    never blocks on a pipe and costs the child what a redirect to a file would.
    """
    with tempfile.TemporaryFile() as err, (
        tempfile.TemporaryFile() if capture else open(os.devnull, "wb")
    ) as out:
        started = time.perf_counter()
        process = os.posix_spawn(argv[0], list(argv), env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ])
        _, status, usage = os.wait4(process, 0)
        seconds = time.perf_counter() - started
        stdout = b""
        if capture:
            out.seek(0)
            stdout = out.read()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return ProcessRun(list(argv), os.waitstatus_to_exitcode(status), seconds, rss, stdout,
                      stderr)


def tracker_command() -> list[str]:
    """The `tracker` of the running interpreter's environment (same venv as this script)."""
    script = Path(sys.executable).parent / "tracker"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "tracker"]


@dataclass
class Context:
    """What every step gets: the series, the scratch directory, and how to run tracker."""

    manifest: Manifest
    workdir: Path
    env: dict[str, str]
    tracker: list[str]
    runs: int  # repetitions for the quick commands; their median is reported

    @property
    def database(self) -> Path:
        return self.workdir / "bench.db"

    @property
    def versions(self) -> int:
        return self.manifest.params.versions

    def run(self, *args: str, env: dict[str, str] | None = None,
            capture: bool = True) -> ProcessRun:
        """`tracker -q ARGS...` as a whole process; a non-zero exit is a BenchError."""
        argv = [*self.tracker, "-q", *args]
        result = run_process(argv, {**self.env, **(env or {})}, capture=capture)
        if result.returncode != 0:
            tail = result.stderr.strip().splitlines()[-5:]
            raise BenchError(f"`tracker {' '.join(args)}` exited {result.returncode}: "
                             + " | ".join(tail))
        return result

    def repeat(self, *args: str, env: dict[str, str] | None = None,
               capture: bool = True) -> list[ProcessRun]:
        return [self.run(*args, env=env, capture=capture) for _ in range(self.runs)]


def tracker_env(workdir: Path) -> dict[str, str]:
    """The environment of every tracker process: isolated from the user's own setup."""
    config = workdir / "tracker.toml"
    config.write_text("# empty: the benchmark configures everything through the environment\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "AURIKO_"))}
    env.update(
        TRACKER_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        TRACKER_REPORTS_DIR=str(workdir / "reports"),
        TRACKER_CONFIG=str(config),
        NO_COLOR="1",
    )
    return env


def machine() -> dict[str, Any]:
    """What the numbers depend on besides the code: CPUs, load when the run started, Python."""
    return {
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
        "platform": sys.platform,
    }


def _median(runs: list[ProcessRun]) -> float:
    return statistics.median(run.seconds for run in runs)


def _times(runs: list[ProcessRun]) -> str:
    return "runs " + ", ".join(f"{run.seconds:.2f}" for run in runs) + " s"


# --- the steps ---


def step_import(ctx: Context) -> list[Result]:
    """`tracker import-git REPO models.json`: every version, one process, empty database."""
    run = ctx.run("import-git", ctx.manifest.repo, ctx.manifest.file, "--format", "json")
    summary = json.loads(run.stdout)
    if summary.get("imported") != ctx.versions or summary.get("rejected"):
        raise BenchError(f"import-git did not import every version: {summary}")
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary["outcomes"].items()))
    return [
        Result(f"import-git ({ctx.versions} versions)", run.seconds, "s", 15.0,
               f"{summary['imported']} imported: {outcomes}", {"summary": summary}),
        Result("import-git peak RSS", run.max_rss_bytes / MB, "MB", 200.0),
    ]


def step_diff(ctx: Context) -> list[Result]:
    """`tracker diff FIRST latest --format json > /dev/null`: the widest diff there is."""
    args = ("diff", ctx.manifest.first_version, "latest", "--format", "json")
    runs = ctx.repeat(*args, capture=False)
    changes = len(json.loads(ctx.run(*args).stdout)["changes"])  # once more, untimed, to count
    return [
        Result(f"diff first..latest (median of {len(runs)})", _median(runs), "s", 1.0,
               f"{changes} changes; {_times(runs)}",
               {"changes": changes, "runs": [r.seconds for r in runs]}),
    ]


def step_db_size(ctx: Context) -> list[Result]:
    """The SQLite file plus its WAL after a checkpoint, and which tables take the space."""
    with closing(sqlite3.connect(ctx.database)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for (table,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        }
        try:
            pages = dict(conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall())
        except sqlite3.DatabaseError:  # SQLite built without the dbstat table
            pages = {}
    wal = Path(f"{ctx.database}-wal")
    size = ctx.database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    largest = ", ".join(f"{name} {nbytes / MB:.1f}" for name, nbytes in list(pages.items())[:4])
    rows = ", ".join(f"{table} {n}" for table, n in counts.items()
                     if table != "alembic_version")
    return [
        Result("database size (db + wal)", size / MB, "MB", 20.0,
               f"largest (MB): {largest}" if largest else "",
               {"bytes": size, "bytes_by_object": pages}),
        Result("database rows", sum(counts.values()), "", None, rows, {"rows": counts}),
    ]


class _CatalogServer(ThreadingHTTPServer):
    body: bytes = b""


class _CatalogHandler(BaseHTTPRequestHandler):
    server: _CatalogServer

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/v1/models":
            self._send(404, b'{"error": {"message": "not found"}}')
        elif self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._send(401, b'{"error": {"message": "invalid API key"}}')
        else:
            self._send(200, self.server.body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(body: bytes) -> Iterator[str]:
    """A loopback router serving `body` at /v1/models; yields its base URL (ending in /v1)."""
    server = _CatalogServer(("127.0.0.1", 0), _CatalogHandler)
    server.body = body
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def step_fetch(ctx: Context) -> list[Result]:
    """`tracker fetch` of the catalog already current after the import: an unchanged poll."""
    last = Path(ctx.manifest.repo, ctx.manifest.file).read_bytes()
    with serve(last) as base_url:
        env = {"AURIKO_BASE_URL": base_url, "AURIKO_API_KEY": API_KEY}
        runs = ctx.repeat("fetch", "--format", "json", env=env)
    outcomes = [json.loads(run.stdout)["outcome"] for run in runs]
    if any(outcome != "unchanged" for outcome in outcomes):
        raise BenchError(f"fetch of the last version was not 'unchanged': {outcomes}")
    return [
        Result(f"fetch unchanged (median of {len(runs)})", _median(runs), "s", 1.0,
               f"{len(last) / MB:.2f} MB body; {_times(runs)}",
               {"runs": [r.seconds for r in runs], "body_bytes": len(last)}),
    ]


def step_report(ctx: Context) -> list[Result]:
    """`tracker report --since <before the first version>`: net changes and the timeline of
    every transition over the whole series, as JSON and as the HTML page."""
    since = "2025-12-31"  # the series starts 2026-01-01T00:00Z
    results = []
    for fmt, target in (("json", 2.0), ("html", 2.0)):
        args = ("report", "--since", since, "--format", fmt)
        runs = ctx.repeat(*args, capture=False)
        detail = _times(runs)
        if fmt == "json":
            report = json.loads(ctx.run(*args).stdout)  # once more, untimed, to count
            detail = (f"{len(report['events'])} transitions, {len(report['net'])} net changes; "
                      + detail)
        results.append(Result(f"report --since, {fmt} (median of {len(runs)})", _median(runs),
                              "s", target, detail, {"runs": [r.seconds for r in runs]}))
    return results


def step_site(ctx: Context) -> list[Result]:
    """`tracker site DIR`: every page of the static site, one process."""
    out = ctx.workdir / "site"
    run = ctx.run("site", str(out))
    pages = sum(1 for _ in out.rglob("*.html"))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return [
        Result("site (all pages)", run.seconds, "s", 30.0,
               f"{pages} HTML pages, {size / MB:.0f} MB; {run.stdout.decode().strip()}",
               {"pages": pages, "bytes": size}),
        Result("site peak RSS", run.max_rss_bytes / MB, "MB", None),
    ]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Context], list[Result]]


# In order: each step runs on the database the steps before it left behind.
STEPS: list[Step] = [
    Step("import", step_import),
    Step("diff", step_diff),
    Step("db-size", step_db_size),
    Step("fetch", step_fetch),
    Step("report", step_report),
    Step("site", step_site),
]


# --- output ---


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:,.0f}"


def print_table(results: list[Result], out: Any = sys.stdout) -> None:
    rows = [("metric", "measured", "target", "result")]
    for r in results:
        target = f"< {r.target:g} {r.unit}".rstrip() if r.target is not None else "-"
        rows.append((r.metric, format_value(r.value, r.unit), target, r.status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for index, row in enumerate(rows):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}",
              file=out)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=out)
    notes = [f"  {r.metric}: {r.detail}" for r in results if r.detail]
    if notes:
        print("\n" + "\n".join(notes), file=out)


# --- main ---


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time whole tracker processes on a synthetic git-scraped catalog series.",
        epilog="Example: /work/venv/bin/python bench/run.py --versions 300 --models 2000",
    )
    generate.add_params_arguments(parser)
    parser.add_argument("--runs", type=int, default=3,
                        help="repetitions of the quick commands (diff, fetch); the median "
                             "counts [3]")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"where generated series are kept [{DEFAULT_CACHE}]")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the series again even if it is cached")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory with the database")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON instead of a table")
    parser.add_argument("--no-fail", action="store_true",
                        help="exit 0 even when a target is missed")
    args = parser.parse_args(argv)
    params = generate.params_from_args(args)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.regenerate:
        (args.cache / f"{params.key()}.json").unlink(missing_ok=True)  # the "finished" mark
    manifest = generate.generate_cached(params, args.cache)

    host = machine()
    workdir = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    ctx = Context(manifest, workdir, tracker_env(workdir), tracker_command(), args.runs)
    results: list[Result] = []
    error: str | None = None
    try:
        for step in STEPS:
            log(f"[{step.name}] ...")
            try:
                results.extend(step.run(ctx))
            except BenchError as exc:
                error = f"step {step.name}: {exc}"
                break
    finally:
        if args.keep:
            log(f"kept {workdir}\n  TRACKER_DATABASE_URL=sqlite:///{ctx.database} "
                f"{' '.join(ctx.tracker)} snapshots")
        else:
            rmtree(workdir, ignore_errors=True)

    failed = [r for r in results if r.status == "FAIL"]
    if args.json:
        print(json.dumps({
            "params": params.__dict__,
            "series": {"repo": manifest.repo, "first_version": manifest.first_version,
                       "last_version": manifest.last_version,
                       "last_model_count": manifest.last_model_count,
                       "last_size_bytes": manifest.last_size_bytes},
            "tracker": ctx.tracker,
            "machine": host,
            "results": [r.to_json() for r in results],
            "passed": error is None and not failed,
            "error": error,
        }, indent=2))
    else:
        print(f"series:  {params.versions} versions x {params.models} models, churn "
              f"{params.churn:g}, seed {params.seed} ({manifest.repo})")
        print(f"machine: {host['cpus']} CPUs, load {host['load_avg_1m']} at start, "
              f"Python {host['python']}\n")
        print_table(results)
    if error is not None:
        log(f"error: {error}")
        return 2
    if failed and not args.no_fail:
        log(f"{len(failed)} target(s) missed: " + ", ".join(r.metric for r in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
