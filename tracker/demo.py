"""`tracker demo`: the whole pipeline offline, on the bundled sample catalogs.

A small HTTP server on a loopback port plays the router: it serves the bundled catalogs one
after another at `/v1/models` (and checks the bearer key, like the real API). The demo fetches
each through the real client as source `demo`, observed at 09:00 UTC of the day its version
names (2026-11-01 to 2026-11-06), so that the history reads like a week of polling, and
writes the changelogs. The database is the one named by `--database-url` or
`TRACKER_DATABASE_URL`, else a SQLite file of the demo's own, started afresh every time.
"""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from tracker.client import ClientOptions
from tracker.config import SourceConfig
from tracker.effective import FLOORS
from tracker.pipeline import Pipeline, RunResult
from tracker.store import reads, writes

DEMO_KEY = "ak_demo_not_a_secret"
DEMO_SOURCE = "demo"


def demo_catalogs() -> list[bytes]:
    """The bundled sample catalogs, oldest first."""
    folder = resources.files("tracker.demo_data")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [folder.joinpath(name).read_bytes() for name in names]


_AGE = re.compile(rb'"catalog_age_seconds"\s*:\s*[-+0-9.eE]+')


class _CatalogServer(ThreadingHTTPServer):
    body: bytes = b""
    key: str = DEMO_KEY
    vary_age: bool = False
    requests: int = 0

    def reply_body(self) -> bytes:
        """`body`, with a new `catalog_age_seconds` on every request when `vary_age` is set
        (a real router's catalog ages between two polls, so its bytes never repeat)."""
        self.requests += 1
        if not self.vary_age:
            return self.body
        age = b'"catalog_age_seconds": %d' % (self.requests * 7)
        return _AGE.sub(lambda _: age, self.body, count=1)


class _Handler(BaseHTTPRequestHandler):
    server: _CatalogServer

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/v1/models":
            self._send(404, b'{"error": {"message": "not found"}}')
        elif self.headers.get("Authorization") != f"Bearer {self.server.key}":
            self._send(401, b'{"error": {"message": "invalid API key"}}')
        else:
            self._send(200, self.server.reply_body())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo's own output says what happened


@contextmanager
def serve_catalogs(body: bytes = b"", *, key: str = DEMO_KEY,
                   vary_age: bool = False) -> Iterator[_CatalogServer]:
    """A loopback server whose `body` is what `/v1/models` returns to a client sending
    `Bearer <key>`; yields it while running (set `server.body` to serve another catalog).
    With `vary_age`, every reply carries another `catalog_age_seconds` (bench/run.py)."""
    server = _CatalogServer(("127.0.0.1", 0), _Handler)
    server.body, server.key, server.vary_age = body, key, vary_age
    # A short poll interval: shutdown() waits for the loop to look, and the demo is done
    # when its last fetch is, not half a second later.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# The demo observes each catalog at this hour (UTC) of the day its catalog_version names.
DEMO_HOUR = 9
# When the first catalog names no date (it does): where the demo's week starts.
DEMO_START = datetime(2026, 11, 1, DEMO_HOUR, tzinfo=UTC)
_VERSION_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def observation_times(catalogs: Sequence[bytes]) -> list[datetime]:
    """When the demo observes each catalog: at 09:00 UTC of the date its `catalog_version`
    starts with, so that no page reads "2026-11-02.1 observed 2026-11-29"; a catalog without
    a version, a day after the one before it.

    >>> [t.strftime("%Y-%m-%d %H:%M") for t in observation_times(demo_catalogs())][::5]
    ['2026-11-01 09:00', '2026-11-06 09:00']
    """
    times: list[datetime] = []
    for body in catalogs:
        version = orjson.loads(body).get("catalog_version")
        found = _VERSION_DATE.match(version) if isinstance(version, str) else None
        if found is not None:
            year, month, day = (int(part) for part in found.groups())
            times.append(datetime(year, month, day, DEMO_HOUR, tzinfo=UTC))
        else:
            times.append(times[-1] + timedelta(days=1) if times else DEMO_START)
    return times


