"""Benchmark the tracker as a user runs it: whole `tracker` processes against a synthetic series.

    /work/venv/bin/python bench/run.py             # realistic: 300 versions, 50 to 2,000 models
    /work/venv/bin/python bench/run.py --kind           # the old, kind series: 300 x 2,000 models
    /work/venv/bin/python bench/run.py --json --no-fail
    /work/venv/bin/python bench/run.py --versions 30 --models 200 --steps floors,import,verify

The series (bench/generate.py) is generated once per set of parameters and cached under
bench/out/. Every run then starts from empty databases in a temporary directory and times each
command as a separate process: wall clock, CPU time and peak RSS from the child's own resource
usage (`os.wait4`). Most figures are ratios against floors measured in the same run (an orjson
parse of every body; `python -c "import sqlalchemy, httpx, click"`), so that a loaded 2-core
machine still gives comparable numbers. See bench/README.md for the targets.

Adding a metric: write a function `step_x(ctx: Context) -> list[Result]` and append
`Step("x", step_x)` to `STEPS`. A step runs after the ones before it, on the same database.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from shutil import rmtree
from typing import Any

import generate  # bench/generate.py, next to this script
import growth  # bench/growth.py
from generate import Manifest

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / "out"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
API_KEY = "ak_bench_key"
MB = 1_000_000  # targets are in decimal megabytes
IMPORT_FLOOR = "import sqlalchemy, httpx, click"
WIDE_MODELS = 50_000


# --- results ---


@dataclass
class Result:
    """One measured number, and the bound it must stay within (None: informational)."""

    metric: str
    value: float
    unit: str  # "s", "MB", "x" (a ratio) or "" (a count)
    target: float | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if self.value <= self.target else "FAIL"

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


# --- running processes ---


@dataclass
class ProcessRun:
    argv: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float  # user + system, of the process and the children it waited for
    max_rss_bytes: int
    stdout: bytes
    stderr: str


# The processes are started by a small process of their own, started before the benchmark
# holds anything: Linux counts into a process's peak RSS the memory of the process it was
# spawned from (exec records the old address space's high-water mark, and a spawned child
# shares its parent's until then), so a child of this process, which holds the series' bodies
# and the 50,000-model catalog, would report hundreds of megabytes it never used.
_SPAWNER_CODE = r"""
import json, os, sys
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "wb") as out, open(job["err"], "wb") as err:
        pid = os.posix_spawn(job["argv"][0], job["argv"], job["env"], file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ])
        _, status, usage = os.wait4(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime
                      + usage.ru_stime, "maxrss": usage.ru_maxrss}), flush=True)
