"""Shared fixtures: a real database per test (SQLite file or PostgreSQL schema), a loopback
catalog server with scripted responses, and a helper that runs the `tracker` CLI as a process.

Every database-backed test runs on both backends. PostgreSQL is expected on 127.0.0.1:5432
(user postgres, trust auth; override with TRACKER_TEST_PG_URL). Each test session creates its
own database and drops it at the end; each test gets its own schema inside it, so runs never
see each other's data. Without a reachable server the PostgreSQL half is skipped, except under
CI (CI=true), where that is an error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get(
    "TRACKER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("TRACKER_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
TEST_KEY = "ak_test_5ecret_never_shown_0123456789"


# --- databases ---


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A PostgreSQL database of this test session's own, dropped at the end."""
    if "postgresql" not in BACKENDS:
        yield None
        return
    import psycopg

    name = f"tracker_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required under CI: {exc}") from exc
        yield None
        return
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    pg_url = request.getfixturevalue("pg_database")
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    from tracker.store.db import open_database

    engine = open_database(database_url)
    yield engine
    engine.dispose()


# --- a loopback catalog server ---


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow remote)


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class CatalogServer:
    """Plays the router on a real loopback socket. Replies are scripted: each request takes the
    next queued reply; when the queue is empty the last one repeats."""

    def __init__(self) -> None:
        self._replies: list[Reply] = []
        self._routes: dict[str, list[Reply]] = {}
        self._last = Reply(404, b'{"error": {"message": "nothing scripted"}}')
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests.append(SeenRequest(self.path, dict(self.headers.items())))
                    route = outer._routes.get(self.path.split("?")[0])
                    if route is not None:
                        reply = route.pop(0) if len(route) > 1 else route[0]
                    else:
                        reply = outer._replies.pop(0) if outer._replies else outer._last
                        outer._last = reply
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def serve(self, *replies: Reply | dict[str, Any] | bytes) -> None:
        """Queue replies: a dict is served as a 200 JSON catalog, bytes as a 200 body."""
        with self._lock:
            self._replies.extend(_as_reply(r) for r in replies)

    def route(self, path: str, *replies: Reply | dict[str, Any] | bytes) -> None:
        """Queue replies for one path only (e.g. "/openrouter/models"); the last repeats."""
        with self._lock:
            self._routes.setdefault(path, []).extend(_as_reply(r) for r in replies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _as_reply(reply: Reply | dict[str, Any] | bytes) -> Reply:
    """A dict is served as a 200 JSON catalog, bytes as a 200 body."""
    if isinstance(reply, dict):
        return Reply(200, json.dumps(reply).encode())
    if isinstance(reply, bytes):
        return Reply(200, reply)
    return reply


@pytest.fixture
def server() -> Iterator[CatalogServer]:
    srv = CatalogServer()
    yield srv
    srv.close()


# --- running the CLI as a user does ---


@dataclass
class Tracker:
    """Runs `tracker ...` as a separate process with a controlled environment."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, input: bytes | None = None, check: bool | int = True,
                 extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **(extra_env or {})}
        result = subprocess.run(
            [sys.executable, "-m", "tracker", *args],
            input=input.decode() if input is not None else None,
            capture_output=True, text=True, env=env, cwd=self.cwd, timeout=120,
        )
        expected = 0 if check is True else check
        if check is not False and result.returncode != expected:
            raise AssertionError(
                f"tracker {' '.join(args)} exited {result.returncode}, expected {expected}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--format", "json").stdout)


@pytest.fixture
def tracker(database_url: str, server: CatalogServer, tmp_path: Path) -> Tracker:
    """The CLI pointed at this test's database, its loopback server and reports directory."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "TRACKER_DATABASE_URL": database_url,
        "TRACKER_REPORTS_DIR": str(tmp_path / "reports"),
        "AURIKO_BASE_URL": server.base_url,
        "AURIKO_API_KEY": TEST_KEY,
        "TRACKER_RETRY_BACKOFF": "0.01",
    }
    return Tracker(env=env, cwd=tmp_path)
