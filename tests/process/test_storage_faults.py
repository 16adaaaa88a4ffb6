"""Storage faults of a real process on a real file system: the disk fills up under a fetch
(RLIMIT_FSIZE: the process may write no file past a size, as on a full disk), and the
database sits on a read-only mount (a bind mount in a user namespace of its own). Reading
commands work read-only; writing ones say why not in one line, exit 7."""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.builders import base_catalog, body, catalog, model, provider
from support.cli import TEST_KEY, Result, Tracker, user_env
from support.server import CatalogServer


@pytest.fixture
def cli(tmp_path: Path, server: CatalogServer) -> Tracker:
    """The CLI on a SQLite file (tmp_path/db/tracker.db) against the loopback server."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "db").mkdir()
    return Tracker(env=user_env(home, TRACKER_DATABASE_URL=f"sqlite:///{tmp_path}/db/tracker.db",
                                TRACKER_REPORTS_DIR=str(tmp_path / "reports"),
                                AURIKO_BASE_URL=server.base_url, AURIKO_API_KEY=TEST_KEY),
                   cwd=tmp_path)


def process(args: list[str], cli: Tracker, *, wrap: list[str] | None = None,
            limit_bytes: int | None = None, input: bytes = b"") -> Result:
    """`python -m tracker ARGS` (inside `wrap`, a command that ends by running its last
    arguments), optionally allowed to write no file past `limit_bytes`."""
    def limit() -> None:
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    command = [*(wrap or []), sys.executable, "-m", "tracker", *args]
    done = subprocess.run(command, env=cli.env, cwd=cli.cwd, capture_output=True, input=input,
                          timeout=120, preexec_fn=limit)
    return Result(args, done.returncode, done.stdout.decode(), done.stderr.decode())


def assert_one_clean_line(result: Result, *words: str) -> None:
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("tracker: ")]
    assert line.startswith("tracker: error: ") and "unexpected" not in line, line
    assert "[SQL" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in line, line


@pytest.mark.slow
def test_a_disk_that_fills_up_under_a_fetch(cli: Tracker, server: CatalogServer,
                                             tmp_path: Path) -> None:
    cli("db", "upgrade")
    big = catalog(*(model(f"model-{i:04d}", provider("p", 1 + i / 100, 2)) for i in range(400)))
    server.serve(big)
    # 32 KiB a file: the write-ahead log of 400 models needs far more.
    result = process(["fetch"], cli, limit_bytes=32 * 1024)
    assert result.returncode == 7, result.stderr
    assert_one_clean_line(result, f"database {tmp_path}/db/tracker.db")
    assert "disk" in result.stderr
    assert "first snapshot v1 stored (400 models)" in cli("fetch").stdout  # space again


def unshare_read_only(directory: Path) -> list[str] | None:
    """A wrapper that runs its command with `directory` mounted read-only (a user and mount
    namespace of its own), or None where namespaces are not allowed."""
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-rm", "sh", "-c",
            f'mount --bind -o ro "{directory}" "{directory}" && exec "$@"', "read-only"]


@pytest.mark.slow
def test_a_database_on_a_read_only_mount(cli: Tracker, server: CatalogServer,
                                         tmp_path: Path) -> None:
    wrap = unshare_read_only(tmp_path / "db")
    if wrap is None:
        pytest.skip("user namespaces are not available here to make a read-only mount")
    two = base_catalog("v2")
    two["data"] = two["data"][:2]
    server.serve(base_catalog("v1"), two)
    cli("fetch")
    cli("fetch")
    assert sorted(p.name for p in (tmp_path / "db").iterdir()) == [
        "tracker.db", "tracker.db-run-auriko.lock"]  # no WAL left: a clean copy

    for args in (["snapshots"], ["diff", "--format", "json"], ["report", "--since", "7d"],
                 ["audit"], ["history", "gpt-4o"], ["status"], ["sources"], ["feed"]):
        result = process(args, cli, wrap=wrap)
        assert result.returncode == 0, (args, result.stderr)
    assert "model_removed" in process(["diff", "--format", "json"], cli, wrap=wrap).stdout

    result = process(["ingest", "-"], cli, wrap=wrap, input=body(base_catalog("v9")))
    assert result.returncode == 7
    assert_one_clean_line(result, f"{tmp_path}/db/tracker.db", "read-only")
    server.serve(base_catalog("v3"))
    result = process(["fetch"], cli, wrap=wrap)
    assert result.returncode == 7
    assert_one_clean_line(result, f"{tmp_path}/db/tracker.db", "Read-only file system")