"""


class _Spawner:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _SPAWNER_CODE],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)

    def run(self, argv: Sequence[str], env: dict[str, str], out: str,
            err: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"argv": list(argv), "env": env, "out": out,
                                             "err": err}) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


_spawner: _Spawner | None = None


def start_spawner() -> None:
    """Start the process that starts every measured process (call it first thing)."""
    global _spawner
    _spawner = _Spawner()


def run_process(argv: Sequence[str], env: dict[str, str], *, capture: bool = True) -> ProcessRun:
    """Run one process to completion: wall-clock time, CPU time and its peak RSS (and its
    children's).

    stdout goes to a temporary file (or /dev/null when `capture` is false), so a big output
    never blocks on a pipe and costs the child what a redirect to a file would.
    """
    if _spawner is None:
        start_spawner()
    assert _spawner is not None
    with tempfile.NamedTemporaryFile() as err, tempfile.NamedTemporaryFile() as out:
        started = time.perf_counter()
        done = _spawner.run(argv, env, out.name if capture else os.devnull, err.name)
        seconds = time.perf_counter() - started
        stdout = out.read() if capture else b""
        stderr = err.read().decode(errors="replace")
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss = done["maxrss"] if sys.platform == "darwin" else done["maxrss"] * 1024
    return ProcessRun(list(argv), done["code"], seconds, done["cpu"], rss, stdout, stderr)


def tracker_command(pythonpath: Path | None = None) -> list[str]:
    """The `tracker` of the running interpreter's environment (same venv as this script);
    `python -m tracker` for a checkout at `pythonpath`."""
    script = Path(sys.executable).parent / "tracker"
    if pythonpath is not None:  # -P: not the current directory's tracker either
        return [sys.executable, "-P", "-m", "tracker"]
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "tracker"]


class Postgres:
    """The PostgreSQL server the benchmark creates its own databases in (and drops them)."""

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.admin_url = admin_url
        self._psycopg = psycopg
        self.created: list[str] = []
        with psycopg.connect(admin_url, connect_timeout=3):
            pass

    def create(self, label: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"tracker_bench_{os.getpid()}_{label}"
        with self._psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with self._psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@dataclass
class Context:
    """What every step gets: the series, the scratch directory, and how to run tracker."""

    manifest: Manifest
    workdir: Path
    env: dict[str, str]
    tracker: list[str]
    runs: int  # repetitions for the quick commands; their median is reported
    import_rounds: int = 3  # imports per backend; the median of their ratios is reported
    postgres: Postgres | None = None
    floors: dict[str, float] = field(default_factory=dict)
    # What steps leave for later ones: measured seconds, database URLs.
    found: dict[str, Any] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.workdir / "bench.db"

    @property
    def versions(self) -> int:
        return self.manifest.params.versions

    def run(self, *args: str, env: dict[str, str] | None = None, capture: bool = True,
            database_url: str | None = None) -> ProcessRun:
        """`tracker -q ARGS...` as a whole process; a non-zero exit is a BenchError."""
        argv = [*self.tracker, "-q", *args]
        extra = dict(env or {})
        if database_url is not None:
            extra["TRACKER_DATABASE_URL"] = database_url
        result = run_process(argv, {**self.env, **extra}, capture=capture)
        if result.returncode != 0:
            tail = result.stderr.strip().splitlines()[-5:]
            raise BenchError(f"`tracker {' '.join(args)}` exited {result.returncode}: "
                             + " | ".join(tail))
        return result

    def repeat(self, *args: str, env: dict[str, str] | None = None, capture: bool = True,
               database_url: str | None = None) -> list[ProcessRun]:
        return [self.run(*args, env=env, capture=capture, database_url=database_url)
                for _ in range(self.runs)]


def tracker_env(workdir: Path, pythonpath: Path | None = None) -> dict[str, str]:
    """The environment of every tracker process: isolated from the user's own setup."""
    config = workdir / "tracker.toml"
    config.write_text("# empty: the benchmark configures everything through the environment\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "AURIKO_"))}
    # The tracker as installed: `pip install` compiles every module, so a process reads
    # bytecode. A checkout under PYTHONDONTWRITEBYTECODE would compile all of them again in
    # every process (0.1 to 0.25 s each) while the floors' libraries read theirs.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pythonpath is not None:  # another checkout's tracker shadows the installed one
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath.resolve()), *filter(None, [env.get("PYTHONPATH")])])
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


def series_bodies(repo: str, file: str) -> Iterator[bytes]:
    """Every committed version of `file`, oldest first (one `git cat-file --batch`)."""
    shas = subprocess.run(["git", "-C", repo, "log", "--reverse", "--format=%H", "--", file],
                          check=True, capture_output=True, text=True).stdout.split()
    process = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        for sha in shas:
            process.stdin.write(f"{sha}:{file}\n".encode())
            process.stdin.flush()
            header = process.stdout.readline().split()
            body = process.stdout.read(int(header[2]))
            process.stdout.read(1)
            yield body
    finally:
        process.stdin.close()
        process.wait()


@contextmanager
def catalog_server(body: bytes) -> Iterator[dict[str, str]]:
    """tracker.demo's loopback router serving `body`, with a `catalog_age_seconds` that changes
    on every request as a real router's does; yields the environment pointing tracker at it."""
    from tracker.demo import serve_catalogs

    with serve_catalogs(body, key=API_KEY, vary_age=True) as server:
        host, port = server.server_address[:2]
        yield {"AURIKO_BASE_URL": f"http://{host!s}:{port}/v1", "AURIKO_API_KEY": API_KEY}


# --- the steps ---


def parse_floor_passes(ctx: Context, count: int = 3) -> list[float]:
    """CPU seconds of `count` orjson parses of every body of the series, one pass each."""
    import orjson

    if "bodies" not in ctx.found:
        ctx.found["bodies"] = list(series_bodies(ctx.manifest.repo, ctx.manifest.file))
    passes = []
    for _ in range(count):
        started = time.process_time()
        for body in ctx.found["bodies"]:
            orjson.loads(body)
        passes.append(time.process_time() - started)
    return passes


