"""The HTTP client: one `GET {base}/models`, with the retries and limits a cron job needs.

- Retries with exponential backoff on 429 (honouring `Retry-After`, capped), 5xx, timeouts and
  connection errors; never on other 4xx.
- The body is streamed and cut off at a size cap (after content decoding, so a gzip bomb stops
  there too).
- The key goes only over HTTPS, or plain HTTP to loopback; redirects are followed only within
  the same origin, so the key never travels to another host.
- No error text ever contains the key: remote messages are scrubbed before they are raised.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from tracker import __version__
from tracker.errors import AuthError, ConfigError, RemoteError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class ClientOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0  # first retry waits this long, then doubles (with jitter)
    max_retry_after: float = 120.0  # a longer Retry-After is capped to this
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class FetchResult:
    body: bytes
    status: int
    attempts: int


def fetch_catalog(
    url: str,
    api_key: str | None,
    *,
    params: dict[str, str] | None = None,
    options: ClientOptions | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> FetchResult:
    """GET a catalog URL and return the raw body; raise `RemoteError` on failure.

    The key, when given, goes as a bearer token; public catalogs are fetched without one.
    """
    opts = options or ClientOptions()
    check_url_safe_for_key(url, has_key=bool(api_key))
    params = params or {}
    headers = {"User-Agent": f"catalog-tracker/{__version__}", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    timeout = httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout)
    scrub = _scrubber(api_key)

    with httpx.Client(
        timeout=timeout, headers=headers, follow_redirects=False, transport=transport
    ) as client:
        attempt = 0
        while True:
            attempt += 1
            try:
                status, body, retry_after = _get(client, url, params, opts.max_bytes, scrub)
                if status < 400:
                    return FetchResult(body=body, status=status, attempts=attempt)
                error = _status_error(status, body, url, scrub)
                delay = _retry_after(retry_after, opts)
            except _Retryable as exc:
                error = RemoteError(str(exc), status=None)
                delay = None
            retryable = error.status is None or error.status in RETRYABLE_STATUSES
            if not retryable or attempt > opts.retries:
                if attempt > 1 and retryable:
                    raise type(error)(
                        f"{error} (gave up after {attempt} attempts)", status=error.status
                    )
                raise error
            wait = delay if delay is not None else _backoff(attempt, opts)
            log.info("%s; retrying in %.1fs (attempt %d of %d)", error, wait, attempt + 1,
                        opts.retries + 1)
            sleep(wait)


class _Retryable(Exception):
    """A transport failure worth another attempt (timeout, reset, refused)."""


def _get(
    client: httpx.Client,
    url: str,
    params: dict[str, str],
    max_bytes: int,
    scrub: Callable[[str], str],
) -> tuple[int, bytes, str | None]:
    """One GET, following same-origin redirects: status, body (up to `max_bytes`), Retry-After."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            with client.stream("GET", current, params=params) as response:
                if response.is_redirect:
                    target = str(response.url.join(response.headers.get("location", "")))
                    if not _same_origin(current, target):
                        raise RemoteError(
                            f"redirected from {_origin(current)} to another host "
                            f"({_origin(target)}); not following with the API key",
                            status=response.status_code,
                        )
                    current, params = target, {}
                    continue
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise RemoteError(
                            f"response from {_origin(url)} is larger than the "
                            f"{max_bytes / (1024 * 1024):g} MB cap",
                            status=response.status_code,
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                return response.status_code, body, response.headers.get("retry-after")
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            detail = scrub(str(exc)) or "no detail"
            raise _Retryable(
                f"cannot fetch {_origin(url)}: {type(exc).__name__}: {detail}"
            ) from None
        except httpx.DecodingError as exc:
            raise RemoteError(f"cannot decode the response from {_origin(url)}: {exc}") from None
    raise RemoteError(f"too many redirects from {_origin(url)}")


def _status_error(status: int, body: bytes, url: str, scrub: Callable[[str], str]) -> RemoteError:
    detail = _remote_message(body, scrub)
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        return AuthError(
            f"the API key was refused by {_origin(url)} (HTTP {status}){suffix}", status=status
        )
    return RemoteError(f"HTTP {status} from {_origin(url)}{suffix}", status=status)


def _remote_message(body: bytes, scrub: Callable[[str], str]) -> str:
    """A short, key-free description of an error body (Auriko/OpenAI JSON errors understood)."""
    import orjson

    text = ""
    try:
        payload = orjson.loads(body)
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("code") or "")
        elif isinstance(error, str):
            text = error
        elif isinstance(payload, dict) and isinstance(payload.get("message"), str):
            text = payload["message"]
    except orjson.JSONDecodeError:
        text = ""
    text = " ".join(scrub(text).split())
    return text[:200]


def _retry_after(value: str | None, opts: ClientOptions) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP-date), capped."""
    if value is None:
        return None
    value = value.strip()
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), opts.max_retry_after)


def _backoff(attempt: int, opts: ClientOptions) -> float:
    base: float = opts.backoff * (2 ** (attempt - 1))
    return base * (0.5 + random.random() / 2)


def _scrubber(secret: str | None) -> Callable[[str], str]:
    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    return scrub


def check_url_safe_for_key(url: str, *, has_key: bool) -> None:
    """Refuse to send a key over plain HTTP to anything but loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base URL must be an http(s) URL, got {url!r}")
    if parts.scheme == "http" and has_key and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing to send the API key over plain http to {parts.hostname}; use https"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)
