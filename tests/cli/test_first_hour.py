"""A new user's first hour: `tracker demo`, then looking around the demo as it says; read
commands on an empty, a default or a mistyped database; what `status` calls ok; a fetch
without a key. Every database-backed test runs on both backends."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from support.builders import base_catalog
from support.cli import Tracker, user_env
from support.db import count, rows
from support.server import CatalogServer, Reply

DEMO_TIMES = [
    ("2026-11-01.1", "2026-11-01T09:00:00Z"),
    ("2026-11-02.1", "2026-11-02T09:00:00Z"),
    ("2026-11-03.1", "2026-11-03T09:00:00Z"),
    ("2026-11-04.1", "2026-11-04T09:00:00Z"),
    (None, "2026-11-05T09:00:00Z"),  # the unversioned catalog, a day after the one before
    ("2026-11-06.1", "2026-11-06T09:00:00Z"),
]


def look_around(demo_output: str) -> list[list[str]]:
    """The commands `tracker demo` ends with, as argument lists (without `tracker`)."""
    lines = demo_output.split("Look around it (each command works as printed):\n", 1)[1]
    commands = [shlex.split(line) for line in lines.splitlines() if line.startswith("  tracker ")]
    assert commands, demo_output
    return [command[1:] for command in commands]


def tables(database_url: str) -> list[str]:
    """The tables in the test's database (its own schema on PostgreSQL)."""
    if database_url.startswith("sqlite"):
        return [r[0] for r in rows(database_url, "SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")]
    return [r[0] for r in rows(database_url, "SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = current_schema()")]


# --- the demo and its database ---


def test_the_demo_writes_into_the_database_the_environment_names(
    tracker: Tracker, database_url: str, tmp_path: Path
) -> None:
    result = tracker("demo")  # TRACKER_DATABASE_URL names this test's database

    assert count(database_url, "snapshots") == 6
    assert [r[0] for r in rows(database_url, "SELECT name FROM sources")] == ["demo"]
    assert "\nSource demo added in " in result.stdout
    assert not (tmp_path / "home/.local/share/catalog-tracker/demo.db").exists()


