r"""Logging to stderr: human-readable or JSON lines, with secrets scrubbed from every record
and remote text made visible (no terminal escape or bidi control reaches the terminal).

>>> scrubber("ak_live_5ecret")("sent 'ak_live_5ecret' as \\u0061k_live_5ecret")
"sent '***' as ***"
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus, urlsplit

_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Make sure `secret` never appears in a log line, whatever code logs it, in any of its
    written forms (`secret_forms`, and any mix of JSON escapes)."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def reset_secrets(secrets: Iterable[str] = ()) -> frozenset[str]:
    """Replace the registered secrets with `secrets` (none by default) and return the ones
    registered before: a host that runs several tracker sessions in one process (a test
    harness) starts each as a new process would, and puts the old set back after.

    >>> register_secret("ak_example_key")
    >>> before = reset_secrets()
    >>> scrub("key ak_example_key")
    'key ak_example_key'
    >>> _ = reset_secrets(before)
    >>> scrub("key ak_example_key")
    'key ***'
    """
    before = frozenset(_SECRETS)
    _SECRETS.clear()
    _SECRETS.update(secrets)
    return before


def secret_forms(secret: str) -> set[str]:
    r"""The ways text can hold `secret`: as it is, as `repr()` and JSON escape it (with `/`
    written `\/` too, as PHP does), every character `\u`-escaped, and percent-encoded.

    >>> sorted(secret_forms("ak/1"))
    ['\\u0061\\u006b\\u002f\\u0031', 'ak%2F1', 'ak/1', 'ak\\/1']
    """
    as_json = json.dumps(secret)[1:-1]
    forms = {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1],
             as_json, as_json.replace("/", "\\/"), json.dumps(secret, ensure_ascii=False)[1:-1],
             "".join(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else ch for ch in secret),
             quote(secret, safe=""), quote_plus(secret, safe="")}
    return {form for form in forms if len(form) >= 4}


def _escaped_pattern(secret: str) -> re.Pattern[str]:
    r"""`secret` with each character as it is or in any JSON escape of it (`\u0061`, either
    case of hex digit; `\/`; `\"`, `\\`), in any mix: how a server that escapes its JSON
    can echo it."""
    parts = []
    for ch in secret:
        hexes = "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{ord(ch):04x}")
        alternatives = [re.escape(ch), rf"\\u{hexes}"]
        if ch in '/"\\':
            alternatives.append(re.escape("\\" + ch))
        parts.append(f"(?:{'|'.join(alternatives)})")
    return re.compile("".join(parts))


# The registered secrets' forms (longest first) and escape patterns, for that set of them.
_COMPILED: tuple[frozenset[str], list[str], list[re.Pattern[str]]] = (frozenset(), [], [])


def scrub(text: str) -> str:
    """`text` with every registered secret, in any of its forms, replaced by `***`."""
    global _COMPILED
    if not _SECRETS:
        return text
    if _COMPILED[0] != _SECRETS:
        secrets = frozenset(_SECRETS)
        _COMPILED = (secrets,
                     sorted({f for s in secrets for f in secret_forms(s)}, key=len,
                            reverse=True),
                     [_escaped_pattern(s) for s in secrets])
    _, forms, patterns = _COMPILED
    for form in forms:
        text = text.replace(form, "***")
    if "\\" in text:
        for pattern in patterns:
            text = pattern.sub("***", text)
    return text


def scrubber(secret: str | None) -> Callable[[str], str]:
    """A `scrub` for one secret only (the HTTP client's, for the key it sends)."""
    if not secret:
        return lambda text: text
    forms = sorted(secret_forms(secret), key=len, reverse=True)
    escaped = _escaped_pattern(secret)

    def scrub_one(text: str) -> str:
        for form in forms:
            text = text.replace(form, "***")
        return escaped.sub("***", text) if "\\" in text else text

    return scrub_one


def redact_body(body: bytes, secret: str) -> tuple[bytes, int]:
    r"""A response body with `secret` replaced by `***` wherever it is written, and how many
    places held it: raw, or inside a JSON string however the server escaped it (`\\/` for
    `/`, `\\u0061` for `a`), so that the decoded strings (snapshots.extra, changes, every
    report) never hold it. Only those places change; the rest stays byte for byte.

    >>> redact_body(rb'{"echo": "\u0061k\/5ecret", "k": "ak/5ecret"}', "ak/5ecret")
    (b'{"echo": "***", "k": "***"}', 2)
    """
    raw = secret.encode()
    found = body.count(raw)
    body = body.replace(raw, b"***")
    if b"\\" not in body:  # no escape at all: nothing else can spell it
        return body, found
    pattern = re.compile(_escaped_pattern(secret).pattern.encode())
    body, escaped = pattern.subn(b"***", body)
    return body, found + escaped


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
        from tracker.reports.format import plain_text

        # One line, whatever a remote string in it holds: escapes and bidi controls visible.
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: its parts as they are, scrubbed
            message = f"{record.msg} {record.args!r}"
        record.msg = plain_text(scrub(message))
        record.args = None
        return True


class _TextFormatter(logging.Formatter):
    """Lines for people; tracebacks (-v) are scrubbed and made visible too."""

    def format(self, record: logging.LogRecord) -> str:
        from tracker.reports.format import plain_text

        return "\n".join(plain_text(line) for line in scrub(super().format(record)).split("\n"))


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
