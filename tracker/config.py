"""Configuration: flags beat environment variables, which beat the config file.

`load_settings(...)` resolves everything once into a `Settings`; nothing else reads the
environment. The API key is resolved only when a fetch needs it, and never stored or logged.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.errors import ConfigError

log = logging.getLogger(__name__)

APP_NAME = "catalog-tracker"
DEFAULT_SOURCE = "auriko"
DEFAULT_BASE_URL = "https://api.auriko.ai/v1"
DEFAULT_REPORTS_DIR = "./reports-out"
DEFAULT_ENDPOINT = "chat_completions"
ENDPOINTS = ("chat_completions", "responses")
SOURCE_KINDS = ("auriko",)

_TOP_LEVEL_KEYS = {"database_url", "reports_dir", "sources", "schedule", "notify"}
_SOURCE_KEYS = {"kind", "base_url", "endpoint", "api_key_env", "api_key_file", "api_key"}


@dataclass(frozen=True)
class SourceConfig:
    """What is tracked: a kind of catalog, its base URL, and how to authenticate."""

    name: str
    kind: str = "auriko"
    base_url: str = DEFAULT_BASE_URL
    endpoint: str | None = DEFAULT_ENDPOINT
    api_key_env: str = "AURIKO_API_KEY"
    api_key_file: str | None = None
    # A key written in the config file itself (discouraged; a warning says so if the file is
    # readable by others). repr=False keeps it out of any debug output.
    api_key: str | None = field(default=None, repr=False)

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key from its file, its environment variable, or the config file, in that order."""
        env = os.environ if environ is None else environ
        key_file = self.api_key_file or env.get(f"{self.api_key_env}_FILE")
        if key_file:
            try:
                return Path(key_file).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError(f"cannot read API key file {key_file}: {exc.strerror}") from None
        return env.get(self.api_key_env) or self.api_key


@dataclass(frozen=True)
class Settings:
    database_url: str
    reports_dir: Path
    sources: Mapping[str, SourceConfig]
    config_path: Path | None = None
    schedule: Mapping[str, Any] = field(default_factory=dict)
    notify: tuple[Mapping[str, Any], ...] = ()

    def source(self, name: str | None = None) -> SourceConfig:
        chosen = name or DEFAULT_SOURCE
        try:
            return self.sources[chosen]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"unknown source {chosen!r} (configured: {known})") from None


def default_database_url() -> str:
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path(APP_NAME) / 'tracker.db'}"


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "tracker.toml"


def load_settings(
    *,
    config_path: str | None = None,
    database_url: str | None = None,
    reports_dir: str | None = None,
    base_url: str | None = None,
    endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from flags (the arguments), the environment, and the config file."""
    env = os.environ if environ is None else environ
    path, explicit = _config_file(config_path, env)
    file_data = _read_config_file(path) if path is not None else {}

    sources = _sources_from_file(file_data.get("sources", {}), path)
    default = sources.get(DEFAULT_SOURCE, SourceConfig(name=DEFAULT_SOURCE))
    env_base = env.get("AURIKO_BASE_URL")
    default = SourceConfig(
        name=DEFAULT_SOURCE,
        kind=default.kind,
        base_url=base_url or env_base or default.base_url,
        endpoint=endpoint or default.endpoint,
        api_key_env=default.api_key_env,
        api_key_file=default.api_key_file,
        api_key=default.api_key,
    )
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise ConfigError(f"unknown endpoint {endpoint!r} (use one of: {', '.join(ENDPOINTS)})")
    sources[DEFAULT_SOURCE] = default

    return Settings(
        database_url=(
            database_url
            or env.get("TRACKER_DATABASE_URL")
            or file_data.get("database_url")
            or default_database_url()
        ),
        reports_dir=Path(
            reports_dir
            or env.get("TRACKER_REPORTS_DIR")
            or file_data.get("reports_dir")
            or DEFAULT_REPORTS_DIR
        ).expanduser(),
        sources=sources,
        config_path=path if (explicit or path is not None) else None,
        schedule=file_data.get("schedule", {}),
        notify=tuple(file_data.get("notify", ())),
    )


def _config_file(flag: str | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The config file to read, and whether the user named it (then it must exist)."""
    named = flag or env.get("TRACKER_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path, True
    default = default_config_path()
    return (default if default.is_file() else None), False


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}")
    return data


def _sources_from_file(raw: Any, path: Path | None) -> dict[str, SourceConfig]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [sources] must be a table of named sources")
    sources: dict[str, SourceConfig] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: [sources.{name}] must be a table")
        unknown = sorted(set(body) - _SOURCE_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [sources.{name}]")
        kind = body.get("kind", "auriko")
        if kind not in SOURCE_KINDS:
            raise ConfigError(f"{path}: [sources.{name}] has unknown kind {kind!r}")
        endpoint = body.get("endpoint", DEFAULT_ENDPOINT)
        if endpoint not in ENDPOINTS:
            raise ConfigError(f"{path}: [sources.{name}] has unknown endpoint {endpoint!r}")
        if "api_key" in body and path is not None:
            _warn_if_readable_by_others(path)
        sources[name] = SourceConfig(
            name=name,
            kind=kind,
            base_url=body.get("base_url", DEFAULT_BASE_URL),
            endpoint=endpoint,
            api_key_env=body.get("api_key_env", "AURIKO_API_KEY"),
            api_key_file=body.get("api_key_file"),
            api_key=body.get("api_key"),
        )
    return sources


def _warn_if_readable_by_others(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s holds an API key and is readable by other users; chmod 600 it "
            "or use api_key_file",
            path,
        )
