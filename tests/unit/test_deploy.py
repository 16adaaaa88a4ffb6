"""deploy/: the systemd units and timers, the crontab example and the example config.

`systemd-analyze verify` checks the units where it is installed; everywhere, the units are
parsed and the keys an operator relies on are checked, every command they run is a valid
`tracker` command line, and the example config loads.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import Tracker, user_env
from support.paths import CHECKOUT

from tracker.config import load_settings
from tracker.scheduler import Schedule, build_trigger

DEPLOY = CHECKOUT / "deploy"
BINARY = "/opt/catalog-tracker/venv/bin/tracker"
UNITS = ["catalog-tracker.service", "catalog-tracker.timer", "catalog-tracker-report.service",
         "catalog-tracker-report.timer", "catalog-tracker-scheduler.service"]
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "DynamicUser": "yes", "CapabilityBoundingSet": ""}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values in order]}} (keys may repeat, as in systemd)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section][key]
    assert len(values) == 1, f"{key} given {len(values)} times"
    return values[0]


def tracker_args(command: str) -> list[str]:
    words = shlex.split(command)
    start = next(i for i, word in enumerate(words) if word.endswith("/bin/tracker"))
    return words[start + 1:]


def check_command_line(args: list[str], home: Path) -> None:
    """The subcommand and every option exist (click parses them before --help answers)."""
    args = [a for a in args if a not in (">>", ">") and not a.startswith(("$HOME", "/dev/"))]
    if "2>&1" in args:
        args = args[: args.index("2>&1") - 2]
    result = Tracker(user_env(home), home)(*args, "--help", check=False)
    assert result.returncode == 0, f"tracker {' '.join(args)}: {result.stderr}"


@pytest.mark.parametrize("name", UNITS)
def test_units_parse_and_name_what_they_need(name: str, tmp_path: Path) -> None:
    unit = parse_unit(DEPLOY / name)
    assert one(unit, "Unit", "Description")
    if name.endswith(".timer"):
        assert one(unit, "Timer", "Persistent") == "true"
        assert one(unit, "Install", "WantedBy") == "timers.target"
        assert (DEPLOY / name.replace(".timer", ".service")).is_file()
        return
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, key
    assert one(unit, "Service", "StateDirectory") == "catalog-tracker"
    assert "TRACKER_CONFIG=/etc/catalog-tracker/tracker.toml" in service["Environment"]
    exec_start = one(unit, "Service", "ExecStart")
    assert exec_start.startswith(BINARY + " ")
    check_command_line(tracker_args(exec_start), tmp_path)
    if "report" not in name:  # the fetching units get the key as a systemd credential
        assert service["LoadCredential"] == ["auriko-api-key:/etc/catalog-tracker/auriko-api-key"]
        assert "AURIKO_API_KEY_FILE=%d/auriko-api-key" in service["Environment"]


def test_the_timers_run_hourly_and_weekly() -> None:
    assert one(parse_unit(DEPLOY / "catalog-tracker.timer"), "Timer", "OnCalendar") == "hourly"
    weekly = one(parse_unit(DEPLOY / "catalog-tracker-report.timer"), "Timer", "OnCalendar")
    assert weekly.startswith("Mon ")
    fetch = one(parse_unit(DEPLOY / "catalog-tracker.service"), "Service", "ExecStart")
    report = one(parse_unit(DEPLOY / "catalog-tracker-report.service"), "Service", "ExecStart")
    assert tracker_args(fetch) == ["fetch"]
    assert tracker_args(report) == ["report", "--weekly"]
    scheduler = parse_unit(DEPLOY / "catalog-tracker-scheduler.service")
    assert one(scheduler, "Service", "KillSignal") == "SIGTERM"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    # verify wants ExecStart= to exist: point it at this environment's tracker.
    tracker = Path(sys.executable).with_name("tracker")
    assert tracker.is_file()
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace(BINARY, str(tracker))
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no",
                             *[str(tmp_path / name) for name in UNITS]],
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "Failed to " in output and "catalog-tracker" not in output:
        pytest.skip(f"systemd-analyze cannot run here: {output.strip()[:200]}")
    assert result.returncode == 0, output
    for complaint in ("Unknown key", "Unknown section", "ignoring", "Invalid", "Failed"):
        assert complaint not in output, output


def test_the_crontab_example_is_valid_cron_and_valid_tracker(tmp_path: Path) -> None:
    lines = [line.strip() for line in (DEPLOY / "crontab.example").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert len(lines) == 3
    for line in lines:
        fields = line.split()
        build_trigger(Schedule(cron=" ".join(fields[:5]), timezone="UTC"))
        check_command_line(tracker_args(" ".join(fields[5:])), tmp_path)
    assert "fetch" in lines[0] and "report --weekly" in lines[1] and "status --max-age" in lines[2]


def test_the_example_config_loads(tmp_path: Path) -> None:
    settings = load_settings(config_path=str(DEPLOY / "tracker.toml"), environ={})
    assert [s.name for s in settings.run_sources()] == ["auriko", "auriko-responses"]
    assert settings.sources["auriko-responses"].endpoint == "responses"
    assert settings.schedule.cron == "7 * * * *" and settings.lock_timeout == 600
    # With its commented-out [[notify]] tables switched on, it still loads.
    switched_on = re.compile(r"# (\[\[notify\]\]$|(?!database_url)[a-z_]+ = )")
    text = "\n".join(line[2:] if switched_on.match(line) else line
                     for line in (DEPLOY / "tracker.toml").read_text().splitlines())
    (tmp_path / "tracker.toml").write_text(text)
    rules = load_settings(config_path=str(tmp_path / "tracker.toml"), environ={}).notify
    assert [rule.name for rule in rules] == ["llm-costs", "ops"]
    assert rules[1].kinds == () and rules[1].on_failure == 3
