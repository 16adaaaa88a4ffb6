"""Configuration: flags beat environment variables, which beat the config file.

`load_settings(...)` resolves everything once into a `Settings`; nothing else reads the
environment. The API key is resolved only when a fetch needs it, and never stored or logged.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker.effective import DEFAULT_BLEND, FLOORS, Blend
from tracker.errors import ConfigError
from tracker.sources import KINDS, adapter_for

log = logging.getLogger(__name__)

APP_NAME = "catalog-tracker"
DEFAULT_SOURCE = "auriko"
DEFAULT_BASE_URL = "https://api.auriko.ai/v1"
DEFAULT_REPORTS_DIR = "./reports-out"
DEFAULT_ENDPOINT = "chat_completions"
ENDPOINTS = ("chat_completions", "responses")
SOURCE_KINDS = KINDS

_TOP_LEVEL_KEYS = {"database_url", "reports_dir", "sources", "schedule", "notify", "lock_timeout",
                   "effective_floors", "blend", "usage_file", "usage_floor"}
# How long a run waits for another run of the same source to finish before it gives up (exit 5).
DEFAULT_LOCK_TIMEOUT = 60.0
_SOURCE_KEYS = {
    "kind", "base_url", "endpoint", "api_key_env", "api_key_file", "api_key",
    "max_shrink", "accept_shrink_after",
}


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
    # A catalog that loses more than this share of its models (or is empty) is held as
    # suspicious instead of stored; served this many times in a row, it is accepted (0: never).
    max_shrink: float = 0.5
    accept_shrink_after: int = 0

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key from its file, its environment variable, or the config file, in that order.

        A key file's text is stripped at both ends; what is left, like a key from the
        environment or the config file, must be one token of printable ASCII: a key holding
        white space or a control character (two lines in a key file, a newline pasted into
        the variable) is refused with a `ConfigError` that does not show it.

        >>> SourceConfig("auriko").resolve_api_key({"AURIKO_API_KEY": "ak_live_1"})
        'ak_live_1'
        >>> SourceConfig("auriko").resolve_api_key({"AURIKO_API_KEY": "ak_live_1\\n"})
        Traceback (most recent call last):
        tracker.errors.ConfigError: the API key in AURIKO_API_KEY holds a line break (U+000A) ...
        """
        env = os.environ if environ is None else environ
        key_file = self.api_key_file or env.get(f"{self.api_key_env}_FILE")
        if key_file:
            try:
                text = Path(key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read API key file {key_file}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise ConfigError(f"API key file {key_file} is not UTF-8 text") from None
            return _checked_key(text.strip(), f"the API key file {key_file}")
        if env.get(self.api_key_env):
            return _checked_key(env[self.api_key_env], f"the API key in {self.api_key_env}")
        return _checked_key(self.api_key, f"api_key of [sources.{self.name}]")

    def check_api_key(self, environ: Mapping[str, str] | None = None) -> None:
        """Raise the `ConfigError` of a source that needs an API key and has none: what
        `fetch` checks before it touches the database or takes a lock."""
        if adapter_for(self.kind).needs_key and not self.resolve_api_key(environ):
            raise missing_key_error(self)


_KEY_CHARACTER_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab",
                        " ": "a space"}


def _checked_key(key: str | None, where: str) -> str | None:
    """`key` when it is one token of printable ASCII (None when empty); else a
    `ConfigError` that names the character and where it sits, never the key."""
    if not key:
        return None
    for position, ch in enumerate(key, start=1):
        if not ("!" <= ch <= "~"):
            what = _KEY_CHARACTER_NAMES.get(ch) or (
                "white space" if ch.isspace() else
                "a control character" if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 else
                "a character that is not printable ASCII")
            raise ConfigError(
                f"{where} holds {what} (U+{ord(ch):04X}) at character {position} of "
                f"{len(key)}; an API key is one line of printable characters (the key is "
                "not shown)")
    return key


def missing_key_error(source: SourceConfig) -> ConfigError:
    """The one error for a fetch without an API key; it points to the offline demo."""
    return ConfigError(
        f"no API key for source {source.name!r}: set {source.api_key_env} or "
        f"{source.api_key_env}_FILE (or try `tracker demo`, which needs no key)"
    )


@dataclass(frozen=True)
class ScheduleConfig:
    """The `[schedule]` table: when `tracker schedule` runs (its flags beat these)."""

    cron: str | None = None
    every: timedelta | None = None
    jitter: timedelta | None = None
    initial_run: bool = True
    timezone: str | None = None


