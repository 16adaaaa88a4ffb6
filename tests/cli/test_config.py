"""The config file, tracker.toml: several named sources, [schedule], [[notify]], and errors that
name the key and the file. `fetch` without --source runs every source of the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.builders import base_catalog
from support.cli import TEST_KEY, Result, Tracker, user_env
from support.server import CatalogServer, Reply

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
OTHER_KEY = "ak_other_5ecret_9876543210"


def run(tmp_path: Path, *args: str) -> Result:
    """The CLI with a home of its own and no database use (configuration errors come first)."""
    env = user_env(tmp_path, TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'tracker.db'}")
    return Tracker(env, tmp_path)(*args, check=False)


@pytest.mark.parametrize(("text", "message"), [
    ('colour = "blue"\n', "unknown key 'colour'"),
    ('[schedule]\ncronn = "0 * * * *"\n', "unknown key 'cronn' in [schedule]"),
    ('[[notify]]\nurl = "json://x"\nfilter = 1\n', "unknown key 'filter' in [[notify]] #1"),
    ('[sources.a]\nendpoints = "x"\n', "unknown key 'endpoints' in [sources.a]"),
    ('[schedule]\nevery = "soon"\n', "[schedule] every: not a duration: 'soon'"),
    ('[schedule]\ncron = "0 * * * *"\nevery = "1h"\n', "[schedule] takes cron or every"),
    ('[[notify]]\nname = "x"\n', "[[notify]] 'x' needs url, url_env or url_file"),
    ('[[notify]]\nurl = "json://x"\nkinds = ["price_change"]\n',
     "unknown change kind 'price_change' in kinds (use: "),
    ('[[notify]]\nurl = "json://x"\nmin_price_change_pct = -1\n',
     "min_price_change_pct must be a number, 0 or more"),
    ('[[notify]]\nurl = "json://x"\non_failure = 0\n', "on_failure must be a whole number"),
    ('lock_timeout = "forever"\n', "lock_timeout: not a duration: 'forever'"),
    ("database_url = \n", "not valid TOML"),
])
def test_config_errors_name_the_key_and_the_file(tmp_path: Path, text: str,
                                                 message: str) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text(text)
    result = run(tmp_path, "--config", str(config), "status")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"tracker: error: {config}")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    result = run(tmp_path, "--config", str(tmp_path / "missing.toml"), "status")
    assert result.returncode == 2
    assert f"config file not found: {tmp_path / 'missing.toml'}" in result.stderr


def two_sources(tmp_path: Path, server: CatalogServer) -> str:
    config = tmp_path / "tracker.toml"
    root = server.base_url.removesuffix("/v1")
    config.write_text(f"""
[sources.auriko]
kind = "auriko"
base_url = "{root}/v1"

[sources.auriko-responses]
kind = "auriko"
base_url = "{root}/second/v1"
endpoint = "responses"
api_key_env = "OTHER_KEY"
""")
    return str(config)


@SQLITE_ONLY
def test_fetch_without_source_runs_every_source_of_the_config_file(
    tracker: Tracker, server: CatalogServer, tmp_path: Path
) -> None:
    config = two_sources(tmp_path, server)
    server.route("/v1/models", base_catalog("a1"))
    server.route("/second/v1/models", base_catalog("r1"))
    env = {"OTHER_KEY": OTHER_KEY}
    result = tracker("--config", config, "fetch", extra_env=env)
    assert result.stdout.splitlines() == [
        "auriko: first snapshot a1 stored (3 models)",
        "auriko-responses: first snapshot r1 stored (3 models)",
    ]
    # Each source with its own base URL, endpoint and key.
    seen = {r.path: r.headers["Authorization"] for r in server.requests}
    assert seen == {"/v1/models": f"Bearer {TEST_KEY}",
                    "/second/v1/models?endpoint=responses": f"Bearer {OTHER_KEY}"}

    # --source picks one; JSON is then one object, as before.
    single = json.loads(tracker("--config", config, "fetch", "--source", "auriko-responses",
                                "--format", "json", extra_env=env).stdout)
    assert single["source"] == "auriko-responses" and single["outcome"] == "unchanged"
    # All of them: a list.
    both = json.loads(tracker("--config", config, "fetch", "--format", "json",
                              extra_env=env).stdout)
    assert [item["source"] for item in both] == ["auriko", "auriko-responses"]
    # status checks every configured source.
    report = tracker.json("--config", config, "status", "--max-age", "1h")
    assert [s["source"] for s in report["sources"]] == ["auriko", "auriko-responses"]


@SQLITE_ONLY
def test_one_failing_source_does_not_stop_the_others(
    tracker: Tracker, server: CatalogServer, tmp_path: Path
) -> None:
    config = two_sources(tmp_path, server)
    server.route("/v1/models", Reply(503, b"down"))
    server.route("/second/v1/models", base_catalog("r1"))
    result = tracker("--config", config, "fetch", "--retries", "0", check=3,
                     extra_env={"OTHER_KEY": OTHER_KEY})
    assert result.stdout.splitlines() == ["auriko-responses: first snapshot r1 stored (3 models)"]
    assert result.stderr.startswith("tracker: error: source auriko: ")
    assert "HTTP 503" in result.stderr

    # A missing key is a configuration error: it outranks the remote failure (exit 2).
    result = tracker("--config", config, "fetch", "--retries", "0", check=2)
    assert "source auriko-responses: no API key for source 'auriko-responses': set OTHER_KEY" \
        in result.stderr


@SQLITE_ONLY
def test_the_config_file_in_the_user_config_directory_is_read(
    tracker: Tracker, server: CatalogServer, tmp_path: Path
) -> None:
    target = Path(tracker.env["XDG_CONFIG_HOME"]) / "catalog-tracker" / "tracker.toml"
    target.parent.mkdir(parents=True)
    target.write_text(f'[sources.auriko]\nbase_url = "{server.base_url}"\n'
                      '[sources.spare]\nbase_url = "http://127.0.0.1:9/v1"\n')
    result = tracker("fetch", "--base-url", server.base_url, check=2)
    assert "--base-url and --endpoint apply to one source; name it with --source" in result.stderr
    server.serve(base_catalog())
    tracker("fetch", "--source", "auriko")
    assert "spare" in tracker("status").stdout