def import_floor_run(ctx: Context) -> ProcessRun:
    """One `python -c "import sqlalchemy, httpx, click"`: what any tracker process pays."""
    return run_process([sys.executable, "-c", IMPORT_FLOOR], ctx.env, capture=False)


def step_floors(ctx: Context) -> list[Result]:
    """The floors the ratios divide by: an orjson parse of every body of the series (CPU; the
    import step measures it again between its rounds, and divides each round by the passes
    around it), and
    a Python process that only imports what any tracker run must (wall; the fetch step
    measures it between its fetches)."""
    # Untimed: the tracker's modules compiled once, as `pip install` does (a checkout's too).
    subprocess.run([sys.executable, "-c", "import compileall, os, tracker; compileall.compile_dir("
                    "os.path.dirname(os.path.realpath(tracker.__file__)), quiet=1)"],
                   env=ctx.env, check=True)
    passes = parse_floor_passes(ctx)
    ctx.floors["parse"] = statistics.median(passes)
    ctx.found["parse_passes"] = passes
    runs = [import_floor_run(ctx) for _ in range(max(ctx.runs, 5))]
    ctx.floors["import"] = _median(runs)
    size = sum(len(b) for b in ctx.found["bodies"])
    return [
        Result("parse floor (orjson, every body; CPU), before the import",
               ctx.floors["parse"], "s", None,
               f"{ctx.versions} bodies, {size / MB:.0f} MB; median of passes "
               + ", ".join(f"{p:.2f}" for p in passes) + " s", {"passes": passes}),
        Result(f"import floor (python -c \"{IMPORT_FLOOR}\")", ctx.floors["import"], "s", None,
               _times(runs), {"runs": [r.seconds for r in runs]}),
    ]


def _import(ctx: Context, database_url: str | None = None) -> tuple[ProcessRun, dict[str, Any]]:
    run = ctx.run("import-git", ctx.manifest.repo, ctx.manifest.file, "--format", "json",
                  database_url=database_url)
    summary = json.loads(run.stdout)
    if summary.get("imported") != ctx.versions or summary.get("rejected") or summary.get("held"):
        raise BenchError(f"import-git did not import every version: {summary}")
    return run, summary


def _scratch_sqlite(ctx: Context, label: str) -> str:
    """The URL of a new SQLite file for a round whose database nothing else reads."""
    path = ctx.workdir / f"scratch-{label}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _drop_scratch(ctx: Context) -> None:
    for path in ctx.workdir.glob("scratch-*.db*"):
        path.unlink()


def step_import(ctx: Context) -> list[Result]:
    """`tracker import-git REPO models.json`: every version, one process, empty SQLite file,
    `--import-rounds` times. Each round's CPU is divided by the parse floor measured around
    it (two passes before and two after: this machine's speed drifts by a third within
    minutes); the median of those ratios counts. The last round's database is the one the
    later steps read."""
    rounds: list[tuple[ProcessRun, list[float]]] = []
    passes = ctx.found["parse_passes"][-2:]
    summary: dict[str, Any] = {}
    for index in range(ctx.import_rounds):
        last = index == ctx.import_rounds - 1
        run, summary = _import(ctx, None if last else _scratch_sqlite(ctx, f"import-{index}"))
        after = parse_floor_passes(ctx, 2)
        rounds.append((run, passes + after))
        passes = after
    _drop_scratch(ctx)
    every_pass = [p for _, around in rounds for p in around]
    ctx.floors["parse"] = statistics.median(every_pass)
    ratios = [run.cpu_seconds / statistics.median(around) for run, around in rounds]
    walls = [run.seconds for run, _ in rounds]
    ctx.found["sqlite_import"] = statistics.median(walls)
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary["outcomes"].items()))
    return [
        Result(f"import-git, SQLite ({ctx.versions} versions; wall)", statistics.median(walls),
               "s", None, f"{summary['imported']} imported: {outcomes}; rounds "
               + ", ".join(f"{w:.2f}" for w in walls) + " s", {"summary": summary,
                                                             "rounds": walls}),
        Result("import CPU / parse floor", statistics.median(ratios), "x", 5.0,
               "rounds " + "; ".join(
                   f"{run.cpu_seconds:.2f} s CPU / {statistics.median(around):.2f} s"
                   f" = {ratio:.2f}x" for (run, around), ratio in zip(rounds, ratios,
                                                                      strict=True))
               + " (CPU: the tracker's and its git's; floor: the median of the passes around"
               " the round)",
               {"ratios": ratios, "cpu_seconds": [run.cpu_seconds for run, _ in rounds],
                "floor_passes": [around for _, around in rounds]}),
        Result("import-git peak RSS (git cat-file's included)",
               max(run.max_rss_bytes for run, _ in rounds) / MB, "MB", 200.0),
    ]


