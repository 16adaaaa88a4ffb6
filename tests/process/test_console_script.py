"""The installed `tracker` console script and `python -m tracker`: the process a user starts
exits with the code `tracker.cli.run` returns (every other CLI test calls `run` in-process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import user_env

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).with_name("tracker")


@pytest.mark.parametrize("command", [[str(SCRIPT)], [sys.executable, "-m", "tracker"]],
                         ids=["console script", "python -m tracker"])
def test_the_process_exits_with_the_documented_code(command: list[str], tmp_path: Path) -> None:
    assert SCRIPT.is_file(), "the package is installed with its console script"
    env = user_env(tmp_path, TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'tracker.db'}")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("catalog-tracker, version ")
    usage = run("diff", "--format", "pdf")
    assert usage.returncode == 2 and usage.stdout == ""
    assert usage.stderr.startswith("tracker: error: ") and usage.stderr.count("\n") == 1
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0 and "upgraded empty database -> " in upgraded.stdout
    # The exit leaves the database closed: checkpointed, no write-ahead log left beside it.
    assert (tmp_path / "tracker.db").stat().st_size > 0
    assert not (tmp_path / "tracker.db-wal").exists()
