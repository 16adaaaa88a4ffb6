"""Settings: flags beat the environment, which beats the config file (tracker.toml); notify
URLs from a variable or a file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tracker.config import load_settings
from tracker.errors import ConfigError


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text('lock_timeout = "2m"\n[[notify]]\nurl = "json://file/x"\non_failure = 5\n'
                      '[schedule]\nevery = "1h30m"\njitter = 30\n')
    settings = load_settings(config_path=str(config), environ={})
    assert settings.lock_timeout == 120
    assert settings.schedule.every == timedelta(hours=1, minutes=30)
    assert settings.schedule.jitter == timedelta(seconds=30)
    assert [rule.on_failure for rule in settings.notify] == [5]
    env = {"TRACKER_LOCK_TIMEOUT": "10", "TRACKER_NOTIFY_ON_FAILURE": "3",
           "TRACKER_NOTIFY_URLS": "json://env/a json://env/b"}
    settings = load_settings(config_path=str(config), environ=env)
    assert settings.lock_timeout == 10
    [rule] = settings.notify
    assert rule.resolve_urls({}) == ["json://env/a", "json://env/b"] and rule.on_failure == 3
    settings = load_settings(config_path=str(config), environ=env, lock_timeout=0,
                             notify_on_failure=1)
    assert settings.lock_timeout == 0 and settings.notify[0].on_failure == 1
    # Without sources in the file, a run covers the default source.
    assert [s.name for s in settings.run_sources()] == ["auriko"]


def test_notify_urls_from_a_variable_or_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "slack-url"
    secret.write_text("# the team channel\nslack://T/B/C/#costs\n")
    config = tmp_path / "tracker.toml"
    config.write_text(f'[[notify]]\nname = "team"\nurl_file = "{secret}"\n'
                      '[[notify]]\nname = "ops"\nurl_env = "OPS_URL"\nkinds = []\n')
    team, ops = load_settings(config_path=str(config), environ={}).notify
    assert team.resolve_urls({}) == ["slack://T/B/C/#costs"]
    config.write_text('[[notify]]\nurl_file = "${CREDENTIALS_DIRECTORY}/slack-url"\n')
    [credential] = load_settings(config_path=str(config), environ={}).notify
    assert credential.resolve_urls({"CREDENTIALS_DIRECTORY": str(tmp_path)}) == [
        "slack://T/B/C/#costs"]
    with pytest.raises(ConfigError, match="CREDENTIALS_DIRECTORY is not set"):
        credential.resolve_urls({})
    assert ops.resolve_urls({"OPS_URL": "ntfy://ops"}) == ["ntfy://ops"] and ops.kinds == ()
    with pytest.raises(ConfigError, match="OPS_URL is not set"):
        ops.resolve_urls({})
