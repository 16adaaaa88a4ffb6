"""Shell completion (`eval "$(_TRACKER_COMPLETE=bash_source tracker)"`): --source, MODEL
arguments and snapshot references complete from the database, as bash asks for them; a
missing database or a broken config completes to nothing, silently, and creates nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from support.cli import Result, Tracker

from tracker.cli import cli


def complete(tracker: Tracker, line: str, **env: str) -> Result:
    """What bash gets for the last word of `line` (an empty last word after a space)."""
    words = line.split(" ")
    result = tracker(extra_env={"_TRACKER_COMPLETE": "bash_complete", "COMP_WORDS": line,
                                "COMP_CWORD": str(len(words) - 1), **env})
    assert result.stderr == ""
    return result


def values(result: Result) -> list[str]:
    """The values of bash's `type,value` lines (none: one empty line)."""
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_models_sources_and_snapshots_complete_from_the_database(
        tracker: Tracker, report_history: dict[str, Any]) -> None:
    assert values(complete(tracker, "tracker history gp")) == ["gpt-4o"]
    assert values(complete(tracker, "tracker price cl")) == ["claude-sonnet"]
    assert values(complete(tracker, "tracker effective gpt-4o l")) == ["llama-70b"]
    assert values(complete(tracker, "tracker report --source ")) == ["auriko"]
    # Snapshot references: latest, previous, then the versions newest first.
    assert values(complete(tracker, "tracker diff ")) == ["latest", "previous", "v4", "v3", "v2",
                                                          "v1"]
    assert values(complete(tracker, "tracker diff v1 v")) == ["v4", "v3", "v2", "v1"]


def test_the_source_given_first_is_the_one_completed_from(
        tracker: Tracker, two_source_report_history: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text('[sources.other]\nkind = "auriko"\n')
    assert values(complete(tracker, f"tracker --config {config} export offers --source o")) \
        == ["other"]
    assert values(complete(tracker, "tracker history --source other ll")) == ["llama-70b"]
    assert values(complete(tracker, "tracker history --source nowhere ll")) == []


def test_no_database_or_a_broken_config_completes_to_nothing_and_creates_nothing(
        tracker: Tracker, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "tracker.db"
    result = complete(tracker, f"tracker --database-url sqlite:///{missing} history gp")
    assert values(result) == [] and not missing.parent.exists()
    broken = tmp_path / "broken.toml"
    broken.write_text("this is [not toml")
    assert values(complete(tracker, f"tracker --config {broken} history gp")) == []
    assert values(complete(tracker, "tracker history gp",
                           TRACKER_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")) == []


def test_every_source_model_and_snapshot_parameter_completes(tracker: Tracker) -> None:
    def walk(group: click.Group) -> list[click.Parameter]:
        found = []
        for command in group.commands.values():
            found += walk(command) if isinstance(command, click.Group) else command.params
        return found

    params = walk(cli)
    named = [p for p in params if p.name in ("source", "sources", "model", "models",
                                             "from_ref", "to_ref")]
    assert len(named) >= 15  # every command that reads or writes a source
    assert all("shell_complete" in vars(p) for p in named)  # completes from the database
    script = tracker(extra_env={"_TRACKER_COMPLETE": "bash_source"}).stdout
    assert "_tracker_completion" in script and "complete -o nosort -F" in script
