"""The HTTP client: one `GET {base}/models`, with the retries and limits a cron job needs.

- Retries with exponential backoff on 429 (honouring `Retry-After`, capped), 5xx, timeouts and
  connection errors; never on other 4xx.
- The body is streamed and cut off at a size cap (after content decoding, so a gzip bomb stops
  there too).
- The key goes only over HTTPS, or plain HTTP to loopback; redirects are followed only within
  the same origin, so the key never travels to another host. A 3xx without a usable Location
  (a 304 nobody asked for, a 300) is the failure `HTTP 304 from ...`, and so is a 204: there
  is no catalog in it.
- No error text ever contains the key: remote messages are scrubbed before they are raised.
- A wall-clock deadline (`ClientOptions.deadline`, `--deadline`) bounds each attempt and the
  whole fetch, retries and their waits included: a server that trickles its headers or body a
  byte at a time cannot hold a run (and its lock) past it, because every socket read waits at
  most the time left. A stop request (`ClientOptions.cancel`, a scheduler's SIGTERM) brings
  the deadline forward to `stop_grace` seconds from then.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import logging
import math
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from tracker import __version__
from tracker.errors import AuthError, ConfigError, RemoteError
from tracker.logs import scrubber

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
NO_CONTENT_STATUSES = frozenset({204, 205})
MAX_REDIRECTS = 5
DEFAULT_DEADLINE = 120.0
DEFAULT_STOP_GRACE = 3.0
# A socket read waits this long at most before it looks at the deadline and the stop again.
_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class ClientOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0  # first retry waits this long, then doubles (with jitter)
    max_retry_after: float = 120.0  # a longer Retry-After is capped to this
    max_bytes: int = DEFAULT_MAX_BYTES
    # Wall-clock limit of one fetch, every attempt and wait included (None: none).
    deadline: float | None = DEFAULT_DEADLINE
    # Set to stop: the fetch then ends within `stop_grace` seconds (a scheduler stopping).
    cancel: threading.Event | None = field(default=None, compare=False)
    stop_grace: float = DEFAULT_STOP_GRACE


class Deadline:
    """When a fetch must be over: `seconds` from its start (None: no limit), or `grace`
    seconds after `cancel` is set, whichever comes first.

    >>> deadline = Deadline(120)
    >>> 119 < deadline.remaining() <= 120, deadline.expired()
    (True, False)
    >>> stop = threading.Event(); stop.set()
    >>> Deadline(120, cancel=stop, grace=0).expired()
    True
    """

    def __init__(self, seconds: float | None, *, cancel: threading.Event | None = None,
                 grace: float = DEFAULT_STOP_GRACE) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds if seconds is not None else math.inf
        self._cancel = cancel
        self._grace = grace
        self._stop_at: float | None = None

    @property
    def stopped(self) -> bool:
        """A stop was requested (the remaining time is then the grace at most)."""
        return self._cancel is not None and self._cancel.is_set()

    def remaining(self) -> float:
        """Seconds left (`math.inf` without a limit); 0 or less once passed."""
        now = time.monotonic()
        at = self._at
        if self.stopped:
            if self._stop_at is None:
                self._stop_at = now + self._grace
            at = min(at, self._stop_at)
        return at - now

    def expired(self) -> bool:
        return self.remaining() <= 0

    def bound(self, timeout: float | None) -> float | None:
        """`timeout` cut to the time left (never below a millisecond: 0 means non-blocking)."""
        left = self.remaining()
        if math.isinf(left):
            return timeout
        left = max(left, 0.001)
        return left if timeout is None else min(timeout, left)

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less when the deadline or a stop comes first."""
        end = time.monotonic() + seconds
        while (left := min(end - time.monotonic(), self.remaining())) > 0:
            if self._cancel is not None:
                self._cancel.wait(min(left, _POLL_SECONDS))
            else:
                time.sleep(min(left, _POLL_SECONDS))

    def error(self, url: str, attempts: int) -> RemoteError:
        """The failure of a fetch cut off by this deadline or by a stop."""
        tried = f" ({attempts} attempt{'s' if attempts != 1 else ''})" if attempts > 1 else ""
        if self.stopped and (self.seconds is None or time.monotonic() < self._at):
            return DeadlineError(f"fetch from {_origin(url)} stopped: the process is stopping"
                                 f"{tried}")
        limit = f"{self.seconds:g} s" if self.seconds is not None else "time"
        return DeadlineError(f"no complete answer from {_origin(url)} within the {limit} "
                             f"deadline (--deadline){tried}")