@dataclass(frozen=True)
class NotifyRule:
    """One `[[notify]]` table: where to send (Apprise URLs) and which changes to send.

    Filters combine with AND; within one list, any entry may match. `kinds = []` sends no
    change notices at all (a target for failure alerts only, with `on_failure`).
    """

    name: str
    url: tuple[str, ...] = field(default=(), repr=False)
    url_env: str | None = None
    url_file: str | None = None
    kinds: tuple[str, ...] | None = None
    min_price_change_pct: float | None = None
    only_weakened_policies: bool = False
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    on_failure: int | None = None
    # Price moves only: "up" (costs more) or "down"; effective prices included.
    direction: str | None = None
    # With `usage_file`: leave out changes that move the monthly cost by less than this (USD).
    min_monthly_impact_usd: Decimal | None = None
    # The floors whose effective_price_changed records this rule gets (None: the config's).
    effective_floors: tuple[str, ...] | None = None

    def resolve_urls(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The Apprise URLs of this rule, read from the file or variable when so configured."""
        env = os.environ if environ is None else environ
        urls = list(self.url)
        if self.url_env is not None:
            value = env.get(self.url_env, "")
            if not value.strip():
                raise ConfigError(f"notify {self.name}: environment variable {self.url_env} "
                                  "is not set")
            urls += split_notify_urls(value)
        if self.url_file is not None:
            # "${CREDENTIALS_DIRECTORY}/notify-urls": a systemd credential of the unit.
            where = _expand(self.url_file, env)
            try:
                text = Path(where).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"notify {self.name}: cannot read {where}: {exc.strerror}"
                ) from None
            lines = [ln for ln in text.splitlines()
                     if ln.strip() and not ln.strip().startswith("#")]
            urls += split_notify_urls(" ".join(lines))
        return urls


@dataclass(frozen=True)
class Settings:
    database_url: str
    reports_dir: Path
    sources: Mapping[str, SourceConfig]
    config_path: Path | None = None
    schedule: ScheduleConfig = field(default_factory=lambda: ScheduleConfig())
    notify: tuple[NotifyRule, ...] = ()
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    # The sources named in the config file, in file order: what `fetch` runs without --source.
    file_sources: tuple[str, ...] = ()
    # The first retry's wait in seconds (env TRACKER_RETRY_BACKOFF; None: the client's own).
    retry_backoff: float | None = None
    # Where `database_url` came from: "--database-url", "TRACKER_DATABASE_URL", the config
    # file's path, or "default" (the user data directory's tracker.db).
    database_origin: str = "default"
    # Effective prices (tracker.effective): the floors whose effective_price_changed records
    # changelogs, reports, the feed and notifications carry; the weights of the blended price.
    effective_floors: tuple[str, ...] = ()
    blend: Blend = DEFAULT_BLEND
    # Monthly token volumes (tracker.usage) for the reports' cost impact; routed rows are
    # priced at the effective offer at `usage_floor`.
    usage_file: Path | None = None
    usage_floor: str = "any"

    @property
    def database_given(self) -> bool:
        """The user named the database (flag, environment or config file)."""
        return self.database_origin != "default"

    def source(self, name: str | None = None) -> SourceConfig:
        chosen = name or DEFAULT_SOURCE
        try:
            return self.sources[chosen]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"unknown source {chosen!r} (configured: {known})") from None

    def run_sources(self, name: str | None = None) -> list[SourceConfig]:
        """The sources a run covers: the named one, else every source of the config file,
        else the default source."""
        if name is not None:
            return [self.source(name)]
        if self.file_sources:
            return [self.sources[n] for n in self.file_sources]
        return [self.source()]


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
    lock_timeout: float | None = None,
    notify_on_failure: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from flags (the arguments), the environment, and the config file."""
    env = os.environ if environ is None else environ
    path, explicit = _config_file(config_path, env)
    file_data = _read_config_file(path) if path is not None else {}

    sources = _sources_from_file(file_data.get("sources", {}), path)
    default = sources.get(DEFAULT_SOURCE, SourceConfig(name=DEFAULT_SOURCE))
    env_base = env.get("AURIKO_BASE_URL")
    default = replace(
        default,
        base_url=base_url or env_base or default.base_url,
        endpoint=endpoint or default.endpoint,
    )
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise ConfigError(f"unknown endpoint {endpoint!r} (use one of: {', '.join(ENDPOINTS)})")
    sources[DEFAULT_SOURCE] = default

    named = [(database_url, "--database-url"), (env.get("TRACKER_DATABASE_URL"),
                                                 "TRACKER_DATABASE_URL"),
             (file_data.get("database_url"), str(path))]
    # The default is looked up only when nothing names a database: it imports platformdirs.
    chosen = next(((url, where) for url, where in named if url), None)
    chosen_url, origin = chosen if chosen is not None else (default_database_url(), "default")
    settings = Settings(
        database_url=chosen_url,
        database_origin=origin,
        reports_dir=Path(
            reports_dir
            or env.get("TRACKER_REPORTS_DIR")
            or file_data.get("reports_dir")
            or DEFAULT_REPORTS_DIR
        ).expanduser(),
        sources=sources,
        config_path=path if (explicit or path is not None) else None,
        schedule=_schedule_from_file(file_data.get("schedule", {}), path),
        notify=_notify_rules(file_data.get("notify", []), path, env, notify_on_failure),
        lock_timeout=_lock_timeout(lock_timeout, env, file_data, path),
        file_sources=tuple(file_data.get("sources", {})),
        retry_backoff=_retry_backoff(env.get("TRACKER_RETRY_BACKOFF")),
        **_pricing(file_data, path),
    )
    _check_rules(settings)
    return settings


def _retry_backoff(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConfigError(f"TRACKER_RETRY_BACKOFF must be a number of seconds, not {value!r}")
    return seconds


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
            raise ConfigError(
                f"{path}: [sources.{name}] has unknown kind {kind!r} "
                f"(use one of: {', '.join(SOURCE_KINDS)})"
            )
        adapter = adapter_for(kind)
        endpoint = body.get("endpoint", DEFAULT_ENDPOINT if kind == "auriko" else None)
        if kind == "auriko" and endpoint not in ENDPOINTS:
            raise ConfigError(f"{path}: [sources.{name}] has unknown endpoint {endpoint!r}")
        if kind != "auriko" and "endpoint" in body:
            raise ConfigError(f"{path}: [sources.{name}]: endpoint applies to kind auriko only")
        if "api_key" in body and path is not None:
            _warn_if_readable_by_others(path)
        sources[name] = SourceConfig(
            name=name,
            kind=kind,
            base_url=body.get("base_url", adapter.default_base_url),
            endpoint=endpoint,
            api_key_env=body.get("api_key_env", adapter.default_key_env),
            api_key_file=body.get("api_key_file"),
            api_key=body.get("api_key"),
            max_shrink=_share(body.get("max_shrink", 0.5), f"{path}: [sources.{name}] max_shrink"),
            accept_shrink_after=_count(body.get("accept_shrink_after", 0),
                                       f"{path}: [sources.{name}] accept_shrink_after"),
        )
    return sources


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{where}: expected a share between 0 and 1, got {value!r}")
    return float(value)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: expected a whole number >= 0, got {value!r}")
    return value


def _warn_if_readable_by_others(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s holds an API key and is readable by other users; chmod 600 it "
            "or use api_key_file",
            path,
        )


# --- [schedule], [[notify]], lock_timeout ---

_SCHEDULE_KEYS = {"cron", "every", "jitter", "initial_run", "timezone"}
_NOTIFY_KEYS = {
    "name", "url", "url_env", "url_file", "kinds", "min_price_change_pct",
    "only_weakened_policies", "models", "providers", "sources", "on_failure",
    "direction", "min_monthly_impact_usd", "effective_floors",
}
# A new URL starts wherever a scheme follows a comma or white space; commas inside a URL's
# query (mailto://...?to=a@x,b@y) stay in it.
_URL_SPLIT = re.compile(r"[\s,]+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def _expand(path: str, env: Mapping[str, str]) -> str:
    """`$NAME` and `${NAME}` from the environment; an unset variable is an error."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise ConfigError(f"{path}: environment variable {name} is not set")
        return env[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, path)


def split_notify_urls(value: str) -> list[str]:
    """`TRACKER_NOTIFY_URLS`-style text (comma or space separated) as a list of URLs."""
    return [u.strip(" ,\t\n") for u in _URL_SPLIT.split(value.strip()) if u.strip(" ,\t\n")]


def _duration(value: Any, where: str) -> timedelta:
    from tracker.errors import UsageError
    from tracker.timeutil import parse_duration

    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where} must be a duration such as \"1h\" or a number of seconds")
    try:
        span = parse_duration(str(value))
    except UsageError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return span


def _schedule_from_file(raw: Any, path: Path | None) -> ScheduleConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [schedule] must be a table")
    unknown = sorted(set(raw) - _SCHEDULE_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [schedule]")
    if "cron" in raw and "every" in raw:
        raise ConfigError(f"{path}: [schedule] takes cron or every, not both")
    cron = raw.get("cron")
    if cron is not None and (not isinstance(cron, str) or len(cron.split()) != 5):
        raise ConfigError(f"{path}: [schedule] cron must be five fields, e.g. \"0 * * * *\"")
    every = _duration(raw["every"], f"{path}: [schedule] every") if "every" in raw else None
    if every is not None and every.total_seconds() <= 0:
        raise ConfigError(f"{path}: [schedule] every must be longer than 0 s")
    jitter = _duration(raw["jitter"], f"{path}: [schedule] jitter") if "jitter" in raw else None
    initial_run = raw.get("initial_run", True)
    if not isinstance(initial_run, bool):
        raise ConfigError(f"{path}: [schedule] initial_run must be true or false")
    timezone = raw.get("timezone")
    if timezone is not None and not isinstance(timezone, str):
        raise ConfigError(f"{path}: [schedule] timezone must be a name such as \"UTC\"")
    return ScheduleConfig(cron=cron, every=every, jitter=jitter, initial_run=initial_run,
                          timezone=timezone)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a string or a list of strings")
    return tuple(value)


def _on_failure(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a whole number of runs, 1 or more")
    return value


def _notify_rules(
    raw: Any, path: Path | None, env: Mapping[str, str], on_failure: int | None
) -> tuple[NotifyRule, ...]:
    """The [[notify]] tables; TRACKER_NOTIFY_URLS, when set, replaces them with one rule that
    sends every change. `on_failure` (--notify-on-failure, TRACKER_NOTIFY_ON_FAILURE) applies
    to every rule."""
    if on_failure is None and env.get("TRACKER_NOTIFY_ON_FAILURE", "").strip():
        on_failure = _on_failure_env(env["TRACKER_NOTIFY_ON_FAILURE"])
    env_urls = split_notify_urls(env.get("TRACKER_NOTIFY_URLS", ""))
    if env_urls:
        rules: list[NotifyRule] = [NotifyRule(name="TRACKER_NOTIFY_URLS", url=tuple(env_urls))]
    else:
        rules = _notify_from_file(raw, path)
    if on_failure is not None:
        rules = [replace(rule, on_failure=on_failure) for rule in rules]
    return tuple(rules)


def _on_failure_env(value: str) -> int:
    try:
        return _on_failure(int(value), "TRACKER_NOTIFY_ON_FAILURE")
    except ValueError:
        raise ConfigError(f"TRACKER_NOTIFY_ON_FAILURE must be a whole number, not {value!r}") \
            from None


def _notify_from_file(raw: Any, path: Path | None) -> list[NotifyRule]:
    if isinstance(raw, dict):  # a single [notify] table
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: [[notify]] must be an array of tables")
    rules: list[NotifyRule] = []
    names: set[str] = set()
    for index, body in enumerate(raw, start=1):
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: [[notify]] #{index} must be a table")
        where = f"{path}: [[notify]] #{index}"
        unknown = sorted(set(body) - _NOTIFY_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [[notify]] #{index}")
        name = body.get("name", f"notify-{index}")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: name must be a non-empty string")
        if name in names:
            raise ConfigError(f"{where}: name {name!r} is used twice")
        names.add(name)
        where = f"{path}: [[notify]] {name!r}"
        targets = [k for k in ("url", "url_env", "url_file") if k in body]
        if not targets:
            raise ConfigError(f"{where} needs url, url_env or url_file")
        urls = _strings(body["url"], f"{where}: url") if "url" in body else ()
        for key in ("url_env", "url_file"):
            if key in body and (not isinstance(body[key], str) or not body[key]):
                raise ConfigError(f"{where}: {key} must be a string")
        kinds = _strings(body["kinds"], f"{where}: kinds") if body.get("kinds") else None
        if "kinds" in body and body["kinds"] == []:
            kinds = ()
        if kinds:
            from tracker.diff import KIND_ORDER

            bad = [k for k in kinds if k not in KIND_ORDER]
            if bad:
                raise ConfigError(f"{where}: unknown change kind {bad[0]!r} in kinds "
                                  f"(use: {', '.join(KIND_ORDER)})")
        pct = body.get("min_price_change_pct")
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, int | float)
                                or pct < 0):
            raise ConfigError(f"{where}: min_price_change_pct must be a number, 0 or more")
        weakened = body.get("only_weakened_policies", False)
        if not isinstance(weakened, bool):
            raise ConfigError(f"{where}: only_weakened_policies must be true or false")
        direction = body.get("direction")
        if direction is not None and direction not in ("up", "down"):
            raise ConfigError(f"{where}: direction must be \"up\" or \"down\"")
        impact = body.get("min_monthly_impact_usd")
        if impact is not None:
            impact = _amount(impact, f"{where}: min_monthly_impact_usd")
        rules.append(NotifyRule(
            name=name,
            url=urls,
            url_env=body.get("url_env"),
            url_file=body.get("url_file"),
            kinds=kinds,
            min_price_change_pct=float(pct) if pct is not None else None,
            only_weakened_policies=weakened,
            models=_strings(body["models"], f"{where}: models") if "models" in body else (),
            providers=(_strings(body["providers"], f"{where}: providers")
                       if "providers" in body else ()),
            sources=_strings(body["sources"], f"{where}: sources") if "sources" in body else (),
            on_failure=(_on_failure(body["on_failure"], f"{where}: on_failure")
                        if "on_failure" in body else None),
            direction=direction,
            min_monthly_impact_usd=impact,
            effective_floors=(_floors(body["effective_floors"], f"{where}: effective_floors")
                              if "effective_floors" in body else None),
        ))
    return rules


# --- effective prices and usage ---


def _floors(value: Any, where: str) -> tuple[str, ...]:
    """A list of data-policy floors, kept in the documented order without repeats."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of floors ({', '.join(FLOORS)})")
    bad = [v for v in value if v not in FLOORS]
    if bad:
        raise ConfigError(f"{where}: unknown floor {bad[0]!r} (use: {', '.join(FLOORS)})")
    return tuple(f for f in FLOORS if f in value)


def _amount(value: Any, where: str) -> Decimal:
    from tracker.catalog import json_number_to_decimal

    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where} must be a number of USD, 0 or more")
    return json_number_to_decimal(value)


def _pricing(data: Mapping[str, Any], path: Path | None) -> dict[str, Any]:
    """`effective_floors`, `blend`, `usage_file` and `usage_floor` of the config file."""
    found: dict[str, Any] = {}
    if "effective_floors" in data:
        found["effective_floors"] = _floors(data["effective_floors"], f"{path}: effective_floors")
    if "blend" in data:
        raw = data["blend"]
        if (not isinstance(raw, list) or len(raw) != 2
                or any(isinstance(w, bool) or not isinstance(w, int | float) or w < 0
                       for w in raw)
                or not sum(raw) > 0):
            raise ConfigError(f"{path}: blend must be two weights [input, output], 0 or more "
                              "and not both 0, e.g. [3, 1]")
        weights = tuple(_amount(w, f"{path}: blend") for w in raw)
        found["blend"] = (weights[0], weights[1])
    if "usage_file" in data:
        if not isinstance(data["usage_file"], str) or not data["usage_file"]:
            raise ConfigError(f"{path}: usage_file must be the path of a CSV file")
        found["usage_file"] = Path(data["usage_file"]).expanduser()
    if "usage_floor" in data:
        if data["usage_floor"] not in FLOORS:
            raise ConfigError(f"{path}: usage_floor must be one of: {', '.join(FLOORS)}")
        found["usage_floor"] = data["usage_floor"]
    return found


def _check_rules(settings: Settings) -> None:
    """What a rule asks for that the rest of the config must provide."""
    where = settings.config_path
    for rule in settings.notify:
        floors = (rule.effective_floors if rule.effective_floors is not None
                  else settings.effective_floors)
        if rule.kinds and "effective_price_changed" in rule.kinds and not floors:
            raise ConfigError(f"{where}: [[notify]] {rule.name!r} asks for "
                              "effective_price_changed but no effective_floors are configured "
                              "(set effective_floors in the rule or at the top of the file)")
        if rule.min_monthly_impact_usd is not None and settings.usage_file is None:
            raise ConfigError(f"{where}: [[notify]] {rule.name!r}: min_monthly_impact_usd "
                              "needs usage_file at the top of the file")


def _lock_timeout(
    flag: float | None, env: Mapping[str, str], file_data: Mapping[str, Any], path: Path | None
) -> float:
    if flag is not None:
        return flag
    if env.get("TRACKER_LOCK_TIMEOUT", "").strip():
        seconds = _duration(env["TRACKER_LOCK_TIMEOUT"], "TRACKER_LOCK_TIMEOUT").total_seconds()
    elif "lock_timeout" in file_data:
        seconds = _duration(file_data["lock_timeout"], f"{path}: lock_timeout").total_seconds()
    else:
        return DEFAULT_LOCK_TIMEOUT
    return seconds
