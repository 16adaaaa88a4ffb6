"""Logging to stderr: human-readable or JSON lines, with secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Make sure `secret` never appears in a log line, whatever code logs it."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def scrub(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


# SQLAlchemy dialects (the scheme before any `+driver`): such a URL is a database URL.
_DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle",
                               "mssql"})
# Apprise schemes whose host is a plain server name, shown; other schemes (slack://,
# discord://, ...) carry tokens where the host would be, so only the scheme is shown.
_HOST_IS_SAFE = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "http", "https"})


def redact_url(url: str, *, database: bool | None = None) -> str:
    """A URL as messages, logs and labels may show it.

    A database URL (a SQLAlchemy dialect's scheme, or `database=True`) keeps everything but
    the password: `postgresql+psycopg://tracker:***@db/tracker`. Any other URL is a
    notification (Apprise) URL, which carries secrets anywhere: only its scheme is kept, and
    its host when that is a plain server name (`json://hooks.internal:8080/…`, `slack://…`).
    """
    if database is None:
        scheme = url.partition("://")[0] if "://" in url else url.partition(":")[0]
        database = scheme.partition("+")[0].lower() in _DATABASE_SCHEMES
    if database:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparseable URL>"
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname if scheme in _HOST_IS_SAFE else None
    except ValueError:
        return "<invalid URL>"
    if host:
        port = f":{parts.port}" if parts.port else ""
        return f"{scheme}://{host}{port}/…"
    return f"{scheme}://…" if scheme else "<invalid URL>"


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = scrub(record.getMessage())
            record.args = None
        return True


class _TextFormatter(logging.Formatter):
    """Lines for people; tracebacks (-v) are scrubbed too."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


# Fields of a run's log line (tracker.runner) that JSON lines carry as keys of their own.
_RUN_FIELDS = ("source", "outcome", "snapshot", "changes", "duration_ms", "exit_code", "error",
               "next_run")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _RUN_FIELDS:
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def setup_logging(verbosity: int, log_format: str = "text") -> None:
    """-q: errors only; default: warnings; -v: info; -vv: debug (third-party libraries too)."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ScrubFilter())
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries stay quiet unless asked for with -vv; httpx's request lines carry no secret,
    # but there is no reason to show them by default.
    for noisy in ("httpx", "httpcore", "sqlalchemy", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
