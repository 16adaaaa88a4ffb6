"""The command line's contract: help with examples, one-line errors, documented exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.builders import base_catalog
from support.cli import Tracker, user_env
from support.server import CatalogServer

COMMANDS = ["fetch", "ingest", "import-git", "snapshots", "diff", "demo", "db upgrade",
            "db current"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str, tmp_path: Path) -> None:
    result = Tracker(user_env(tmp_path), tmp_path)(*command.split(), "--help")
    assert "Example" in result.stdout


def test_usage_errors_exit_2_with_one_line(tracker: Tracker, server: CatalogServer) -> None:
    result = tracker("diff", "--format", "pdf", check=2)
    assert "Invalid value for '--format'" in result.stderr
    server.serve(base_catalog())
    tracker("fetch")
    result = tracker("diff", "no-such-version", check=2)
    assert result.stderr.strip().count("\n") == 0
    assert "no snapshot matches 'no-such-version'" in result.stderr
    result = tracker("snapshots", "--source", "nope", check=2)
    assert "unknown source 'nope' (in the database: auriko)" in result.stderr


def test_diff_after_a_single_snapshot_has_no_changes(
    tracker: Tracker, server: CatalogServer
) -> None:
    server.serve(base_catalog())
    tracker("fetch")
    diff = tracker.json("diff")
    assert diff["from"] is None and diff["changes"] == []
    assert diff["to"]["catalog_version"] == "v1"


def test_snapshots_lists_oldest_first(tracker: Tracker, server: CatalogServer) -> None:
    server.serve(base_catalog("v1"), {**base_catalog("v2"), "note": "v2"})
    tracker("fetch")
    tracker("fetch")
    lines = tracker("snapshots").stdout.strip().splitlines()
    assert lines[0].split() == ["id", "first", "observed", "last", "observed", "models", "version"]
    assert [line.split()[-1] for line in lines[1:]] == ["v1", "v2"]


def test_a_bad_database_url_is_a_configuration_error(tracker: Tracker) -> None:
    result = tracker("--database-url", "nosuchdb://x", "snapshots", check=2)
    assert result.stderr.startswith("tracker: error:")


def test_unreachable_server_exits_3(tracker: Tracker) -> None:
    result = tracker("fetch", "--base-url", "http://127.0.0.1:9/v1", "--retries", "0", check=3)
    assert "cannot fetch http://127.0.0.1:9" in result.stderr


@pytest.mark.new_database
def test_db_commands(tracker: Tracker) -> None:
    from tracker.store.db import HEAD_REVISION

    assert f"upgraded empty database -> {HEAD_REVISION}" in tracker("db", "upgrade").stdout
    assert f"already at {HEAD_REVISION}" in tracker("db", "upgrade").stdout
    assert f"{HEAD_REVISION} (up to date)" in tracker("db", "current").stdout


def test_the_console_script_exits_without_walking_the_heap_it_ends_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `main` freezes the heap before the exit, so that the shutdown's collections skip it
    # (110 ms of an unchanged fetch); its exit code is still run's.
    import gc

    from tracker.cli import main

    assert gc.get_freeze_count() == 0
    try:
        with pytest.raises(SystemExit) as exited:
            main(["--version"])
        assert exited.value.code == 0 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert capsys.readouterr().out.startswith("catalog-tracker, version ")