class DeadlineError(RemoteError):
    """The fetch passed its wall-clock deadline, or was stopped (exit 3, outcome failed)."""


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
    sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> FetchResult:
    """GET a catalog URL and return the raw body; raise `RemoteError` on failure.

    The key, when given, goes as a bearer token; public catalogs are fetched without one.
    `sleep` waits between attempts (default: a wait the deadline and a stop cut short).
    """
    opts = options or ClientOptions()
    check_url_safe_for_key(url, has_key=bool(api_key))
    params = params or {}
    headers = {"User-Agent": f"catalog-tracker/{__version__}", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    timeout = httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout)
    scrub = scrubber(api_key)
    deadline = Deadline(opts.deadline, cancel=opts.cancel, grace=opts.stop_grace)
    pause = sleep if sleep is not None else deadline.wait

    # Redirects are followed within the same origin only, so a plain-HTTP URL (a loopback
    # router) never uses TLS: no need to load the CA bundle (30 ms of every such fetch).
    plain = urlsplit(url).scheme == "http"
    with httpx.Client(
        timeout=timeout, headers=headers, follow_redirects=False, transport=transport,
        verify=not plain,
    ) as client:
        _bound_by(client, deadline)
        attempt = 0
        while True:
            attempt += 1
            if deadline.expired():
                raise deadline.error(url, attempt - 1)
            try:
                status, body, retry_after = _get(client, url, params, opts.max_bytes, scrub,
                                                 deadline)
                if 200 <= status < 300 and status not in NO_CONTENT_STATUSES:
                    return FetchResult(body=body, status=status, attempts=attempt)
                error = _status_error(status, body, url, scrub)
                delay = _retry_after(retry_after, opts)
            except _Retryable as exc:
                if deadline.expired():
                    raise deadline.error(url, attempt) from None
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
            if wait >= deadline.remaining():
                raise type(error)(
                    f"{error} (gave up after {attempt} attempt{'s' if attempt != 1 else ''}: "
                    "the next would start after the deadline)", status=error.status)
            log.info("%s; retrying in %.1fs (attempt %d of %d)", error, wait, attempt + 1,
                        opts.retries + 1)
            pause(wait)


class _Retryable(Exception):
    """A transport failure worth another attempt (timeout, reset, refused)."""


def _get(
    client: httpx.Client,
    url: str,
    params: dict[str, str],
    max_bytes: int,
    scrub: Callable[[str], str],
    deadline: Deadline,
) -> tuple[int, bytes, str | None]:
    """One GET, following same-origin redirects: status, body (up to `max_bytes`), Retry-After.

    Only a redirect status with a non-empty Location that leads elsewhere is followed; any
    other 3xx comes back as it is (the caller reports it as `HTTP 304 from ...`)."""
    current = url
    status = 0
    for _ in range(MAX_REDIRECTS + 1):
        try:
            with client.stream("GET", current, params=params) as response:
                status = response.status_code
                location = response.headers.get("location", "").strip()
                target = str(response.url.join(location)) if location else ""
                if status in REDIRECT_STATUSES and target and target != str(response.url):
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
                    if deadline.expired():  # a transport of the caller's own, unbounded
                        raise _Retryable("the deadline passed")
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
    raise RemoteError(f"HTTP {status} from {_origin(url)}: more than {MAX_REDIRECTS} redirects",
                      status=status)


def _status_error(status: int, body: bytes, url: str, scrub: Callable[[str], str]) -> RemoteError:
    detail = _remote_message(body, scrub)
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        return AuthError(
            f"the API key was refused by {_origin(url)} (HTTP {status}){suffix}", status=status
        )
    if status in NO_CONTENT_STATUSES:
        suffix = ": no content, so no catalog"
    elif 300 <= status < 400:
        suffix = suffix or ": no usable Location to follow (no catalog in a 3xx answer)"
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


# --- the deadline, at the socket: every read waits at most the time left ---


def _bound_by(client: httpx.Client, deadline: Deadline) -> None:
    """Put `deadline` under every connection `client` makes (its transport's, and the proxy
    mounts' from the environment). httpx offers no total timeout, and its read timeout
    restarts with every byte; httpcore lets a network backend be swapped in, and httpx keeps
    its pool in `_pool`. A transport of the caller's own (tests) is checked between chunks."""
    transports = [getattr(client, "_transport", None),
                  *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
            backend = pool._network_backend
            if not isinstance(backend, _DeadlineBackend):
                pool._network_backend = _DeadlineBackend(backend, deadline)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with every wait cut to the deadline."""

    def __init__(self, inner: Any, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, self._deadline.bound(timeout),
                                         local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, self._deadline.bound(timeout),
                                                 socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._deadline.wait(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads wait in slices, looking at the deadline (and a stop) between
    them: headers or a body that trickle in a byte at a time cannot outlast it."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        give_up = time.monotonic() + timeout if timeout is not None else math.inf
        while True:
            left = min(give_up - time.monotonic(), self._deadline.remaining())
            if left <= 0:
                raise httpcore.ReadTimeout("the deadline passed" if self._deadline.expired()
                                           else "timed out")
            try:
                return self._inner.read(max_bytes, min(left, _POLL_SECONDS))
            except httpcore.ReadTimeout:
                continue

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # The handshake cannot be read in slices: a timer shuts the socket at the deadline,
        # which ends a handshake that trickles.
        sock = self._inner.get_extra_info("socket")
        left = self._deadline.remaining()
        timer = None
        if sock is not None and not math.isinf(left):
            timer = threading.Timer(max(left, 0.0), _shut, args=(sock,))
            timer.daemon = True
            timer.start()
        try:
            stream = self._inner.start_tls(ssl_context, server_hostname,
                                           self._deadline.bound(timeout))
        finally:
            if timer is not None:
                timer.cancel()
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _shut(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


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