def step_import_postgres(ctx: Context) -> list[Result]:
    """The same import into an empty PostgreSQL database, against SQLite's wall time:
    `--import-rounds` pairs, each a SQLite import into a scratch file right before the
    PostgreSQL one; the median of the pairs' ratios counts. The last database is the one
    the verify step reads."""
    if ctx.postgres is None:
        return [Result("PostgreSQL import / SQLite import", 0.0, "x", None,
                       "skipped: no PostgreSQL server (--postgres URL)")]
    pairs: list[tuple[ProcessRun, ProcessRun]] = []
    for index in range(ctx.import_rounds):
        sqlite_run, _ = _import(ctx, _scratch_sqlite(ctx, f"pair-{index}"))
        url = ctx.postgres.create(f"import{index}")
        postgres_run, _ = _import(ctx, url)
        pairs.append((postgres_run, sqlite_run))
        ctx.found["postgres_url"] = url
    _drop_scratch(ctx)
    ratios = [pg.seconds / lite.seconds for pg, lite in pairs]
    return [
        Result("PostgreSQL import / SQLite import (wall)", statistics.median(ratios), "x", 1.2,
               "pairs " + "; ".join(f"{pg.seconds:.2f} s / {lite.seconds:.2f} s"
                                    for pg, lite in pairs)
               + "; CPU in the tracker on PostgreSQL "
               + ", ".join(f"{pg.cpu_seconds:.2f}" for pg, _ in pairs) + " s",
               {"ratios": ratios, "seconds": [pg.seconds for pg, _ in pairs],
                "sqlite_seconds": [lite.seconds for _, lite in pairs]}),
    ]


def step_verify(ctx: Context) -> list[Result]:
    """The import against a from-scratch parse of every version (bench/verify.py)."""
    urls = [f"sqlite:///{ctx.database}"]
    if "postgres_url" in ctx.found:
        urls.append(ctx.found["postgres_url"])
    argv = [sys.executable, str(BENCH_DIR / "verify.py"), ctx.manifest.repo,
            ctx.manifest.file, *urls]
    run = run_process(argv, ctx.env)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        raise BenchError(f"verify.py failed: {run.stderr.strip()[-500:]}") from None
    if not report["ok"]:
        problems = {k: v["problems"][:3] for k, v in report["databases"].items()
                    if v["problems"]}
        raise BenchError(f"the import differs from a from-scratch parse: {problems}")
    checked = report["databases"]["sqlite"]["checked"]
    return [
        Result("import = from-scratch parse (change records checked)", checked["changes"], "",
               None, f"{', '.join(report['databases'])}: {checked['observations']} "
               f"observations, {checked['snapshots']} snapshots, {checked['transitions']} "
               f"transitions identical; scratch parses took "
               f"{report['scratch_parse_cpu_s']:.1f} s CPU", report),
    ]


def step_diff(ctx: Context) -> list[Result]:
    """`tracker diff FIRST latest --format json > /dev/null`: the widest diff there is."""
    args = ("diff", ctx.manifest.first_version, "latest", "--format", "json")
    runs = ctx.repeat(*args, capture=False)
    changes = len(json.loads(ctx.run(*args).stdout)["changes"])  # once more, untimed, to count
    floor = ctx.floors["import"]
    return [
        Result(f"diff first..latest (median of {len(runs)})", _median(runs), "s", 0.6,
               f"{changes} changes; {_median(runs) / floor:.2f}x the import floor; "
               + _times(runs), {"changes": changes, "runs": [r.seconds for r in runs]}),
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
        Result("database size (db + wal), raw bodies kept", size / MB, "MB", 12.0,
               f"largest (MB): {largest}" if largest else "",
               {"bytes": size, "bytes_by_object": pages}),
        Result("database rows", sum(counts.values()), "", None, rows, {"rows": counts}),
    ]