@dataclass
class DemoResult:
    """What `tracker demo` did: a run per bundled catalog, into which database."""

    database_url: str
    reports_dir: Path
    runs: list[RunResult]
    own_database: bool  # the demo's own file, started afresh (no database was named)
    replaced: bool  # an earlier demo history in the named database was replaced
    other_sources: list[str]  # the named database's other sources, left alone
    show_url: bool = True  # the URL can be printed (it holds no password)
    # The demo's window report (effective prices, cost on the sample usage): md and html.
    reports: list[Path] = field(default_factory=list)

    @property
    def changelogs(self) -> list[Path]:
        return [path for run in self.runs for path in run.changelogs]

    def look_around(self) -> list[str]:
        """Commands that read the demo history as they are printed: the database named
        (unless its URL holds a password), `--source demo` only when other sources share it.

        >>> DemoResult("sqlite:////home/me/demo.db", Path("out"), [], True, False, [],
        ...            ).look_around()[0]
        'tracker --database-url sqlite:////home/me/demo.db snapshots'
        """
        head = ["tracker"] + (["--database-url", self.database_url] if self.show_url else [])
        tail = ["--source", DEMO_SOURCE] if self.other_sources else []
        times = [run.observed_at for run in self.runs]
        first = min(times) if times else DEMO_START
        last = max(times) if times else DEMO_START
        window = ["--since", f"{first:%Y-%m-%d}",
                  "--until", f"{last + timedelta(days=1):%Y-%m-%d}"]
        return [shlex.join(head + command + tail) for command in (
            ["snapshots"],
            ["report", *window, "--format", "html", "-o", "demo-report.html"],
            ["site", "demo-site"],
        )]

    def to_json(self) -> dict[str, Any]:
        from tracker.logs import redact_url

        return {
            "database_url": redact_url(self.database_url),
            "own_database": self.own_database,
            "replaced": self.replaced,
            "other_sources": self.other_sources,
            "reports_dir": str(self.reports_dir),
            "runs": [run.to_json() for run in self.runs],
            "changelogs": [str(path) for path in self.changelogs],
            "reports": [str(path) for path in self.reports],
            "look_around": self.look_around(),
        }


def default_demo_database() -> Path:
    """The demo's own database file, in the user data directory."""
    from platformdirs import user_data_path

    from tracker.config import APP_NAME

    return user_data_path(APP_NAME) / "demo.db"


def fresh_demo_database(path: Path) -> str:
    """Remove the demo's own database file (the demo starts from an empty history every
    time) and return its URL."""
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(engine: Engine, reports_dir: Path) -> tuple[list[RunResult], bool, list[str]]:
    """Serve each bundled catalog in turn and fetch it through the real HTTP client into
    source `demo` of `engine`'s database, observed at the dates its versions carry; an
    earlier demo history there is replaced first, other sources are left alone.

    Returns every run's result, whether an earlier demo was replaced, and the other
    sources."""
    with engine.begin() as conn:
        earlier = reads.source_id(conn, DEMO_SOURCE)
        if earlier is not None:
            writes.delete_source(conn, earlier)
        others = sorted(name for name in reads.source_ids(conn) if name != DEMO_SOURCE)
    catalogs = demo_catalogs()
    runs = []
    with serve_catalogs() as server:
        host, port = server.server_address[:2]
        source = SourceConfig(
            name=DEMO_SOURCE, base_url=f"http://{host!s}:{port}/v1", api_key_env="TRACKER_DEMO_KEY"
        )
        pipeline = Pipeline(
            engine, source, reports_dir=reports_dir,
            client_options=ClientOptions(retries=0), effective_floors=FLOORS,
        )
        for body, moment in zip(catalogs, observation_times(catalogs), strict=True):
            server.body = body
            runs.append(pipeline.fetch(api_key=DEMO_KEY, observed_at=moment))
    return runs, earlier is not None, others


# The demo prices its sample usage as a zdr-only team would.
DEMO_USAGE_FLOOR = "zdr"


def demo_usage() -> str:
    """The sample usage file shipped with the demo (monthly token volumes, CSV)."""
    return resources.files("tracker.demo_data").joinpath("usage.csv").read_text(
        encoding="utf-8")


def write_demo_reports(engine: Engine, reports_dir: Path) -> list[Path]:
    """The window report of the whole demo week, `report-demo.md` and `.html` in
    `reports_dir`: effective prices at every floor lead it, then the cost of the week's
    changes on the sample usage file (routed rows priced at zdr)."""
    from tracker.history import window_report
    from tracker.publish import write_atomically
    from tracker.reports import render
    from tracker.usage import Pricing, parse_usage
    from tracker.windows import Window

    times = observation_times(demo_catalogs())
    window = Window(times[0].replace(hour=0), times[-1].replace(hour=0) + timedelta(days=1))
    pricing = Pricing(FLOORS, usage=tuple(parse_usage(demo_usage(), name="demo usage.csv")),
                      usage_floor=DEMO_USAGE_FLOOR, usage_file="usage.csv (demo)")
    report = window_report(engine, [DEMO_SOURCE], window, pricing=pricing).to_json()
    reports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("md", "html"):
        path = reports_dir / f"report-demo.{fmt}"
        write_atomically(path, render("report", fmt, report))
        written.append(path)
    return written
