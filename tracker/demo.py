"""`tracker demo`: the whole pipeline offline, on the bundled sample catalogs.

A small HTTP server on a loopback port plays the router: it serves the bundled catalogs one
after another at `/v1/models` (and checks the bearer key, like the real API). The demo fetches
each through the real client into its own SQLite database, observed a day apart so that the
history reads like a week of polling, and writes the changelogs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from tracker.client import ClientOptions
from tracker.config import SourceConfig
from tracker.pipeline import Pipeline, RunResult
from tracker.timeutil import now

DEMO_KEY = "ak_demo_not_a_secret"
DEMO_SOURCE = "demo"


def demo_catalogs() -> list[bytes]:
    """The bundled sample catalogs, oldest first."""
    folder = resources.files("tracker.demo_data")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [folder.joinpath(name).read_bytes() for name in names]


class _CatalogServer(ThreadingHTTPServer):
    body: bytes = b""


class _Handler(BaseHTTPRequestHandler):
    server: _CatalogServer

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/v1/models":
            self._send(404, b'{"error": {"message": "not found"}}')
        elif self.headers.get("Authorization") != f"Bearer {DEMO_KEY}":
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
        pass  # the demo's own output says what happened


@contextmanager
def serve_catalogs() -> Iterator[_CatalogServer]:
    """A loopback server whose `body` is what `/v1/models` returns; yields it while running."""
    server = _CatalogServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class DemoResult:
    database_url: str
    reports_dir: Path
    runs: list[RunResult]


def default_demo_database() -> Path:
    """The demo's own database file, in the user data directory."""
    from platformdirs import user_data_path

    from tracker.config import APP_NAME

    return user_data_path(APP_NAME) / "demo.db"


def run_demo(reports_dir: Path, database_path: Path) -> DemoResult:
    """Serve each bundled catalog in turn and fetch it through the real HTTP client into a
    fresh database at `database_path`; return every run's result."""
    from tracker.api import Tracker

    if database_path.exists():
        database_path.unlink()  # the demo starts from an empty history every time
    for suffix in ("-wal", "-shm"):
        Path(f"{database_path}{suffix}").unlink(missing_ok=True)
    database_url = f"sqlite:///{database_path}"
    catalogs = demo_catalogs()
    runs = []
    start = now() - timedelta(days=len(catalogs) - 1)
    with serve_catalogs() as server, Tracker.open(database_url, reports_dir=reports_dir,
                                                  environ={}) as tracker:
        host, port = server.server_address[:2]
        source = SourceConfig(
            name=DEMO_SOURCE, base_url=f"http://{host!s}:{port}/v1", api_key_env="TRACKER_DEMO_KEY"
        )
        pipeline = Pipeline(
            tracker.engine, source, reports_dir=reports_dir,
            client_options=ClientOptions(retries=0),
        )
        for day, body in enumerate(catalogs):
            server.body = body
            runs.append(pipeline.fetch(api_key=DEMO_KEY, observed_at=start + timedelta(days=day)))
    return DemoResult(database_url=database_url, reports_dir=reports_dir, runs=runs)