def _fetch_unchanged(ctx: Context, body: bytes, database_url: str | None = None,
                     runs: int | None = None) -> list[ProcessRun]:
    with catalog_server(body) as env:
        found = [ctx.run("fetch", "--format", "json", env=env, database_url=database_url)
                 for _ in range(runs or ctx.runs)]
    outcomes = [json.loads(run.stdout)["outcome"] for run in found]
    if any(outcome != "unchanged" for outcome in outcomes):
        raise BenchError(f"fetch of the current catalog was not 'unchanged': {outcomes}")
    return found


def step_fetch(ctx: Context) -> list[Result]:
    """`tracker fetch` of the catalog already current after the import: an unchanged poll, its
    bytes new every time (catalog_age_seconds), against the import floor."""
    last = Path(ctx.manifest.repo, ctx.manifest.file).read_bytes()
    runs: list[ProcessRun] = []
    floors: list[ProcessRun] = []
    with catalog_server(last) as env:
        for _ in range(max(ctx.runs, 5)):  # the floor between the fetches: the same load
            floors.append(import_floor_run(ctx))
            runs.append(ctx.run("fetch", "--format", "json", env=env))
    outcomes = [json.loads(run.stdout)["outcome"] for run in runs]
    if any(outcome != "unchanged" for outcome in outcomes):
        raise BenchError(f"fetch of the current catalog was not 'unchanged': {outcomes}")
    floor = _median(floors)
    return [
        Result(f"unchanged fetch / import floor ({ctx.manifest.last_model_count:,} models)",
               _median(runs) / floor, "x", 1.4,
               f"median {_median(runs):.3f} s / {floor:.3f} s; {len(last) / MB:.2f} MB body; "
               f"fetch {_times(runs)}; floor {_times(floors)}",
               {"runs": [r.seconds for r in runs], "floor_runs": [r.seconds for r in floors],
                "body_bytes": len(last)}),
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


USAGE_ROWS = 60  # rows of the usage file step_usage writes: pinned, routed and one missing


def write_usage_file(path: Path, effective: list[dict[str, Any]]) -> int:
    """A usage file shaped like a team's: models of the latest catalog, every other one pinned
    to its cheapest provider and the rest routed (blank provider), plus a model the catalog
    does not have. Returns its number of rows."""
    cheapest = {e["model"]: e["provider"] for e in effective if e["floor"] == "any"}
    models = sorted(cheapest)[:: max(1, len(cheapest) // (USAGE_ROWS - 1))][: USAGE_ROWS - 1]
    lines = ["model,provider,input_tokens,output_tokens"]
    for i, model in enumerate(models):
        provider = cheapest[model] if i % 2 == 0 else ""
        lines.append(f"{model},{provider},{(i + 1) * 10_000_000},{(i + 1) * 2_500_000}")
    lines.append("model-not-in-any-catalog,,1000000,1000000")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def step_usage(ctx: Context) -> list[Result]:
    """Issue 12's two commands as whole processes: `tracker effective` of every model at every
    floor, and `report --since <before the first version> --usage FILE` (a cost-impact section
    over the whole series) in every format, with effective floors configured."""
    config = ctx.workdir / "usage.toml"
    config.write_text('effective_floors = ["zdr", "any"]\n')
    env = {"TRACKER_CONFIG": str(config)}
    args = ("effective", "--format", "json")
    runs = ctx.repeat(*args, env=env, capture=False)
    effective = json.loads(ctx.run(*args, env=env).stdout)  # once more, untimed, to use
    results = [Result(f"effective, every model and floor (median of {len(runs)})",
                      _median(runs), "s", 2.0, f"{len(effective)} rows; " + _times(runs),
                      {"rows": len(effective), "runs": [r.seconds for r in runs]})]
    usage = ctx.workdir / "usage.csv"
    rows = write_usage_file(usage, effective)
    for fmt in ("json", "md", "html"):
        args = ("report", "--since", "2025-12-31", "--usage", str(usage), "--format", fmt)
        runs = ctx.repeat(*args, env=env, capture=False)
        detail = _times(runs)
        if fmt == "json":
            impact = json.loads(ctx.run(*args, env=env).stdout)["impact"]
            detail = (f"{rows} usage rows, monthly delta ${impact['delta']}; " + detail)
        results.append(Result(f"report --usage, {fmt} (median of {len(runs)})", _median(runs),
                              "s", 2.0, detail, {"runs": [r.seconds for r in runs]}))
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


def step_wide_fetch(ctx: Context) -> list[Result]:
    """The first `tracker fetch` of a 50,000-model catalog into an empty database."""
    body = generate.wide_catalog(WIDE_MODELS, ctx.manifest.params.seed)
    url = f"sqlite:///{ctx.workdir / 'wide.db'}"
    with catalog_server(body) as env:
        run = ctx.run("fetch", "--format", "json", env=env, database_url=url)
    outcome = json.loads(run.stdout)["outcome"]
    if outcome != "new":
        raise BenchError(f"the first fetch of the wide catalog was {outcome!r}, not 'new'")
    return [
        Result(f"first fetch of {WIDE_MODELS:,} models, peak RSS", run.max_rss_bytes / MB, "MB",
               200.0, f"{len(body) / MB:.1f} MB body; {run.seconds:.2f} s wall, "
               f"{run.cpu_seconds:.2f} s CPU", {"seconds": run.seconds}),
    ]


GROWTH_COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("status", ("status", "--format", "json")),
    ("report --since 7d", ("report", "--since", "7d", "--format", "json")),
    ("audit --since 7d", ("audit", "--since", "7d", "--format", "json")),
    ("fetch (unchanged)", ()),
)


def step_growth(ctx: Context) -> list[Result]:
    """A year of hourly observations for 20 sources against a fresh database holding only the
    last days of the same history (bench/growth.py), on each backend."""
    params = growth.GrowthParams()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    body = growth.current_body(params, end)
    backends: list[tuple[str, Callable[[str], str]]] = [
        ("SQLite", lambda label: f"sqlite:///{ctx.workdir / f'growth-{label}.db'}")]
    if ctx.postgres is not None:
        postgres = ctx.postgres
        backends.append(("PostgreSQL", lambda label: postgres.create(f"growth_{label}")))
    results = []
    for backend, make_url in backends:
        urls, built = {}, {}
        for label, fresh in (("year", False), ("fresh", True)):
            urls[label] = make_url(label)
            ctx.run("db", "upgrade", database_url=urls[label])
            # A process of its own: the rows are made by the tracker under test.
            argv = [sys.executable, str(BENCH_DIR / "growth.py"), urls[label], "--end",
                    end.isoformat(), *(["--fresh"] if fresh else [])]
            made = run_process(argv, ctx.env)
            if made.returncode != 0:
                raise BenchError(f"growth.py failed: {made.stderr.strip()[-500:]}")
            built[label] = json.loads(made.stdout)
        observations = built["year"]["rows"]["observations"]
        for name, args in GROWTH_COMMANDS:
            runs: dict[str, list[ProcessRun]] = {label: [] for label in urls}
            for _ in range(max(ctx.runs, 5)):  # alternately: both under the same load
                for label, url in urls.items():
                    if args:
                        runs[label].append(ctx.run(*args, capture=False, database_url=url))
                    else:
                        runs[label].extend(_fetch_unchanged(ctx, body, url, runs=1))
            timed = {label: _median(found) for label, found in runs.items()}
            results.append(Result(
                f"{name}: year / fresh, {backend}", timed["year"] / timed["fresh"], "x", 1.2,
                f"median {timed['year']:.3f} s with {observations:,} observations, "
                f"{timed['fresh']:.3f} s with {built['fresh']['rows']['observations']:,}",
                {"seconds": timed}))
        results.append(Result(f"growth databases, {backend}", observations, "", None,
                              f"year: {built['year']['transitions']} transitions, built in "
                              f"{built['year']['seconds']:.1f} s", {"built": built}))
    return results


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Context], list[Result]]