def test_the_database_flag_beats_the_environment_for_the_demo(
    tracker: Tracker, database_url: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    tracker("--database-url", database_url, "demo",
            extra_env={"TRACKER_DATABASE_URL": f"sqlite:///{elsewhere}"})

    assert count(database_url, "snapshots") == 6
    assert not elsewhere.exists()


def test_a_second_demo_replaces_the_first_and_leaves_other_sources_alone(
    tracker: Tracker, server: CatalogServer, database_url: str
) -> None:
    server.serve(base_catalog("v1"))
    tracker("fetch")
    tracker("demo")
    again = tracker("demo")

    assert "Source demo replaced the earlier demo in " in again.stdout
    assert "its other sources (auriko) are untouched" in again.stdout
    per_source = rows(database_url, "SELECT s.name, count(*) FROM snapshots n "
                                    "JOIN sources s ON s.id = n.source_id GROUP BY s.name "
                                    "ORDER BY s.name")
    assert [tuple(r) for r in per_source] == [("auriko", 1), ("demo", 6)]
    # Two sources now: naming the demo's is what works, and the demo prints it so.
    assert all(command[-2:] == ["--source", "demo"] for command in look_around(again.stdout))


def test_the_demo_is_observed_at_the_dates_its_versions_carry(
    tracker: Tracker, tmp_path: Path
) -> None:
    tracker("demo")

    snapshots = tracker.json("snapshots")
    assert [(s["catalog_version"], s["first_observed_at"]) for s in snapshots] == DEMO_TIMES
    changelog = (tmp_path / "reports-out/demo/changelog-20261102T090000Z-demo-2026-11-02.1.md")
    assert "**2026-11-02.1** (observed 2026-11-02 09:00 UTC, 39 models)" in changelog.read_text()


def test_the_commands_the_demo_prints_work_as_printed(tracker: Tracker, tmp_path: Path) -> None:
    result = tracker("demo")
    commands = look_around(result.stdout)

    assert [command[2] for command in commands] == ["snapshots", "report", "site"]
    for command in commands:
        # As printed: they name the database themselves, whatever the environment says.
        tracker(*command, extra_env={"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/other.db"})
    assert (tmp_path / "demo-report.html").is_file()
    assert (tmp_path / "demo-site" / "index.html").is_file()
    assert not (tmp_path / "other.db").exists()


def test_without_a_database_named_the_demo_has_its_own_and_says_how_to_look_around(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    user = Tracker(env=user_env(home), cwd=tmp_path)  # no TRACKER_DATABASE_URL, no config

    result = user("demo")

    assert (home / ".local/share/catalog-tracker/demo.db").is_file()
    assert "The demo history is in a database of its own" in result.stdout
    listing, *_ = look_around(result.stdout)
    assert listing[:2] == ["--database-url", f"sqlite:///{home}/.local/share/catalog-tracker/demo.db"]
    assert len(json.loads(user(*listing, "--format", "json").stdout)) == 6
    for command in look_around(result.stdout):
        user(*command)


# --- read commands pick the only source; empty histories list as [] ---


def test_read_commands_use_the_only_source_in_the_database(
    tracker: Tracker, server: CatalogServer, tmp_path: Path
) -> None:
    tracker("demo")

    assert len(tracker.json("snapshots")) == 6
    assert tracker.json("diff")["source"] == "demo"
    report = tracker.json("report", "--since", "2026-11-01", "--until", "2026-11-07")
    assert report["source"] == "demo" and len(report["events"]) == 5
    assert len(tracker.json("audit")) == 4
    assert "demo" in tracker("audit").stdout
    assert "llama-3.3-70b-instruct (source demo)" in tracker("history",
                                                             "llama-3.3-70b-instruct").stdout
    assert tracker("feed").stdout.count("<entry>") == 5
    assert "5 transitions" in tracker("site", str(tmp_path / "site")).stdout

    # With two sources in the database, the default source again.
    server.serve(base_catalog("v1"))
    tracker("fetch")
    assert [s["catalog_version"] for s in tracker.json("snapshots")] == ["v1"]
    assert len(tracker.json("snapshots", "--source", "demo")) == 6


def test_json_listings_of_an_empty_history_are_empty_lists(
    tracker: Tracker, server: CatalogServer
) -> None:
    assert tracker.json("snapshots") == []
    assert tracker.json("audit") == []
    assert tracker("audit", "--format", "csv").stdout.count("\n") == 1  # the header alone
    assert tracker("snapshots").stdout.splitlines()[1:] == []  # the table's head alone

    server.serve(Reply(503, b"down"))
    tracker("fetch", "--retries", "0", check=3)
    assert tracker.json("snapshots") == []
    assert tracker.json("audit") == []
    # A name that is neither configured nor stored is still a mistake.
    assert "unknown source 'nope'" in tracker("snapshots", "--source", "nope", check=2).stderr


# --- read commands never create a database ---

READ_COMMANDS = [
    ("snapshots",), ("diff",), ("report", "--since", "7d"), ("audit",),
    ("history", "gpt-4o"), ("feed",), ("site", "site"), ("status",), ("sources",),
]


def test_a_read_on_a_mistyped_sqlite_path_is_exit_2_naming_it(
    tracker: Tracker, tmp_path: Path
) -> None:
    typo = tmp_path / "trakcer.db"
    for command in READ_COMMANDS:
        result = tracker("--database-url", f"sqlite:///{typo}", *command, check=2)
        assert result.stderr.startswith(f"tracker: error: no database at {typo} "
                                        "(from --database-url)"), (command, result.stderr)
        assert result.stderr.count("\n") == 1
    assert not typo.exists() and not (tmp_path / "site").exists()


@pytest.mark.new_database
def test_read_commands_never_create_the_database(tracker: Tracker, database_url: str) -> None:
    """SQLite: no file yet, each read is exit 2 naming it. PostgreSQL: an empty schema, each
    read sees an empty history. Either way nothing is created."""
    sqlite = database_url.startswith("sqlite")
    for command in READ_COMMANDS:
        result = tracker(*command, check=2 if sqlite else False)
        if sqlite:
            assert "no database at " in result.stderr and "TRACKER_DATABASE_URL" in result.stderr
    if sqlite:
        assert not Path(database_url.removeprefix("sqlite:///")).exists()
    else:
        assert tables(database_url) == []
        assert tracker.json("snapshots") == []


def test_the_default_database_not_there_yet_reads_as_an_empty_history(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user = Tracker(env=user_env(home), cwd=tmp_path)  # nothing fetched, nothing named

    assert json.loads(user("snapshots", "--format", "json").stdout) == []
    assert "auriko (no observations yet): never fetched" in user("status").stdout
    assert not (home / ".local/share/catalog-tracker").exists()


@pytest.mark.new_database
def test_fetch_without_a_key_fails_before_creating_anything(
    tracker: Tracker, database_url: str, tmp_path: Path
) -> None:
    result = tracker("fetch", check=2, extra_env={"AURIKO_API_KEY": ""})

    assert result.stderr == ("tracker: error: no API key for source 'auriko': set "
                             "AURIKO_API_KEY or AURIKO_API_KEY_FILE (or try `tracker demo`, "
                             "which needs no key)\n")
    if database_url.startswith("sqlite"):
        assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no database, no lock
    else:
        assert tables(database_url) == []


# --- status: "ok" means ok ---


def test_status_says_ok_only_when_the_last_poll_succeeded(
    tracker: Tracker, server: CatalogServer
) -> None:
    assert "auriko (no observations yet): never fetched" in tracker("status").stdout

    server.serve(Reply(503, b"down"))
    tracker("fetch", "--retries", "0", check=3)
    tracker("fetch", "--retries", "0", check=3)
    result = tracker("status")  # exit 0: no threshold was given
    assert "): no successful fetch yet (2 failed polls)" in result.stdout
    assert ": ok" not in result.stdout
    [source] = tracker.json("status")["sources"]
    assert source["state"] == "never_succeeded"

    server.serve(base_catalog("v1"), Reply(503, b"down"))
    tracker("fetch")
    assert "auriko (auriko): ok\n" in tracker("status").stdout
    tracker("fetch", "--retries", "0", check=3)
    report = tracker.json("status")
    assert report["healthy"] is True and report["sources"][0]["state"] == "failing"
    assert "auriko (auriko): failing (1 failure in a row)" in tracker("status").stdout
    # A threshold makes it unhealthy (exit 6), as before.
    assert "auriko (auriko): FAILING" in tracker("status", "--max-failures", "1", check=6).stdout


# --- the demo's pages: restorations, plain text on a terminal ---


def test_policy_strengthenings_and_restorations_are_marked(
    tracker: Tracker, tmp_path: Path
) -> None:
    tracker("demo")

    audit = tracker.json("audit")
    restored = [r for r in audit if r["restored"]]
    assert [(r["model"], r["provider"], r["old"], r["new"], r["weakened_at"])
            for r in restored] == [("llama-3.3-70b-instruct", "deepinfra", "none", "zdr",
                                    "2026-11-03T09:00:00Z")]
    assert [r["model"] for r in audit if r["strengthened"] and not r["restored"]] == [
        "deepseek-v3.1"]
    assert "**restored**: undoes the weakening of 2026-11-03, 3 days earlier" in tracker(
        "audit").stdout

    [change] = [c for c in tracker.json("diff")["changes"] if c["kind"] == "data_policy_changed"]
    assert change["restored"] is True and change["weakened_at"] == "2026-11-03T09:00:00Z"
    report = tracker.json("report", "--since", "2026-11-01", "--until", "2026-11-07")
    last = [c for c in report["events"][-1]["changes"] if c["kind"] == "data_policy_changed"]
    assert [c.get("restored") for c in last] == [True]
    # The changelog written when the demo fetched it says so too.
    changelog = tmp_path / "reports-out/demo/changelog-20261106T090000Z-demo-2026-11-06.1.md"
    assert ("| llama-3.3-70b-instruct | deepinfra | none | zdr | **restored**: undoes the "
            "weakening of 2026-11-03, 3 days earlier |") in changelog.read_text()
    earlier = tmp_path / "reports-out/demo/changelog-20261103T090000Z-demo-2026-11-03.1.md"
    assert "| deepseek-v3.1 | deepseek | none | no\\_training | strengthened |" in \
        earlier.read_text()


def test_diff_as_plain_text_and_as_markdown_for_a_pipe(tracker: Tracker) -> None:
    tracker("demo")

    text = tracker("diff", "2026-11-02.1", "2026-11-03.1", "--format", "text").stdout
    assert text.startswith("Catalog changelog: 2026-11-02.1 -> 2026-11-03.1 (source demo)\n")
    assert "  deepseek-v3.1 / deepseek: none -> no_training  STRENGTHENED" in text
    assert "\\_" not in text and "**" not in text and "|" not in text
    piped = tracker("diff", "2026-11-02.1", "2026-11-03.1").stdout  # stdout is not a terminal
    assert piped.startswith("# Catalog changelog: 2026-11-02.1 → 2026-11-03.1\n")
    assert "no\\_training" in piped
