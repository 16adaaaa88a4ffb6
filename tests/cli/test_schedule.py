"""`tracker schedule`: a bad schedule is a usage error of one line, and the help has an example."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import Tracker, user_env


@pytest.mark.parametrize(("args", "message"), [
    ((), "no schedule: give --cron EXPR or --every DURATION"),
    (("--cron", "0 * * * *", "--every", "1h"), "give --cron or --every, not both"),
    (("--cron", "61 * * * *"), "invalid cron expression '61 * * * *'"),
    (("--cron", "* * *"), "a cron expression has 5 fields"),
    (("--every", "soon"), "not a duration: 'soon'"),
    (("--every", "0s"), "--every must be longer than 0 s"),
    (("--every", "1h", "--timezone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
])
def test_schedule_usage_errors_exit_2(args: tuple[str, ...], message: str,
                                      tmp_path: Path) -> None:
    result = Tracker(user_env(tmp_path), tmp_path)("schedule", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["schedule", "status"])
def test_the_new_commands_have_help_with_an_example(command: str, tmp_path: Path) -> None:
    result = Tracker(user_env(tmp_path), tmp_path)(command, "--help")
    assert "Example" in result.stdout