# In order: each step runs on the database the steps before it left behind.
STEPS: list[Step] = [
    Step("floors", step_floors),
    Step("import", step_import),
    Step("import-postgres", step_import_postgres),
    Step("verify", step_verify),
    Step("diff", step_diff),
    Step("db-size", step_db_size),
    Step("fetch", step_fetch),
    Step("report", step_report),
    Step("usage", step_usage),
    Step("site", step_site),
    Step("wide-fetch", step_wide_fetch),
    Step("growth", step_growth),
]
# Steps that others need: --steps always runs them.
REQUIRED = {"floors", "import"}


# --- output ---


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f}"


def print_table(results: list[Result], out: Any = sys.stdout) -> None:
    rows = [("metric", "measured", "target", "result")]
    for r in results:
        target = "-"
        if r.target is not None:
            target = f"<= {r.target:g}x" if r.unit == "x" else f"<= {r.target:g} {r.unit}"
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
                        help="repetitions of the quick commands (diff, report, status); the "
                             "median counts [3]; fetch and the import floor run at least 5")
    parser.add_argument("--import-rounds", type=int, default=3, metavar="N",
                        help="imports per backend, each against the floor around it; the "
                             "median ratio counts [3]")
    parser.add_argument("--steps", metavar="A,B",
                        help="only these steps (floors and import always run): "
                             + ", ".join(s.name for s in STEPS))
    parser.add_argument("--postgres", metavar="URL", default=DEFAULT_POSTGRES,
                        help="a PostgreSQL server to create the benchmark's databases on "
                             f"[{DEFAULT_POSTGRES}]")
    parser.add_argument("--no-postgres", action="store_true",
                        help="SQLite only (the PostgreSQL rows are skipped)")
    parser.add_argument("--pythonpath", type=Path, metavar="DIR",
                        help="time the tracker of another checkout (e.g. an unpacked `git "
                             "archive` of an older commit) instead of the installed one")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"where generated series are kept [{DEFAULT_CACHE}]")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the series again even if it is cached")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory with the databases")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON instead of a table")
    parser.add_argument("--no-fail", action="store_true",
                        help="exit 0 even when a target is missed")
    args = parser.parse_args(argv)
    start_spawner()  # before the benchmark holds anything (see _SPAWNER_CODE)
    params = generate.params_from_args(args)
    if args.runs < 1 or args.import_rounds < 1:
        parser.error("--runs and --import-rounds must be at least 1")
    names = {s.name for s in STEPS}
    chosen = set(args.steps.split(",")) if args.steps else names
    if chosen - names:
        parser.error(f"unknown steps: {', '.join(sorted(chosen - names))}")
    steps = [s for s in STEPS if s.name in chosen | REQUIRED]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.regenerate:
        (args.cache / f"{params.key()}.json").unlink(missing_ok=True)  # the "finished" mark
    manifest = generate.generate_cached(params, args.cache)

    postgres = None
    if not args.no_postgres:
        try:
            postgres = Postgres(args.postgres)
        except Exception as exc:  # not installed, not reachable: the PostgreSQL rows say so
            log(f"PostgreSQL not used ({type(exc).__name__}: {str(exc).strip()[:200]})")

    host = machine()
    workdir = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    ctx = Context(manifest, workdir, tracker_env(workdir, args.pythonpath),
                  tracker_command(args.pythonpath), args.runs, args.import_rounds, postgres)
    results: list[Result] = []
    error: str | None = None
    try:
        for step in steps:
            log(f"[{step.name}] ...")
            started = time.perf_counter()
            try:
                results.extend(step.run(ctx))
            except BenchError as exc:
                error = f"step {step.name}: {exc}"
                break
            log(f"[{step.name}] {time.perf_counter() - started:.1f} s")
    finally:
        ctx.found.pop("bodies", None)
        if args.keep:
            log(f"kept {workdir}\n  TRACKER_DATABASE_URL=sqlite:///{ctx.database} "
                f"{' '.join(ctx.tracker)} snapshots")
            if postgres is not None and postgres.created:
                log("  PostgreSQL databases kept: " + ", ".join(postgres.created))
        else:
            rmtree(workdir, ignore_errors=True)
            if postgres is not None:
                postgres.drop_all()

    failed = [r for r in results if r.status == "FAIL"]
    shape = (f"{params.versions} versions, {params.start_models} -> {params.models} models "
             "(realistic)" if params.realistic
             else f"{params.versions} versions x {params.models} models (kind)")
    if args.json:
        print(json.dumps({
            "params": params.__dict__,
            "series": {"repo": manifest.repo, "first_version": manifest.first_version,
                       "last_version": manifest.last_version,
                       "last_model_count": manifest.last_model_count,
                       "last_size_bytes": manifest.last_size_bytes,
                       "total_bytes": manifest.total_bytes, "events": manifest.events},
            "tracker": ctx.tracker,
            "machine": host,
            "floors": ctx.floors,
            "results": [r.to_json() for r in results],
            "passed": error is None and not failed,
            "error": error,
        }, indent=2))
    else:
        print(f"series:  {shape}, churn {params.churn:g}, seed {params.seed} "
              f"({manifest.total_bytes / MB:.0f} MB of JSON; {manifest.repo})")
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
